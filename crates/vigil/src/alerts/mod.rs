//! The alert lifecycle at run time: the one way every detector's alerts go (monitor
//! DOWN, rule firing, an alert another system sent) between detection and response.
//!
//! A detector builds an [`AlertChange`] and hands it to [`Routing::decide`] (through
//! `Effects::decide`), which names
//! the receivers the routing tree sends it to and plans the remediation of its own
//! `actions:` and its receivers' together; the store then writes the episode, that
//! routing decision, its shorthand `notify:` notifications and the executions in one
//! transaction, so remediation never waits for group-wait. The [`dispatcher`] turns
//! stored episodes into one notification per group and receiver, muted by silences,
//! inhibition and time intervals, evaluated from the store so they hold across restarts
//! and nodes. [`status`] says for any alert whether and why it is muted.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use vigil_alerts::interval::TimeInterval;
use vigil_alerts::{Route, RouteOptions};
use vigil_config::{Config, ReceiverConfig};
use vigil_core::incident::{IncidentRule, IncidentSetting};
use vigil_core::Timestamp;
use vigil_store::{AlertSource, EpisodeChange, IncidentPlan, NewExecution, NewNotification};

use crate::actions::{Planner, TriggerContext};

pub mod cache;
pub mod dispatcher;
pub mod inbound;
pub mod silences;
pub mod status;
pub mod view;

#[cfg(test)]
mod tests;

/// What a detector says about one alert, before routing.
#[derive(Debug, Clone)]
pub struct AlertChange {
    pub source: AlertSource,
    pub source_key: String,
    /// `alertname` and everything else; `severity` is set by the caller.
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub firing: bool,
    pub at: Timestamp,
    pub ends_at: Option<Timestamp>,
    pub received_at: Timestamp,
    pub generator_url: String,
    pub value: f64,
    pub evidence: serde_json::Value,
    /// The source's own `notify:` (immediate, one notification per change) and its payload.
    pub notify: Vec<String>,
    pub payload: Option<String>,
    /// The source's own `actions:`.
    pub actions: Vec<String>,
    /// One line about the alert, for executions.
    pub summary: String,
    /// Labels actions' templates see, when not the alert's own (a monitor's `url`).
    pub template_labels: Option<BTreeMap<String, String>>,
    /// The first sign of the problem (a monitor's first failed check), when the
    /// detector knows it: where an incident's time to detect starts.
    pub signal_at: Option<Timestamp>,
}

/// The routing tree and receivers, built once from the config.
#[derive(Debug, Default)]
pub struct Routing {
    pub tree: Option<Route>,
    /// Each route's settings by its key.
    pub routes: HashMap<String, RouteOptions>,
    pub receivers: BTreeMap<String, ReceiverConfig>,
    pub time_intervals: BTreeMap<String, Vec<TimeInterval>>,
    pub inhibit_rules: Vec<vigil_alerts::inhibit::InhibitRule>,
    /// Whether page-tier alerts open incidents by default, and the default escalation.
    pub incidents: vigil_config::IncidentsConfig,
}

impl Routing {
    pub fn new(config: &Config) -> Routing {
        let tree = config.route.as_ref().map(Route::new);
        let mut routes = HashMap::new();
        if let Some(tree) = &tree {
            tree.walk(&mut |route| {
                routes.entry(route.key.clone()).or_insert_with(|| route.options.clone());
            });
        }
        Routing {
            tree,
            routes,
            receivers: config.receivers.clone(),
            time_intervals: config.time_intervals.clone(),
            inhibit_rules: config.inhibit_rules.clone(),
            incidents: config.on_call.incidents.clone(),
        }
    }

    /// The incident a firing alert opens or joins, if any: the first route it takes that
    /// says (routes inherit their parent's `incident:`), else the first of its receivers
    /// that says, else, for page-tier alerts (`severity="page"`), a SEV-2 unless
    /// `incidents.page-tier` is off. Its service is the rule's, else the alert's
    /// `service` label, else its monitor, else its name.
    pub fn incident_plan(&self, change: &AlertChange, receivers: &[String]) -> Option<IncidentPlan> {
        if !change.firing {
            return None;
        }
        let routed = self.routes_for(&change.labels).into_iter().find_map(|(route, _)| route.options.incident.clone());
        let setting =
            routed.or_else(|| receivers.iter().find_map(|name| self.receivers.get(name).and_then(|config| config.incident.clone())));
        let rule = match setting {
            Some(IncidentSetting::Open(rule)) => rule,
            Some(IncidentSetting::Off) => return None,
            None if self.incidents.page_tier && change.labels.get("severity").is_some_and(|severity| severity == "page") => {
                IncidentRule { severity: vigil_core::incident::Severity::Sev2, service: None, escalation: None }
            }
            None => return None,
        };
        let label = |name: &str| change.labels.get(name).filter(|value| !value.is_empty()).cloned();
        let name = label("alertname").unwrap_or_else(|| change.source_key.clone());
        let service = rule.service.or_else(|| label("service")).or_else(|| label("monitor")).unwrap_or_else(|| name.clone());
        let title = change.annotations.get("summary").filter(|text| !text.is_empty()).cloned().unwrap_or(name);
        Some(IncidentPlan {
            severity: rule.severity,
            service,
            escalation: rule.escalation.or_else(|| self.incidents.default_escalation.clone()),
            title,
            signal_at: change.signal_at,
        })
    }

    /// The routes an alert with `labels` takes, with each one's group key.
    pub fn routes_for(&self, labels: &BTreeMap<String, String>) -> Vec<(&Route, String)> {
        match &self.tree {
            Some(tree) => tree.matches(labels).into_iter().map(|route| (route, route.group_key(labels))).collect(),
            None => Vec::new(),
        }
    }

    /// The first group an alert with `labels` joins whose receiver notifies through
    /// `notifier`, as (receiver, group key).
    pub fn group_of(&self, labels: &BTreeMap<String, String>, notifier: &str) -> Option<(String, String)> {
        self.routes_for(labels).into_iter().find_map(|(route, group_key)| {
            let receiver = &route.options.receiver;
            let notifies = self.receivers.get(receiver).is_some_and(|config| config.notify.iter().any(|name| name == notifier));
            notifies.then(|| (receiver.clone(), group_key))
        })
    }

    /// The receivers an alert with `labels` reaches, each once, in route order.
    pub fn receivers_for(&self, labels: &BTreeMap<String, String>) -> Vec<String> {
        let mut seen = BTreeSet::new();
        self.routes_for(labels)
            .into_iter()
            .map(|(route, _)| route.options.receiver.clone())
            .filter(|receiver| seen.insert(receiver.clone()))
            .collect()
    }

    /// Routes a change and plans its remediation with `planner`: the store change to write.
    pub fn decide(&self, change: AlertChange, planner: &Planner) -> EpisodeChange {
        let _span =
            tracing::info_span!("alert.route", alert = change.labels.get("alertname").map_or("", String::as_str), firing = change.firing)
                .entered();
        let fingerprint = vigil_alerts::fingerprint_hex(&change.labels);
        let receivers = self.receivers_for(&change.labels);
        let incident = self.incident_plan(&change, &receivers);
        let executions: Vec<NewExecution> = if change.firing {
            let mut actions: Vec<String> = change.actions.clone();
            for receiver in &receivers {
                if let Some(config) = self.receivers.get(receiver) {
                    actions.extend(config.actions.iter().filter(|action| !change.actions.contains(action)).cloned());
                }
            }
            let mut notify = change.notify.clone();
            for receiver in &receivers {
                if let Some(config) = self.receivers.get(receiver) {
                    notify.extend(config.notify.iter().filter(|name| !change.notify.contains(name)).cloned());
                }
            }
            let labels = change.template_labels.as_ref().unwrap_or(&change.labels);
            let trigger = TriggerContext { summary: change.summary.clone(), labels, notify: &notify };
            planner.plan(&actions, &trigger)
        } else {
            Vec::new()
        };
        let notifications = match &change.payload {
            Some(payload) => {
                change.notify.iter().map(|notifier| NewNotification { notifier: notifier.clone(), payload: payload.clone() }).collect()
            }
            None => Vec::new(),
        };
        EpisodeChange {
            source: change.source,
            name: change.labels.get("alertname").cloned().unwrap_or_else(|| change.source_key.clone()),
            source_key: change.source_key,
            fingerprint,
            labels: change.labels,
            annotations: change.annotations,
            firing: change.firing,
            at: change.at,
            ends_at: change.ends_at,
            received_at: change.received_at,
            generator_url: change.generator_url,
            value: change.value,
            evidence: change.evidence.to_string(),
            receivers,
            notifications,
            executions,
            incident,
        }
    }
}
