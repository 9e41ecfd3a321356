//! Incidents at run time: the [`Incidents`] handle the CLI and the API act through
//! (open, acknowledge, resolve, assign, note, update, severity, action items, on-call
//! overrides), the [`escalator`] loop that pages and reminds, the [`pages`] that address
//! people, schedules and notifiers, the acknowledgement [`links`], and the
//! [`postmortem`] and [`stats`] drawn from the record.
//!
//! Alerts open and join incidents in the transaction that records them (the route's
//! plan is made by `alerts::Routing::incident_plan`, stored by `vigil_store`); this
//! module never sees alerts.

pub mod escalator;
pub mod links;
pub mod pages;
pub mod postmortem;
pub mod stats;
pub mod view;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use vigil_config::OnCallConfig;
use vigil_core::escalation::Target;
use vigil_core::incident::{Role, Severity, Status};
use vigil_core::oncall::{overlapping, Override};
use vigil_core::{Clock, Timestamp};
use vigil_store::{Acknowledged, ActionItem, IncidentRecord, NewIncident, OverrideRecord, Store, StoreError, UpdateRecord};

use self::pages::{to_target, Notice};

/// Why an incident operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum IncidentError {
    #[error("no incident #{0}")]
    NotFound(i64),
    /// Bad input, with the reason.
    #[error("{0}")]
    Invalid(String),
    /// The request conflicts with the record (an open incident for the service, an
    /// overlapping override, an incident already resolved).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The incident operations, over the store and the on-call config.
#[derive(Clone)]
pub struct Incidents {
    pub store: Store,
    pub on_call: Arc<OnCallConfig>,
    pub clock: Arc<dyn Clock>,
    pub give_up_after: Duration,
    /// Woken after writes that queue notifications or start escalations.
    pub wake: Arc<tokio::sync::Notify>,
    /// The configured SLOs' names: a postmortem reports the budget each lost.
    pub slos: Arc<[String]>,
    /// The status page's e-mail subscribers, told of every public update.
    pub subscriptions: Option<Arc<crate::subscriptions::Subscriptions>>,
}

/// Someone on call, now or at a given time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OnCallNow {
    pub schedule: String,
    pub person: Option<String>,
    /// The layer that put them there (`None`: an override).
    pub layer: Option<usize>,
    /// When the answer next changes.
    pub until: Option<Timestamp>,
}

impl Incidents {
    fn known_person(&self, person: &str) -> Result<(), IncidentError> {
        if self.on_call.people.is_empty() || self.on_call.people.contains_key(person) {
            return Ok(());
        }
        let known: Vec<&str> = self.on_call.people.keys().map(String::as_str).collect();
        Err(IncidentError::Invalid(format!("unknown person `{person}`; people: {}", known.join(", "))))
    }

    async fn existing(&self, id: i64) -> Result<IncidentRecord, IncidentError> {
        self.store.incident(id).await?.ok_or(IncidentError::NotFound(id))
    }

    /// Opens an incident by hand. Its escalation, when given or configured as the
    /// default, starts paging at once.
    pub async fn open(
        &self,
        title: &str,
        severity: Severity,
        service: Option<&str>,
        escalation: Option<&str>,
        by: &str,
    ) -> Result<IncidentRecord, IncidentError> {
        let title = title.trim();
        if title.is_empty() || title.len() > 200 {
            return Err(IncidentError::Invalid("an incident needs a title of 1 to 200 characters".to_owned()));
        }
        let escalation = escalation.map(str::to_owned).or_else(|| self.on_call.incidents.default_escalation.clone());
        if let Some(name) = &escalation {
            if !self.on_call.escalation_policies.contains_key(name) {
                let known: Vec<&str> = self.on_call.escalation_policies.keys().map(String::as_str).collect();
                return Err(IncidentError::Invalid(format!("unknown escalation policy `{name}`; policies: {}", known.join(", "))));
            }
        }
        let now = self.clock.now();
        let new = NewIncident {
            title: title.to_owned(),
            severity,
            service: service.map(str::to_owned),
            escalation,
            opened_by: by.to_owned(),
            triggered_at: now,
            first_signal_at: None,
        };
        match self.store.open_incident(&new, now).await? {
            Ok(record) => {
                self.wake.notify_one();
                Ok(record)
            }
            Err(open) => Err(IncidentError::Conflict(format!(
                "incident #{open} is open for service {}; add to it (vigil incident note {open} ...) or resolve it first",
                service.unwrap_or_default()
            ))),
        }
    }

    fn answer(id: i64, outcome: Acknowledged, verb: &str) -> Result<IncidentRecord, IncidentError> {
        match outcome {
            Acknowledged::Done(record) => Ok(*record),
            Acknowledged::Already { by, at } => {
                Err(IncidentError::Conflict(format!("incident #{id} was acknowledged by {by} at {}", at.to_rfc3339())))
            }
            Acknowledged::Resolved => Err(IncidentError::Conflict(format!("incident #{id} is resolved; nothing to {verb}"))),
            Acknowledged::NotFound => Err(IncidentError::NotFound(id)),
        }
    }

    /// Acknowledges: stops the escalation; the first to acknowledge becomes commander.
    pub async fn acknowledge(&self, id: i64, by: &str, via: &str) -> Result<IncidentRecord, IncidentError> {
        let outcome = self.store.acknowledge(id, by, via, self.clock.now()).await?;
        Self::answer(id, outcome, "acknowledge")
    }

    pub async fn resolve(&self, id: i64, by: &str, how: &str) -> Result<IncidentRecord, IncidentError> {
        let outcome = self.store.resolve_incident(id, by, how, self.clock.now()).await?;
        Self::answer(id, outcome, "resolve")
    }

    pub async fn assign(&self, id: i64, role: Role, person: &str, by: &str) -> Result<IncidentRecord, IncidentError> {
        self.known_person(person)?;
        self.store.assign_role(id, role, person, by, self.clock.now()).await?.ok_or(IncidentError::NotFound(id))
    }

    pub async fn note(&self, id: i64, text: &str, by: &str) -> Result<(), IncidentError> {
        let text = text.trim();
        if text.is_empty() || text.len() > 4_000 {
            return Err(IncidentError::Invalid("a note needs 1 to 4000 characters".to_owned()));
        }
        if self.store.note(id, by, text, self.clock.now()).await? {
            Ok(())
        } else {
            Err(IncidentError::NotFound(id))
        }
    }

    pub async fn set_severity(&self, id: i64, severity: Severity, by: &str) -> Result<IncidentRecord, IncidentError> {
        self.store.set_severity(id, severity, by, self.clock.now()).await?.ok_or(IncidentError::NotFound(id))
    }

    pub async fn set_status(&self, id: i64, status: Status, by: &str) -> Result<IncidentRecord, IncidentError> {
        self.store.set_status(id, status, by, self.clock.now()).await?.ok_or(IncidentError::NotFound(id))
    }

    /// Sends a stakeholder update to the configured stakeholders and keeps it on the
    /// timeline (public ones are kept for the status page too).
    pub async fn update(&self, id: i64, status: Option<Status>, text: &str, public: bool, by: &str) -> Result<UpdateRecord, IncidentError> {
        let text = text.trim();
        if text.is_empty() || text.len() > 4_000 {
            return Err(IncidentError::Invalid("an update needs 1 to 4000 characters".to_owned()));
        }
        let incident = self.existing(id).await?;
        let now = self.clock.now();
        let status_now = status.unwrap_or(incident.status);
        let shown = IncidentRecord { status: status_now, ..incident.clone() };
        let notice = Notice { incident: &shown, kind: "update", text: format!("Update ({status_now}): {text}"), links: &[], at: now };
        let key = format!("incident:{id}:update:{}", now.0);
        let outgoing = self
            .on_call
            .incidents
            .stakeholders
            .iter()
            .flat_map(|name| to_target(&self.on_call, &[], &Target::Notifier(name.clone()), &notice, &key, "stakeholder update").0)
            .collect::<Vec<_>>();
        let new = vigil_store::NewUpdate { status, text: text.to_owned(), public, author: by.to_owned(), notifications: outgoing };
        let update = self.store.record_update(id, &new, now, self.give_up_after).await?;
        self.wake.notify_one();
        let update = update.ok_or(IncidentError::NotFound(id))?;
        if let (true, Some(subscriptions)) = (public, &self.subscriptions) {
            let mailed = subscriptions.announce(id, status_now.as_str(), text).await?;
            tracing::info!(incident = id, subscribers = mailed, "public update mailed to the status page's subscribers");
        }
        Ok(update)
    }

    pub async fn add_action_item(
        &self,
        id: i64,
        text: &str,
        owner: &str,
        due: Option<Timestamp>,
        by: &str,
    ) -> Result<ActionItem, IncidentError> {
        let text = text.trim();
        if text.is_empty() || text.len() > 1_000 {
            return Err(IncidentError::Invalid("an action item needs 1 to 1000 characters".to_owned()));
        }
        self.known_person(owner)?;
        self.store.add_action_item(id, text, owner, due, by, self.clock.now()).await?.ok_or(IncidentError::NotFound(id))
    }

    pub async fn complete_action_item(&self, item: i64, by: &str) -> Result<ActionItem, IncidentError> {
        match self.store.complete_action_item(item, by, self.clock.now()).await? {
            Some(done) => Ok(done),
            None => Err(IncidentError::Invalid(format!("no action item #{item}"))),
        }
    }

    /// Adds an on-call override; refused when it overlaps another of the schedule's.
    pub async fn add_override(
        &self,
        schedule: &str,
        person: &str,
        from: Timestamp,
        to: Timestamp,
        by: &str,
    ) -> Result<OverrideRecord, IncidentError> {
        let Some(config) = self.on_call.schedules.get(schedule) else {
            let known: Vec<&str> = self.on_call.schedules.keys().map(String::as_str).collect();
            return Err(IncidentError::Invalid(format!("unknown schedule `{schedule}`; schedules: {}", known.join(", "))));
        };
        self.known_person(person)?;
        if to <= from {
            return Err(IncidentError::Invalid("an override must end after it starts".to_owned()));
        }
        let stored = self.store.overrides(Some(schedule), from).await?;
        let mut all: Vec<Override> = config.schedule.overrides.clone();
        all.extend(pages::overrides_of(&stored, schedule));
        all.push(Override { person: person.to_owned(), from: from.0, to: to.0 });
        let last = all.len() - 1;
        if let Some((other, _)) =
            overlapping(&all).into_iter().find(|(a, b)| *a == last || *b == last).map(|(a, b)| if a == last { (b, a) } else { (a, b) })
        {
            let other = &all[other];
            return Err(IncidentError::Conflict(format!(
                "overlaps the override of {} from {} to {}",
                other.person,
                Timestamp(other.from).to_rfc3339(),
                Timestamp(other.to).to_rfc3339()
            )));
        }
        Ok(self.store.add_override(schedule, person, from, to, by, self.clock.now()).await?)
    }

    /// Who is on call for each schedule (or one) at `at`.
    pub async fn who(&self, schedule: Option<&str>, at: Timestamp) -> Result<Vec<OnCallNow>, IncidentError> {
        if let Some(name) = schedule {
            if !self.on_call.schedules.contains_key(name) {
                let known: Vec<&str> = self.on_call.schedules.keys().map(String::as_str).collect();
                return Err(IncidentError::Invalid(format!("unknown schedule `{name}`; schedules: {}", known.join(", "))));
            }
        }
        let stored = self.store.overrides(schedule, Timestamp(i64::MIN)).await?;
        Ok(self
            .on_call
            .schedules
            .iter()
            .filter(|(name, _)| schedule.is_none_or(|wanted| wanted == name.as_str()))
            .map(|(name, config)| {
                let extra = pages::overrides_of(&stored, name);
                let on_call = config.schedule.who(&extra, at.0);
                OnCallNow {
                    schedule: name.clone(),
                    layer: on_call.as_ref().and_then(|on_call| on_call.layer),
                    person: on_call.map(|on_call| on_call.person),
                    until: config.schedule.next_change(&extra, at.0).map(Timestamp),
                }
            })
            .collect())
    }
}
