//! The escalator on a test clock and a temp SQLite store: pages exactly when their
//! steps fall due (repeats, fallback), whoever the schedule has on call then (overrides
//! included); acknowledging stops it, re-notify starts it again; SEV-3 resolves itself,
//! SEV-2 asks for a confirmation every `resolve-reminder`; stakeholder updates are
//! reminded by the severity's cadence; overdue action items once a day; routes decide
//! which alerts open incidents.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use vigil_core::incident::Severity;
use vigil_core::{Clock, TestClock, Timestamp};
use vigil_store::{AlertSource, Store};

use super::escalator::{Escalator, Pass};
use super::Incidents;
use crate::actions::Planner;
use crate::alerts::{AlertChange, Routing};
use crate::notifiers::Message;

const DAY: Duration = Duration::from_secs(86_400);
const MINUTE: i64 = 60_000;
/// 2026-12-07T10:00:00Z, a Monday.
const T0: Timestamp = Timestamp(1_796_637_600_000);

const YAML: &str = r#"
storage: sqlite://unused.db
notifiers:
  oncall: {type: email, smtp-host: 127.0.0.1, smtp-port: 25, from: vigil@example.com, to: [team@example.com]}
  stakeholders: {type: webhook, url: "http://127.0.0.1:9/updates"}
people:
  alice: {email: alice@example.com}
  bob: {email: bob@example.com}
  carol: {email: carol@example.com}
  dave: {email: dave@example.com}
schedules:
  primary:
    layers:
      - {rotation: daily, handoff: "09:00", members: [alice, dave], start: "2026-12-07"}
escalation-policies:
  api:
    steps:
      - notify: ["schedule:primary"]
        wait: 5m
      - notify: ["person:bob"]
        wait: 10m
    repeat: 1
    fallback: ["person:carol"]
    renotify: 30m
incidents:
  email-via: oncall
  stakeholders: [stakeholders]
receivers:
  - name: team
  - name: quiet
    incident: {open: false}
route:
  receiver: team
  routes:
    - matchers: ['service="api"']
      receiver: team
      incident: {severity: SEV-2, escalation: api}
    - matchers: ['service="batch"']
      receiver: team
      incident: {severity: SEV-3}
    - matchers: ['service="noisy"']
      receiver: quiet
"#;

struct World {
    clock: TestClock,
    store: Store,
    routing: Routing,
    escalator: Escalator,
    incidents: Incidents,
    _dir: tempfile::TempDir,
}

async fn world(yaml: &str) -> World {
    let config = vigil_config::load_str(Path::new("vigil.yaml"), yaml, &|_| None).expect("config");
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&format!("sqlite://{}", dir.path().join("vigil.db").display())).await.expect("store");
    let clock = TestClock::at(T0);
    let on_call = Arc::new(config.on_call.clone());
    let escalator = Escalator {
        store: store.clone(),
        on_call: Arc::clone(&on_call),
        clock: Arc::new(clock.clone()),
        give_up_after: DAY,
        wake: Arc::new(Notify::new()),
        wake_outbox: Arc::new(Notify::new()),
    };
    let incidents = Incidents {
        store: store.clone(),
        on_call,
        clock: Arc::new(clock.clone()),
        give_up_after: DAY,
        wake: Arc::default(),
        slos: Arc::from([]),
        subscriptions: None,
    };
    World { routing: Routing::new(&config), clock, store, escalator, incidents, _dir: dir }
}

fn change(service: &str, severity: &str, firing: bool, at: Timestamp) -> AlertChange {
    AlertChange {
        source: AlertSource::Inbound,
        source_key: service.to_owned(),
        labels: BTreeMap::from([
            ("alertname".to_owned(), format!("{service}-errors")),
            ("service".to_owned(), service.to_owned()),
            ("severity".to_owned(), severity.to_owned()),
        ]),
        annotations: BTreeMap::from([("summary".to_owned(), format!("{service} errors"))]),
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
        signal_at: Some(Timestamp(at.0 - 20_000)),
    }
}

impl World {
    async fn alert(&self, service: &str, severity: &str, firing: bool) {
        let now = self.clock.now();
        let decided = self.routing.decide(change(service, severity, firing, now), &Planner::default());
        self.store.apply_changes(&[decided], now, DAY).await.expect("apply");
    }

    async fn at(&self, minutes: i64) -> Pass {
        self.clock.set(Timestamp(T0.0 + minutes * MINUTE));
        self.escalator.pass().await.expect("pass")
    }

    /// Everyone paged or reminded so far, in order, as `person:event` (a reminder as
    /// `person:reminder:which`).
    async fn sent(&self) -> Vec<String> {
        let mut items = self.store.notifications(1_000).await.expect("outbox");
        items.reverse();
        items
            .iter()
            .filter_map(|item| match Message::from_payload(&item.payload) {
                Ok(Message::Incident(message)) => {
                    let who = message.person.unwrap_or_else(|| item.notifier.clone());
                    // A reminder says which from its key: confirm, update-due, remind (an action item).
                    let which = item.idempotency_key.split(':').nth(2).filter(|_| message.event == "reminder");
                    Some(which.map_or_else(|| format!("{who}:{}", message.event), |which| format!("{who}:reminder:{which}")))
                }
                _ => None,
            })
            .collect()
    }

    async fn kinds(&self, id: i64) -> Vec<String> {
        self.store.timeline(id).await.expect("timeline").into_iter().map(|entry| entry.kind).collect()
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

#[tokio::test]
async fn pages_fall_due_step_by_step_then_the_fallback() {
    let world = world(YAML).await;
    world.alert("api", "page", true).await;
    let incident = world.store.open_incidents().await.expect("open").remove(0);
    assert_eq!((incident.severity, incident.service.as_deref()), (Severity::Sev2, Some("api")), "the route's rule; its service label");
    // Each row: minutes after the opening, the pages that pass writes.
    let table: [(i64, usize); 8] = [(0, 1), (4, 0), (5, 1), (14, 0), (15, 1), (20, 1), (30, 1), (600, 0)];
    for (minutes, pages) in table {
        assert_eq!(world.at(minutes).await.pages, pages, "at +{minutes}m");
    }
    // Alice is on call on Monday 10:00 (the rotation starts with her at 09:00).
    assert_eq!(world.sent().await, strings(&["alice:page", "bob:page", "alice:page", "bob:page", "carol:fallback"]));
    let escalation = world.store.escalation(incident.id).await.expect("read").expect("there");
    assert_eq!((escalation.sent, escalation.state), (5, vigil_store::EscalationState::Exhausted));
    let texts: Vec<String> = world.store.timeline(incident.id).await.expect("timeline").into_iter().map(|entry| entry.text).collect();
    assert!(texts.iter().any(|text| text.contains("reached its end without an acknowledgement")), "{texts:#?}");
    assert!(texts.contains(&"page 3 (step 1 of 2, round 2) of api: schedule:primary".to_owned()), "{texts:#?}");
}

#[tokio::test]
async fn a_late_pass_sends_every_page_due_once_and_acknowledging_stops_them() {
    let world = world(YAML).await;
    world.alert("api", "page", true).await;
    // Nothing ran for 16 minutes (a restart): the three due pages go out together, once.
    assert_eq!(world.at(16).await.pages, 3);
    assert_eq!(world.at(16).await.pages, 0);
    let id = world.store.open_incidents().await.expect("open")[0].id;
    world.incidents.acknowledge(id, "bob", "the CLI").await.expect("ack");
    assert_eq!(world.at(21).await.pages, 0, "acknowledged: no more pages");
    assert_eq!(world.sent().await.len(), 3);
    // Re-notify: 30 minutes without activity since the acknowledgement (at +16m).
    assert_eq!(world.at(45).await.pages, 0);
    world.at(46).await;
    assert_eq!(world.at(46).await.pages, 1, "the escalation starts again from its first step");
    assert_eq!(world.sent().await.last().map(String::as_str), Some("alice:page"));
    assert!(world.kinds(id).await.contains(&"escalation".to_owned()));
}

#[tokio::test]
async fn the_schedule_answers_at_page_time_with_overrides() {
    let world = world(YAML).await;
    world
        .incidents
        .add_override("primary", "dave", Timestamp(T0.0 + 3 * MINUTE), Timestamp(T0.0 + 60 * MINUTE), "alice")
        .await
        .expect("override");
    let overlapping =
        world.incidents.add_override("primary", "bob", Timestamp(T0.0 + 30 * MINUTE), Timestamp(T0.0 + 90 * MINUTE), "alice").await;
    assert!(
        matches!(overlapping, Err(super::IncidentError::Conflict(ref why)) if why.contains("overlaps the override of dave")),
        "{overlapping:?}"
    );
    world.alert("api", "page", true).await;
    world.at(0).await;
    world.at(5).await;
    world.at(15).await;
    assert_eq!(world.sent().await, strings(&["alice:page", "bob:page", "dave:page"]), "dave covers from +3m");
    let who = world.incidents.who(Some("primary"), Timestamp(T0.0 + 10 * MINUTE)).await.expect("who");
    assert_eq!((who[0].person.as_deref(), who[0].layer), (Some("dave"), None));
}

#[tokio::test]
async fn sev3_resolves_itself_and_sev2_asks_for_a_confirmation() {
    let world = world(YAML).await;
    world.alert("batch", "ticket", true).await;
    world.alert("api", "page", true).await;
    let open = world.store.open_incidents().await.expect("open");
    assert_eq!(open.len(), 2);
    let (batch, api) = (open[0].id, open[1].id);
    world.incidents.acknowledge(api, "alice", "the CLI").await.expect("ack");
    world.clock.set(Timestamp(T0.0 + 2 * MINUTE));
    world.alert("batch", "ticket", false).await;
    world.alert("api", "page", false).await;
    let pass = world.at(2).await;
    assert_eq!(pass.resolved, 1);
    let batch = world.store.incident(batch).await.expect("read").expect("there");
    assert_eq!(batch.resolved_by.as_deref(), Some("vigil"));
    assert!(world.store.incident(api).await.expect("read").expect("there").is_open(), "SEV-2 waits for a human");
    let confirmations = |sent: Vec<String>| sent.iter().filter(|item| *item == "alice:reminder:confirm").count();
    assert_eq!(confirmations(world.sent().await), 1, "the commander is asked: {:?}", world.sent().await);
    world.at(20).await;
    assert_eq!(confirmations(world.sent().await), 1, "not again before resolve-reminder");
    world.at(32).await;
    assert_eq!(confirmations(world.sent().await), 2, "again after 30 minutes");
    // A new alert of the service joins and cancels the question.
    world.clock.set(Timestamp(T0.0 + 40 * MINUTE));
    world.alert("api", "page", true).await;
    let record = world.store.incident(api).await.expect("read").expect("there");
    assert_eq!((record.alerts_firing, record.alerts_resolved_at), (1, None));
    world.incidents.resolve(api, "alice", "confirmed").await.expect("resolve");
}

#[tokio::test]
async fn stakeholder_updates_are_reminded_by_cadence() {
    let world = world(YAML).await;
    let incident = world.incidents.open("checkout errors", Severity::Sev1, Some("checkout"), None, "alice").await.expect("open");
    world.incidents.assign(incident.id, vigil_core::incident::Role::Communicator, "carol", "alice").await.expect("assign");
    assert_eq!(world.at(4).await.reminders, 0);
    assert_eq!(world.at(5).await.reminders, 1, "SEV-1: the first update within 5 minutes");
    assert_eq!(world.at(6).await.reminders, 0);
    assert_eq!(world.sent().await, strings(&["carol:reminder:update-due"]), "the communicator is reminded");
    world.clock.set(Timestamp(T0.0 + 7 * MINUTE));
    world
        .incidents
        .update(incident.id, Some(vigil_core::incident::Status::Identified), "a bad deploy", true, "carol")
        .await
        .expect("update");
    assert_eq!(world.sent().await.last().map(String::as_str), Some("stakeholders:update"), "sent to the stakeholders");
    assert_eq!(world.at(21).await.reminders, 0, "the next one is due 15 minutes after the last");
    assert_eq!(world.at(22).await.reminders, 1);
    let record = world.store.incident(incident.id).await.expect("read").expect("there");
    assert_eq!(record.status, vigil_core::incident::Status::Identified);
    assert_eq!(world.store.incident_updates(None, 10).await.expect("public").len(), 1);
}

#[tokio::test]
async fn routes_decide_which_alerts_open_incidents() {
    let world = world(YAML).await;
    world.alert("noisy", "page", true).await;
    assert!(world.store.open_incidents().await.expect("open").is_empty(), "its receiver says open: false");
    world.alert("web", "page", true).await;
    let open = world.store.open_incidents().await.expect("open");
    assert_eq!(open.len(), 1, "page tier opens one by default");
    assert_eq!((open[0].severity, open[0].service.as_deref(), open[0].escalation.as_deref()), (Severity::Sev2, Some("web"), None));
    world.alert("web2", "ticket", true).await;
    assert_eq!(world.store.open_incidents().await.expect("open").len(), 1, "tickets do not");
    let quiet = world.store.open_incidents().await.expect("open");
    assert_eq!(quiet[0].first_signal_at.map(|at| T0.0 - at.0), Some(20_000), "the detector's first sign");
    let page_tier_off = YAML.replace("incidents:\n", "incidents:\n  page-tier: false\n");
    let world = self::world(&page_tier_off).await;
    world.alert("web", "page", true).await;
    assert!(world.store.open_incidents().await.expect("open").is_empty());
}

#[tokio::test]
async fn overdue_action_items_remind_their_owner_once_a_day() {
    let world = world(YAML).await;
    let incident = world.incidents.open("checkout errors", Severity::Sev3, None, None, "alice").await.expect("open");
    world
        .incidents
        .add_action_item(incident.id, "add the /health route", "bob", Some(Timestamp(T0.0 + 60 * MINUTE)), "alice")
        .await
        .expect("item");
    let unknown = world.incidents.add_action_item(incident.id, "x", "zed", None, "alice").await;
    assert!(matches!(unknown, Err(super::IncidentError::Invalid(ref why)) if why.contains("unknown person `zed`")));
    let reminded = |sent: Vec<String>| sent.iter().filter(|item| *item == "bob:reminder:remind").count();
    world.at(59).await;
    assert_eq!(reminded(world.sent().await), 0);
    world.at(61).await;
    world.at(62).await;
    assert_eq!(reminded(world.sent().await), 1, "once");
    world.at(61 + 24 * 60).await;
    assert_eq!(reminded(world.sent().await), 2, "and again a day later");
}

#[tokio::test]
async fn notifiers_paged_hear_of_the_resolution_once() {
    let yaml = YAML.replace("    fallback: [\"person:carol\"]", "    fallback: [\"person:carol\", \"stakeholders\"]");
    let world = world(&yaml).await;
    world.alert("api", "page", true).await;
    world.at(30).await;
    assert_eq!(world.sent().await.last().map(String::as_str), Some("stakeholders:fallback"));
    let id = world.store.open_incidents().await.expect("open")[0].id;
    world.incidents.resolve(id, "alice", "fixed").await.expect("resolve");
    world.at(31).await;
    world.at(32).await;
    let resolved: Vec<String> = world.sent().await.into_iter().filter(|item| item.ends_with(":resolved")).collect();
    assert_eq!(resolved, ["stakeholders:resolved"], "the notifier paged is told once; people are not");
}
