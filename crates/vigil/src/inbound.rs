//! Alertmanager's webhook (version 4, taken at `POST /api/v1/alertmanager` by
//! `http::intake`), so an existing Prometheus stack can use Vigil's routing and guarded
//! remediation.
//!
//! Each alert is matched against `inbound.alertmanager.routes` (first match wins); a new
//! firing episode (fingerprint and start) is stored with its notifications and
//! executions in one transaction; repeats of a firing alert change nothing; a resolved
//! one ends the episode, which is what verifying executions wait for.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use vigil_config::AlertmanagerConfig;
use vigil_core::{Clock, Timestamp};
use vigil_store::{NewInbound, NewNotification, Store};

use crate::actions::TriggerContext;
use crate::effects::Effects;
use crate::notifiers::{AlertMessage, Message};

/// Largest accepted webhook body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Everything the endpoint needs.
pub struct Inbound {
    pub config: AlertmanagerConfig,
    pub store: Store,
    pub effects: Effects,
    pub clock: Arc<dyn Clock>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookPayload {
    pub version: String,
    #[serde(default)]
    pub alerts: Vec<WebhookAlert>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAlert {
    /// `firing` or `resolved`.
    pub status: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub starts_at: String,
    #[serde(default)]
    pub generator_url: String,
    #[serde(default)]
    pub fingerprint: String,
}

/// What one webhook call did.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Received {
    pub started: usize,
    pub resolved: usize,
    /// Firing alerts already known, and resolutions of unknown ones.
    pub unchanged: usize,
    /// Alerts no route matched.
    pub unrouted: usize,
}

impl Inbound {
    pub async fn receive(&self, payload: WebhookPayload) -> Result<Received, anyhow::Error> {
        let mut received = Received::default();
        let now = self.clock.now();
        for alert in payload.alerts {
            let Some(route) = self.config.routes.iter().find(|route| route.matches(&alert.labels)) else {
                received.unrouted += 1;
                continue;
            };
            let starts_at = Timestamp::parse_rfc3339(&alert.starts_at).unwrap_or(now);
            let name = alert.labels.get("alertname").cloned().unwrap_or_else(|| "alert".to_owned());
            let fingerprint = if alert.fingerprint.is_empty() { fingerprint(&alert.labels) } else { alert.fingerprint.clone() };
            let firing = alert.status == "firing";
            let message = Message::Alert(AlertMessage {
                rule: name.clone(),
                state: if firing { "firing" } else { "resolved" }.to_owned(),
                severity: alert.labels.get("severity").cloned().unwrap_or_else(|| "page".to_owned()),
                at: if firing { starts_at.0 } else { now.0 },
                labels: alert.labels.clone(),
                value: 0.0,
                expr: alert.generator_url.clone(),
                summary: alert.annotations.get("summary").or_else(|| alert.annotations.get("description")).cloned(),
                sample_lines: Vec::new(),
                started_at: starts_at.0,
            });
            let payload = serde_json::to_string(&message)?;
            let notifications: Vec<NewNotification> =
                route.notify.iter().map(|notifier| NewNotification { notifier: notifier.clone(), payload: payload.clone() }).collect();
            let give_up_after = self.effects.delivery.give_up_after;
            if firing {
                let summary = match alert.annotations.get("summary") {
                    Some(summary) => format!("{name} firing: {summary}"),
                    None => format!("{name} firing"),
                };
                let trigger = TriggerContext { summary, labels: &alert.labels, notify: &route.notify };
                let executions = self.effects.planner.plan(&route.actions, &trigger);
                let record = NewInbound {
                    source: "alertmanager".to_owned(),
                    fingerprint,
                    starts_at,
                    name: name.clone(),
                    labels: serde_json::to_string(&alert.labels)?,
                    annotations: serde_json::to_string(&alert.annotations)?,
                };
                match self.store.start_inbound(&record, &notifications, &executions, now, give_up_after).await? {
                    Some(id) => {
                        tracing::warn!(alert = %name, id, executions = executions.len(), "inbound alert firing");
                        received.started += 1;
                        self.effects.stored(!notifications.is_empty(), !executions.is_empty());
                    }
                    None => received.unchanged += 1,
                }
            } else {
                match self.store.resolve_inbound("alertmanager", &fingerprint, starts_at, &notifications, now, give_up_after).await? {
                    Some(id) => {
                        tracing::info!(alert = %name, id, "inbound alert resolved");
                        received.resolved += 1;
                        self.effects.stored(!notifications.is_empty(), true);
                    }
                    None => received.unchanged += 1,
                }
            }
        }
        Ok(received)
    }
}

/// A stable fingerprint of a label set, for senders that do not send one.
fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    use sha2::Digest;
    let text = serde_json::to_string(labels).unwrap_or_default();
    hex::encode(&sha2::Sha256::digest(text.as_bytes())[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alertmanager_times_parse() {
        assert_eq!(Timestamp::parse_rfc3339("2026-11-22T10:00:00Z"), Some(Timestamp(1_795_341_600_000)));
        assert_eq!(Timestamp::parse_rfc3339("2026-11-22T10:00:00.5Z"), Some(Timestamp(1_795_341_600_500)));
        assert_eq!(Timestamp::parse_rfc3339("2026-11-22T11:00:00+01:00"), Some(Timestamp(1_795_341_600_000)));
        assert_eq!(Timestamp::parse_rfc3339("soon"), None);
    }
}
