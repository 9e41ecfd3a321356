//! The cases of the conformance suite; each gets an empty, migrated store.

use std::time::Duration;

use vigil_core::{Health, Timestamp};
use vigil_store::{AttemptOutcome, NewNotification, NewTransition, OutboxStatus, SourceOffset, Store};

const DAY: Duration = Duration::from_secs(86_400);

fn transition(monitor: &str, at: i64, from: Health, to: Health) -> NewTransition {
    NewTransition { monitor: monitor.to_owned(), at: Timestamp(at), from, to, reason: format!("{from}>{to}"), previous_period: None }
}

fn notification(notifier: &str) -> NewNotification {
    NewNotification { notifier: notifier.to_owned(), payload: format!("{{\"to\":\"{notifier}\"}}") }
}

pub async fn migrations_are_idempotent(store: Store, url: &str) {
    store.record_transition(&transition("api", 1, Health::Unknown, Health::Up), &[], DAY).await.expect("record");
    let reopened = Store::open(url).await.expect("reopen runs migrations again");
    assert_eq!(reopened.transitions("api", 10).await.expect("read").len(), 1);
}

pub async fn transition_and_notifications_commit_together(store: Store, _: &str) {
    let record = store
        .record_transition(&transition("api", 1_000, Health::Up, Health::Down), &[notification("oncall"), notification("hook")], DAY)
        .await
        .expect("record");
    assert!(!record.healthy);
    assert_eq!(record.to, Health::Down);
    let queued = store.notifications(10).await.expect("list");
    let mut keys: Vec<&str> = queued.iter().map(|item| item.idempotency_key.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(keys, [format!("transition:{}:hook", record.id), format!("transition:{}:oncall", record.id)]);
    assert!(queued.iter().all(|item| item.status == OutboxStatus::Pending && item.give_up_at == Timestamp(1_000 + 86_400_000)));
    assert_eq!(store.next_due_at().await.expect("due"), Some(Timestamp(1_000)));
}

pub async fn latest_transitions_restore_state(store: Store, _: &str) {
    for (monitor, at, from, to) in
        [("api", 1, Health::Unknown, Health::Up), ("db", 2, Health::Unknown, Health::Down), ("api", 3, Health::Up, Health::Down)]
    {
        store.record_transition(&transition(monitor, at, from, to), &[], DAY).await.expect("record");
    }
    let latest = store.latest_transitions().await.expect("latest");
    let summary: Vec<(String, Health, i64)> = latest.into_iter().map(|t| (t.monitor, t.to, t.at.0)).collect();
    assert_eq!(summary, [("api".to_owned(), Health::Down, 3), ("db".to_owned(), Health::Down, 2)]);
    let history = store.transitions("api", 10).await.expect("history");
    assert_eq!(history.iter().map(|t| t.at.0).collect::<Vec<_>>(), [3, 1], "newest first");
}

pub async fn state_changes_include_the_state_at_window_start(store: Store, _: &str) {
    for (at, from, to) in
        [(10, Health::Unknown, Health::Up), (20, Health::Up, Health::Down), (30, Health::Down, Health::Up), (40, Health::Up, Health::Down)]
    {
        store.record_transition(&transition("api", at, from, to), &[], DAY).await.expect("record");
    }
    let changes = store.state_changes("api", Timestamp(25), Timestamp(40)).await.expect("changes");
    let summary: Vec<(i64, Health)> = changes.iter().map(|c| (c.at.0, c.health)).collect();
    assert_eq!(summary, [(20, Health::Down), (30, Health::Up)]);
    assert!(store.state_changes("other", Timestamp(0), Timestamp(100)).await.expect("changes").is_empty());
}

pub async fn leases_keep_two_nodes_from_sending_the_same_notification(store: Store, _: &str) {
    store.record_transition(&transition("api", 1_000, Health::Up, Health::Down), &[notification("oncall")], DAY).await.expect("record");
    let lease = Duration::from_secs(30);
    let first = store.claim_due("node-a", Timestamp(1_000), lease, 10).await.expect("claim");
    assert_eq!(first.len(), 1);
    assert!(store.claim_due("node-b", Timestamp(1_001), lease, 10).await.expect("claim").is_empty(), "held by node-a");
    let restarted = store.claim_due("node-a", Timestamp(1_002), lease, 10).await.expect("claim");
    assert_eq!(restarted.len(), 1, "a restarted node takes its own lease back at once");
    // node-a crashed: after the lease, node-b takes over and node-a's late result is refused.
    let taken = store.claim_due("node-b", Timestamp(32_000), lease, 10).await.expect("claim");
    assert_eq!(taken.len(), 1);
    let stale = store.finish_attempt(first[0].id, "node-a", Timestamp(32_500), &AttemptOutcome::Delivered).await.expect("finish");
    assert!(!stale, "a lost lease records nothing");
    assert!(store.finish_attempt(taken[0].id, "node-b", Timestamp(32_600), &AttemptOutcome::Delivered).await.expect("finish"));
    assert!(store.claim_due("node-a", Timestamp(100_000), lease, 10).await.expect("claim").is_empty(), "delivered once");
}

pub async fn attempts_are_recorded_until_delivered_or_failed(store: Store, _: &str) {
    store
        .record_transition(&transition("api", 0, Health::Up, Health::Down), &[notification("oncall"), notification("hook")], DAY)
        .await
        .expect("record");
    let lease = Duration::from_secs(30);
    let items = store.claim_due("n", Timestamp(0), lease, 10).await.expect("claim");
    assert_eq!(items.len(), 2);
    let (mail, hook) = (&items[0], &items[1]);
    let retry = AttemptOutcome::Retry { next_attempt_at: Timestamp(5_000), error: "connection refused".to_owned() };
    assert!(store.finish_attempt(mail.id, "n", Timestamp(10), &retry).await.expect("finish"));
    let failed = AttemptOutcome::Failed { error: "gave up".to_owned() };
    assert!(store.finish_attempt(hook.id, "n", Timestamp(10), &failed).await.expect("finish"));
    assert!(store.claim_due("n", Timestamp(4_999), lease, 10).await.expect("claim").is_empty(), "not due yet");
    assert_eq!(store.next_due_at().await.expect("due"), Some(Timestamp(5_000)));
    let again = store.claim_due("n", Timestamp(5_000), lease, 10).await.expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].last_error.as_deref(), Some("connection refused"));
    assert!(store.finish_attempt(mail.id, "n", Timestamp(5_010), &AttemptOutcome::Delivered).await.expect("finish"));
    assert_eq!(store.attempt_count(mail.id).await.expect("count"), 2);
    let summary = store.outbox_summary().await.expect("summary");
    assert_eq!((summary.pending, summary.delivered, summary.failed), (0, 1, 1));
    assert_eq!(store.next_due_at().await.expect("due"), None);
}

pub async fn runs_give_coverage(store: Store, _: &str) {
    let first = store.start_run("node-a", Timestamp(0)).await.expect("start");
    store.heartbeat(first, Timestamp(50)).await.expect("heartbeat");
    let second = store.start_run("node-a", Timestamp(100)).await.expect("start");
    store.stop_run(second, Timestamp(150)).await.expect("stop");
    let coverage = store.coverage(Timestamp(10), Timestamp(200)).await.expect("coverage");
    let periods: Vec<(i64, i64)> = coverage.iter().map(|c| (c.start.0, c.end.0)).collect();
    assert_eq!(periods, [(0, 50), (100, 150)]);
    assert!(store.coverage(Timestamp(60), Timestamp(90)).await.expect("coverage").is_empty());
}

pub async fn a_batch_of_transitions_commits_together(store: Store, _: &str) {
    let batch: Vec<(NewTransition, Vec<NewNotification>)> = (0..50)
        .map(|index| (transition(&format!("m{index}"), index, Health::Unknown, Health::Down), vec![notification("oncall")]))
        .collect();
    let records = store.record_transitions(&batch, DAY).await.expect("batch");
    assert_eq!(records.len(), 50);
    assert_eq!(store.latest_transitions().await.expect("latest").len(), 50);
    assert_eq!(store.outbox_summary().await.expect("summary").pending, 50);
    let keys: std::collections::BTreeSet<String> =
        store.notifications(100).await.expect("list").into_iter().map(|i| i.idempotency_key).collect();
    assert_eq!(keys.len(), 50, "one episode key per transition");
}

pub async fn alerts_fire_and_resolve_once_with_their_notifications(store: Store, _: &str) {
    use vigil_store::NewAlert;
    let alert = NewAlert {
        rule: "slow-api-data".to_owned(),
        fingerprint: "slow-api-data{}".to_owned(),
        labels: "{}".to_owned(),
        severity: "page".to_owned(),
        at: Timestamp(1_000),
        value: 6.5,
        sample_lines: "[]".to_owned(),
    };
    let record = store.fire_alert(&alert, &[notification("oncall")], DAY).await.expect("fire");
    assert_eq!((record.state.as_str(), record.value), ("firing", 6.5));
    assert_eq!(store.open_alerts().await.expect("open").len(), 1);
    assert!(store.resolve_alert(record.id, Timestamp(2_000), &[notification("oncall")], DAY).await.expect("resolve"));
    assert!(!store.resolve_alert(record.id, Timestamp(3_000), &[notification("oncall")], DAY).await.expect("again"), "once");
    assert!(store.open_alerts().await.expect("open").is_empty());
    let history = store.alerts("slow-api-data", 10).await.expect("history");
    assert_eq!(history[0].resolved_at, Some(Timestamp(2_000)));
    let mut keys: Vec<String> = store.notifications(10).await.expect("list").into_iter().map(|item| item.idempotency_key).collect();
    keys.sort();
    assert_eq!(keys, [format!("alert:{}:firing:oncall", record.id), format!("alert:{}:resolved:oncall", record.id)]);
}

pub async fn source_offsets_are_kept_per_source(store: Store, url: &str) {
    assert_eq!(store.source_offset("file:h:/a.log").await.expect("read"), None);
    let offset = |file_id: &str, position| SourceOffset { file_id: file_id.to_owned(), head: "ab12".to_owned(), position };
    store
        .save_source_offsets(
            &[("file:h:/a.log".to_owned(), offset("1:10", 100)), ("file:h:/b.log".to_owned(), offset("1:11", 7))],
            Timestamp(1),
        )
        .await
        .expect("save");
    store.save_source_offsets(&[("file:h:/a.log".to_owned(), offset("1:12", 5_000_000_000))], Timestamp(2)).await.expect("update");
    let reopened = Store::open(url).await.expect("reopen");
    assert_eq!(reopened.source_offset("file:h:/a.log").await.expect("read"), Some(offset("1:12", 5_000_000_000)));
    assert_eq!(reopened.source_offset("file:h:/b.log").await.expect("read"), Some(offset("1:11", 7)));
}
