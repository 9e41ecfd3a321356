//! What a transition notification says, stored as the outbox payload and rendered by
//! each notifier.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use vigil_core::time::format_duration;
use vigil_core::{Health, Timestamp};

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
