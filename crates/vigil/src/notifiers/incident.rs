//! What an incident's notifications say: a page (with its acknowledgement links), a
//! reminder (a stakeholder update due, alerts resolved and awaiting confirmation, an
//! overdue action item), a stakeholder update, or the fallback at an escalation's end.

use serde::{Deserialize, Serialize};
use vigil_core::Timestamp;

/// One notification about an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentMessage {
    pub incident: i64,
    pub title: String,
    pub severity: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// `page`, `fallback`, `reminder`, `update` or `resolved` (not `kind`: that tags
    /// the payload).
    pub event: String,
    /// What happened and what to do, in a few lines.
    pub text: String,
    /// Whom it is for; acknowledgement links are made out to them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// E-mail recipients, in place of the notifier's own `to`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
    /// A Slack member to mention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mention: Option<String>,
    /// Which links to make at delivery (`ack`, `resolve`): the tokens are minted then,
    /// so the outbox never holds one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    /// The links made, by action, filled in at delivery.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub made: Vec<(String, String)>,
    /// Unix milliseconds.
    pub at: i64,
}

impl IncidentMessage {
    pub fn subject(&self) -> String {
        let what = match self.event.as_str() {
            "page" => "PAGE",
            "fallback" => "ESCALATION EXHAUSTED",
            "reminder" => "reminder",
            "update" => "update",
            "resolved" => "resolved",
            other => other,
        };
        format!("[Vigil] {} incident #{} {}: {what}", self.severity, self.incident, self.title)
    }

    pub fn text(&self) -> String {
        let mut text = String::new();
        if let Some(member) = &self.mention {
            text.push_str(&format!("<@{member}> "));
        }
        text.push_str(&self.text);
        text.push_str("\n\n");
        text.push_str(&format!("Incident #{}: {}\n", self.incident, self.title));
        text.push_str(&format!("Severity: {}\nStatus: {}\n", self.severity, self.status));
        if let Some(service) = &self.service {
            text.push_str(&format!("Service: {service}\n"));
        }
        text.push_str(&format!("At: {}\n", Timestamp(self.at).to_rfc3339()));
        for (action, url) in &self.made {
            let verb = if action == "resolve" { "Resolve" } else { "Acknowledge" };
            text.push_str(&format!("\n{verb}: {url}"));
        }
        if !self.made.is_empty() {
            text.push_str("\n(the link asks you to confirm before it changes anything)\n");
        }
        if self.event == "page" || self.event == "fallback" {
            text.push_str(&format!("\nOr: vigil incident ack {}\n", self.incident));
        }
        text
    }

    pub fn json(&self, key: &str) -> serde_json::Value {
        serde_json::json!({
            "idempotency_key": key,
            "kind": "incident",
            "event": self.event,
            "incident": self.incident,
            "title": self.title,
            "severity": self.severity,
            "status": self.status,
            "service": self.service,
            "person": self.person,
            "text": self.text,
            "links": self.made.iter().map(|(action, url)| (action.clone(), serde_json::Value::String(url.clone()))).collect::<serde_json::Map<_, _>>(),
            "at": Timestamp(self.at).to_rfc3339(),
            "summary": self.subject(),
        })
    }
}
