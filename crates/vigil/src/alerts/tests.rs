//! The dispatcher on a test clock over a real SQLite store: group-wait, group-interval,
//! repeat-interval, a silence ending, a restart mid-group, and two dispatchers sharing
//! one store (two nodes) — each notification is written once.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use vigil_core::{Clock, TestClock, Timestamp};
use vigil_store::{AlertSource, Store};

use super::dispatcher::AlertDispatcher;
use super::{AlertChange, Routing};
use crate::actions::Planner;

const T0: Timestamp = Timestamp(1_795_341_600_000);
const DAY: Duration = Duration::from_secs(86_400);

const CONFIG: &str = "
notifiers:
  mail: {type: webhook, url: 'http://127.0.0.1:9/hook'}
receivers:
  - name: oncall
    notify: [mail]
route:
  receiver: oncall
  group-by: [alertname]
  group-wait: 30s
  group-interval: 5m
  repeat-interval: 4h
";

fn routing() -> Arc<Routing> {
    let config = vigil_config::load_str(Path::new("vigil.yaml"), CONFIG, &|_| None).expect("config");
    Arc::new(Routing::new(&config))
}

async fn store(dir: &tempfile::TempDir) -> Store {
    Store::open(&format!("sqlite://{}", dir.path().join("vigil.db").display())).await.expect("store")
}

fn change(service: &str, firing: bool, at: Timestamp) -> AlertChange {
    AlertChange {
        source: AlertSource::Inbound,
        source_key: service.to_owned(),
        labels: BTreeMap::from([("alertname".to_owned(), "Errors".to_owned()), ("service".to_owned(), service.to_owned())]),
        annotations: BTreeMap::new(),
        firing,
        at,
        ends_at: None,
        received_at: at,
        generator_url: String::new(),
        value: 0.0,
        evidence: serde_json::json!([]),
        notify: Vec::new(),
        payload: None,
        actions: Vec::new(),
        summary: String::new(),
        template_labels: None,
        signal_at: None,
    }
}

async fn apply(store: &Store, routing: &Routing, change: AlertChange) {
    let now = change.at;
    let decided = routing.decide(change, &Planner::default());
    store.apply_changes(&[decided], now, DAY).await.expect("apply");
}

fn dispatcher(store: &Store, routing: &Arc<Routing>, clock: &TestClock) -> AlertDispatcher {
    AlertDispatcher::new(store.clone(), routing.clone(), Arc::new(clock.clone()), DAY, Arc::new(Notify::new()))
}

/// Seqs written by one pass at the clock's time.
async fn pass(dispatcher: &mut AlertDispatcher, clock: &TestClock) -> Vec<i64> {
    dispatcher.pass(clock.now()).await.expect("pass").sent.into_iter().map(|(_, _, seq)| seq).collect()
}

async fn group_payloads(store: &Store) -> Vec<serde_json::Value> {
    let mut items = store.notifications(100).await.expect("outbox");
    items.sort_by_key(|item| item.id);
    items.iter().map(|item| serde_json::from_str(&item.payload).expect("payload")).collect()
}

#[tokio::test]
async fn groups_wait_then_notify_on_change_at_group_interval() {
    let dir = tempfile::tempdir().expect("dir");
    let (store, routing, clock) = (store(&dir).await, routing(), TestClock::at(T0));
    let mut dispatcher = dispatcher(&store, &routing, &clock);
    apply(&store, &routing, change("api", true, T0)).await;
    assert_eq!(pass(&mut dispatcher, &clock).await, Vec::<i64>::new(), "group-wait has not passed");
    clock.advance(Duration::from_secs(10));
    apply(&store, &routing, change("web", true, clock.now())).await;
    clock.advance(Duration::from_secs(19));
    assert!(pass(&mut dispatcher, &clock).await.is_empty(), "29 s");
    clock.advance(Duration::from_secs(1));
    assert_eq!(pass(&mut dispatcher, &clock).await, [1], "at 30 s, both in one notification");
    let payloads = group_payloads(&store).await;
    assert_eq!(payloads[0]["firing"].as_array().map(Vec::len), Some(2));

    // A change waits for the next group-interval look.
    apply(&store, &routing, change("db", true, clock.now())).await;
    clock.advance(Duration::from_secs(299));
    assert!(pass(&mut dispatcher, &clock).await.is_empty());
    clock.advance(Duration::from_secs(1));
    assert_eq!(pass(&mut dispatcher, &clock).await, [2]);
    // No change: nothing until repeat-interval.
    clock.advance(Duration::from_secs(300));
    assert!(pass(&mut dispatcher, &clock).await.is_empty());
    clock.advance(Duration::from_secs(4 * 3600));
    assert_eq!(pass(&mut dispatcher, &clock).await, [3], "repeat-interval");

    // All resolve: one resolved notification, and the group is forgotten.
    for service in ["api", "web", "db"] {
        apply(&store, &routing, change(service, false, clock.now())).await;
    }
    clock.advance(Duration::from_secs(300));
    assert_eq!(pass(&mut dispatcher, &clock).await, [4]);
    let last = group_payloads(&store).await.pop().expect("last");
    assert_eq!((last["firing"].as_array().map(Vec::len), last["resolved"].as_array().map(Vec::len)), (Some(0), Some(3)));
    assert_eq!(last["thread"], group_payloads(&store).await[0]["thread"], "one thread for the group");
    assert!(store.notify_logs().await.expect("logs").is_empty(), "forgotten once all resolved");
}

#[tokio::test]
async fn a_restart_mid_group_neither_loses_nor_repeats_and_two_nodes_send_once() {
    let dir = tempfile::tempdir().expect("dir");
    let (store, routing, clock) = (store(&dir).await, routing(), TestClock::at(T0));
    let mut first = dispatcher(&store, &routing, &clock);
    apply(&store, &routing, change("api", true, T0)).await;
    assert!(pass(&mut first, &clock).await.is_empty());
    drop(first);
    // A restart 20 s into group-wait: the group still goes at 30 s.
    clock.advance(Duration::from_secs(20));
    let mut node_a = dispatcher(&store, &routing, &clock);
    let mut node_b = dispatcher(&store, &routing, &clock);
    assert!(pass(&mut node_a, &clock).await.is_empty());
    clock.advance(Duration::from_secs(10));
    let sent: Vec<i64> = [pass(&mut node_a, &clock).await, pass(&mut node_b, &clock).await].concat();
    assert_eq!(sent, [1], "two nodes, one notification");
    // After a restart with nothing new, nothing is sent again.
    let mut restarted = dispatcher(&store, &routing, &clock);
    clock.advance(Duration::from_secs(300));
    let again: Vec<i64> = [pass(&mut restarted, &clock).await, pass(&mut node_b, &clock).await].concat();
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(store.outbox_summary().await.expect("summary").pending, 1);
}

#[tokio::test]
async fn a_silence_mutes_and_its_end_notifies_at_once_and_the_resolution_still_goes() {
    let dir = tempfile::tempdir().expect("dir");
    let (store, routing, clock) = (store(&dir).await, routing(), TestClock::at(T0));
    let mut dispatcher = dispatcher(&store, &routing, &clock);
    apply(&store, &routing, change("api", true, T0)).await;
    clock.advance(Duration::from_secs(30));
    assert_eq!(pass(&mut dispatcher, &clock).await, [1]);
    // Silenced, a new alert of the group says nothing.
    let silence = super::silences::create(
        &store,
        "service=web",
        clock.now(),
        clock.now().saturating_add(Duration::from_secs(600)),
        "t",
        "",
        clock.now(),
    )
    .await
    .expect("store")
    .expect("silence");
    apply(&store, &routing, change("web", true, clock.now())).await;
    clock.advance(Duration::from_secs(300));
    assert!(pass(&mut dispatcher, &clock).await.is_empty(), "the silenced alert is not news");
    // The silence is expired while web still fires: the group looks at once.
    clock.advance(Duration::from_secs(60));
    store.expire_silence(&silence.id, clock.now()).await.expect("expire");
    clock.advance(Duration::from_millis(1));
    assert_eq!(pass(&mut dispatcher, &clock).await, [2], "no waiting for the next group-interval");
    // Muted again, then resolved: the receiver that heard of it firing hears it resolved.
    super::silences::create(&store, "service=api", clock.now(), clock.now().saturating_add(DAY), "t", "", clock.now())
        .await
        .expect("store")
        .expect("silence");
    apply(&store, &routing, change("api", false, clock.now())).await;
    clock.advance(Duration::from_secs(300));
    assert_eq!(pass(&mut dispatcher, &clock).await, [3]);
    let last = group_payloads(&store).await.pop().expect("last");
    assert_eq!(last["resolved"][0]["labels"]["service"], "api", "{last}");
}

/// An alert that fires and resolves every minute: held firing and announced once as
/// flapping; once it has stayed resolved for the settle time, one resolved notification.
/// Every decision is stored, for `vigil alerts show`.
#[tokio::test]
async fn a_flapping_alert_is_held_until_it_settles() {
    let dir = tempfile::tempdir().expect("dir");
    let config = CONFIG.replace("group-interval: 5m", "group-interval: 1m");
    let config = vigil_config::load_str(Path::new("vigil.yaml"), &config, &|_| None).expect("config");
    let routing = Arc::new(Routing::new(&config));
    let (store, clock) = (store(&dir).await, TestClock::at(T0));
    let flapping = vigil_alerts::Flapping { max_changes: 3, window_ms: 10 * 60_000, settle_ms: 5 * 60_000 };
    let mut dispatcher = dispatcher(&store, &routing, &clock).with_flapping(Some(flapping));
    apply(&store, &routing, change("api", true, T0)).await;
    clock.advance(Duration::from_secs(30));
    assert_eq!(pass(&mut dispatcher, &clock).await, [1], "first firing after group-wait");
    let mut sent = Vec::new();
    // Resolves and fires again, every 30 s, for five minutes.
    for step in 0..10 {
        clock.advance(Duration::from_secs(30));
        apply(&store, &routing, change("api", step % 2 == 1, clock.now())).await;
        sent.extend(pass(&mut dispatcher, &clock).await);
    }
    // It flapped from the fourth change on: one notification said so, no other.
    assert_eq!(sent, [2], "the resolution at 1 m, then the flapping notice; nothing while it flaps");
    let payloads = group_payloads(&store).await;
    assert_eq!(payloads.len(), 2);
    let notice = &payloads[1];
    assert_eq!(notice["firing"][0]["flapping"], true, "{notice}");
    assert_eq!(notice["resolved"].as_array().map(Vec::len), Some(0), "held firing: {notice}");

    // The last change (step 9) fired it; it resolves and stays resolved.
    clock.advance(Duration::from_secs(30));
    apply(&store, &routing, change("api", false, clock.now())).await;
    let mut after = Vec::new();
    for _ in 0..6 {
        clock.advance(Duration::from_secs(60));
        after.extend(pass(&mut dispatcher, &clock).await);
    }
    assert_eq!(after, [3], "one resolved notification once it has settled");
    let last = group_payloads(&store).await.pop().expect("last");
    assert_eq!(last["resolved"].as_array().map(Vec::len), Some(1), "{last}");
    assert_eq!(last["firing"].as_array().map(Vec::len), Some(0), "{last}");

    let episodes = store.episodes(Some("Errors"), 100).await.expect("episodes");
    let mut kinds = Vec::new();
    for episode in episodes.iter().rev() {
        kinds.extend(store.decisions(episode.id).await.expect("decisions").into_iter().map(|d| (d.kind.as_str(), d.detail)));
    }
    let kinds: Vec<&str> = kinds.iter().map(|(kind, _)| *kind).collect();
    assert!(kinds.starts_with(&["notified"]), "{kinds:?}");
    assert!(kinds.contains(&"flapping") && kinds.contains(&"settled"), "{kinds:?}");
    assert_eq!(kinds.iter().filter(|kind| **kind == "flapping").count(), 1, "{kinds:?}");
}

/// Silences and inhibitions are stored as decisions when they start to mute an alert.
#[tokio::test]
async fn mutes_are_stored_as_decisions() {
    let dir = tempfile::tempdir().expect("dir");
    let (store, routing, clock) = (store(&dir).await, routing(), TestClock::at(T0));
    let mut dispatcher = dispatcher(&store, &routing, &clock);
    apply(&store, &routing, change("api", true, T0)).await;
    let silence =
        super::silences::create(&store, "service=api", clock.now(), clock.now().saturating_add(DAY), "alice", "deploy", clock.now())
            .await
            .expect("store")
            .expect("silence")
            .id;
    for _ in 0..3 {
        clock.advance(Duration::from_secs(30));
        assert!(pass(&mut dispatcher, &clock).await.is_empty(), "silenced");
    }
    let episode = store.firing_episodes(None).await.expect("firing").remove(0);
    let decisions = store.decisions(episode.id).await.expect("decisions");
    assert_eq!(decisions.len(), 1, "written once, not every look: {decisions:?}");
    assert_eq!(decisions[0].kind, vigil_store::DecisionKind::Silenced);
    assert_eq!(decisions[0].detail, format!("by {silence}"));
}
