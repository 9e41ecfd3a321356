//! What a decision sets in motion besides its own record: routing through the alert
//! lifecycle, notifications (delivered by the outbox dispatcher) and remediation (run by
//! the action worker). Shared by everything
//! that decides — the monitor engine, the rule engine, inbound alerts — so each stores
//! both with the decision and wakes whoever acts on them.

use std::sync::Arc;

use tokio::sync::Notify;
use vigil_config::DeliveryConfig;

use crate::actions::Planner;
use crate::alerts::{AlertChange, Routing};

#[derive(Debug, Clone)]
pub struct Effects {
    pub delivery: DeliveryConfig,
    pub planner: Arc<Planner>,
    /// The routing tree every alert is decided by.
    pub routing: Arc<Routing>,
    pub wake_outbox: Arc<Notify>,
    pub wake_actions: Arc<Notify>,
    /// Wakes the alert dispatcher: an episode changed.
    pub wake_alerts: Arc<Notify>,
    /// Wakes the escalator: an episode may have opened an incident.
    pub wake_incidents: Arc<Notify>,
}

impl Effects {
    /// Effects with no actions configured.
    pub fn new(delivery: DeliveryConfig) -> Effects {
        Effects {
            delivery,
            planner: Arc::default(),
            routing: Arc::default(),
            wake_outbox: Arc::default(),
            wake_actions: Arc::default(),
            wake_alerts: Arc::default(),
            wake_incidents: Arc::default(),
        }
    }

    /// Routes an alert change and plans its remediation.
    pub fn decide(&self, change: AlertChange) -> vigil_store::EpisodeChange {
        self.routing.decide(change, &self.planner)
    }

    /// After episodes were stored: wakes the alert dispatcher and the escalator.
    pub fn episodes_stored(&self) {
        self.wake_alerts.notify_one();
        self.wake_incidents.notify_one();
    }

    /// After a commit: wakes the dispatcher and the action worker if there is work.
    pub fn stored(&self, notifications: bool, executions: bool) {
        if notifications {
            self.wake_outbox.notify_one();
        }
        if executions {
            self.wake_actions.notify_one();
        }
    }
}
