//! The escalator: the loop that keeps incidents moving. Each pass it writes the pages
//! that fell due (through the outbox, with the escalation's progress, so a restart or a
//! second node neither repeats nor skips one), and for open incidents: resolves a
//! severity that resolves itself once its alerts have, reminds someone to confirm the
//! others, reminds the communicator when a stakeholder update is due, re-notifies an
//! acknowledged incident nobody touched, and reminds owners of overdue action items
//! once a day. Every decision is a function of the store and the clock.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use vigil_config::OnCallConfig;
use vigil_core::escalation::{Policy, Target};
use vigil_core::incident::Role;
use vigil_core::{Clock, Timestamp};
use vigil_store::{
    Acknowledged, EscalationRecord, IncidentRecord, NewEntry, OverrideRecord, PagesWrite, Reminder, ReminderKind, Store, StoreError,
};

use super::pages::{to_person, to_target, Notice, Outgoing};

/// Longest idle wait, so incidents opened by other nodes are seen.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// Escalations handled per store read.
const BATCH: i64 = 256;
const DAY_MS: i64 = 86_400_000;

pub struct Escalator {
    pub store: Store,
    pub on_call: Arc<OnCallConfig>,
    pub clock: Arc<dyn Clock>,
    pub give_up_after: Duration,
    /// Woken when an alert opens an incident.
    pub wake: Arc<Notify>,
    pub wake_outbox: Arc<Notify>,
}

/// What the loop reacts to.
enum Event {
    /// Something may be due.
    Tick,
    Stop,
}

/// What one pass did, for tests and the benchmark.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub pages: usize,
    pub reminders: usize,
    pub resolved: usize,
}

impl Escalator {
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            match self.pass().await {
                Ok(pass) if pass.pages + pass.reminders > 0 => self.wake_outbox.notify_one(),
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "an escalation pass failed; the next one tries again"),
            }
            let event = if *stop.borrow() {
                Event::Stop
            } else {
                let wait = match self.store.next_page_due().await {
                    Ok(Some(due)) => Duration::from_millis(u64::try_from(due.0 - self.clock.now().0).unwrap_or(0)).min(IDLE_POLL),
                    _ => IDLE_POLL,
                };
                tokio::select! {
                    () = self.wake.notified() => Event::Tick,
                    () = self.clock.sleep(wait) => Event::Tick,
                    _ = stop.changed() => Event::Stop,
                }
            };
            match event {
                Event::Tick => {}
                Event::Stop => break,
            }
        }
    }

    /// Does everything due now.
    pub async fn pass(&self) -> Result<Pass, StoreError> {
        let now = self.clock.now();
        let mut pass = Pass::default();
        let open: HashMap<i64, IncidentRecord> = self.store.open_incidents().await?.into_iter().map(|record| (record.id, record)).collect();
        let mut overrides: Option<Vec<OverrideRecord>> = None;
        loop {
            let due = self.store.escalations_due(now, BATCH).await?;
            if due.is_empty() {
                break;
            }
            if overrides.is_none() {
                overrides = Some(self.store.overrides(None, now).await?);
            }
            let mut writes = Vec::with_capacity(due.len());
            let mut counts = Vec::with_capacity(due.len());
            for escalation in &due {
                let fetched;
                let incident = match open.get(&escalation.incident_id) {
                    Some(incident) => incident,
                    // Opened since this pass began (by another node, say).
                    None => match self.store.incident(escalation.incident_id).await? {
                        Some(incident) if incident.is_open() => {
                            fetched = incident;
                            &fetched
                        }
                        _ => continue,
                    },
                };
                let (write, pages) = self.pages(escalation, incident, overrides.as_deref().unwrap_or_default(), now);
                writes.push(write);
                counts.push(pages);
            }
            let written = self.store.record_pages_batch(&writes, now, self.give_up_after).await?;
            let moved = written.iter().filter(|written| **written).count();
            pass.pages += written.iter().zip(&counts).filter(|(written, _)| **written).map(|(_, pages)| pages).sum::<usize>();
            if due.len() < BATCH as usize || moved == 0 {
                break;
            }
        }
        for incident in open.values() {
            self.look_after(incident, now, &mut pass).await?;
        }
        // Notifiers that were paged (a pager service opens an incident of its own) hear
        // that it is over.
        for (id, notifier) in self.store.notifiers_awaiting_resolution(Timestamp(now.0 - DAY_MS)).await? {
            let Some(incident) = self.store.incident(id).await? else { continue };
            let by = incident.resolved_by.clone().unwrap_or_default();
            let notice = Notice {
                incident: &incident,
                kind: "resolved",
                text: format!("Incident #{id} is resolved (by {by})."),
                links: &[],
                at: now,
            };
            let key = format!("incident:{id}:resolved");
            let (outgoing, _) = to_target(&self.on_call, &[], &Target::Notifier(notifier), &notice, &key, "resolution");
            self.store.queue_incident_notifications(id, &outgoing, now, self.give_up_after).await?;
            pass.reminders += 1;
        }
        for item in self.store.overdue_action_items(now, Timestamp(now.0 - DAY_MS)).await? {
            let Some(incident) = self.store.incident(item.incident_id).await? else { continue };
            let due = item.due_at.map(|at| at.to_rfc3339()).unwrap_or_default();
            let text = format!(
                "Action item #{} of incident #{} is overdue (due {due}): {}\nMark it done with: vigil incident action-item done {}",
                item.id, item.incident_id, item.text, item.id
            );
            let notice = Notice { incident: &incident, kind: "reminder", text, links: &[], at: now };
            let key = format!("action-item:{}:remind:{}", item.id, item.reminded_at.map_or(0, |at| at.0));
            let outgoing = to_person(&self.on_call, &item.owner, &notice, &key, &format!("reminder of action item #{}", item.id));
            if self.store.remind_action_item(&item, &outgoing, now, self.give_up_after).await? {
                pass.reminders += 1;
            }
        }
        Ok(pass)
    }

    /// The pages of one escalation due now, and how many.
    fn pages(
        &self,
        escalation: &EscalationRecord,
        incident: &IncidentRecord,
        overrides: &[OverrideRecord],
        now: Timestamp,
    ) -> (PagesWrite, usize) {
        let mut write = PagesWrite {
            incident_id: escalation.incident_id,
            started_at: escalation.started_at,
            sent_before: escalation.sent,
            sent_after: escalation.sent,
            next_due: None,
            exhausted: true,
            notifications: Vec::new(),
            entries: Vec::new(),
        };
        let Some(policy) = self.on_call.escalation_policies.get(&escalation.policy) else {
            let text = format!("escalation policy {} is no longer configured; nobody more is paged", escalation.policy);
            write.entries.push(NewEntry::new("escalation", "vigil", text));
            return (write, 0);
        };
        let due = policy.due(escalation.started_at.0, escalation.sent, now.0);
        let steps = policy.steps.len();
        for page in &due {
            let (kind, what, text) = match page.step {
                Some(step) => (
                    "page",
                    format!("page {} (step {} of {}, round {})", page.number + 1, step + 1, steps, page.round + 1),
                    format!(
                        "You are paged for incident #{} ({}): {}. Escalation policy {}, step {} of {}; acknowledge to stop it.",
                        incident.id,
                        incident.severity,
                        incident.title,
                        escalation.policy,
                        step + 1,
                        steps
                    ),
                ),
                None => (
                    "fallback",
                    "fallback page".to_owned(),
                    format!(
                        "Nobody acknowledged incident #{} ({}): {} after every step of escalation policy {}; you are its fallback.",
                        incident.id, incident.severity, incident.title, escalation.policy
                    ),
                ),
            };
            let notice = Notice { incident, kind, text, links: &["ack", "resolve"], at: now };
            let key = format!("incident:{}:escalation:{}:{}", incident.id, escalation.started_at.0, page.number);
            let mut reached = Vec::new();
            for target in page.notify {
                let (outgoing, unreachable) = to_target(&self.on_call, overrides, target, &notice, &key, &what);
                if let Some(line) = unreachable {
                    write.entries.push(NewEntry::new("page", "vigil", line));
                }
                reached.extend(outgoing.iter().map(|(_, _, line)| line.clone()));
                write.notifications.extend(outgoing);
            }
            let targets: Vec<String> = page.notify.iter().map(ToString::to_string).collect();
            let entry =
                NewEntry::new(kind, "vigil", format!("{what} of {}: {}", escalation.policy, targets.join(", "))).with(serde_json::json!({
                    "page": page.number, "step": page.step, "round": page.round, "due": Timestamp(page.at).to_rfc3339(),
                    "targets": targets, "notifications": reached,
                }));
            write.entries.push(entry);
        }
        write.sent_after = escalation.sent + u32::try_from(due.len()).unwrap_or(u32::MAX);
        write.next_due = policy.next_due(escalation.started_at.0, write.sent_after).map(Timestamp);
        write.exhausted = write.next_due.is_none();
        if write.exhausted && !due.is_empty() {
            let text = match policy.fallback.is_empty() {
                true => format!("escalation {} reached its last step without an acknowledgement", escalation.policy),
                false => format!("escalation {} reached its end without an acknowledgement; the fallback was notified", escalation.policy),
            };
            write.entries.push(NewEntry::new("escalation", "vigil", text));
        }
        (write, due.len())
    }

    /// Resolution, confirmation, stakeholder update and re-notify reminders of one open
    /// incident.
    async fn look_after(&self, incident: &IncidentRecord, now: Timestamp, pass: &mut Pass) -> Result<(), StoreError> {
        let settings = &self.on_call.incidents;
        if incident.alerts_firing == 0 && incident.alerts_resolved_at.is_some() {
            if settings.auto_resolve.contains(&incident.severity) {
                let how = format!("all its alerts resolved ({} resolves itself)", incident.severity);
                if let Acknowledged::Done(_) = self.store.resolve_incident(incident.id, "vigil", &how, now).await? {
                    pass.resolved += 1;
                }
                return Ok(());
            }
            let due = incident.confirm_reminded_at.is_none_or(|at| at.saturating_add(settings.resolve_reminder) <= now);
            if due {
                let text = format!(
                    "All alerts of incident #{} ({}) have resolved. If it is over, confirm: vigil incident resolve {}",
                    incident.id, incident.severity, incident.id
                );
                let notice = Notice { incident, kind: "reminder", text, links: &["resolve"], at: now };
                let recipients = self.holders(incident, &[Role::Commander]).await?;
                let key = format!("incident:{}:confirm:{}", incident.id, now.0);
                let outgoing: Vec<Outgoing> =
                    recipients.iter().flat_map(|person| to_person(&self.on_call, person, &notice, &key, "confirmation reminder")).collect();
                let entry = NewEntry::new("reminder", "vigil", format!("all alerts resolved; asked {} to confirm", who(&recipients)));
                let reminder =
                    Reminder { kind: ReminderKind::Confirm, previous: incident.confirm_reminded_at, notifications: outgoing, entry };
                if self.store.record_reminder(incident.id, &reminder, now, self.give_up_after).await? {
                    pass.reminders += 1;
                }
            }
        }
        if let Some(cadence) = settings.cadences.get(&incident.severity) {
            let last_update = incident.last_update_at.map(|at| at.0);
            if let Some(due) = cadence.next_due(incident.opened_at.0, last_update).filter(|due| *due <= now.0) {
                let period = cadence.every.or(cadence.first).unwrap_or(i64::MAX);
                let remind = incident.update_reminded_at.is_none_or(|at| at.0 < due || at.0.saturating_add(period) <= now.0);
                if remind {
                    let text = format!(
                        "A stakeholder update for incident #{} ({}) is due. Send one: vigil incident update {} --status {} \"...\"",
                        incident.id, incident.severity, incident.id, incident.status
                    );
                    let notice = Notice { incident, kind: "reminder", text, links: &[], at: now };
                    let recipients = self.holders(incident, &[Role::Communicator, Role::Commander]).await?;
                    let key = format!("incident:{}:update-due:{}", incident.id, now.0);
                    let outgoing: Vec<Outgoing> =
                        recipients.iter().flat_map(|person| to_person(&self.on_call, person, &notice, &key, "update reminder")).collect();
                    let entry = NewEntry::new("reminder", "vigil", format!("stakeholder update due; reminded {}", who(&recipients)));
                    let reminder =
                        Reminder { kind: ReminderKind::Update, previous: incident.update_reminded_at, notifications: outgoing, entry };
                    if self.store.record_reminder(incident.id, &reminder, now, self.give_up_after).await? {
                        pass.reminders += 1;
                    }
                }
            }
        }
        if incident.acknowledged_at.is_some() {
            let policy: Option<&Policy> = incident.escalation.as_ref().and_then(|name| self.on_call.escalation_policies.get(name));
            if let Some(after) = policy.and_then(|policy| policy.renotify) {
                if incident.last_activity_at.0.saturating_add(after) <= now.0 {
                    let minutes = after / 60_000;
                    let entry = NewEntry::new(
                        "escalation",
                        "vigil",
                        format!("nothing happened for {minutes} minutes since the acknowledgement; paging again"),
                    );
                    self.store.restart_escalation(incident.id, Timestamp(now.0 - after), &entry, now).await?;
                }
            }
        }
        Ok(())
    }

    /// Who holds the first of `roles` that someone holds; else who acknowledged.
    async fn holders(&self, incident: &IncidentRecord, roles: &[Role]) -> Result<Vec<String>, StoreError> {
        let held = self.store.incident_roles(incident.id).await?;
        for role in roles {
            let people: Vec<String> = held.iter().filter(|record| record.role == *role).map(|record| record.person.clone()).collect();
            if !people.is_empty() {
                return Ok(people);
            }
        }
        Ok(incident.acknowledged_by.iter().cloned().collect())
    }
}

fn who(people: &[String]) -> String {
    if people.is_empty() {
        "nobody (no commander or communicator is assigned)".to_owned()
    } else {
        people.join(", ")
    }
}
