//! The alert dispatcher: turns stored episodes into one notification per group and
//! receiver, with Alertmanager's timers (group-wait, group-interval, repeat-interval)
//! and dedup (`vigil_alerts::group`), muted by silences, inhibition and the route's
//! time intervals.
//!
//! Everything it decides on is read from the store — episodes (what was written after
//! the last change number it saw), silences, and the notification log of each group —
//! so a restart picks up where the
//! last run stopped, and several nodes on one PostgreSQL send each notification once:
//! notification number N of a group is written only if the log still holds N − 1
//! ([`Store::record_group_notification`]), in the same transaction as its outbox rows.
//!
//! Beyond Alertmanager: an alert that keeps firing and resolving (`flapping:`) is held
//! firing in its groups, announced once as flapping, until it settles; and what each
//! look decides about each alert (notified, silenced, inhibited, muted by time,
//! flapping, settled) is stored when it changes, for `vigil alerts show`.
//!
//! [`AlertDispatcher::pass`] is one look at the time it is given; the loop in
//! [`AlertDispatcher::run`] calls it when a change is stored, when a group falls due,
//! and once a second. Tests drive `pass` with a test clock.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use vigil_alerts::group::{needs_update, Sent, Timers};
use vigil_alerts::inhibit::InhibitState;
use vigil_alerts::silence::SilenceIndex;
use vigil_alerts::{Flapping, Silence};
use vigil_core::{Clock, Timestamp};
use vigil_store::{DecisionKind, EpisodeRecord, EpisodeState, NewDecision, NewNotification, NotifyLogEntry, Store, StoreError};

use super::status::{fingerprint, mutes_with, Mutes};
use super::Routing;
use crate::node::stopped;
use crate::notifiers::group::{digest, new_thread};
use crate::notifiers::{GroupAlert, GroupMessage, Message};

/// Resolved episodes this old are not loaded at start.
const RESOLVED_HORIZON: Duration = Duration::from_secs(24 * 3600);
/// At most this long between passes.
const POLL: Duration = Duration::from_secs(1);
/// The notification logs are read again in full this often (other nodes' notifications).
const LOG_REFRESH: Duration = Duration::from_secs(10);
/// At least this long between passes that changes wake (a burst of stored alerts makes
/// one pass, not one each); due groups still look on time.
const MIN_GAP: Duration = Duration::from_millis(250);

type GroupId = (String, String);

struct Member {
    record: EpisodeRecord,
    groups: Vec<GroupId>,
}

struct Group {
    route_key: String,
    labels: BTreeMap<String, String>,
    /// The next look; `None` until scheduled.
    next_look: Option<i64>,
    looked: bool,
}

/// What one pass did, for tests and logs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    /// `(receiver, group key, seq)` of each notification written.
    pub sent: Vec<(String, String, i64)>,
    /// Groups that looked and found nothing to say.
    pub quiet: usize,
}

pub struct AlertDispatcher {
    store: Store,
    routing: Arc<Routing>,
    clock: Arc<dyn Clock>,
    give_up_after: Duration,
    wake_outbox: Arc<Notify>,
    episodes: BTreeMap<i64, Member>,
    groups: BTreeMap<GroupId, Group>,
    /// Each group's episodes: grown as episodes arrive, rebuilt when they are pruned.
    index: HashMap<GroupId, Vec<i64>>,
    /// The firing alerts as inhibition sources, kept up to date as episodes change.
    inhibit: InhibitState,
    /// The silences as last read, and the version they were read at.
    silences_version: Option<(i64, i64, i64)>,
    /// Each group's notification log as last read or written; read again in full every
    /// [`LOG_REFRESH`], and a group's own entry whenever writing it finds another node
    /// got there first.
    logs: HashMap<GroupId, NotifyLogEntry>,
    logs_read_at: Option<i64>,
    /// When resolved episodes were last pruned.
    pruned_at: Option<i64>,
    silences: Vec<Silence>,
    active_silences: BTreeSet<String>,
    /// The latest change number read; `None` before the first pass.
    seen_seq: Option<i64>,
    /// When episodes past their end were last resolved.
    expired_at: Option<i64>,
    flapping: Option<Flapping>,
    /// Each fingerprint's state changes (fired, resolved) within the horizon.
    changes: HashMap<String, BTreeSet<i64>>,
    /// Fingerprints known to flap now, per group.
    flapping_now: HashSet<(String, GroupId)>,
    /// The last decision written per episode and group.
    decided: Decided,
}

/// What the dispatcher's loop reacts to.
enum Event {
    /// A group's next look (or the poll interval) came.
    Due,
    /// A change was stored (an episode, a silence).
    Changed,
    Stop,
}

fn ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl AlertDispatcher {
    pub fn new(store: Store, routing: Arc<Routing>, clock: Arc<dyn Clock>, give_up_after: Duration, wake_outbox: Arc<Notify>) -> Self {
        let rules = routing.inhibit_rules.clone();
        AlertDispatcher {
            store,
            routing,
            clock,
            give_up_after,
            wake_outbox,
            episodes: BTreeMap::new(),
            groups: BTreeMap::new(),
            index: HashMap::new(),
            inhibit: InhibitState::new(rules),
            silences_version: None,
            logs: HashMap::new(),
            logs_read_at: None,
            pruned_at: None,
            silences: Vec::new(),
            active_silences: BTreeSet::new(),
            seen_seq: None,
            expired_at: None,
            flapping: None,
            changes: HashMap::new(),
            flapping_now: HashSet::new(),
            decided: HashMap::new(),
        }
    }

    /// Holds alerts that flap (see [`Flapping`]); off unless set.
    pub fn with_flapping(mut self, flapping: Option<Flapping>) -> Self {
        self.flapping = flapping;
        self
    }

    fn flaps(&self, fingerprint: &str, now: Timestamp) -> bool {
        let Some(flapping) = self.flapping else { return false };
        self.changes.get(fingerprint).is_some_and(|changes| {
            let changes: Vec<i64> = changes.iter().copied().collect();
            flapping.is_flapping(&changes, now.0)
        })
    }

    /// Runs until `stop`; `wake` says a change was stored.
    pub async fn run(mut self, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
        loop {
            let now = self.clock.now();
            if let Err(error) = self.pass(now).await {
                tracing::warn!(%error, "alert dispatcher pass failed; will try again");
            }
            let next = self.next_look().map_or(ms(POLL), |at| (at - self.clock.now().0).clamp(0, ms(POLL)));
            let next = Duration::from_millis(u64::try_from(next).unwrap_or(0));
            let event = tokio::select! {
                () = self.clock.sleep(next) => Event::Due,
                () = wake.notified() => Event::Changed,
                () = stopped(&mut stop) => Event::Stop,
            };
            match event {
                Event::Due => {}
                // Passes a change wakes are MIN_GAP apart: a burst is read in one.
                Event::Changed => {
                    let gap = MIN_GAP.saturating_sub(self.clock.now().since(now)).min(next);
                    tokio::select! {
                        () = self.clock.sleep(gap) => {}
                        () = stopped(&mut stop) => break,
                    }
                }
                Event::Stop => break,
            }
        }
    }

    fn next_look(&self) -> Option<i64> {
        self.groups.values().filter_map(|group| group.next_look).min()
    }

    /// Reads what changed, then looks at every group that is due at `now`.
    pub async fn pass(&mut self, now: Timestamp) -> Result<PassReport, StoreError> {
        if self.expired_at.is_none_or(|at| now.0 - at >= ms(POLL)) {
            self.store.expire_episodes(now).await?;
            self.expired_at = Some(now.0);
        }
        self.refresh(now).await?;
        let mut report = PassReport::default();
        // Groups that must look now or be scheduled; with none, nothing more to read.
        let pending: Vec<GroupId> =
            self.groups.iter().filter(|(_, group)| group.next_look.is_none_or(|at| at <= now.0)).map(|(id, _)| id.clone()).collect();
        if pending.is_empty() {
            return Ok(report);
        }
        if self.logs_read_at.is_none_or(|at| now.0 - at >= ms(LOG_REFRESH)) {
            self.logs = self
                .store
                .notify_logs()
                .await?
                .into_iter()
                .map(|entry| ((entry.receiver.clone(), entry.group_key.clone()), entry))
                .collect();
            self.logs_read_at = Some(now.0);
        }
        let logs = std::mem::take(&mut self.logs);
        let mut due = Vec::new();
        for id in pending {
            let log = logs.get(&id);
            match self.schedule(&id, log, now) {
                None => self.drop_group(&id),
                Some(next) if next <= now.0 => due.push(id),
                Some(_) => {}
            }
        }
        // What mutes each alert of the due groups, now.
        let silences = SilenceIndex::new(&self.silences, now.0);
        let mutes: HashMap<i64, Mutes> = due
            .iter()
            .flat_map(|id| members(&self.index, &self.episodes, id))
            .map(|record| {
                let mutes =
                    mutes_with(&silences, &self.routing.inhibit_rules, |rule, labels| self.inhibit.muted_by(rule, labels), &record.labels);
                (record.id, mutes)
            })
            .collect();
        self.logs = logs;
        for id in due {
            let log = self.logs.get(&id).cloned();
            self.look(&id, log.as_ref(), now, &mutes, &mut report).await?;
        }
        let logs = std::mem::take(&mut self.logs);
        if self.pruned_at.is_none_or(|at| now.0 - at >= ms(POLL)) {
            self.prune(&logs);
            self.pruned_at = Some(now.0);
        }
        self.logs = logs;
        Ok(report)
    }

    /// Loads changed episodes and the silences; a silence ending makes every group that
    /// has looked before look again now.
    async fn refresh(&mut self, now: Timestamp) -> Result<(), StoreError> {
        let changed = match self.seen_seq {
            Some(seq) => self.store.episodes_changed_after(seq).await?,
            None => {
                // Anything written while these load is read again by the next pass.
                self.seen_seq = Some(self.store.change_seq().await?);
                let mut all = self.store.firing_episodes(None).await?;
                let recent = self.store.episodes_changed_since(now.saturating_sub(RESOLVED_HORIZON)).await?;
                all.extend(recent.into_iter().filter(|record| record.state == EpisodeState::Resolved));
                all
            }
        };
        if let Some(latest) = changed.iter().map(|record| record.change_seq).max() {
            self.seen_seq = Some(self.seen_seq.unwrap_or(0).max(latest));
        }
        let horizon = now.0 - ms(RESOLVED_HORIZON);
        if self.flapping.is_some() {
            for changes in self.changes.values_mut() {
                changes.retain(|at| *at >= horizon);
            }
            self.changes.retain(|_, changes| !changes.is_empty());
        }
        for record in changed {
            if self.flapping.is_some() {
                let changes = self.changes.entry(record.fingerprint.clone()).or_default();
                changes.insert(record.starts_at.0);
                if record.state == EpisodeState::Resolved {
                    changes.insert(record.ends_at.unwrap_or(record.updated_at).0);
                }
            }
            let groups: Vec<GroupId> = self
                .routing
                .routes_for(&record.labels)
                .into_iter()
                .map(|(route, key)| {
                    let id = (route.options.receiver.clone(), key);
                    self.groups.entry(id.clone()).or_insert_with(|| Group {
                        route_key: route.key.clone(),
                        labels: route.group_labels(&record.labels),
                        next_look: None,
                        looked: false,
                    });
                    id
                })
                .collect();
            if groups.is_empty() {
                continue;
            }
            let was_firing = match self.episodes.get(&record.id) {
                Some(member) => member.record.state == EpisodeState::Firing,
                None => {
                    for group in &groups {
                        self.index.entry(group.clone()).or_default().push(record.id);
                    }
                    false
                }
            };
            match (was_firing, record.state) {
                (false, EpisodeState::Firing) => self.inhibit.add(record.id, fingerprint(&record.fingerprint), &record.labels),
                (true, EpisodeState::Resolved) => self.inhibit.remove(record.id, &record.labels),
                _ => {}
            }
            self.episodes.insert(record.id, Member { record, groups });
        }
        let version = self.store.silences_version().await?;
        let silences: Vec<Silence> = if self.silences_version == Some(version) {
            std::mem::take(&mut self.silences)
        } else {
            self.silences_version = Some(version);
            self.store.silences(now, false).await?.iter().map(vigil_store::SilenceRecord::silence).collect()
        };
        let active: BTreeSet<String> = silences
            .iter()
            .filter(|silence| silence.state(now.0) == vigil_alerts::SilenceState::Active)
            .map(|silence| silence.id.clone())
            .collect();
        if self.active_silences.difference(&active).next().is_some() {
            tracing::info!("a silence ended: groups look again now");
            for group in self.groups.values_mut().filter(|group| group.looked) {
                group.next_look = Some(now.0);
            }
        }
        self.active_silences = active;
        self.silences = silences;
        Ok(())
    }

    fn members<'a>(&'a self, id: &'a GroupId) -> impl Iterator<Item = &'a EpisodeRecord> + 'a {
        members(&self.index, &self.episodes, id)
    }

    /// When the group looks next; `None` when it has nothing left to say.
    fn schedule(&mut self, id: &GroupId, log: Option<&NotifyLogEntry>, now: Timestamp) -> Option<i64> {
        let firing: Vec<&EpisodeRecord> = self.members(id).filter(|record| record.state == EpisodeState::Firing).collect();
        if firing.is_empty() && log.is_none_or(|log| log.firing.is_empty()) {
            return None;
        }
        let created = firing.iter().map(|record| record.received_at.0).min();
        let started = firing.iter().map(|record| record.starts_at.0).min();
        let group = self.groups.get(id)?;
        if let Some(next) = group.next_look {
            return Some(next);
        }
        let options = self.routing.routes.get(&group.route_key)?;
        let next = match log {
            // Looks follow every group-interval after the group's first.
            Some(log) => {
                let interval = ms(options.group_interval).max(1);
                let behind = (now.0 - log.first_at.0).max(0);
                log.first_at.0 + behind.div_euclid(interval) * interval + if behind % interval == 0 { 0 } else { interval }
            }
            None => {
                let timers = Timers { group_wait: options.group_wait, group_interval: options.group_interval };
                let created = created.unwrap_or(now.0);
                timers.first_flush(created, started.unwrap_or(created))
            }
        };
        if let Some(group) = self.groups.get_mut(id) {
            group.next_look = Some(next);
        }
        Some(next)
    }

    fn drop_group(&mut self, id: &GroupId) {
        self.groups.remove(id);
        self.index.remove(id);
        self.flapping_now.retain(|(_, group)| group != id);
        for member in self.episodes.values_mut() {
            member.groups.retain(|group| group != id);
        }
    }

    /// Forgets resolved episodes no group still has to announce.
    fn prune(&mut self, logs: &HashMap<GroupId, NotifyLogEntry>) {
        let groups = &self.groups;
        let flapping: HashSet<&str> = self.flapping_now.iter().map(|(fingerprint, _)| fingerprint.as_str()).collect();
        self.episodes.retain(|_, member| {
            member.record.state == EpisodeState::Firing
                || flapping.contains(member.record.fingerprint.as_str())
                || member.groups.iter().any(|id| {
                    groups.get(id).is_some_and(|group| !group.looked)
                        || logs.get(id).is_some_and(|log| log.firing.contains(&member.record.fingerprint))
                })
        });
        self.index.clear();
        for (id, member) in &self.episodes {
            for group in &member.groups {
                self.index.entry(group.clone()).or_default().push(*id);
            }
        }
        let episodes = &self.episodes;
        self.decided.retain(|(episode, _), _| episodes.contains_key(episode));
    }

    /// Notes fingerprints that began or stopped flapping, as decisions.
    fn flap_decisions(&mut self, id: &GroupId, now: Timestamp, decisions: &mut Vec<NewDecision>) {
        let Some(flapping) = self.flapping else { return };
        let mut latest: BTreeMap<&str, i64> = BTreeMap::new();
        for record in self.members(id) {
            let entry = latest.entry(record.fingerprint.as_str()).or_insert(record.id);
            *entry = (*entry).max(record.id);
        }
        let mut began = Vec::new();
        let mut settled = Vec::new();
        for (fingerprint, episode) in latest {
            match (self.flaps(fingerprint, now), self.flapping_now.contains(&(fingerprint.to_owned(), id.clone()))) {
                (true, false) => began.push((fingerprint.to_owned(), episode)),
                (false, true) => settled.push((fingerprint.to_owned(), episode)),
                _ => {}
            }
        }
        let (receiver, group_key) = id;
        let decision = |episode_id, kind, detail: String| group_decision(id, episode_id, now, kind, detail);
        let rule = format!(
            "more than {} changes within {}; held firing until it holds one state for {}",
            flapping.max_changes,
            vigil_core::time::format_duration(Duration::from_millis(u64::try_from(flapping.window_ms).unwrap_or(0))),
            vigil_core::time::format_duration(Duration::from_millis(u64::try_from(flapping.settle_ms).unwrap_or(0)))
        );
        for (fingerprint, episode) in began {
            tracing::info!(receiver = %receiver, group = %group_key, %fingerprint, "alert flapping");
            decisions.push(decision(episode, DecisionKind::Flapping, rule.clone()));
            self.flapping_now.insert((fingerprint, id.clone()));
        }
        for (fingerprint, episode) in settled {
            tracing::info!(receiver = %receiver, group = %group_key, %fingerprint, "alert settled");
            decisions.push(decision(episode, DecisionKind::Settled, String::new()));
            self.flapping_now.remove(&(fingerprint, id.clone()));
        }
    }

    async fn look(
        &mut self,
        id: &GroupId,
        log: Option<&NotifyLogEntry>,
        now: Timestamp,
        mutes: &HashMap<i64, Mutes>,
        report: &mut PassReport,
    ) -> Result<(), StoreError> {
        let Some(group) = self.groups.get(id) else { return Ok(()) };
        let Some(options) = self.routing.routes.get(&group.route_key).cloned() else { return Ok(()) };
        let (receiver, group_key) = id;
        let next = group.next_look.unwrap_or(now.0).saturating_add(ms(options.group_interval).max(1));
        let next = if next <= now.0 { now.0 + ms(options.group_interval).max(1) } else { next };
        let group_labels = group.labels.clone();
        if let Some(group) = self.groups.get_mut(id) {
            group.next_look = Some(next);
            group.looked = true;
        }
        let mut decisions = Vec::new();
        let decision = |record: &EpisodeRecord, kind: DecisionKind, detail: String| group_decision(id, record.id, now, kind, detail);
        self.flap_decisions(id, now, &mut decisions);
        if let Some(why) = options.muted_at(&self.routing.time_intervals, now.0) {
            tracing::debug!(receiver = %receiver, group = %group_key, %why, "group muted");
            decisions.extend(
                members(&self.index, &self.episodes, id).map(|record| decision(record, DecisionKind::MutedByTime, why.to_string())),
            );
            let decisions = changed(&mut self.decided, decisions);
            self.store.record_decisions(&decisions).await?;
            return Ok(());
        }
        let config = self.routing.receivers.get(receiver).cloned().unwrap_or_default();
        let notified_firing: BTreeSet<&str> = log.map(|log| log.firing.iter().map(String::as_str).collect()).unwrap_or_default();
        let mut firing = Vec::new();
        // One entry per alert: its latest resolved episode.
        let mut resolved: BTreeMap<&str, &EpisodeRecord> = BTreeMap::new();
        let firing_fingerprints: BTreeSet<&str> =
            members(&self.index, &self.episodes, id).filter(|r| r.state == EpisodeState::Firing).map(|r| r.fingerprint.as_str()).collect();
        // Flapping alerts that resolved stay firing here, once each (their latest episode).
        let mut held: BTreeMap<&str, &EpisodeRecord> = BTreeMap::new();
        let mut flapping: BTreeSet<String> = BTreeSet::new();
        for record in members(&self.index, &self.episodes, id) {
            let mutes = mutes.get(&record.id).cloned().unwrap_or_default();
            let muted = mutes.muted();
            if !mutes.silenced_by.is_empty() {
                decisions.push(decision(record, DecisionKind::Silenced, format!("by {}", mutes.silenced_by.join(", "))));
            } else if muted {
                let by: Vec<String> =
                    mutes.inhibited_by.iter().zip(&mutes.inhibit_rules).map(|(source, rule)| format!("{source} (rule {rule})")).collect();
                decisions.push(decision(record, DecisionKind::Inhibited, format!("by {}", by.join(", "))));
            }
            let flaps = self.flaps(&record.fingerprint, now);
            if flaps && !muted {
                flapping.insert(record.fingerprint.clone());
            }
            match record.state {
                EpisodeState::Firing if !muted => firing.push(record),
                EpisodeState::Firing => {}
                EpisodeState::Resolved if flaps => {
                    if !muted && !firing_fingerprints.contains(record.fingerprint.as_str()) {
                        let latest = held.entry(record.fingerprint.as_str()).or_insert(record);
                        if record.id > latest.id {
                            *latest = record;
                        }
                    }
                }
                EpisodeState::Resolved => {
                    let told = notified_firing.contains(record.fingerprint.as_str());
                    if told && !firing_fingerprints.contains(record.fingerprint.as_str()) && (config.resolved_when_muted || !muted) {
                        let latest = resolved.entry(record.fingerprint.as_str()).or_insert(record);
                        if record.id > latest.id {
                            *latest = record;
                        }
                    }
                }
            }
        }
        firing.extend(held.values().copied());
        let resolved: Vec<&EpisodeRecord> = resolved.into_values().collect();
        let firing_set: BTreeSet<u64> = firing.iter().map(|r| fingerprint(&r.fingerprint)).collect();
        let resolved_set: BTreeSet<u64> = resolved.iter().map(|r| fingerprint(&r.fingerprint)).collect();
        let sent = log.map(|log| Sent {
            firing: log.firing.iter().map(|f| fingerprint(f)).collect(),
            resolved: log.resolved.iter().map(|f| fingerprint(f)).collect(),
            at_ms: log.sent_at.0,
        });
        let any_firing = !firing_fingerprints.is_empty() || !held.is_empty();
        let flapping_changed = log.map_or(!flapping.is_empty(), |log| log.flapping.iter().cloned().collect::<BTreeSet<_>>() != flapping);
        let update = needs_update(sent.as_ref(), &firing_set, &resolved_set, options.repeat_interval, config.send_resolved, now.0);
        let mutes = changed(&mut self.decided, decisions);
        self.store.record_decisions(&mutes).await?;
        if !update && !flapping_changed {
            report.quiet += 1;
            return Ok(());
        }
        let seq = log.map_or(1, |log| log.seq + 1);
        let thread = match log {
            Some(log) => log.thread.clone(),
            // An action outcome may have gone out first, in the thread this starts.
            None => self.store.taken_thread(receiver, group_key).await?.unwrap_or_else(|| new_thread(receiver, group_key, now)),
        };
        let mut firing_list: Vec<String> = firing.iter().map(|r| r.fingerprint.clone()).collect();
        firing_list.sort();
        firing_list.dedup();
        let mut resolved_list: Vec<String> = resolved.iter().map(|r| r.fingerprint.clone()).collect();
        resolved_list.sort();
        resolved_list.dedup();
        let entry = NotifyLogEntry {
            receiver: receiver.clone(),
            group_key: group_key.clone(),
            first_at: log.map_or(now, |log| log.first_at),
            seq,
            sent_at: now,
            firing: firing_list,
            resolved: resolved_list,
            thread: thread.clone(),
            flapping: flapping.iter().cloned().collect(),
        };
        // Without send-resolved, an all-resolved look updates the log and tells no one.
        let tell = !firing.is_empty() || config.send_resolved;
        let notifications: Vec<(String, NewNotification)> = if tell {
            let message = Message::Group(GroupMessage {
                receiver: receiver.clone(),
                group_key: group_key.clone(),
                group_labels,
                firing: firing.iter().map(|r| group_alert(r, flapping.contains(&r.fingerprint))).collect(),
                resolved: if config.send_resolved { resolved.iter().map(|r| group_alert(r, false)).collect() } else { Vec::new() },
                thread: thread.clone(),
                seq,
                at: now.0,
            });
            let payload = serde_json::to_string(&message).unwrap_or_else(|_| unreachable!("the message serializes"));
            let short = digest(group_key);
            config
                .notify
                .iter()
                .map(|notifier| {
                    (
                        format!("group:{receiver}:{short}:{seq}:{notifier}"),
                        NewNotification { notifier: notifier.clone(), payload: payload.clone() },
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        let told: Vec<NewDecision> = firing
            .iter()
            .map(|record| {
                let detail = if flapping.contains(&record.fingerprint) { "firing (flapping)" } else { "firing" };
                (record, detail)
            })
            .chain(resolved.iter().map(|record| (record, "resolved")))
            .map(|(record, detail)| NewDecision {
                seq: Some(seq),
                thread: thread.clone(),
                ..decision(record, DecisionKind::Notified, detail.to_owned())
            })
            .collect();
        let told = changed(&mut self.decided, told);
        if !self.store.record_group_notification(&entry, &notifications, &told, self.give_up_after).await? {
            for decision in &told {
                self.decided.remove(&(decision.episode_id, id.clone()));
            }
            match self.store.notify_log(receiver, group_key).await? {
                Some(current) => self.logs.insert(id.clone(), current),
                None => self.logs.remove(id),
            };
            tracing::info!(receiver = %receiver, group = %group_key, seq, "another node sent this group's notification");
            return Ok(());
        }
        tracing::info!(receiver = %receiver, group = %group_key, seq, firing = firing.len(), resolved = resolved.len(), "group notification");
        report.sent.push((receiver.clone(), group_key.clone(), seq));
        if !notifications.is_empty() {
            self.wake_outbox.notify_one();
        }
        if any_firing {
            self.logs.insert(id.clone(), entry);
        } else {
            self.store.forget_group(receiver, group_key, seq).await?;
            self.logs.remove(id);
            self.drop_group(id);
        }
        Ok(())
    }
}

/// A decision about `episode` in group `id`.
fn group_decision(id: &GroupId, episode: i64, at: Timestamp, kind: DecisionKind, detail: String) -> NewDecision {
    let (receiver, group_key) = id;
    NewDecision {
        episode_id: episode,
        at,
        receiver: receiver.clone(),
        group_key: group_key.clone(),
        kind,
        detail,
        seq: None,
        thread: String::new(),
    }
}

fn members<'a>(
    index: &'a HashMap<GroupId, Vec<i64>>,
    episodes: &'a BTreeMap<i64, Member>,
    id: &'a GroupId,
) -> impl Iterator<Item = &'a EpisodeRecord> + 'a {
    index.get(id).into_iter().flatten().filter_map(|episode| episodes.get(episode)).map(|member| &member.record)
}

type Decided = HashMap<(i64, GroupId), (DecisionKind, String)>;

/// Keeps the decisions that changed since the last one written for their episode and group.
fn changed(decided: &mut Decided, decisions: Vec<NewDecision>) -> Vec<NewDecision> {
    decisions
        .into_iter()
        .filter(|decision| {
            let key = (decision.episode_id, (decision.receiver.clone(), decision.group_key.clone()));
            let value = (decision.kind, decision.detail.clone());
            if decided.get(&key) == Some(&value) {
                return false;
            }
            decided.insert(key, value);
            true
        })
        .collect()
}

fn group_alert(record: &EpisodeRecord, flapping: bool) -> GroupAlert {
    let evidence = match &record.evidence {
        serde_json::Value::Array(lines) => lines.iter().filter_map(|line| line.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    };
    GroupAlert {
        fingerprint: record.fingerprint.clone(),
        labels: record.labels.clone(),
        annotations: record.annotations.clone(),
        starts_at: record.starts_at.0,
        // A held (flapping) alert is sent as firing, whatever its episode says now.
        ends_at: (record.state == EpisodeState::Resolved && !flapping).then_some(record.ends_at).flatten().map(|at| at.0),
        generator_url: record.generator_url.clone(),
        evidence,
        flapping,
    }
}
