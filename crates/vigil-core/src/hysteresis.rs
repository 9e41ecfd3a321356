//! The monitor state machine: DOWN after `failure-threshold` failures in a row, UP after
//! `success-threshold` successes in a row.
//!
//! A monitor starts in [`Health::Unknown`]: Vigil has no evidence yet. Its first verdict
//! moves it to UP or DOWN like any other transition. Unknown → UP is recorded but is not
//! a recovery (nothing was down), so it sends no notification; Unknown → DOWN is an outage
//! and is notified. After a restart the state is restored from the last stored transition.

use std::fmt;
use std::time::Duration;

use crate::domain::Threshold;
use crate::time::Timestamp;

/// What Vigil currently believes about a monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Unknown,
    Up,
    Down,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Up => "up",
            Health::Down => "down",
        }
    }

    pub fn parse(text: &str) -> Option<Health> {
        match text {
            "unknown" => Some(Health::Unknown),
            "up" => Some(Health::Up),
            "down" => Some(Health::Down),
            _ => None,
        }
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A change of state, produced by [`MonitorState::observe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: Health,
    pub to: Health,
    pub at: Timestamp,
    /// How long the monitor had been in `from`; `None` when `from` is unknown.
    pub previous_period: Option<Duration>,
}

impl Transition {
    /// Whether people should hear about it: every outage, and every recovery from one.
    pub fn is_notifiable(&self) -> bool {
        matches!((self.from, self.to), (_, Health::Down) | (Health::Down, Health::Up))
    }
}

/// Thresholds for one monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Thresholds {
    pub failure: Threshold,
    pub success: Threshold,
    /// A monitor not yet judged is UP after its first passing check, whatever the
    /// success threshold (an ALB's newly registered target; HAProxy, which starts
    /// servers up). The threshold then applies to recoveries.
    pub first_success_is_up: bool,
}

/// The hysteresis state of one monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorState {
    health: Health,
    /// When the current health began; `None` while unknown.
    since: Option<Timestamp>,
    failures_in_a_row: u32,
    successes_in_a_row: u32,
}

impl Default for MonitorState {
    fn default() -> Self {
        MonitorState { health: Health::Unknown, since: None, failures_in_a_row: 0, successes_in_a_row: 0 }
    }
}

impl MonitorState {
    /// The state as restored from the last stored transition.
    pub fn restored(health: Health, since: Timestamp) -> Self {
        let since = (health != Health::Unknown).then_some(since);
        MonitorState { health, since, failures_in_a_row: 0, successes_in_a_row: 0 }
    }

    pub fn health(&self) -> Health {
        self.health
    }

    pub fn since(&self) -> Option<Timestamp> {
        self.since
    }

    /// Whether the latest checks disagree with the current health and have not yet
    /// reached the threshold to change it: a failure while UP (or unknown), a success
    /// while DOWN (or unknown). A monitor with a `retry-interval` re-checks at that pace
    /// while this holds.
    pub fn is_settling(&self) -> bool {
        (self.failures_in_a_row > 0 && self.health != Health::Down) || (self.successes_in_a_row > 0 && self.health != Health::Up)
    }

    /// Feeds one check result in; returns the transition it causes, if any.
    pub fn observe(&mut self, healthy: bool, at: Timestamp, thresholds: Thresholds) -> Option<Transition> {
        let target = if healthy {
            self.successes_in_a_row = self.successes_in_a_row.saturating_add(1);
            self.failures_in_a_row = 0;
            let first = thresholds.first_success_is_up && self.health == Health::Unknown;
            (first || self.successes_in_a_row >= thresholds.success.get()).then_some(Health::Up)
        } else {
            self.failures_in_a_row = self.failures_in_a_row.saturating_add(1);
            self.successes_in_a_row = 0;
            (self.failures_in_a_row >= thresholds.failure.get()).then_some(Health::Down)
        };
        let to = target.filter(|&to| to != self.health)?;
        let transition = Transition { from: self.health, to, at, previous_period: self.since.map(|since| at.since(since)) };
        self.health = to;
        self.since = Some(at);
        Some(transition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thresholds(failure: i64, success: i64) -> Thresholds {
        Thresholds {
            failure: Threshold::new(failure).expect("valid threshold"),
            success: Threshold::new(success).expect("valid threshold"),
            first_success_is_up: false,
        }
    }

    /// Feeds `checks` ('+' healthy, '-' failing) one second apart and returns the
    /// transitions as `index:from>to`.
    fn run(mut state: MonitorState, checks: &str, thresholds: Thresholds) -> Vec<String> {
        let mut out = Vec::new();
        for (index, check) in checks.chars().enumerate() {
            let at = Timestamp(index as i64 * 1_000);
            if let Some(transition) = state.observe(check == '+', at, thresholds) {
                out.push(format!("{index}:{}>{}", transition.from, transition.to));
            }
        }
        out
    }

    #[test]
    fn hysteresis_table() {
        let cases: &[(&str, (i64, i64), &[&str])] = &[
            // The seed's rule: outage after 2 failures in a row, recovery after 2 successes.
            ("++--++", (2, 2), &["1:unknown>up", "3:up>down", "5:down>up"]),
            // A one-off failure is not an outage.
            ("++-+-+-+", (2, 2), &["1:unknown>up"]),
            // A one-off success during an outage is not a recovery.
            ("++--+-+-++", (2, 2), &["1:unknown>up", "3:up>down", "9:down>up"]),
            // Thresholds of 1 follow every check.
            ("+-+-", (1, 1), &["0:unknown>up", "1:up>down", "2:down>up", "3:up>down"]),
            // Starting broken is an outage.
            ("---", (3, 2), &["2:unknown>down"]),
            // Asymmetric thresholds.
            ("+++----+++", (4, 3), &["2:unknown>up", "6:up>down", "9:down>up"]),
        ];
        for (checks, (failure, success), expected) in cases {
            let actual = run(MonitorState::default(), checks, thresholds(*failure, *success));
            assert_eq!(&actual, expected, "checks {checks} with thresholds {failure}/{success}");
        }
    }

    #[test]
    fn settling_lasts_from_a_disagreeing_check_to_the_threshold() {
        // After each check ('+' healthy, '-' failing): is the monitor settling?
        let cases: &[(&str, (i64, i64), &str)] =
            &[("++--++", (2, 2), "YNYNYN"), ("+-+-", (1, 1), "NNNN"), ("+++----+", (4, 3), "YYNYYYNY"), ("-+", (3, 3), "YY")];
        for (checks, (failure, success), expected) in cases {
            let mut state = MonitorState::default();
            let got: String = checks
                .chars()
                .enumerate()
                .map(|(index, check)| {
                    state.observe(check == '+', Timestamp(index as i64), thresholds(*failure, *success));
                    if state.is_settling() {
                        'Y'
                    } else {
                        'N'
                    }
                })
                .collect();
            assert_eq!(&got, expected, "checks {checks} with thresholds {failure}/{success}");
        }
        assert!(!MonitorState::restored(Health::Down, Timestamp(0)).is_settling());
    }

    #[test]
    fn restored_down_state_does_not_repeat_the_outage() {
        let state = MonitorState::restored(Health::Down, Timestamp(0));
        assert_eq!(run(state, "---++", thresholds(2, 2)), ["4:down>up"]);
    }

    #[test]
    fn transitions_carry_the_previous_period() {
        let t = thresholds(1, 1);
        let mut state = MonitorState::default();
        let first = state.observe(true, Timestamp(1_000), t).expect("unknown to up");
        assert_eq!(first.previous_period, None);
        assert!(!first.is_notifiable());
        let down = state.observe(false, Timestamp(61_000), t).expect("up to down");
        assert_eq!(down.previous_period, Some(Duration::from_secs(60)));
        assert!(down.is_notifiable());
        let up = state.observe(true, Timestamp(91_000), t).expect("down to up");
        assert_eq!(up.previous_period, Some(Duration::from_secs(30)));
        assert!(up.is_notifiable());
    }

    /// An ALB target: healthy after its first passing check while initial, then 2
    /// failures to go unhealthy and 5 passes to come back.
    #[test]
    fn a_new_target_is_up_after_its_first_passing_check() {
        let alb = Thresholds { first_success_is_up: true, ..thresholds(2, 5) };
        assert_eq!(run(MonitorState::default(), "+--+++++", alb), ["0:unknown>up", "2:up>down", "7:down>up"]);
        assert_eq!(run(MonitorState::default(), "--+", alb), ["1:unknown>down"]);
        assert_eq!(run(MonitorState::default(), "+", thresholds(2, 5)), Vec::<String>::new());
    }
}
