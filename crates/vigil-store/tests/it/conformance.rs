//! The cases of the conformance suite; each gets an empty, migrated store.

use std::time::Duration;

use std::collections::BTreeMap;
use vigil_core::{Health, Timestamp};

use vigil_store::*;

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
        .expect("record")
        .expect("a change");
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
    let first = store.claim_due("node-a", Timestamp(1_000), lease, 10, true).await.expect("claim");
    assert_eq!(first.len(), 1);
    assert!(store.claim_due("node-b", Timestamp(1_001), lease, 10, true).await.expect("claim").is_empty(), "held by node-a");
    assert!(store.claim_due("node-a", Timestamp(1_001), lease, 10, false).await.expect("claim").is_empty(), "in flight at node-a");
    let restarted = store.claim_due("node-a", Timestamp(1_002), lease, 10, true).await.expect("claim");
    assert_eq!(restarted.len(), 1, "a restarted node takes its own lease back at once");
    // node-a crashed: after the lease, node-b takes over and node-a's late result is refused.
    let taken = store.claim_due("node-b", Timestamp(32_000), lease, 10, false).await.expect("claim");
    assert_eq!(taken.len(), 1);
    let stale = store.finish_attempt(first[0].id, "node-a", Timestamp(32_500), &AttemptOutcome::Delivered).await.expect("finish");
    assert!(!stale, "a lost lease records nothing");
    assert!(store.finish_attempt(taken[0].id, "node-b", Timestamp(32_600), &AttemptOutcome::Delivered).await.expect("finish"));
    assert!(store.claim_due("node-a", Timestamp(100_000), lease, 10, false).await.expect("claim").is_empty(), "delivered once");
}

/// Regression: after an outage of the mail server the UP mail (new, due at once) went
/// out before the DOWN mail (waiting out its backoff).
pub async fn one_monitors_notifications_reach_a_notifier_in_order(store: Store, _: &str) {
    let lease = Duration::from_secs(30);
    store.record_transition(&transition("api", 0, Health::Up, Health::Down), &[notification("oncall")], DAY).await.expect("down");
    let down = store.claim_due("n", Timestamp(0), lease, 10, false).await.expect("claim");
    assert_eq!(down.len(), 1);
    let retry = AttemptOutcome::Retry { next_attempt_at: Timestamp(60_000), error: "connection refused".to_owned() };
    assert!(store.finish_attempt(down[0].id, "n", Timestamp(10), &retry).await.expect("finish"));
    store.record_transition(&transition("api", 20_000, Health::Down, Health::Up), &[notification("oncall")], DAY).await.expect("up");
    let other = store
        .record_transition(&transition("db", 20_000, Health::Up, Health::Down), &[notification("oncall")], DAY)
        .await
        .expect("other")
        .expect("a change");
    let due = store.claim_due("n", Timestamp(20_000), lease, 10, false).await.expect("claim");
    let keys: Vec<&str> = due.iter().map(|item| item.idempotency_key.as_str()).collect();
    assert_eq!(keys, [format!("transition:{}:oncall", other.id)], "the UP waits for the DOWN; another monitor does not");
    assert!(store.finish_attempt(due[0].id, "n", Timestamp(20_010), &AttemptOutcome::Delivered).await.expect("finish"));
    let first_again = store.claim_due("n", Timestamp(60_000), lease, 10, false).await.expect("claim");
    assert_eq!(first_again.iter().map(|item| item.id).collect::<Vec<_>>(), [down[0].id], "the DOWN first, alone");
    assert!(store.finish_attempt(down[0].id, "n", Timestamp(60_010), &AttemptOutcome::Delivered).await.expect("finish"));
    let then = store.claim_due("n", Timestamp(60_020), lease, 10, false).await.expect("claim");
    assert_eq!(then.len(), 1, "then the UP");
    assert!(then[0].id > down[0].id);
    assert_eq!(store.outbox_backlog().await.expect("backlog"), 1, "in flight counts as backlog");
    store.release_leases("n", &[then[0].id]).await.expect("release");
    assert_eq!(store.claim_due("other", Timestamp(60_030), lease, 10, false).await.expect("claim").len(), 1, "released and still due");
}

pub async fn attempts_are_recorded_until_delivered_or_failed(store: Store, _: &str) {
    store
        .record_transition(&transition("api", 0, Health::Up, Health::Down), &[notification("oncall"), notification("hook")], DAY)
        .await
        .expect("record");
    let lease = Duration::from_secs(30);
    let items = store.claim_due("n", Timestamp(0), lease, 10, false).await.expect("claim");
    assert_eq!(items.len(), 2);
    let (mail, hook) = (&items[0], &items[1]);
    let retry = AttemptOutcome::Retry { next_attempt_at: Timestamp(5_000), error: "connection refused".to_owned() };
    assert!(store.finish_attempt(mail.id, "n", Timestamp(10), &retry).await.expect("finish"));
    let failed = AttemptOutcome::Failed { error: "gave up".to_owned() };
    assert!(store.finish_attempt(hook.id, "n", Timestamp(10), &failed).await.expect("finish"));
    assert!(store.claim_due("n", Timestamp(4_999), lease, 10, false).await.expect("claim").is_empty(), "not due yet");
    assert_eq!(store.next_due_at().await.expect("due"), Some(Timestamp(5_000)));
    let again = store.claim_due("n", Timestamp(5_000), lease, 10, false).await.expect("claim");
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

pub async fn other_live_nodes_are_the_running_ones(store: Store, _: &str) {
    let a = store.start_run("a:8080~1", Timestamp(0)).await.expect("start");
    let b = store.start_run("b:8080~2", Timestamp(0)).await.expect("start");
    let _c = store.start_run("c:8080~3", Timestamp(0)).await.expect("start");
    store.heartbeat(a, Timestamp(50_000)).await.expect("heartbeat");
    store.heartbeat(b, Timestamp(50_000)).await.expect("heartbeat");
    store.stop_run(b, Timestamp(55_000)).await.expect("stop");
    let me = store.start_run("me:8080~4", Timestamp(60_000)).await.expect("start");
    store.heartbeat(me, Timestamp(60_000)).await.expect("heartbeat");
    // c was last seen at 0: dead. b stopped. a is alive.
    assert_eq!(store.other_live_nodes("me:8080~4", Timestamp(30_000)).await.expect("nodes"), ["a:8080~1"]);
}

pub async fn a_batch_of_transitions_commits_together(store: Store, _: &str) {
    let batch: Vec<TransitionWrite> = (0..50)
        .map(|index| TransitionWrite {
            episode: None,
            transition: transition(&format!("m{index}"), index, Health::Unknown, Health::Down),
            notifications: vec![notification("oncall")],
            executions: Vec::new(),
        })
        .collect();
    let records = store.record_transitions(&batch, DAY).await.expect("batch");
    assert_eq!(records.iter().flatten().count(), 50);
    assert_eq!(store.latest_transitions().await.expect("latest").len(), 50);
    assert_eq!(store.outbox_summary().await.expect("summary").pending, 50);
    let keys: std::collections::BTreeSet<String> =
        store.notifications(100).await.expect("list").into_iter().map(|i| i.idempotency_key).collect();
    assert_eq!(keys.len(), 50, "one episode key per transition");
}

fn episode_change(name: &str, firing: bool, at: i64) -> vigil_store::EpisodeChange {
    let labels = BTreeMap::from([("alertname".to_owned(), name.to_owned()), ("service".to_owned(), "api".to_owned())]);
    vigil_store::EpisodeChange {
        source: vigil_store::AlertSource::Rule,
        source_key: format!("{name}{{}}"),
        name: name.to_owned(),
        fingerprint: vigil_alerts::fingerprint_hex(&labels),
        labels,
        annotations: BTreeMap::new(),
        firing,
        at: Timestamp(at),
        ends_at: None,
        received_at: Timestamp(at),
        generator_url: String::new(),
        value: 6.5,
        evidence: "[]".to_owned(),
        receivers: vec!["oncall".to_owned()],
        notifications: vec![notification("oncall")],
        executions: Vec::new(),
        incident: None,
    }
}

pub async fn alerts_fire_and_resolve_once_with_their_notifications(store: Store, _: &str) {
    use vigil_store::Applied;
    let applied = store.apply_changes(&[episode_change("slow-api-data", true, 1_000)], Timestamp(1_000), DAY).await.expect("fire");
    let Applied::Started(record) = &applied[0] else { panic!("a new episode: {applied:?}") };
    assert_eq!(
        (record.state, record.value, record.receivers.as_slice()),
        (vigil_store::EpisodeState::Firing, 6.5, &["oncall".to_owned()][..])
    );
    let again = store.apply_changes(&[episode_change("slow-api-data", true, 1_500)], Timestamp(1_500), DAY).await.expect("again");
    assert_eq!(again, [Applied::Refreshed(record.id)], "firing again continues the episode");
    assert_eq!(store.firing_episodes(None).await.expect("open").len(), 1);
    let resolved = store.apply_changes(&[episode_change("slow-api-data", false, 2_000)], Timestamp(2_000), DAY).await.expect("resolve");
    assert!(matches!(&resolved[0], Applied::Resolved(r) if r.ends_at == Some(Timestamp(2_000))));
    let twice = store.apply_changes(&[episode_change("slow-api-data", false, 3_000)], Timestamp(3_000), DAY).await.expect("twice");
    assert_eq!(twice, [Applied::Unchanged], "once");
    assert!(store.firing_episodes(None).await.expect("open").is_empty());
    let history = store.episodes(Some("slow-api-data"), 10).await.expect("history");
    assert_eq!(history[0].ends_at, Some(Timestamp(2_000)));
    let mut keys: Vec<String> = store.notifications(10).await.expect("list").into_iter().map(|item| item.idempotency_key).collect();
    keys.sort();
    assert_eq!(keys, [format!("episode:{}:firing:oncall", record.id), format!("episode:{}:resolved:oncall", record.id)]);
}

pub async fn a_group_notification_is_written_once(store: Store, _: &str) {
    let entry = |seq: i64| vigil_store::NotifyLogEntry {
        receiver: "oncall".to_owned(),
        group_key: "{}:{alertname=\"x\"}".to_owned(),
        first_at: Timestamp(1_000),
        seq,
        sent_at: Timestamp(1_000 * seq),
        firing: vec!["00000000000000aa".to_owned()],
        resolved: Vec::new(),
        thread: "t".to_owned(),
        flapping: vec!["00000000000000aa".to_owned()],
    };
    let outbox = |seq: i64| vec![(format!("group:oncall:x:{seq}:mail"), notification("mail"))];
    let decided = |seq: i64| {
        vec![vigil_store::NewDecision {
            episode_id: 7,
            at: Timestamp(1_000 * seq),
            receiver: "oncall".to_owned(),
            group_key: entry(1).group_key,
            kind: DecisionKind::Notified,
            detail: "firing".to_owned(),
            seq: Some(seq),
            thread: "t".to_owned(),
        }]
    };
    assert!(store.record_group_notification(&entry(1), &outbox(1), &decided(1), DAY).await.expect("first"));
    assert!(!store.record_group_notification(&entry(1), &outbox(1), &decided(1), DAY).await.expect("again"), "a second node loses");
    assert!(!store.record_group_notification(&entry(3), &outbox(3), &decided(3), DAY).await.expect("skip"), "numbers follow one another");
    assert!(store.record_group_notification(&entry(2), &outbox(2), &decided(2), DAY).await.expect("second"));
    let log = store.notify_log("oncall", &entry(1).group_key).await.expect("log").expect("kept");
    assert_eq!((log.seq, log.flapping), (2, entry(1).flapping));
    let decisions = store.decisions(7).await.expect("decisions");
    assert_eq!(decisions.iter().map(|d| d.seq).collect::<Vec<_>>(), [Some(1), Some(2)], "only the winners' decisions are kept");
    assert_eq!(store.outbox_summary().await.expect("summary").pending, 2, "one outbox row per notification won");
    store.forget_group("oncall", &entry(1).group_key, 1).await.expect("stale forget");
    assert_eq!(store.notify_logs().await.expect("logs").len(), 1, "forgetting an older number changes nothing");
    store.forget_group("oncall", &entry(1).group_key, 2).await.expect("forget");
    assert!(store.notify_logs().await.expect("logs").is_empty());
}

pub async fn decisions_are_written_when_they_change(store: Store, _: &str) {
    let decision = |kind: DecisionKind, detail: &str, at: i64| vigil_store::NewDecision {
        episode_id: 3,
        at: Timestamp(at),
        receiver: "oncall".to_owned(),
        group_key: "{}:{}".to_owned(),
        kind,
        detail: detail.to_owned(),
        seq: None,
        thread: String::new(),
    };
    let silenced = decision(DecisionKind::Silenced, "by 1234", 1_000);
    assert_eq!(store.record_decisions(std::slice::from_ref(&silenced)).await.expect("first"), 1);
    assert_eq!(store.record_decisions(&[decision(DecisionKind::Silenced, "by 1234", 2_000)]).await.expect("same"), 0, "unchanged");
    let other = vigil_store::NewDecision { receiver: "team".to_owned(), ..silenced.clone() };
    let inhibited = decision(DecisionKind::Inhibited, "by 00000000000000aa (rule #1)", 3_000);
    assert_eq!(store.record_decisions(&[other, inhibited, silenced]).await.expect("changes"), 3, "per receiver, and a return counts");
    let kinds: Vec<(String, DecisionKind)> = store.decisions(3).await.expect("list").into_iter().map(|d| (d.receiver, d.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("oncall".to_owned(), DecisionKind::Silenced),
            ("team".to_owned(), DecisionKind::Silenced),
            ("oncall".to_owned(), DecisionKind::Inhibited),
            ("oncall".to_owned(), DecisionKind::Silenced)
        ]
    );
}

pub async fn expired_inbound_alerts_resolve(store: Store, _: &str) {
    let mut change = episode_change("HighLatency", true, 1_000);
    change.source = vigil_store::AlertSource::Inbound;
    change.ends_at = Some(Timestamp(5_000));
    store.apply_changes(&[change], Timestamp(1_000), DAY).await.expect("post");
    assert!(store.expire_episodes(Timestamp(4_999)).await.expect("early").is_empty());
    let expired = store.expire_episodes(Timestamp(5_000)).await.expect("expire");
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].state, vigil_store::EpisodeState::Resolved);
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

pub async fn a_change_already_recorded_by_another_node_is_skipped(store: Store, _: &str) {
    let down = |at| transition("api", at, Health::Up, Health::Down);
    let first = store.record_transition(&down(1_000), &[notification("oncall")], DAY).await.expect("record");
    assert!(first.is_some());
    // A second node saw the same outage a moment later: nothing more is stored or sent.
    assert_eq!(store.record_transition(&down(1_200), &[notification("oncall")], DAY).await.expect("record"), None);
    assert_eq!(store.transitions("api", 10).await.expect("history").len(), 1);
    assert_eq!(store.outbox_summary().await.expect("summary").pending, 1);
    let up = store.record_transition(&transition("api", 2_000, Health::Down, Health::Up), &[], DAY).await.expect("record");
    assert!(up.is_some(), "the recovery is a change again");
}

fn execution(action: &str, target: Result<&str, &str>) -> NewExecution {
    NewExecution {
        action: action.to_owned(),
        target: target.map(str::to_owned).map_err(str::to_owned),
        summary: "api is DOWN".to_owned(),
        labels: r#"{"monitor":"api"}"#.to_owned(),
        notify: vec!["oncall".to_owned()],
        dry_run: false,
        attempt: 1,
        not_before: None,
    }
}

fn down_with(executions: Vec<NewExecution>, at: i64) -> TransitionWrite {
    TransitionWrite { transition: transition("api", at, Health::Up, Health::Down), notifications: Vec::new(), executions, episode: None }
}

pub async fn executions_queue_with_their_trigger_once_per_episode(store: Store, _: &str) {
    let records = store
        .record_transitions(
            &[down_with(vec![execution("reboot", Ok("ec2:i-1")), execution("reboot", Err("empty target set"))], 1_000)],
            DAY,
        )
        .await
        .expect("record");
    let transition_id = records[0].as_ref().expect("stored").id;
    let claimed = store.due_executions(Timestamp(1_000), 10).await.expect("due");
    assert_eq!(claimed.len(), 2);
    assert_eq!(claimed[0].trigger, Trigger { kind: "transition".into(), name: "api".into(), id: transition_id });
    assert_eq!((claimed[0].episode.as_str(), claimed[0].state), (format!("transition:{transition_id}").as_str(), ExecutionState::Pending));
    assert_eq!((claimed[1].target.as_str(), claimed[1].target_error.as_deref()), ("", Some("empty target set")));
    assert!(store.due_executions(Timestamp(999), 10).await.expect("due").is_empty(), "not due before it was queued");
    // The same episode asks again while the first is not finished: not queued twice.
    let trigger = claimed[0].trigger.clone();
    assert!(store.enqueue_executions(&[execution("reboot", Ok("ec2:i-1"))], &trigger, Timestamp(1_100)).await.expect("enqueue").is_empty());
    let update = ExecutionUpdate { state: Some(ExecutionState::Failed), outcome: "failed".into(), ..ExecutionUpdate::default() };
    assert!(
        !store.update_execution(claimed[0].id, Some(ExecutionState::Held), &update, Timestamp(1_200), DAY).await.expect("update"),
        "not in the state the caller read: another node moved it on"
    );
    let audit = AuditEntry {
        at: Timestamp(1_200),
        execution_id: Some(claimed[0].id),
        action: "reboot".into(),
        target: "ec2:i-1".into(),
        event: "failed".into(),
        detail: "boom".into(),
        node: "node-a".into(),
    };
    let update = ExecutionUpdate { notifications: vec![notification("oncall")], audit: vec![audit.clone()], ..update };
    assert!(store.update_execution(claimed[0].id, Some(ExecutionState::Pending), &update, Timestamp(1_200), DAY).await.expect("update"));
    assert!(
        !store.update_execution(claimed[0].id, Some(ExecutionState::Pending), &update, Timestamp(1_250), DAY).await.expect("update"),
        "a second node that read `pending` too changes nothing"
    );
    assert_eq!(store.audit(Some(claimed[0].id), 10).await.expect("audit"), [audit]);
    let keys: Vec<String> = store.notifications(10).await.expect("outbox").into_iter().map(|item| item.idempotency_key).collect();
    assert_eq!(keys, [format!("execution:{}:failed:oncall", claimed[0].id)]);
    // Once it is finished, a follow-up attempt for the same episode may be queued.
    let mut follow_up = execution("reboot", Ok("ec2:i-1"));
    follow_up.attempt = 2;
    follow_up.not_before = Some(Timestamp(5_000));
    assert_eq!(store.enqueue_executions(&[follow_up], &trigger, Timestamp(1_300)).await.expect("enqueue").len(), 1);
    assert_eq!(store.next_execution_due().await.expect("due"), Some(Timestamp(1_000)), "the rejected one is still claimed");
}

pub async fn guard_facts_count_budgets_cooldowns_and_breakers(store: Store, _: &str) {
    let windows = FactWindows {
        global_budget: Duration::from_secs(3600),
        action_budget: Duration::from_secs(600),
        breaker: Duration::from_secs(3600),
    };
    let minute = 60_000;
    let records =
        store.record_transitions(&[down_with((0..3).map(|_| execution("reboot", Ok("ec2:i-1"))).collect(), 0)], DAY).await.expect("record");
    assert!(records[0].is_some());
    // Dedupe keeps one of three identical asks; queue the others as separate episodes.
    for (index, at) in [(2, 20 * minute), (3, 55 * minute)] {
        let trigger = Trigger { kind: "inbound".into(), name: "x".into(), id: index };
        store.enqueue_executions(&[execution("reboot", Ok("ec2:i-1"))], &trigger, Timestamp(at)).await.expect("enqueue");
    }
    let claimed = store.due_executions(Timestamp(60 * minute), 10).await.expect("due");
    assert_eq!(claimed.len(), 3);
    for (record, started, state) in [
        (&claimed[0], 10 * minute, ExecutionState::Failed),
        (&claimed[1], 50 * minute, ExecutionState::Failed),
        (&claimed[2], 55 * minute, ExecutionState::Verified),
    ] {
        let update =
            ExecutionUpdate { state: Some(state), started_at: Some(Timestamp(started)), outcome: "x".into(), ..ExecutionUpdate::default() };
        store.update_execution(record.id, Some(ExecutionState::Pending), &update, Timestamp(started), DAY).await.expect("update");
    }
    let facts = store.guard_facts("reboot", "ec2:i-1", Timestamp(60 * minute), windows).await.expect("facts");
    assert_eq!(
        facts,
        GuardFacts {
            paused: false,
            global_used: 3,
            action_used: 2,
            last_started: Some(Timestamp(55 * minute)),
            breaker_open: false,
            failures: 2
        }
    );
    assert!(store.open_breaker("reboot", "ec2:i-1", Timestamp(60 * minute)).await.expect("open"));
    assert!(!store.open_breaker("reboot", "ec2:i-1", Timestamp(61 * minute)).await.expect("open"), "opened once");
    assert_eq!(store.open_breakers().await.expect("open").len(), 1);
    assert!(store.guard_facts("reboot", "ec2:i-1", Timestamp(60 * minute), windows).await.expect("facts").breaker_open);
    assert_eq!(store.reset_breakers("reboot", Timestamp(62 * minute)).await.expect("reset"), 1);
    let facts = store.guard_facts("reboot", "ec2:i-1", Timestamp(63 * minute), windows).await.expect("facts");
    assert_eq!((facts.breaker_open, facts.failures), (false, 0), "failures before the reset no longer count");
    store.set_paused(true, "alice", Timestamp(64 * minute)).await.expect("pause");
    assert!(store.guard_facts("reboot", "ec2:i-1", Timestamp(64 * minute), windows).await.expect("facts").paused);
    store.set_paused(false, "alice", Timestamp(65 * minute)).await.expect("resume");
    assert!(!store.paused().await.expect("paused"));
}

pub async fn target_leases_hand_out_increasing_fencing_tokens(store: Store, _: &str) {
    let first = store.acquire_target_lease("ec2:i-1", "node-a", Timestamp(0), Timestamp(30_000)).await.expect("lease");
    assert_eq!(first, Some(1));
    assert_eq!(store.acquire_target_lease("ec2:i-1", "node-b", Timestamp(10), Timestamp(30_010)).await.expect("lease"), None);
    assert_eq!(store.target_lease_holder("ec2:i-1", Timestamp(10)).await.expect("holder"), Some(("node-a".into(), Timestamp(30_000))));
    // node-a stalls past its lease; node-b takes over with a larger token.
    let second = store.acquire_target_lease("ec2:i-1", "node-b", Timestamp(30_000), Timestamp(60_000)).await.expect("lease");
    assert_eq!(second, Some(2));
    assert!(!store.release_target_lease("ec2:i-1", 1).await.expect("release"), "a stale token releases nothing");
    assert!(store.release_target_lease("ec2:i-1", 2).await.expect("release"));
    assert_eq!(store.acquire_target_lease("ec2:i-1", "node-a", Timestamp(30_001), Timestamp(60_000)).await.expect("lease"), Some(3));

    // Starting an execution takes its target's lease in the same transaction: not while
    // another holds it, and not twice.
    let write = TransitionWrite {
        episode: None,
        transition: transition("api", 100, Health::Up, Health::Down),
        notifications: Vec::new(),
        executions: vec![execution("reboot", Ok("ec2:i-2"))],
    };
    store.record_transitions(&[write], DAY).await.expect("record");
    let id = store.due_executions(Timestamp(100), 1).await.expect("due")[0].id;
    let running = |token: i64| ExecutionUpdate {
        state: Some(ExecutionState::Running),
        started_at: Some(Timestamp(200)),
        result: Some(format!("token {token}")),
        outcome: "started".into(),
        ..ExecutionUpdate::default()
    };
    store.acquire_target_lease("ec2:i-2", "other", Timestamp(100), Timestamp(150)).await.expect("lease");
    let held = store.start_execution(id, ExecutionState::Pending, "ec2:i-2", "me", Timestamp(30_000), running, Timestamp(120), DAY).await;
    assert_eq!(held.expect("start"), None, "leased by another");
    let token = store.start_execution(id, ExecutionState::Pending, "ec2:i-2", "me", Timestamp(30_000), running, Timestamp(200), DAY).await;
    assert_eq!(token.expect("start"), Some(2));
    let record = store.execution(id).await.expect("read").expect("exists");
    assert_eq!((record.state, record.fencing_token, record.result.as_deref()), (ExecutionState::Running, Some(2), Some("token 2")));
    let again =
        store.start_execution(id, ExecutionState::Pending, "ec2:i-2", "you", Timestamp(60_000), running, Timestamp(40_000), DAY).await;
    assert_eq!(again.expect("start"), None, "already running");
    // A run nobody finished (its node stopped) comes up once it is older than the margin.
    let margin = Duration::from_secs(30);
    assert!(store.due_checks(Timestamp(1_000), margin).await.expect("due").is_empty());
    let stale = store.due_checks(Timestamp(40_000), margin).await.expect("due");
    assert_eq!(stale.iter().map(|(record, _)| record.id).collect::<Vec<_>>(), [id]);
}

pub async fn silences_approvals_and_inbound_episodes(store: Store, _: &str) {
    let matcher = vigil_store::StoredMatcher { name: "monitor".to_owned(), value: "api".to_owned(), is_regex: false, is_equal: true };
    let new = vigil_store::NewSilence {
        id: "6f1c2d3e-0000-4000-8000-000000000001".to_owned(),
        matchers: vec![matcher],
        starts_at: Timestamp(0),
        ends_at: Timestamp(1_000),
        created_by: "alice".to_owned(),
        comment: "deploy".to_owned(),
    };
    let silence = store.add_silence(&new, Timestamp(0)).await.expect("silence");
    let labels = BTreeMap::from([("monitor".to_owned(), "api".to_owned()), ("env".to_owned(), "prod".to_owned())]);
    assert!(silence.silence().mutes(&labels, 500));
    assert!(!silence.silence().mutes(&labels, 1_001), "over after its end");
    assert_eq!(store.silences(Timestamp(500), false).await.expect("list"), std::slice::from_ref(&silence));
    assert_eq!(store.silence("6f1c").await.expect("by prefix").map(|s| s.id), Some(silence.id.clone()));
    assert!(store.expire_silence(&silence.id, Timestamp(600)).await.expect("expire"));
    assert!(!store.expire_silence(&silence.id, Timestamp(700)).await.expect("expire again"), "already expired");
    assert!(store.silences(Timestamp(700), false).await.expect("list").is_empty());
    assert_eq!(store.silences(Timestamp(700), true).await.expect("history").len(), 1, "expired silences are kept");

    let mut change = episode_change("HighLatency", true, 100);
    change.source = vigil_store::AlertSource::Inbound;
    change.executions = vec![execution("reboot", Ok("ec2:i-9"))];
    let applied = store.apply_changes(std::slice::from_ref(&change), Timestamp(100), DAY).await.expect("start");
    let vigil_store::Applied::Started(record) = &applied[0] else { panic!("a new episode") };
    let trigger = Trigger { kind: "episode".into(), name: "HighLatency".into(), id: record.id };
    assert!(!store.trigger_cleared(&trigger).await.expect("cleared"));
    change.firing = false;
    change.at = Timestamp(300);
    store.apply_changes(&[change], Timestamp(300), DAY).await.expect("resolve");
    assert!(store.trigger_cleared(&trigger).await.expect("cleared"));

    let claimed = store.due_executions(Timestamp(400), 10).await.expect("due");
    let waiting = ExecutionUpdate {
        state: Some(ExecutionState::AwaitingApproval),
        approval_deadline: Some(Timestamp(10_000)),
        outcome: "approval".into(),
        ..ExecutionUpdate::default()
    };
    store.update_execution(claimed[0].id, Some(ExecutionState::Pending), &waiting, Timestamp(400), DAY).await.expect("wait");
    assert_eq!(store.answer_approval(claimed[0].id + 100, true, "bob", Timestamp(500)).await.expect("answer"), ApprovalAnswer::NotFound);
    let ApprovalAnswer::Recorded(approved) = store.answer_approval(claimed[0].id, true, "bob", Timestamp(500)).await.expect("answer")
    else {
        panic!("recorded")
    };
    assert_eq!((approved.state, approved.approved_by.as_deref()), (ExecutionState::Pending, Some("bob")));
    assert_eq!(
        store.answer_approval(claimed[0].id, true, "bob", Timestamp(600)).await.expect("answer"),
        ApprovalAnswer::NotWaiting(ExecutionState::Pending)
    );
}

pub async fn slo_windows_are_saved_per_node_and_read_by_change_number(store: Store, _: &str) {
    let block = |width: i64, start: i64, data: &[u8]| SloBlockRow { width, start, data: data.to_vec() };
    assert!(store.slo_windows("api", "a").await.expect("none yet").is_none());
    assert_eq!(store.slo_change_seq().await.expect("seq"), 0);
    let save = |at: i64, blocks: Vec<SloBlockRow>, oldest: Vec<(i64, i64)>| SloSave { slo: "api".into(), at, blocks, oldest };
    // Bytes of every value, a zero and a 0xff among them, come back as they went.
    let bytes: Vec<u8> = (0..=255).collect();
    store.save_slo_windows("a", &[save(1_000, vec![block(1_000, 0, &bytes), block(60_000, 0, &[1, 2])], vec![])]).await.expect("save a");
    store.save_slo_windows("b", &[save(2_000, vec![block(1_000, 0, &[8]), block(1_000, 256, &[9])], vec![])]).await.expect("save b");
    let mine = store.slo_windows("api", "a").await.expect("read").expect("stored");
    assert_eq!((mine.at, mine.blocks.clone()), (1_000, vec![block(1_000, 0, &bytes), block(60_000, 0, &[1, 2])]));
    // A block saved again replaces its bytes; blocks before the oldest kept go, every
    // node's (b's first one too).
    store
        .save_slo_windows("a", &[save(3_000, vec![block(1_000, 256, &[7]), block(60_000, 0, &[3])], vec![(1_000, 256)])])
        .await
        .expect("save again");
    let mine = store.slo_windows("api", "a").await.expect("read").expect("stored");
    assert_eq!((mine.at, mine.blocks), (3_000, vec![block(1_000, 256, &[7]), block(60_000, 0, &[3])]));
    let all = store.slo_windows_of_all_nodes("api").await.expect("all").expect("stored");
    assert_eq!((all.at, all.blocks.len()), (3_000, 3), "both nodes' blocks");
    assert_eq!(store.slo_latest("api").await.expect("latest"), Some(3_000));
    assert_eq!(store.slo_latest("web").await.expect("latest"), None);
    // What other nodes saved, after a change number: a's second save only, for b.
    let (seen_by_b, newest) = store.slo_blocks_saved_after(2, "b").await.expect("after 2");
    assert_eq!(newest, 3);
    assert_eq!(seen_by_b.iter().map(|saved| (saved.node.as_str(), saved.block.start)).collect::<Vec<_>>(), [("a", 256), ("a", 0)]);
    let (seen_by_a, _) = store.slo_blocks_saved_after(0, "a").await.expect("from the start");
    assert_eq!(seen_by_a, [NodeBlock { slo: "api".into(), node: "b".into(), block: block(1_000, 256, &[9]) }]);
    assert!(store.slo_blocks_saved_after(3, "b").await.expect("nothing newer").0.is_empty());

    let sample = |at: i64, bad: i64| SloSample { at, window_ms: 2_592_000_000, objective_ppb: 999_000_000, total: 1_000, bad };
    store.record_slo_samples(&[("api".into(), sample(3_600_000, 1)), ("web".into(), sample(3_600_000, 2))]).await.expect("samples");
    // Taken twice (two nodes, or a restart), the first stays.
    store.record_slo_samples(&[("api".into(), sample(3_600_000, 5)), ("api".into(), sample(7_200_000, 3))]).await.expect("again");
    assert_eq!(store.slo_history("api", 0).await.expect("history"), [sample(3_600_000, 1), sample(7_200_000, 3)]);
    assert_eq!(store.slo_history("api", 7_000_000).await.expect("since"), [sample(7_200_000, 3)]);
}

fn incident_change(name: &str, firing: bool, at: i64) -> vigil_store::EpisodeChange {
    let plan = IncidentPlan {
        severity: vigil_core::incident::Severity::Sev2,
        service: "api".to_owned(),
        escalation: Some("api-oncall".to_owned()),
        title: format!("{name} fired"),
        signal_at: Some(Timestamp(at - 30_000)),
    };
    vigil_store::EpisodeChange { incident: firing.then_some(plan), notifications: Vec::new(), ..episode_change(name, firing, at) }
}

/// Alerts of one service open one incident and join it; their resolutions count down;
/// pages move the escalation once; an acknowledgement stops it and names a commander;
/// links work once and before they expire; delivery outcomes land on the timeline.
pub async fn incidents_join_escalate_and_acknowledge_once(store: Store, url: &str) {
    use vigil_core::incident::{Role, Status};
    let applied = store
        .apply_changes(&[incident_change("api-down", true, 100_000), incident_change("api-slow", true, 110_000)], Timestamp(110_000), DAY)
        .await
        .expect("fire");
    assert_eq!(applied.len(), 2);
    let open = store.open_incidents().await.expect("open");
    assert_eq!(open.len(), 1, "one incident for the service: {open:?}");
    let incident = &open[0];
    assert_eq!((incident.title.as_str(), incident.alerts_firing, incident.status), ("api-down fired", 2, Status::Investigating));
    assert_eq!((incident.triggered_at, incident.first_signal_at), (Timestamp(100_000), Some(Timestamp(70_000))));
    assert_eq!(store.incident_alerts(incident.id).await.expect("alerts").len(), 2);

    // A second node opening the same service's incident at the same time joins it.
    let other = Store::open(url).await.expect("second node");
    let by_hand = NewIncident {
        title: "by hand".to_owned(),
        severity: vigil_core::incident::Severity::Sev1,
        service: Some("api".to_owned()),
        escalation: None,
        opened_by: "alice".to_owned(),
        triggered_at: Timestamp(120_000),
        first_signal_at: None,
    };
    assert_eq!(other.open_incident(&by_hand, Timestamp(120_000)).await.expect("open"), Err(incident.id));

    // Pages: the escalation moves from 0 to 1 once.
    let escalation = store.escalation(incident.id).await.expect("read").expect("an escalation");
    assert_eq!((escalation.sent, escalation.next_due, escalation.state), (0, Some(Timestamp(110_000)), EscalationState::Active));
    assert_eq!(store.escalations_due(Timestamp(110_000), 10).await.expect("due").len(), 1);
    let write = PagesWrite {
        incident_id: incident.id,
        started_at: escalation.started_at,
        sent_before: 0,
        sent_after: 1,
        next_due: Some(Timestamp(410_000)),
        exhausted: false,
        notifications: vec![(format!("incident:{}:page:0:alice", incident.id), notification("oncall"), "page 1 to alice".to_owned())],
        entries: vec![NewEntry::new("page", "vigil", "paged alice")],
    };
    assert!(store.record_pages(&write, Timestamp(110_500), DAY).await.expect("page"));
    assert!(!other.record_pages(&write, Timestamp(110_600), DAY).await.expect("again"), "the second node's copy is refused");
    assert_eq!(store.next_page_due().await.expect("next"), Some(Timestamp(410_000)));
    let claimed = store.claim_due("node-a", Timestamp(111_000), Duration::from_secs(60), 10, false).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    assert!(store.finish_attempt(claimed[0].id, "node-a", Timestamp(111_500), &AttemptOutcome::Delivered).await.expect("finish"));

    // A link: unknown, expired and used ones are refused; a good one acknowledges once.
    let link = LinkRecord {
        incident_id: incident.id,
        person: "alice".to_owned(),
        action: "ack".to_owned(),
        expires_at: Timestamp(200_000),
        used_at: None,
    };
    store.insert_link("hash-a", &link, Timestamp(110_500)).await.expect("link");
    store.insert_link("hash-old", &LinkRecord { expires_at: Timestamp(111_000), ..link.clone() }, Timestamp(110_500)).await.expect("link");
    assert_eq!(store.use_link("forged", Timestamp(112_000)).await.expect("use"), Err(LinkRefusal::Unknown));
    assert_eq!(store.use_link("hash-old", Timestamp(112_000)).await.expect("use"), Err(LinkRefusal::Expired));
    let used = store.use_link("hash-a", Timestamp(112_000)).await.expect("use").expect("accepted");
    assert!(matches!(used.1, Acknowledged::Done(ref record) if record.acknowledged_by.as_deref() == Some("alice")));
    assert_eq!(store.use_link("hash-a", Timestamp(112_500)).await.expect("use"), Err(LinkRefusal::Used));
    assert!(
        matches!(store.acknowledge(incident.id, "bob", "the CLI", Timestamp(113_000)).await.expect("ack"), Acknowledged::Already { ref by, .. } if by == "alice")
    );
    let escalation = store.escalation(incident.id).await.expect("read").expect("an escalation");
    assert_eq!((escalation.state, escalation.next_due), (EscalationState::Stopped, None));
    assert!(!store
        .record_pages(&PagesWrite { sent_before: 1, sent_after: 2, ..write.clone() }, Timestamp(410_000), DAY)
        .await
        .expect("late"));
    let roles = store.incident_roles(incident.id).await.expect("roles");
    assert_eq!(roles.iter().map(|role| (role.role, role.person.as_str())).collect::<Vec<_>>(), [(Role::Commander, "alice")]);

    // Re-notify restarts a stopped escalation once, if nothing happened since.
    let entry = NewEntry::new("escalation", "vigil", "paging again");
    assert!(!store.restart_escalation(incident.id, Timestamp(100_000), &entry, Timestamp(500_000)).await.expect("too soon"));
    assert!(store.restart_escalation(incident.id, Timestamp(113_000), &entry, Timestamp(500_000)).await.expect("restart"));
    let escalation = store.escalation(incident.id).await.expect("read").expect("an escalation");
    assert_eq!((escalation.started_at, escalation.sent, escalation.state), (Timestamp(500_000), 0, EscalationState::Active));

    // Reminders move once per value read.
    let reminder = Reminder { kind: ReminderKind::Update, previous: None, notifications: Vec::new(), entry: entry.clone() };
    assert!(store.record_reminder(incident.id, &reminder, Timestamp(400_000), DAY).await.expect("remind"));
    assert!(!other.record_reminder(incident.id, &reminder, Timestamp(400_000), DAY).await.expect("again"));

    // Resolutions count down; the last one notes when the alerts resolved.
    store.apply_changes(&[incident_change("api-down", false, 600_000)], Timestamp(600_000), DAY).await.expect("resolve");
    let record = store.incident(incident.id).await.expect("read").expect("there");
    assert_eq!((record.alerts_firing, record.alerts_resolved_at), (1, None));
    store.apply_changes(&[incident_change("api-slow", false, 610_000)], Timestamp(610_000), DAY).await.expect("resolve");
    let record = store.incident(incident.id).await.expect("read").expect("there");
    assert_eq!((record.alerts_firing, record.alerts_resolved_at), (0, Some(Timestamp(610_000))));
    assert!(matches!(
        store.resolve_incident(incident.id, "alice", "confirmed", Timestamp(620_000)).await.expect("resolve"),
        Acknowledged::Done(_)
    ));
    assert_eq!(store.resolve_incident(incident.id, "alice", "again", Timestamp(621_000)).await.expect("again"), Acknowledged::Resolved);

    let kinds: Vec<String> = store.timeline(incident.id).await.expect("timeline").into_iter().map(|entry| entry.kind).collect();
    assert_eq!(
        kinds,
        [
            "opened",
            "alert-joined",
            "alert-joined",
            "page",
            "delivered",
            "acknowledged",
            "role",
            "escalation",
            "escalation",
            "alert-resolved",
            "alert-resolved",
            "resolved"
        ],
        "the whole story, in order"
    );
    // The next outage of the service opens a new incident.
    store.apply_changes(&[incident_change("api-down", true, 700_000)], Timestamp(700_000), DAY).await.expect("fire again");
    let open = store.open_incidents().await.expect("open");
    assert_eq!(open.len(), 1);
    assert_ne!(open[0].id, incident.id);

    let facts = store.incident_facts(Timestamp(0)).await.expect("facts");
    assert_eq!(facts.len(), 2);
    assert_eq!((facts[0].record.acknowledged_at, facts[0].exhausted, facts[0].remediated), (Some(Timestamp(112_000)), false, false));
}

/// Updates, notes, roles, severity, action items and overrides.
pub async fn incident_records_updates_items_and_overrides(store: Store, _: &str) {
    use vigil_core::incident::{Role, Severity, Status};
    let new = NewIncident {
        title: "checkout errors".to_owned(),
        severity: Severity::Sev1,
        service: None,
        escalation: None,
        opened_by: "alice".to_owned(),
        triggered_at: Timestamp(1_000),
        first_signal_at: None,
    };
    let incident = store.open_incident(&new, Timestamp(1_000)).await.expect("open").expect("opened");
    let second = store.open_incident(&new, Timestamp(1_000)).await.expect("open").expect("no service: no conflict");
    assert_ne!(incident.id, second.id);
    assert!(store.note(incident.id, "bob", "rolled back 1.4.2", Timestamp(2_000)).await.expect("note"));
    assert!(!store.note(999, "bob", "nowhere", Timestamp(2_000)).await.expect("note"));
    store.assign_role(incident.id, Role::Communicator, "carol", "alice", Timestamp(3_000)).await.expect("assign");
    store.assign_role(incident.id, Role::Communicator, "dave", "alice", Timestamp(3_500)).await.expect("replace");
    store.assign_role(incident.id, Role::Responder, "erin", "alice", Timestamp(3_600)).await.expect("add");
    store.assign_role(incident.id, Role::Responder, "frank", "alice", Timestamp(3_700)).await.expect("add");
    let roles: Vec<(Role, String)> =
        store.incident_roles(incident.id).await.expect("roles").into_iter().map(|role| (role.role, role.person)).collect();
    assert_eq!(
        roles,
        [(Role::Communicator, "dave".to_owned()), (Role::Responder, "erin".to_owned()), (Role::Responder, "frank".to_owned())]
    );
    store.set_severity(incident.id, Severity::Sev2, "alice", Timestamp(4_000)).await.expect("severity");
    let new = NewUpdate {
        status: Some(Status::Identified),
        text: "cause: a bad deploy".to_owned(),
        public: true,
        author: "dave".to_owned(),
        notifications: Vec::new(),
    };
    let update = store.record_update(incident.id, &new, Timestamp(5_000), DAY).await.expect("update").expect("there");
    assert_eq!((update.status, update.public), (Status::Identified, true));
    let record = store.incident(incident.id).await.expect("read").expect("there");
    assert_eq!((record.status, record.severity, record.last_update_at), (Status::Identified, Severity::Sev2, Some(Timestamp(5_000))));
    assert_eq!(store.incident_updates(None, 10).await.expect("public").len(), 1);
    let texts: Vec<String> = store.timeline(incident.id).await.expect("timeline").into_iter().map(|entry| entry.text).collect();
    assert!(texts.contains(&"dave is communicator (was carol)".to_owned()), "{texts:?}");
    assert!(texts.contains(&"severity SEV-1 → SEV-2".to_owned()), "{texts:?}");
    assert!(texts.contains(&"status investigating → identified".to_owned()), "{texts:?}");

    let item = store.add_action_item(incident.id, "add the /health route", "alice", Some(Timestamp(10_000)), "bob", Timestamp(6_000)).await;
    let item = item.expect("add").expect("there");
    assert!(store.overdue_action_items(Timestamp(9_000), Timestamp(0)).await.expect("overdue").is_empty());
    let overdue = store.overdue_action_items(Timestamp(11_000), Timestamp(0)).await.expect("overdue");
    assert_eq!(overdue.len(), 1);
    assert!(store.remind_action_item(&overdue[0], &[], Timestamp(11_000), DAY).await.expect("remind"));
    assert!(!store.remind_action_item(&overdue[0], &[], Timestamp(11_000), DAY).await.expect("once"));
    assert!(
        store.overdue_action_items(Timestamp(12_000), Timestamp(12_000 - 86_400_000)).await.expect("overdue").is_empty(),
        "reminded today"
    );
    let done = store.complete_action_item(item.id, "alice", Timestamp(12_000)).await.expect("done").expect("there");
    assert_eq!(done.done_by.as_deref(), Some("alice"));
    assert!(store.action_items(Some(incident.id), true).await.expect("open").is_empty());
    assert_eq!(store.action_items(None, false).await.expect("all").len(), 1);

    let added = store.add_override("primary", "bob", Timestamp(100), Timestamp(200), "alice", Timestamp(50)).await.expect("override");
    store.add_override("secondary", "carol", Timestamp(100), Timestamp(300), "alice", Timestamp(50)).await.expect("override");
    assert_eq!(store.overrides(Some("primary"), Timestamp(0)).await.expect("list").len(), 1);
    assert_eq!(store.overrides(None, Timestamp(250)).await.expect("list").len(), 1, "ended ones are left out");
    assert!(store.remove_override(added.id).await.expect("remove"));
    assert!(!store.remove_override(added.id).await.expect("gone"));
}

/// Several monitors' state changes in one read equal each one's own.
pub async fn state_changes_of_several_monitors_match_each_ones(store: Store, _: &str) {
    let mut writes = Vec::new();
    for (monitor, times) in [("a", &[100, 200, 300][..]), ("b", &[150, 250][..]), ("c", &[50][..])] {
        let mut health = Health::Up;
        for at in times {
            let next = if health == Health::Up { Health::Down } else { Health::Up };
            writes.push(TransitionWrite {
                transition: transition(monitor, *at, health, next),
                notifications: Vec::new(),
                executions: Vec::new(),
                episode: None,
            });
            health = next;
        }
    }
    store.record_transitions(&writes, DAY).await.expect("record");
    let monitors = ["a".to_owned(), "b".to_owned(), "c".to_owned(), "none".to_owned()];
    let together = store.state_changes_of(&monitors, Timestamp(160), Timestamp(260)).await.expect("together");
    for monitor in &monitors {
        let alone = store.state_changes(monitor, Timestamp(160), Timestamp(260)).await.expect("alone");
        assert_eq!(together[monitor], alone, "{monitor}");
    }
    assert_eq!(together["a"].len(), 2, "the one before the window, and 200");
}

/// Two nodes each save their running sums of an hour (again and again, as they go):
/// readers get the hour added up, each node gets its own back.
pub async fn hourly_check_sums_are_kept_per_node_and_read_added_up(store: Store, _url: &str) {
    use vigil_store::CheckHour;
    const HOUR: i64 = 3_600_000;
    let (past, current) = (10 * HOUR, 11 * HOUR);
    let hour = |at: i64, checks: u64, failures: u64, total_ms: f64, max_ms: f64| CheckHour { hour: at, checks, failures, total_ms, max_ms };
    let keep = Timestamp(0);
    let api = |hour: CheckHour| vec![("api".to_owned(), hour)];
    store.save_check_hours("a", &api(hour(current, 2, 0, 20.0, 12.0)), keep).await.expect("a");
    store.save_check_hours("b", &api(hour(current, 3, 1, 60.0, 30.0)), keep).await.expect("b");
    // Later saves of the same hour replace that node's own row, not the other's.
    store.save_check_hours("a", &api(hour(current, 4, 1, 50.0, 20.0)), keep).await.expect("a again");
    store.save_check_hours("a", &api(hour(past, 5, 0, 25.0, 9.0)), keep).await.expect("a's past hour");

    let all = store.check_hours(Timestamp(0)).await.expect("hours");
    assert_eq!(all, [("api".to_owned(), hour(past, 5, 0, 25.0, 9.0)), ("api".to_owned(), hour(current, 7, 2, 110.0, 30.0))]);
    assert_eq!(store.check_totals("api", Timestamp(0)).await.expect("totals"), (12, 135.0));
    assert_eq!(store.check_totals("api", Timestamp(current)).await.expect("totals"), (7, 110.0));

    let own = store.own_check_hours("b", Timestamp(0), Timestamp(current)).await.expect("b's");
    assert_eq!(own, [("api".to_owned(), hour(current, 3, 1, 60.0, 30.0))]);
    // Hours are forgotten for every node at once.
    store.save_check_hours("b", &[], Timestamp(current)).await.expect("trim");
    assert_eq!(store.check_hours(Timestamp(0)).await.expect("hours").len(), 1);
}
