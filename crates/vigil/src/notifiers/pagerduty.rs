//! `type: pagerduty`: Events API v2. A problem (a monitor DOWN, a rule firing, a breaker
//! opening) triggers, its end resolves, both with the episode as `dedup_key`, so one
//! outage is one incident. Other messages (action outcomes) are not paged.

use std::collections::BTreeMap;

use vigil_config::PagerDutyConfig;

use super::{DeliveryError, Message};
use crate::probes::HttpClient;

pub struct PagerDutyNotifier {
    config: PagerDutyConfig,
    client: HttpClient,
}

/// The Events API v2 body for `message`, or `None` when it is not paged.
pub fn event(routing_key: &str, key: &str, message: &Message) -> Option<serde_json::Value> {
    let problem = message.problem()?;
    let severity = match message {
        Message::Alert(alert) if alert.severity == "ticket" => "warning",
        Message::Alert(alert) if alert.severity == "log" => "info",
        _ => "critical",
    };
    let summary: String = message.subject().trim_start_matches("[Vigil] ").chars().take(1024).collect();
    Some(serde_json::json!({
        "routing_key": routing_key,
        "event_action": if problem { "trigger" } else { "resolve" },
        "dedup_key": message.episode(),
        "payload": {"summary": summary, "source": "vigil", "severity": severity, "custom_details": message.json(key)},
    }))
}

impl PagerDutyNotifier {
    pub fn new(config: PagerDutyConfig, client: HttpClient) -> PagerDutyNotifier {
        PagerDutyNotifier { config, client }
    }

    pub fn timeout(&self) -> std::time::Duration {
        self.config.timeout
    }

    pub async fn send(&self, key: &str, message: &Message) -> Result<(), DeliveryError> {
        let Some(body) = event(self.config.routing_key.expose(), key, message) else { return Ok(()) };
        let headers = BTreeMap::from([("content-type".to_owned(), "application/json".to_owned())]);
        super::webhook::post(&self.client, &self.config.url, headers, body.to_string().into(), self.config.timeout, "pagerduty").await
    }
}

#[cfg(test)]
mod tests {
    use super::event;
    use crate::notifiers::message::ActionMessage;
    use crate::notifiers::{Message, TransitionMessage};

    fn transition(state: &str, at: i64, previous_period_ms: Option<i64>) -> Message {
        Message::Transition(TransitionMessage {
            monitor: "api".into(),
            url: "http://api/health".into(),
            state: state.into(),
            previous_state: if state == "down" { "up" } else { "down" }.into(),
            at,
            previous_period_ms,
            failures: Vec::new(),
        })
    }

    #[test]
    fn an_outage_triggers_and_resolves_one_incident() {
        let down = event("key", "transition:1:pd", &transition("down", 10_000, Some(5_000))).expect("paged");
        let up = event("key", "transition:2:pd", &transition("up", 70_000, Some(60_000))).expect("paged");
        assert_eq!((down["event_action"].as_str(), up["event_action"].as_str()), (Some("trigger"), Some("resolve")));
        assert_eq!(down["dedup_key"], up["dedup_key"], "one episode, one dedup key");
        assert_eq!(down["dedup_key"], "vigil/monitor/api/10000");
        assert_eq!(down["payload"]["severity"], "critical");
        let outcome = Message::Action(ActionMessage {
            execution_id: 1,
            action: "reboot".into(),
            target: "ec2:us-east-1:i-1".into(),
            outcome: "executed".into(),
            reason: String::new(),
            trigger: "api is DOWN".into(),
            episode: "transition:1".into(),
            attempt: 1,
            dry_run: false,
            at: 0,
            decisions: Vec::new(),
            thread: None,
        });
        assert!(event("key", "k", &outcome).is_none(), "outcomes are not paged");
        let Message::Action(mut escalation) = outcome else { unreachable!() };
        escalation.outcome = "breaker-open".into();
        assert_eq!(event("key", "k", &Message::Action(escalation)).expect("paged")["event_action"], "trigger");
    }
}
