//! A group's notification: one message per group and receiver listing its firing and
//! resolved alerts, as the routing tree's dispatcher sends it. Webhooks get
//! Alertmanager's webhook body (version 4), so receivers written for Alertmanager work
//! unchanged; mails of one group thread under the first.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vigil_core::Timestamp;

/// A short stable name for a group key, for idempotency keys and mail threads.
pub fn digest(text: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(text.as_bytes())[..8])
}

/// A new mail thread for the group `group_key` of `receiver`, started at `now`.
pub fn new_thread(receiver: &str, group_key: &str, now: Timestamp) -> String {
    format!("group.{}.{}", digest(&format!("{receiver}\n{group_key}")), now.0)
}

/// One alert in a group's notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupAlert {
    pub fingerprint: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// Unix milliseconds.
    pub starts_at: i64,
    /// When it resolved, for resolved alerts.
    pub ends_at: Option<i64>,
    pub generator_url: String,
    /// Evidence lines (failures, matching log lines).
    #[serde(default)]
    pub evidence: Vec<String>,
    /// Held firing while it keeps firing and resolving.
    #[serde(default)]
    pub flapping: bool,
}

/// The payload of a group notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupMessage {
    pub receiver: String,
    pub group_key: String,
    pub group_labels: BTreeMap<String, String>,
    pub firing: Vec<GroupAlert>,
    pub resolved: Vec<GroupAlert>,
    /// The group's first notification's message id; the first has `seq` 1.
    pub thread: String,
    pub seq: i64,
    /// Unix milliseconds.
    pub at: i64,
}

impl GroupMessage {
    fn label_text(&self) -> String {
        let labels: Vec<String> = self.group_labels.iter().map(|(name, value)| format!("{name}={value}")).collect();
        if labels.is_empty() {
            self.receiver.clone()
        } else {
            labels.join(" ")
        }
    }

    /// Labels every alert of the message shares.
    pub fn common_labels(&self) -> BTreeMap<String, String> {
        common(self.firing.iter().chain(&self.resolved).map(|alert| &alert.labels))
    }

    pub fn subject(&self) -> String {
        let counts = match (self.firing.len(), self.resolved.len()) {
            (0, _) => "RESOLVED".to_owned(),
            (firing, 0) => format!("FIRING:{firing}"),
            (firing, resolved) => format!("FIRING:{firing}, RESOLVED:{resolved}"),
        };
        format!("[Vigil] [{counts}] {}", self.label_text())
    }

    pub fn text(&self) -> String {
        let mut text = format!(
            "{} firing, {} resolved in group {} (receiver {}), as of {}.\n",
            self.firing.len(),
            self.resolved.len(),
            self.label_text(),
            self.receiver,
            Timestamp(self.at)
        );
        for (title, alerts) in [("Firing", &self.firing), ("Resolved", &self.resolved)] {
            if alerts.is_empty() {
                continue;
            }
            text.push_str(&format!("\n{title}:\n"));
            for alert in alerts {
                let labels: Vec<String> = alert.labels.iter().map(|(name, value)| format!("{name}={value:?}")).collect();
                text.push_str(&format!("\n- {{{}}}\n  since {}", labels.join(", "), Timestamp(alert.starts_at)));
                if let Some(ends_at) = alert.ends_at {
                    text.push_str(&format!(", resolved {}", Timestamp(ends_at)));
                }
                if alert.flapping {
                    text.push_str(", flapping: held firing until it settles");
                }
                text.push('\n');
                for name in ["summary", "description", "runbook_url"] {
                    if let Some(value) = alert.annotations.get(name) {
                        text.push_str(&format!("  {name}: {value}\n"));
                    }
                }
                for line in &alert.evidence {
                    text.push_str(&format!("  > {line}\n"));
                }
                if !alert.generator_url.is_empty() {
                    text.push_str(&format!("  source: {}\n", alert.generator_url));
                }
            }
        }
        text
    }

    /// Alertmanager's webhook body (version 4).
    pub fn json(&self, key: &str) -> serde_json::Value {
        let alert = |alert: &GroupAlert, status: &str| {
            serde_json::json!({
                "status": status,
                "labels": alert.labels,
                "annotations": alert.annotations,
                "startsAt": Timestamp(alert.starts_at).to_rfc3339(),
                "endsAt": alert.ends_at.map_or_else(|| "0001-01-01T00:00:00Z".to_owned(), |at| Timestamp(at).to_rfc3339()),
                "generatorURL": alert.generator_url,
                "fingerprint": alert.fingerprint,
            })
        };
        let alerts: Vec<serde_json::Value> =
            self.firing.iter().map(|a| alert(a, "firing")).chain(self.resolved.iter().map(|a| alert(a, "resolved"))).collect();
        let annotations = common(self.firing.iter().chain(&self.resolved).map(|alert| &alert.annotations));
        serde_json::json!({
            "version": "4",
            "idempotency_key": key,
            "kind": "group",
            "groupKey": self.group_key,
            "truncatedAlerts": 0,
            "status": if self.firing.is_empty() { "resolved" } else { "firing" },
            "receiver": self.receiver,
            "groupLabels": self.group_labels,
            "commonLabels": self.common_labels(),
            "commonAnnotations": annotations,
            "externalURL": "",
            "alerts": alerts,
            "summary": self.subject(),
        })
    }
}

fn common<'a>(mut maps: impl Iterator<Item = &'a BTreeMap<String, String>>) -> BTreeMap<String, String> {
    let Some(first) = maps.next() else { return BTreeMap::new() };
    let mut shared = first.clone();
    for map in maps {
        shared.retain(|name, value| map.get(name) == Some(value));
    }
    shared
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(name: &str, service: &str) -> GroupAlert {
        GroupAlert {
            fingerprint: "00000000000000aa".to_owned(),
            labels: BTreeMap::from([("alertname".to_owned(), name.to_owned()), ("service".to_owned(), service.to_owned())]),
            annotations: BTreeMap::from([("summary".to_owned(), format!("{service} errors"))]),
            starts_at: 1_795_341_600_000,
            ends_at: None,
            generator_url: String::new(),
            evidence: vec!["GET /pay 503".to_owned()],
            flapping: false,
        }
    }

    #[test]
    fn a_group_mail_counts_and_lists_its_alerts() {
        let message = GroupMessage {
            receiver: "oncall".to_owned(),
            group_key: "{}:{alertname=\"Errors\"}".to_owned(),
            group_labels: BTreeMap::from([("alertname".to_owned(), "Errors".to_owned())]),
            firing: vec![alert("Errors", "api"), alert("Errors", "web")],
            resolved: vec![GroupAlert { ends_at: Some(1_795_341_660_000), ..alert("Errors", "db") }],
            thread: "t".to_owned(),
            seq: 2,
            at: 1_795_341_700_000,
        };
        assert_eq!(message.subject(), "[Vigil] [FIRING:2, RESOLVED:1] alertname=Errors");
        let text = message.text();
        assert!(text.contains("summary: web errors") && text.contains("> GET /pay 503") && text.contains("Resolved:"), "{text}");
        let json = message.json("k");
        assert_eq!(json["version"], "4");
        assert_eq!(json["status"], "firing");
        assert_eq!(json["commonLabels"], serde_json::json!({"alertname": "Errors"}));
        assert_eq!(json["alerts"][2]["status"], "resolved");
        let all_resolved = GroupMessage { firing: Vec::new(), ..message };
        assert_eq!(all_resolved.subject(), "[Vigil] [RESOLVED] alertname=Errors");
    }
}
