//! The engine: the one place check results become state. It owns every monitor's
//! hysteresis state, stores each transition together with its notifications, and logs
//! every failed check and every state change.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Notify;
use vigil_config::DeliveryConfig;
use vigil_core::hysteresis::{Health, MonitorState, Transition};
use vigil_store::{NewNotification, NewTransition, Store, StoreError};

use super::scheduler::CheckDone;
use super::{Check, Monitors};
use crate::metrics::{Metrics, StateLabels};
use crate::notifiers::TransitionMessage;

pub struct Engine {
    monitors: Monitors,
    states: Vec<MonitorState>,
    store: Store,
    metrics: Arc<Metrics>,
    delivery: DeliveryConfig,
    wake_outbox: Arc<Notify>,
}

impl Engine {
    /// Builds the engine with each monitor's state restored from its last transition.
    pub async fn restore(
        monitors: Monitors,
        store: Store,
        metrics: Arc<Metrics>,
        delivery: DeliveryConfig,
        wake_outbox: Arc<Notify>,
    ) -> Result<Engine, StoreError> {
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
        let engine = Engine { monitors, states, store, metrics, delivery, wake_outbox };
        engine.update_state_gauge();
        Ok(engine)
    }

    pub async fn handle_check(&mut self, done: CheckDone) {
        let CheckDone { index, check, lag, skipped } = done;
        let monitor = &self.monitors[index];
        let name = monitor.config.name.as_str();
        self.metrics.count_check(check.healthy);
        self.metrics.schedule_lag.observe(lag.as_secs_f64());
        self.metrics.checks_skipped.inc_by(skipped);
        if skipped > 0 {
            tracing::warn!(monitor = name, skipped, "checks skipped: the previous check was still running");
        }
        if !check.healthy {
            let failures = check.failures();
            tracing::warn!(monitor = name, failures = ?failures, response_ms = check.result.response_time.as_millis() as u64, "check failed");
        }
        let state = &mut self.states[index];
        let before = state.clone();
        let Some(transition) = state.observe(check.healthy, check.at, monitor.config.thresholds) else { return };
        match self.record(index, &transition, &check).await {
            Ok(()) => {
                self.metrics.transitions.get_or_create(&StateLabels { state: transition.to.as_str().to_owned() }).inc();
                self.update_state_gauge();
                self.wake_outbox.notify_one();
            }
            Err(error) => {
                // Forget the transition so the next check produces it again.
                tracing::error!(monitor = name, %error, "storing a transition failed; it will be retried on the next check");
                self.states[index] = before;
            }
        }
    }

    async fn record(&self, index: usize, transition: &Transition, check: &Check) -> Result<(), StoreError> {
        let monitor = &self.monitors[index];
        let name = monitor.config.name.as_str();
        let failures = check.failures();
        let reason = if check.healthy { "all conditions passed".to_owned() } else { failures.join("; ") };
        let message = TransitionMessage {
            monitor: name.to_owned(),
            url: monitor.config.target.url(),
            state: transition.to.as_str().to_owned(),
            previous_state: transition.from.as_str().to_owned(),
            at: transition.at.0,
            previous_period_ms: transition.previous_period.map(|period| period.as_millis() as i64),
            failures: if check.healthy { Vec::new() } else { failures },
        };
        let notifications: Vec<NewNotification> = if transition.is_notifiable() {
            let payload = serde_json::to_string(&message).unwrap_or_else(|_| unreachable!("the message serializes"));
            monitor.config.notify.iter().map(|notifier| NewNotification { notifier: notifier.clone(), payload: payload.clone() }).collect()
        } else {
            Vec::new()
        };
        let new = NewTransition {
            monitor: name.to_owned(),
            at: transition.at,
            from: transition.from,
            to: transition.to,
            reason: reason.clone(),
            previous_period: transition.previous_period,
        };
        let record = self.store.record_transition(&new, &notifications, self.delivery.give_up_after).await?;
        let previous_period_ms = new.previous_period.map(|period| period.as_millis() as u64);
        match transition.to {
            Health::Down => tracing::error!(monitor = name, id = record.id, %reason, previous_period_ms, "monitor is DOWN"),
            _ if transition.from == Health::Down => {
                tracing::info!(monitor = name, id = record.id, previous_period_ms, "monitor recovered: UP")
            }
            _ => tracing::info!(monitor = name, id = record.id, "monitor is UP"),
        }
        Ok(())
    }

    fn update_state_gauge(&self) {
        for health in [Health::Unknown, Health::Up, Health::Down] {
            let count = self.states.iter().filter(|state| state.health() == health).count();
            self.metrics.monitors.get_or_create(&StateLabels { state: health.as_str().to_owned() }).set(count as i64);
        }
    }
}
