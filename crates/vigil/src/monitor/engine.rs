//! The engine: the one place check results become state. It owns every monitor's
//! hysteresis state, logs every failed check and every state change, and stores each
//! transition together with its notifications.
//!
//! Deciding is synchronous ([`Engine::handle_check`]); storing is batched
//! ([`Engine::flush`]): the run loop handles every check already waiting, then commits
//! their transitions in one transaction, so a burst of transitions costs one commit.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use vigil_core::hysteresis::{Health, MonitorState};
use vigil_core::Timestamp;
use vigil_store::{AlertSource, EpisodeChange, NewExecution, NewNotification, NewTransition, Store, StoreError, TransitionWrite};

use super::scheduler::CheckDone;
use super::{Monitor, Monitors};
use crate::alerts::AlertChange;
use crate::effects::Effects;
use crate::metrics::{Metrics, StateLabels};
use crate::notifiers::{Message, TransitionMessage};
use crate::slos::{CheckEvent, SloDetector};

/// A decided transition waiting for the next flush.
struct Pending {
    index: usize,
    /// The state before the transition, restored if storing fails.
    before: MonitorState,
    transition: NewTransition,
    notifications: Vec<NewNotification>,
    executions: Vec<NewExecution>,
    episode: Option<EpisodeChange>,
}

pub struct Engine {
    monitors: Monitors,
    states: Vec<MonitorState>,
    /// Each monitor's first failed check since it last passed: the first sign of an
    /// outage, for its incident's time to detect.
    first_failures: Vec<Option<Timestamp>>,
    pending: Vec<Pending>,
    store: Store,
    metrics: Arc<Metrics>,
    effects: Effects,
    /// The monitor SLOs, fed every check.
    slos: SloDetector,
    /// Their burn alerts waiting for the next flush.
    burns: Vec<AlertChange>,
    /// Recent checks and hourly response times, for the UI.
    history: Arc<super::history::CheckHistory>,
    /// The node whose hourly sums this engine stores ([`Engine::on_node`]).
    node: String,
}

/// Flush at least this often during a long burst of checks.
pub const MAX_BATCH: usize = 512;

impl Engine {
    /// Builds the engine with each monitor's state restored from its last transition.
    pub async fn restore(monitors: Monitors, store: Store, metrics: Arc<Metrics>, effects: Effects) -> Result<Engine, StoreError> {
        let latest: HashMap<String, _> = store.latest_transitions().await?.into_iter().map(|t| (t.monitor.clone(), t)).collect();
        let states = monitors
            .iter()
            .map(|monitor| match latest.get(monitor.config.name.as_str()) {
                Some(last) => {
                    tracing::info!(monitor = %monitor.config.name, state = %last.to, since = %last.at, "state restored");
                    MonitorState::restored(last.to, last.at)
                }
                None => MonitorState::default(),
            })
            .collect();
        let first_failures = vec![None; monitors.len()];
        let history = Arc::new(super::history::CheckHistory::new(monitors.len()));
        let engine = Engine {
            history,
            monitors,
            states,
            first_failures,
            pending: Vec::new(),
            store,
            metrics,
            effects,
            slos: SloDetector::monitors(&[]),
            burns: Vec::new(),
            node: String::new(),
        };
        engine.update_state_gauge();
        Ok(engine)
    }

    /// Stores the hourly check sums as `node`'s own (nodes sharing a store each keep
    /// theirs; readers add them up).
    pub fn on_node(mut self, node: &str) -> Engine {
        self.node = node.to_owned();
        self
    }

    /// Feeds the monitor SLOs of `configs` too (see [`crate::slos`]), saving their
    /// windows as `node`'s.
    pub fn with_slos(mut self, configs: &[vigil_config::SloConfig], node: &str, clock: Arc<dyn vigil_core::Clock>) -> Engine {
        self.slos = SloDetector::monitors(configs).on_node(node, clock);
        self
    }

    /// Rebuilds the monitor SLOs' windows from the store; the source keys of the burn
    /// alerts that fire on them.
    pub async fn restore_slos(&mut self) -> Result<std::collections::BTreeSet<String>, StoreError> {
        self.slos.restore(&self.store, &self.effects).await
    }

    /// Stores the monitor SLOs' windows now (at shutdown).
    pub async fn save_slos(&mut self) {
        self.slos.sync(&self.store, &self.effects, &self.metrics, true).await;
    }

    /// The recent checks the engine records, for the HTTP layer to read.
    pub fn history(&self) -> Arc<super::history::CheckHistory> {
        Arc::clone(&self.history)
    }

    /// Loads this node's stored hours of response times of the last two days.
    pub async fn restore_history(&self, now: Timestamp) -> Result<(), StoreError> {
        let names: Vec<&str> = self.monitors.iter().map(|monitor| monitor.config.name.as_str()).collect();
        self.history.restore(&self.store, &self.node, &names, now).await
    }

    /// Stores the hours of response times that changed since the last save.
    pub async fn save_history(&self, now: Timestamp) {
        let names: Vec<&str> = self.monitors.iter().map(|monitor| monitor.config.name.as_str()).collect();
        if let Err(error) = self.history.save(&self.store, &self.node, &names, now).await {
            tracing::warn!(%error, "storing hourly response times failed; the next save retries");
        }
    }

    /// Every monitor's state as it is now (the scheduler starts its retry pacing from it).
    pub fn states(&self) -> Vec<MonitorState> {
        self.states.clone()
    }

    /// Monitors without a verdict yet (UNKNOWN).
    pub fn unknown(&self) -> usize {
        self.states.iter().filter(|state| state.health() == Health::Unknown).count()
    }

    /// How many transitions and burn alerts wait for [`Engine::flush`].
    pub fn pending(&self) -> usize {
        self.pending.len() + self.burns.len()
    }

    /// Feeds one check in: counts and logs it, and decides any transition.
    pub fn handle_check(&mut self, done: CheckDone) {
        let CheckDone { index, check, lag, skipped } = done;
        let monitor = &self.monitors[index];
        let name = monitor.config.name.as_str();
        self.metrics.count_check(check.healthy);
        if let Some(failure) = &check.result.failure {
            self.metrics.check_failures.get_or_create(&crate::metrics::CodeLabels { code: failure.code.as_str().to_owned() }).inc();
        }
        self.metrics.schedule_lag.observe(lag.as_secs_f64());
        self.metrics.checks_skipped.inc_by(skipped);
        if skipped > 0 {
            tracing::warn!(monitor = name, skipped, "checks skipped: the previous check was still running");
        }
        let failures = check.failures();
        self.history.record(index, &check, &failures);
        if !check.healthy {
            tracing::warn!(monitor = name, failures = ?failures, response_ms = check.result.response_time.as_millis() as u64, "check failed");
        }
        let first_failure = match (check.healthy, self.first_failures[index]) {
            (true, _) => None,
            (false, None) => Some(check.at),
            (false, earlier) => earlier,
        };
        self.first_failures[index] = first_failure;
        let state = &mut self.states[index];
        let before = state.clone();
        let transition = state.observe(check.healthy, check.at, monitor.config.thresholds);
        if !self.slos.is_empty() {
            let failure = check.result.failure.as_ref().map(|failure| format!("[{}] {}", failure.code.as_str(), failures.join("; ")));
            let event = CheckEvent {
                monitor: name,
                at: check.at,
                healthy: check.healthy,
                health: state.health(),
                interval: monitor.config.interval,
                failure: failure.or_else(|| (!check.healthy).then(|| failures.join("; "))),
            };
            self.burns.extend(self.slos.observe_check(&event));
        }
        let Some(transition) = transition else { return };
        let reason = if check.healthy { "all conditions passed".to_owned() } else { failures.join("; ") };
        let notifications = if transition.is_notifiable() {
            let message = TransitionMessage {
                monitor: name.to_owned(),
                url: monitor.config.target.url(),
                state: transition.to.as_str().to_owned(),
                previous_state: transition.from.as_str().to_owned(),
                at: transition.at.0,
                previous_period_ms: transition.previous_period.map(|period| period.as_millis() as i64),
                failures: if check.healthy { Vec::new() } else { failures },
            };
            let payload = serde_json::to_string(&Message::Transition(message)).unwrap_or_else(|_| unreachable!("the message serializes"));
            monitor.config.notify.iter().map(|notifier| NewNotification { notifier: notifier.clone(), payload: payload.clone() }).collect()
        } else {
            Vec::new()
        };
        let name = name.to_owned();
        let alert = alert_change(&name, monitor, &transition, &reason).map(|change| AlertChange { signal_at: first_failure, ..change });
        let (executions, episode) = match alert {
            Some(change) => {
                let mut episode = self.effects.decide(change);
                // Its remediation is triggered by the transition: it clears when the monitor is UP.
                (std::mem::take(&mut episode.executions), Some(episode))
            }
            None => (Vec::new(), None),
        };
        let transition = NewTransition {
            monitor: name,
            at: transition.at,
            from: transition.from,
            to: transition.to,
            reason,
            previous_period: transition.previous_period,
        };
        self.pending.push(Pending { index, before, transition, notifications, executions, episode });
    }

    /// Stores every pending transition with its notifications in one transaction. If
    /// that fails, the monitors involved return to their earlier state, so their next
    /// checks decide the transitions again.
    pub async fn flush(&mut self) {
        let burns = std::mem::take(&mut self.burns);
        if !burns.is_empty() {
            let now = burns.last().map_or(vigil_core::Timestamp(0), |burn| burn.received_at);
            crate::slos::store_changes(&self.store, &self.effects, burns, now).await;
        }
        if !self.slos.is_empty() {
            self.slos.sync(&self.store, &self.effects, &self.metrics, false).await;
        }
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        let batch: Vec<TransitionWrite> = pending
            .iter()
            .map(|p| TransitionWrite {
                transition: p.transition.clone(),
                notifications: p.notifications.clone(),
                executions: p.executions.clone(),
                episode: p.episode.clone(),
            })
            .collect();
        match self.store.record_transitions(&batch, self.effects.delivery.give_up_after).await {
            Ok(records) => {
                for (write, record) in batch.iter().zip(&records) {
                    let Some(record) = record else {
                        tracing::info!(monitor = %write.transition.monitor, state = %write.transition.to, "already recorded by another node");
                        continue;
                    };
                    self.metrics.transitions.get_or_create(&StateLabels { state: record.to.as_str().to_owned() }).inc();
                    let previous_period_ms = record.previous_period_ms;
                    match record.to {
                        Health::Down => {
                            tracing::error!(monitor = %record.monitor, id = record.id, reason = %record.reason, previous_period_ms, "monitor is DOWN")
                        }
                        _ if record.from == Health::Down => {
                            tracing::info!(monitor = %record.monitor, id = record.id, previous_period_ms, "monitor recovered: UP")
                        }
                        _ => tracing::info!(monitor = %record.monitor, id = record.id, "monitor is UP"),
                    }
                }
                self.update_state_gauge();
                self.effects.stored(
                    batch.iter().any(|write| !write.notifications.is_empty()),
                    batch.iter().any(|write| !write.executions.is_empty()),
                );
                if batch.iter().any(|write| write.episode.is_some()) {
                    self.effects.episodes_stored();
                }
            }
            Err(error) => {
                tracing::error!(%error, transitions = pending.len(), "storing transitions failed; the next checks will decide them again");
                // Newest first, so a monitor with two pending transitions ends at the oldest `before`.
                for entry in pending.into_iter().rev() {
                    self.states[entry.index] = entry.before;
                }
            }
        }
    }

    fn update_state_gauge(&self) {
        for health in [Health::Unknown, Health::Up, Health::Down] {
            let count = self.states.iter().filter(|state| state.health() == health).count();
            self.metrics.monitors.get_or_create(&StateLabels { state: health.as_str().to_owned() }).set(count as i64);
        }
    }
}

/// A monitor's alert: firing when it goes DOWN, resolved when it comes back. Its labels
/// are the monitor's `labels:`, `alertname` and `monitor` (the monitor's name) and
/// `severity="page"`; actions'
/// templates also see `url` and `state`.
fn alert_change(name: &str, monitor: &Monitor, transition: &vigil_core::hysteresis::Transition, reason: &str) -> Option<AlertChange> {
    let firing = transition.to == Health::Down;
    if !firing && transition.from != Health::Down {
        return None;
    }
    let mut labels = monitor.config.labels.clone();
    labels.extend([
        ("alertname".to_owned(), name.to_owned()),
        ("monitor".to_owned(), name.to_owned()),
        ("severity".to_owned(), "page".to_owned()),
    ]);
    let url = monitor.config.target.url();
    let mut template_labels = labels.clone();
    template_labels.extend([("url".to_owned(), url.clone()), ("state".to_owned(), "down".to_owned())]);
    let summary = format!("{name} is DOWN: {reason}");
    let annotations = BTreeMap::from([("summary".to_owned(), summary.clone()), ("url".to_owned(), url)]);
    let evidence = if firing { serde_json::json!([reason]) } else { serde_json::json!([]) };
    Some(AlertChange {
        source: AlertSource::Monitor,
        source_key: name.to_owned(),
        labels,
        annotations,
        firing,
        at: transition.at,
        ends_at: None,
        received_at: transition.at,
        generator_url: String::new(),
        value: 0.0,
        evidence,
        notify: monitor.config.notify.clone(),
        payload: None,
        actions: monitor.config.actions.clone(),
        summary,
        template_labels: Some(template_labels),
        signal_at: None,
    })
}
