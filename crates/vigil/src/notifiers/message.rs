//! What a notification says, stored as the outbox payload and rendered by each
//! notifier: a monitor's transition, or a rule's alert firing or resolving.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use vigil_core::time::format_duration;
use vigil_core::{Health, Timestamp};

/// The payload of any notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Message {
    Transition(TransitionMessage),
    Alert(AlertMessage),
    /// A routing-tree group's alerts, for one receiver.
    Group(super::group::GroupMessage),
    /// What became of a remediation: run, verified, failed, held, suppressed, ...
    Action(ActionMessage),
    /// Audit entries, for audit sinks (CloudWatch Logs).
    Audit(AuditMessage),
    /// A page, reminder or update about an incident.
    Incident(super::incident::IncidentMessage),
    /// A mail to a status page subscriber.
    Subscriber(super::subscriber::SubscriberMessage),
}

impl Message {
    /// Reads a stored payload (payloads from before the `kind` tag are transitions).
    pub fn from_payload(payload: &str) -> serde_json::Result<Message> {
        serde_json::from_str::<Message>(payload)
            .or_else(|error| serde_json::from_str::<TransitionMessage>(payload).map(Message::Transition).map_err(|_| error))
    }

    pub fn subject(&self) -> String {
        match self {
            Message::Transition(message) => message.subject(),
            Message::Alert(message) => message.subject(),
            Message::Group(message) => message.subject(),
            Message::Action(message) => message.subject(),
            Message::Audit(message) => format!("[Vigil] audit: {} entries", message.entries.len()),
            Message::Incident(message) => message.subject(),
            Message::Subscriber(message) => message.subject.clone(),
        }
    }

    pub fn text(&self) -> String {
        match self {
            Message::Transition(message) => message.text(),
            Message::Alert(message) => message.text(),
            Message::Group(message) => message.text(),
            Message::Action(message) => message.text(),
            Message::Audit(message) => message.entries.iter().map(|entry| format!("{}\n", entry.line())).collect(),
            Message::Incident(message) => message.text(),
            Message::Subscriber(message) => message.text.clone(),
        }
    }

    /// Whether this starts a problem (`Some(true)`), ends one (`Some(false)`), or neither;
    /// paging notifiers trigger and resolve on it.
    pub fn problem(&self) -> Option<bool> {
        match self {
            Message::Transition(message) => Some(message.is_down()),
            Message::Alert(message) => Some(message.state == "firing"),
            Message::Group(message) => Some(!message.firing.is_empty()),
            Message::Action(message) => (message.outcome == "breaker-open").then_some(true),
            Message::Audit(_) | Message::Subscriber(_) => None,
            Message::Incident(message) => match message.event.as_str() {
                "page" | "fallback" => Some(true),
                "resolved" => Some(false),
                _ => None,
            },
        }
    }

    /// What ties a problem's start to its end, for deduplicating receivers (PagerDuty's
    /// `dedup_key`): a monitor's outage, a rule's alert, a breaker's opening.
    pub fn episode(&self) -> String {
        match self {
            Message::Transition(message) => {
                let down_at = if message.is_down() { message.at } else { message.at - message.previous_period_ms.unwrap_or(0) };
                format!("vigil/monitor/{}/{down_at}", message.monitor)
            }
            Message::Alert(message) => format!("vigil/alert/{}{}/{}", message.rule, message.label_text(), message.started_at),
            Message::Group(message) => format!("vigil/group/{}", message.thread),
            Message::Action(message) => format!("vigil/action/{}/{}", message.action, message.target),
            Message::Audit(_) => "vigil/audit".to_owned(),
            Message::Incident(message) => format!("vigil/incident/{}", message.incident),
            Message::Subscriber(message) => format!("vigil/subscriber/{}", message.to),
        }
    }

    /// The webhook body; `key` is the episode's idempotency key.
    pub fn json(&self, key: &str) -> serde_json::Value {
        match self {
            Message::Transition(message) => serde_json::json!({
                "idempotency_key": key,
                "kind": "transition",
                "monitor": message.monitor,
                "url": message.url,
                "state": message.state,
                "previous_state": message.previous_state,
                "at": Timestamp(message.at).to_rfc3339(),
                "previous_period_ms": message.previous_period_ms,
                "failures": message.failures,
                "summary": message.subject(),
            }),
            Message::Alert(message) => serde_json::json!({
                "idempotency_key": key,
                "kind": "alert",
                "rule": message.rule,
                "state": message.state,
                "severity": message.severity,
                "at": Timestamp(message.at).to_rfc3339(),
                "labels": message.labels,
                "value": message.value,
                "expr": message.expr,
                "summary": message.subject(),
                "description": message.summary,
                "sample_lines": message.sample_lines,
            }),
            Message::Group(message) => message.json(key),
            Message::Action(message) => serde_json::json!({
                "idempotency_key": key,
                "kind": "action",
                "execution_id": message.execution_id,
                "action": message.action,
                "target": message.target,
                "outcome": message.outcome,
                "reason": message.reason,
                "trigger": message.trigger,
                "episode": message.episode,
                "attempt": message.attempt,
                "dry_run": message.dry_run,
                "at": Timestamp(message.at).to_rfc3339(),
                "decisions": message.decisions,
                "summary": message.subject(),
            }),
            Message::Audit(message) => serde_json::json!({"idempotency_key": key, "kind": "audit", "entries": message.entries}),
            Message::Incident(message) => message.json(key),
            Message::Subscriber(message) => message.json(key),
        }
    }
}

/// What became of one execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionMessage {
    pub execution_id: i64,
    pub action: String,
    pub target: String,
    /// `executed`, `verified`, `failed`, `held`, `suppressed`, `awaiting-approval`,
    /// `denied`, `dry-run`, `cancelled`, `breaker-open`.
    pub outcome: String,
    /// Why: the guard's reason, the error, the action's answer.
    pub reason: String,
    /// What it was for, e.g. `fitpay-api is DOWN`.
    pub trigger: String,
    pub episode: String,
    pub attempt: i64,
    pub dry_run: bool,
    /// Unix milliseconds.
    pub at: i64,
    /// Every guard's decision on the way.
    pub decisions: Vec<vigil_core::guards::Decision>,
    /// The mail this one answers (its Message-ID's local part): the group mail that
    /// announced the alert, or the alert's own mail; mails thread under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
}

impl ActionMessage {
    pub fn subject(&self) -> String {
        let what = match self.outcome.as_str() {
            "breaker-open" => return format!("[Vigil] ESCALATION: {} on {} did not cure it; a human is needed", self.action, self.target),
            "executed" => "ran".to_owned(),
            "verified" => "worked: the alert cleared".to_owned(),
            "failed" => "FAILED".to_owned(),
            "held" => "held by the cooldown".to_owned(),
            "suppressed" => format!("suppressed ({})", self.decisions.last().map_or("guard", |decision| decision.guard.as_str())),
            "awaiting-approval" => format!("awaits approval: vigil actions approve {}", self.execution_id),
            "denied" => "denied".to_owned(),
            "dry-run" => "would run (dry run)".to_owned(),
            "cancelled" => "cancelled: the alert cleared first".to_owned(),
            other => other.to_owned(),
        };
        format!("[Vigil] {} on {}: {what}", self.action, self.target)
    }

    pub fn text(&self) -> String {
        let mut text = format!(
            "Action {} on {} (execution {}, attempt {}) for: {}\n\nOutcome: {}\n{}\n",
            self.action, self.target, self.execution_id, self.attempt, self.trigger, self.outcome, self.reason
        );
        if self.outcome == "breaker-open" {
            text.push_str("\nVigil will not run it on this target again until someone runs `vigil actions reset ");
            text.push_str(&self.action);
            text.push_str("`.\n");
        }
        if !self.decisions.is_empty() {
            text.push_str("\nGuards:\n");
            for decision in &self.decisions {
                let verdict = if decision.passed { "pass" } else { "STOP" };
                text.push_str(&format!("  {:<16} {verdict}  {}\n", decision.guard.as_str(), decision.reason));
            }
        }
        text
    }
}

/// Audit entries for an audit sink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditMessage {
    pub entries: Vec<vigil_store::AuditEntry>,
}

/// One audit entry as a log line.
pub trait AuditLine {
    fn line(&self) -> String;
}

impl AuditLine for vigil_store::AuditEntry {
    fn line(&self) -> String {
        serde_json::json!({
            "at": self.at.to_rfc3339(),
            "execution_id": self.execution_id,
            "action": self.action,
            "target": self.target,
            "event": self.event,
            "detail": self.detail,
            "node": self.node,
        })
        .to_string()
    }
}

/// A rule's alert firing or resolving.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertMessage {
    pub rule: String,
    /// `firing` or `resolved`.
    pub state: String,
    /// `page`, `ticket` or `log`.
    pub severity: String,
    /// Event time, Unix milliseconds.
    pub at: i64,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
    pub expr: String,
    /// The rule's `summary` with labels and value filled in.
    pub summary: Option<String>,
    /// The last lines that matched, newest last.
    pub sample_lines: Vec<String>,
    /// When the episode began (Unix milliseconds): its firing and its resolution share it.
    #[serde(default)]
    pub started_at: i64,
}

impl AlertMessage {
    fn label_text(&self) -> String {
        let labels: Vec<String> = self.labels.iter().map(|(name, value)| format!("{name}={value:?}")).collect();
        if labels.is_empty() {
            String::new()
        } else {
            format!(" {{{}}}", labels.join(", "))
        }
    }

    pub fn subject(&self) -> String {
        format!("[Vigil] {}{} is {} ({})", self.rule, self.label_text(), self.state.to_uppercase(), self.severity)
    }

    pub fn text(&self) -> String {
        let mut text = format!("{}{} is {} as of {}.\n\n", self.rule, self.label_text(), self.state.to_uppercase(), Timestamp(self.at));
        if let Some(summary) = &self.summary {
            text.push_str(summary);
            text.push_str("\n\n");
        }
        text.push_str(&format!("Value: {}\nRule: {}\n", self.value, self.expr));
        if !self.sample_lines.is_empty() {
            text.push_str("\nLast matching lines:\n");
            for line in &self.sample_lines {
                text.push_str(&format!("  {line}\n"));
            }
        }
        text
    }
}

/// Fills `{{ $labels.NAME }}` and `{{ $value }}` in a rule's summary.
pub fn render_summary(template: &str, labels: &BTreeMap<String, String>, value: f64) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}").map(|end| start + end) else {
            out.push_str(&rest[start..]);
            return out;
        };
        let field = rest[start + 2..end].trim();
        match field.strip_prefix("$labels.") {
            Some(name) => out.push_str(labels.get(name.trim()).map_or("", String::as_str)),
            None if field == "$value" => out.push_str(&value.to_string()),
            None => out.push_str(&rest[start..end + 2]),
        }
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The payload of a transition notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransitionMessage {
    pub monitor: String,
    pub url: String,
    /// `down` or `up`.
    pub state: String,
    pub previous_state: String,
    /// Unix milliseconds.
    pub at: i64,
    /// How long the monitor had been in the previous state, if known.
    pub previous_period_ms: Option<i64>,
    /// The error, or the failing conditions with resolved values.
    pub failures: Vec<String>,
}

impl TransitionMessage {
    pub fn is_down(&self) -> bool {
        self.state == Health::Down.as_str()
    }

    fn previous_period(&self) -> Option<String> {
        self.previous_period_ms.map(|millis| format_duration(Duration::from_millis(u64::try_from(millis).unwrap_or(0))))
    }

    pub fn subject(&self) -> String {
        let state = if self.is_down() { "DOWN" } else { "UP" };
        format!("[Vigil] {} is {state}", self.monitor)
    }

    /// A plain-text body for people.
    pub fn text(&self) -> String {
        let at = Timestamp(self.at);
        let mut text = String::new();
        if self.is_down() {
            text.push_str(&format!("{} ({}) is DOWN as of {at}.\n\n", self.monitor, self.url));
            if !self.failures.is_empty() {
                text.push_str("Failing:\n");
                for failure in &self.failures {
                    text.push_str(&format!("  - {failure}\n"));
                }
                text.push('\n');
            }
            match (self.previous_state.as_str(), self.previous_period()) {
                ("up", Some(period)) => text.push_str(&format!("It had been up for {period}.\n")),
                _ => text.push_str("It had not been seen up since Vigil started watching it.\n"),
            }
        } else {
            text.push_str(&format!("{} ({}) is UP again as of {at}.\n\n", self.monitor, self.url));
            if let Some(period) = self.previous_period() {
                let since = Timestamp(self.at - self.previous_period_ms.unwrap_or(0));
                text.push_str(&format!("The outage lasted {period} (down since {since}).\n"));
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(state: &str, previous_state: &str, previous_period_ms: Option<i64>) -> TransitionMessage {
        TransitionMessage {
            monitor: "fitpay-api".to_owned(),
            url: "http://127.0.0.1:8000/health".to_owned(),
            state: state.to_owned(),
            previous_state: previous_state.to_owned(),
            at: 1_700_000_000_000,
            previous_period_ms,
            failures: vec!["[STATUS] (500) == 200".to_owned()],
        }
    }

    #[test]
    fn outage_mail_names_the_failures_and_the_up_period() {
        let down = message("down", "up", Some(3 * 3_600_000 + 125_000));
        assert_eq!(down.subject(), "[Vigil] fitpay-api is DOWN");
        assert_eq!(
            down.text(),
            "fitpay-api (http://127.0.0.1:8000/health) is DOWN as of 2023-11-14T22:13:20.000Z.\n\n\
             Failing:\n  - [STATUS] (500) == 200\n\nIt had been up for 3h 2m 5s.\n"
        );
        let first = message("down", "unknown", None);
        assert!(first.text().ends_with("It had not been seen up since Vigil started watching it.\n"));
    }

    #[test]
    fn alert_messages_carry_labels_value_and_sample_lines() {
        let labels = BTreeMap::from([("path".to_owned(), "/api/data".to_owned())]);
        let alert = AlertMessage {
            rule: "slow-api-data".to_owned(),
            state: "firing".to_owned(),
            severity: "page".to_owned(),
            at: 1_700_000_000_000,
            labels: labels.clone(),
            value: 6.0,
            expr: "sum(...) > 5".to_owned(),
            summary: Some(render_summary("{{ $value }} slow requests to {{ $labels.path }}{{ $other }}", &labels, 6.0)),
            sample_lines: vec!["{\"path\":\"/api/data\"}".to_owned()],
            started_at: 1_700_000_000_000,
        };
        assert_eq!(alert.subject(), "[Vigil] slow-api-data {path=\"/api/data\"} is FIRING (page)");
        assert_eq!(
            alert.text(),
            "slow-api-data {path=\"/api/data\"} is FIRING as of 2023-11-14T22:13:20.000Z.\n\n\
             6 slow requests to /api/data{{ $other }}\n\nValue: 6\nRule: sum(...) > 5\n\n\
             Last matching lines:\n  {\"path\":\"/api/data\"}\n"
        );
        let payload = serde_json::to_string(&Message::Alert(alert.clone())).expect("serialize");
        assert_eq!(Message::from_payload(&payload).expect("parse"), Message::Alert(alert));
        let old = serde_json::to_string(&message("down", "up", Some(1))).expect("serialize");
        assert!(matches!(Message::from_payload(&old), Ok(Message::Transition(_))), "untagged payloads are transitions");
    }

    #[test]
    fn recovery_mail_says_how_long_the_outage_lasted() {
        let up = message("up", "down", Some(310_000));
        assert_eq!(up.subject(), "[Vigil] fitpay-api is UP");
        assert_eq!(
            up.text(),
            "fitpay-api (http://127.0.0.1:8000/health) is UP again as of 2023-11-14T22:13:20.000Z.\n\n\
             The outage lasted 5m 10s (down since 2023-11-14T22:08:10.000Z).\n"
        );
    }
}
