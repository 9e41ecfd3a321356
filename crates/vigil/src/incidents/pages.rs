//! Whom a notification about an incident reaches, and how: a person through each of
//! their contacts (e-mail through `incidents.email-via`, Slack through
//! `incidents.slack-via`, their own webhook), a schedule's current on-call person, or a
//! configured notifier. Each becomes an outbox row with an idempotency key and the line
//! the timeline gets when it is delivered or fails.

use vigil_config::OnCallConfig;
use vigil_core::escalation::Target;
use vigil_core::oncall::Override;
use vigil_core::Timestamp;
use vigil_store::{IncidentRecord, NewNotification, OverrideRecord};

use crate::notifiers::{person_notifier, IncidentMessage, Message};

/// One outbox row: idempotency key, notification, timeline line.
pub type Outgoing = (String, NewNotification, String);

/// What to say, before it is addressed.
#[derive(Debug, Clone)]
pub struct Notice<'a> {
    pub incident: &'a IncidentRecord,
    /// `page`, `fallback`, `reminder`, `update`.
    pub kind: &'a str,
    pub text: String,
    /// Links to make for a person (`ack`, `resolve`).
    pub links: &'a [&'a str],
    pub at: Timestamp,
}

impl Notice<'_> {
    fn message(&self) -> IncidentMessage {
        IncidentMessage {
            incident: self.incident.id,
            title: self.incident.title.clone(),
            severity: self.incident.severity.as_str().to_owned(),
            status: self.incident.status.as_str().to_owned(),
            service: self.incident.service.clone(),
            event: self.kind.to_owned(),
            text: self.text.clone(),
            person: None,
            to: Vec::new(),
            mention: None,
            links: Vec::new(),
            made: Vec::new(),
            at: self.at.0,
        }
    }
}

fn payload(message: IncidentMessage) -> String {
    serde_json::to_string(&Message::Incident(message)).unwrap_or_else(|_| unreachable!("the message serializes"))
}

/// Run-time overrides as the schedule computation takes them.
pub fn overrides_of(records: &[OverrideRecord], schedule: &str) -> Vec<Override> {
    records
        .iter()
        .filter(|record| record.schedule == schedule)
        .map(|record| Override { person: record.person.clone(), from: record.from.0, to: record.to.0 })
        .collect()
}

/// Who a schedule has on call at `at`, counting run-time overrides.
pub fn on_call(config: &OnCallConfig, overrides: &[OverrideRecord], schedule: &str, at: Timestamp) -> Option<String> {
    let schedule_config = config.schedules.get(schedule)?;
    schedule_config.schedule.who(&overrides_of(overrides, schedule), at.0).map(|on_call| on_call.person)
}

/// The notifications that reach `person`, one per contact; `key` is made unique per
/// contact.
pub fn to_person(config: &OnCallConfig, person: &str, notice: &Notice<'_>, key: &str, what: &str) -> Vec<Outgoing> {
    let Some(contact) = config.people.get(person) else { return Vec::new() };
    let incidents = &config.incidents;
    let mut out = Vec::new();
    let base = IncidentMessage {
        person: Some(person.to_owned()),
        links: notice.links.iter().map(|link| (*link).to_owned()).collect(),
        ..notice.message()
    };
    if let (Some(email), Some(via)) = (&contact.email, &incidents.email_via) {
        let message = IncidentMessage { to: vec![email.clone()], ..base.clone() };
        out.push((
            format!("{key}:{person}:email"),
            NewNotification { notifier: via.clone(), payload: payload(message) },
            format!("{what} to {person} by e-mail through {via}"),
        ));
    }
    if let (Some(member), Some(via)) = (&contact.slack, &incidents.slack_via) {
        let message = IncidentMessage { mention: Some(member.clone()), ..base.clone() };
        out.push((
            format!("{key}:{person}:slack"),
            NewNotification { notifier: via.clone(), payload: payload(message) },
            format!("{what} to {person} on Slack through {via}"),
        ));
    }
    if contact.webhook.is_some() {
        let notifier = person_notifier(person);
        out.push((
            format!("{key}:{person}:webhook"),
            NewNotification { notifier, payload: payload(base) },
            format!("{what} to {person} by webhook"),
        ));
    }
    out
}

/// The notifications of one escalation target, and a timeline line when nobody could
/// be reached (a schedule with nobody on call).
pub fn to_target(
    config: &OnCallConfig,
    overrides: &[OverrideRecord],
    target: &Target,
    notice: &Notice<'_>,
    key: &str,
    what: &str,
) -> (Vec<Outgoing>, Option<String>) {
    match target {
        Target::Person(person) => (to_person(config, person, notice, key, what), None),
        Target::Schedule(schedule) => match on_call(config, overrides, schedule, notice.at) {
            Some(person) => (to_person(config, &person, notice, key, &format!("{what} (on call for {schedule})")), None),
            None => (Vec::new(), Some(format!("{what}: nobody is on call for schedule {schedule}"))),
        },
        Target::Notifier(notifier) => {
            let notification = NewNotification { notifier: notifier.clone(), payload: payload(notice.message()) };
            (vec![(format!("{key}:notifier:{notifier}"), notification, format!("{what} through notifier {notifier}"))], None)
        }
    }
}
