//! Alerts other systems send: Alertmanager's webhook (version 4, at `POST
//! /api/v1/alertmanager`) and Alertmanager's own API (`POST /api/v2/alerts`, where
//! Prometheus sends), both turned into [`AlertChange`]s on the one path.
//!
//! The webhook's alerts are matched against `inbound.alertmanager.routes` (first match
//! wins) for their `notify:` and `actions:`; alerts posted to API v2 go through the
//! routing tree only. A firing alert already known refreshes its episode (senders repeat
//! them); a resolved one ends it, which is what verifying executions wait for. An API v2
//! alert that is not repeated resolves at its `endsAt` (5 minutes after it was received
//! when it has none, as Alertmanager's `resolve_timeout`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use vigil_config::AlertmanagerConfig;
use vigil_core::{Clock, Timestamp};
use vigil_store::{AlertSource, Applied, Store};

use super::AlertChange;
use crate::effects::Effects;
use crate::notifiers::{AlertMessage, Message};

/// Largest accepted body of either endpoint.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// How long an API v2 alert without `endsAt` fires unless repeated.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(300);

/// Everything the endpoints need.
pub struct Inbound {
    /// `inbound.alertmanager`, for the webhook.
    pub config: Option<AlertmanagerConfig>,
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

/// One alert of `POST /api/v2/alerts` (Alertmanager's `postableAlert`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostableAlert {
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub starts_at: Option<String>,
    #[serde(default)]
    pub ends_at: Option<String>,
    #[serde(default, rename = "generatorURL")]
    pub generator_url: String,
}

/// What one call did.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Received {
    pub started: usize,
    pub resolved: usize,
    /// Firing alerts already known, and resolutions of unknown ones.
    pub unchanged: usize,
    /// Webhook alerts no route matched (and no routing tree takes).
    pub unrouted: usize,
}

/// Go's zero time, which Alertmanager's clients send for "not set".
fn parse_time(text: Option<&str>) -> Result<Option<Timestamp>, String> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) if text.starts_with("0001-01-01") => Ok(None),
        Some(text) => Timestamp::parse_rfc3339(text).map(Some).ok_or_else(|| format!("invalid time `{text}`: expected RFC 3339")),
    }
}

impl Inbound {
    /// Checks and stores `POST /api/v2/alerts`. A bad alert refuses the whole body and
    /// stores nothing, as Alertmanager does. With `by` (the caller's token), a body that
    /// started or resolved an alert leaves an audit row in the same transaction.
    pub async fn post_alerts(&self, alerts: Vec<PostableAlert>, by: Option<&str>) -> Result<Received, InboundError> {
        let now = self.clock.now();
        let mut changes = Vec::with_capacity(alerts.len());
        for (index, alert) in alerts.into_iter().enumerate() {
            let invalid = |why: String| InboundError::Invalid(format!("alert {index}: {why}"));
            if alert.labels.is_empty() {
                return Err(invalid("at least one label pair required".to_owned()));
            }
            if let Some((name, _)) = alert.labels.iter().find(|(name, _)| name.is_empty()) {
                return Err(invalid(format!("invalid label name {name:?}")));
            }
            if let Some((name, _)) = alert.labels.iter().find(|(_, value)| value.is_empty()) {
                return Err(invalid(format!("empty value for label {name:?}")));
            }
            let starts_at = parse_time(alert.starts_at.as_deref()).map_err(invalid)?.unwrap_or(now);
            let ends_at = parse_time(alert.ends_at.as_deref()).map_err(invalid)?;
            if let Some(ends_at) = ends_at {
                if ends_at < starts_at {
                    return Err(invalid("end time must not be before start time".to_owned()));
                }
            }
            let firing = ends_at.is_none_or(|ends_at| ends_at > now);
            let name = alert.labels.get("alertname").cloned().unwrap_or_default();
            let summary = match alert.annotations.get("summary") {
                Some(summary) => format!("{name} firing: {summary}"),
                None => format!("{name} firing"),
            };
            changes.push(self.effects.decide(AlertChange {
                source: AlertSource::Inbound,
                source_key: vigil_alerts::fingerprint_hex(&alert.labels),
                labels: alert.labels,
                annotations: alert.annotations,
                firing,
                at: if firing { starts_at } else { ends_at.unwrap_or(now) },
                ends_at: if firing { Some(ends_at.unwrap_or(now.saturating_add(RESOLVE_TIMEOUT))) } else { None },
                received_at: now,
                generator_url: alert.generator_url,
                value: 0.0,
                evidence: serde_json::Value::Array(Vec::new()),
                notify: Vec::new(),
                payload: None,
                actions: Vec::new(),
                summary,
                template_labels: None,
                signal_at: None,
            }));
        }
        self.store_changes(&changes, by).await
    }

    async fn store_changes(&self, changes: &[vigil_store::EpisodeChange], by: Option<&str>) -> Result<Received, InboundError> {
        let now = self.clock.now();
        let audit = |applied: &[Applied]| {
            let started = applied.iter().filter(|applied| matches!(applied, Applied::Started(_))).count();
            let resolved = applied.iter().filter(|applied| matches!(applied, Applied::Resolved(_))).count();
            match by {
                Some(who) if started + resolved > 0 => vec![vigil_store::AuditEntry {
                    at: now,
                    execution_id: None,
                    action: "api".to_owned(),
                    target: "/api/v2/alerts".to_owned(),
                    event: "post".to_owned(),
                    detail: format!("by {who}: {} alerts: {started} new, {resolved} resolved", applied.len()),
                    node: String::new(),
                }],
                _ => Vec::new(),
            }
        };
        let applied = self
            .store
            .apply_changes_audited(changes, now, self.effects.delivery.give_up_after, audit)
            .await
            .map_err(InboundError::Store)?;
        let mut received = Received::default();
        let (mut notifications, mut executions) = (false, false);
        for (change, applied) in changes.iter().zip(applied) {
            match applied {
                Applied::Started(record) => {
                    tracing::warn!(alert = %record.name, id = record.id, receivers = ?record.receivers, executions = change.executions.len(), "inbound alert firing");
                    received.started += 1;
                    notifications |= !change.notifications.is_empty();
                    executions |= !change.executions.is_empty();
                }
                Applied::Resolved(record) => {
                    tracing::info!(alert = %record.name, id = record.id, "inbound alert resolved");
                    received.resolved += 1;
                    notifications |= !change.notifications.is_empty();
                    // A resolution may be what a verifying execution waits for.
                    executions = true;
                }
                Applied::Refreshed(_) | Applied::Unchanged => received.unchanged += 1,
            }
        }
        self.effects.stored(notifications, executions);
        self.effects.episodes_stored();
        Ok(received)
    }

    /// Stores the alerts of Alertmanager's webhook.
    pub async fn receive(&self, payload: WebhookPayload) -> Result<Received, InboundError> {
        let now = self.clock.now();
        let mut unrouted = 0;
        let mut changes = Vec::new();
        for alert in payload.alerts {
            let route = self.config.as_ref().and_then(|config| config.routes.iter().find(|route| route.matches(&alert.labels)));
            if route.is_none() && self.effects.routing.tree.is_none() {
                unrouted += 1;
                continue;
            }
            let (notify, actions) = route.map(|route| (route.notify.clone(), route.actions.clone())).unwrap_or_default();
            let starts_at = Timestamp::parse_rfc3339(&alert.starts_at).unwrap_or(now);
            let name = alert.labels.get("alertname").cloned().unwrap_or_else(|| "alert".to_owned());
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
            let summary = match alert.annotations.get("summary") {
                Some(summary) => format!("{name} firing: {summary}"),
                None => format!("{name} firing"),
            };
            let source_key =
                if alert.fingerprint.is_empty() { vigil_alerts::fingerprint_hex(&alert.labels) } else { alert.fingerprint.clone() };
            changes.push(self.effects.decide(AlertChange {
                source: AlertSource::Inbound,
                source_key,
                labels: alert.labels,
                annotations: alert.annotations,
                firing,
                at: if firing { starts_at } else { now },
                ends_at: None,
                received_at: now,
                generator_url: alert.generator_url,
                value: 0.0,
                evidence: serde_json::Value::Array(Vec::new()),
                notify,
                payload: Some(serde_json::to_string(&message).map_err(|error| InboundError::Invalid(error.to_string()))?),
                actions,
                summary,
                template_labels: None,
                signal_at: None,
            }));
        }
        let mut received = self.store_changes(&changes, None).await?;
        received.unrouted = unrouted;
        Ok(received)
    }
}

/// Why inbound alerts were refused.
#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(vigil_store::StoreError),
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
        assert_eq!(parse_time(Some("0001-01-01T00:00:00Z")), Ok(None), "Go's zero time is no time");
        assert!(parse_time(Some("later")).is_err());
    }
}
