//! Vigil in this process on a `TestClock`: its loops (alert dispatcher, action worker,
//! outbox, rule engine) wait on the injected clock, so these tests move time by hours
//! and no test waits out a group-wait, a cooldown or a verification in real time. Each
//! step waits for what the previous one stored before it moves the clock again; the
//! times the store records come from the test clock, so they show exactly when each
//! loop acted.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vigil_core::{Clock, TestClock, Timestamp};
use vigil_store::{ExecutionRecord, ExecutionState, Store};

use crate::helpers::WAIT;
use crate::webhook::receiver;

/// 2026-12-02T10:00:00Z.
const T0: Timestamp = Timestamp(1_796_205_600_000);

fn at(seconds: i64) -> Timestamp {
    Timestamp(T0.0 + seconds * 1000)
}

async fn start(yaml: &str, clock: &TestClock) -> vigil::run::Running {
    let lookup = |name: &str| (name == "AM_TOKEN").then(|| "am-secret".to_owned());
    let config = vigil_config::load_str(Path::new("vigil.yaml"), yaml, &lookup).expect("config");
    vigil::run::start(config, Arc::new(clock.clone())).await.expect("start")
}

/// Waits (in real time, for the loops to get to it) until `done` holds.
async fn eventually<T>(what: &str, mut done: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = done().await {
            return value;
        }
        assert!(Instant::now() < deadline, "waited in vain for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn post(port: u16, path: &str, body: String) -> Option<u16> {
    let request = vigil::probes::HttpRequest {
        method: http::Method::POST,
        url: format!("http://127.0.0.1:{port}{path}").parse().expect("url"),
        headers: [("authorization".to_owned(), "Bearer am-secret".to_owned()), ("content-type".into(), "application/json".into())].into(),
        body: Some(body.into()),
        timeout: Duration::from_secs(5),
        follow_redirects: false,
        verify_tls: true,
        host_from_address: false,
    };
    vigil::probes::HttpClient::new().send(&request).await.status
}

async fn attempts(store: &Store) -> Vec<ExecutionRecord> {
    let mut executions = store.executions(Some("restart"), 100).await.expect("executions");
    executions.reverse();
    executions
}

/// Ported from the process test `a_target_that_never_cures_gets_three_attempts_then_a_human`,
/// with a 5-minute cooldown and a 20-second verification instead of 300 ms and 600 ms:
/// each attempt runs exactly one cooldown after the one before started, fails its
/// verification exactly 20 s after it ran, and the third failure opens the breaker,
/// which escalates once and queues nothing more.
#[tokio::test(flavor = "multi_thread")]
async fn on_a_test_clock_attempts_keep_their_cooldown_and_the_third_failure_opens_the_breaker() {
    let (received, hook) = receiver().await;
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("vigil.db").display());
    let yaml = format!(
        "storage: {db}\nlisten: 127.0.0.1:0\n\
         notifiers:\n  hook: {{type: webhook, url: 'http://{hook}/hook'}}\n\
         actions:\n  restart:\n    type: exec\n    command: [/bin/true]\n    cooldown: 5m\n    verify: 20s\n\
         \x20   max-attempts: 3\n    breaker-window: 1h\n\
         inbound:\n  alertmanager:\n    token: ${{AM_TOKEN}}\n    routes:\n\
         \x20     - match: {{alertname: Stuck}}\n        actions: [restart]\n        notify: [hook]\n"
    );
    let clock = TestClock::at(T0);
    let running = start(&yaml, &clock).await;
    let store = Store::open(&db).await.expect("store");
    let alert = serde_json::json!({
        "version": "4", "status": "firing", "receiver": "vigil", "groupKey": "{}",
        "alerts": [{"status": "firing", "labels": {"alertname": "Stuck", "pod": "api-7"}, "annotations": {},
                    "startsAt": "2026-12-02T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z"}],
    });
    assert_eq!(post(running.http_address.port(), "/api/v1/alertmanager", alert.to_string()).await, Some(200));

    let mut started = T0;
    for attempt in 1..=3_usize {
        let record = eventually(&format!("attempt {attempt} to run"), async || {
            attempts(&store).await.get(attempt - 1).filter(|record| record.state == ExecutionState::Verifying).cloned()
        })
        .await;
        assert_eq!(record.started_at, Some(started), "attempt {attempt} ran the moment it was due");
        assert_eq!(record.verify_deadline, Some(started.saturating_add(Duration::from_secs(20))));
        // The verification runs out 20 s on: the attempt failed.
        clock.advance(Duration::from_secs(20));
        let failed = eventually(&format!("attempt {attempt} to fail"), async || {
            attempts(&store).await.get(attempt - 1).filter(|record| record.state == ExecutionState::Failed).cloned()
        })
        .await;
        assert_eq!(failed.finished_at, Some(started.saturating_add(Duration::from_secs(20))));
        if attempt < 3 {
            let next = eventually("the next attempt to be queued", async || attempts(&store).await.get(attempt).cloned()).await;
            assert_eq!(next.not_before, started.saturating_add(Duration::from_secs(300)), "queued for the cooldown's end");
            assert_eq!(next.state, ExecutionState::Pending);
            started = next.not_before;
            clock.set(started);
        }
    }
    let escalation = eventually("the breaker's escalation", async || {
        let received = received.lock().expect("lock");
        received
            .iter()
            .filter_map(|(_, body)| serde_json::from_str::<serde_json::Value>(body).ok())
            .find(|message| message["kind"] == "action" && message["outcome"] == "breaker-open")
    })
    .await;
    assert!(escalation.to_string().contains("3 attempts within 1h did not cure"), "{escalation}");
    // Hours later: nothing more was queued while the breaker is open.
    clock.advance(Duration::from_secs(3 * 3600));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(attempts(&store).await.len(), 3);
    running.stop().await.expect("stop");
    assert_eq!(clock.now(), at(620 + 3 * 3600), "the test moved every second of it");
}

async fn group_notifications(store: &Store, count: usize) -> Option<Vec<vigil_store::OutboxItem>> {
    let mut items = store.notifications(100).await.ok()?;
    items.retain(|item| item.idempotency_key.starts_with("group:"));
    items.reverse();
    (items.len() == count).then_some(items)
}

/// The routing tree's timers through the running Vigil: an alert posted to API v2 is
/// notified exactly when group-wait ends, a second alert of the group at the next
/// group-interval, and nothing waits for them in real time. The receiver's action runs
/// at once, and its outcome, sent before the group's first mail, is in that mail's
/// thread.
#[tokio::test(flavor = "multi_thread")]
async fn on_a_test_clock_a_group_is_notified_at_group_wait_then_at_group_interval() {
    let (received, hook) = receiver().await;
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("vigil.db").display());
    let yaml = format!(
        "storage: {db}\nlisten: 127.0.0.1:0\napi: {{alertmanager-auth: none}}\n\
         notifiers:\n  hook: {{type: webhook, url: 'http://{hook}/hook'}}\n\
         actions:\n  restart:\n    type: exec\n    command: [/bin/true]\n\
         receivers:\n  - name: team\n    notify: [hook]\n    actions: [restart]\n\
         route:\n  receiver: team\n  group-by: [alertname]\n  group-wait: 30s\n  group-interval: 5m\n"
    );
    let clock = TestClock::at(T0);
    let running = start(&yaml, &clock).await;
    let store = Store::open(&db).await.expect("store");
    let alert = |instance: &str| {
        serde_json::json!([{"labels": {"alertname": "DiskFull", "instance": instance}, "annotations": {"summary": "disk full"},
                            "endsAt": "2026-12-03T10:00:00Z"}])
        .to_string()
    };
    let port = running.http_address.port();
    let settled = async |state: ExecutionState, count: usize| {
        eventually(&format!("execution {count} to be {state:?}"), async || {
            attempts(&store).await.get(count - 1).filter(|record| record.state == state).map(|_| ())
        })
        .await
    };
    assert_eq!(post(port, "/api/v2/alerts", alert("a")).await, Some(200));
    settled(ExecutionState::Executed, 1).await;
    clock.advance(Duration::from_secs(29));
    assert_eq!(post(port, "/api/v2/alerts", alert("b")).await, Some(200));
    settled(ExecutionState::Held, 2).await;
    clock.advance(Duration::from_secs(1));
    let first = eventually("the group's first notification", async || group_notifications(&store, 1).await).await;
    assert_eq!(first[0].created_at, at(30), "sent when group-wait ended, not before");
    assert!(first[0].payload.contains("\"instance\":\"a\"") && first[0].payload.contains("\"instance\":\"b\""), "both, in one");
    let group: serde_json::Value = serde_json::from_str(&first[0].payload).expect("payload");
    let outcomes: Vec<serde_json::Value> = store
        .notifications(100)
        .await
        .expect("outbox")
        .iter()
        .filter_map(|item| serde_json::from_str::<serde_json::Value>(&item.payload).ok())
        .filter(|message| message["kind"] == "action")
        .collect();
    // a's restart ran; b's, within the default cooldown, was held.
    let outcome_of = |outcome: &serde_json::Value| (outcome["outcome"].as_str().map(str::to_owned), outcome["at"].as_i64());
    let mut seen: Vec<_> = outcomes.iter().map(outcome_of).collect();
    seen.sort();
    assert_eq!(seen, [(Some("executed".to_owned()), Some(T0.0)), (Some("held".to_owned()), Some(at(29).0))]);
    for outcome in &outcomes {
        assert_eq!(outcome["thread"], group["thread"], "the outcome answers the group's first mail");
    }

    clock.advance(Duration::from_secs(10));
    assert_eq!(post(port, "/api/v2/alerts", alert("c")).await, Some(200));
    // c's restart, within the cooldown, is held; its outcome is a message of its own,
    // which must be in the outbox before the count below.
    settled(ExecutionState::Held, 3).await;
    clock.set(at(30 + 299));
    tokio::time::sleep(Duration::from_millis(100)).await;
    clock.set(at(330));
    let both = eventually("the change's notification", async || group_notifications(&store, 2).await).await;
    assert_eq!(both[1].created_at, at(330), "the change went at the next group-interval");
    let delivered = async || {
        let items = store.notifications(100).await.ok()?;
        items.iter().all(|item| item.status == vigil_store::OutboxStatus::Delivered).then_some(items.len())
    };
    let count = eventually("all delivered", delivered).await;
    assert_eq!(received.lock().expect("lock").len(), count);
    running.stop().await.expect("stop");
}
