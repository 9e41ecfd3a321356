//! What a load balancer's or orchestrator's health checker does, as data: the presets
//! of `health-check: alb | nlb | k8s-readiness | haproxy` and `vigil diagnose --as-lb`,
//! and the status matcher they share (`200`, `200-399`, `200-299,302`).
//!
//! Each default is the checker's own, with its source in the README's table: AWS's
//! target-group defaults (Elastic Load Balancing API, `CreateTargetGroup`), the
//! Kubernetes probe defaults (`Probe` in the core API), HAProxy's `default-server`.

use std::fmt;
use std::time::Duration;

/// Which statuses count as healthy: comma-separated codes and ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusMatcher {
    ranges: Vec<(u16, u16)>,
}

impl StatusMatcher {
    /// Parses `200`, `200-399`, `200-299,302` (as a target group's `Matcher.HttpCode`).
    pub fn parse(text: &str) -> Result<StatusMatcher, String> {
        let mut ranges = Vec::new();
        for part in text.split(',').map(str::trim) {
            let code = |value: &str| {
                value
                    .trim()
                    .parse::<u16>()
                    .ok()
                    .filter(|code| (100..=599).contains(code))
                    .ok_or_else(|| format!("invalid status `{value}` in matcher `{text}`: expected a code from 100 to 599"))
            };
            let range = match part.split_once('-') {
                Some((low, high)) => (code(low)?, code(high)?),
                None => (code(part)?, code(part)?),
            };
            if range.0 > range.1 {
                return Err(format!("invalid range `{part}` in matcher `{text}`: the low end is above the high end"));
            }
            ranges.push(range);
        }
        Ok(StatusMatcher { ranges })
    }

    pub fn matches(&self, status: u16) -> bool {
        self.ranges.iter().any(|(low, high)| (*low..=*high).contains(&status))
    }
}

impl fmt::Display for StatusMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, (low, high)) in self.ranges.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            if low == high {
                write!(f, "{low}")?;
            } else {
                write!(f, "{low}-{high}")?;
            }
        }
        Ok(())
    }
}

/// A health checker Vigil can behave as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checker {
    /// AWS Application Load Balancer target group (HTTP).
    Alb,
    /// AWS Network Load Balancer target group (TCP by default).
    Nlb,
    /// Kubernetes readiness probe (`httpGet`).
    K8sReadiness,
    /// HAProxy `check` on a server line.
    Haproxy,
}

/// What a checker starts a new target as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitialState {
    /// Not yet judged; healthy after the first passing check (an ALB's `initial`).
    Initial,
    /// Unhealthy until enough checks pass (Kubernetes: not ready).
    Unhealthy,
    /// Healthy until enough checks fail (HAProxy).
    Healthy,
}

/// One checker's behaviour, every field overridable in a monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preset {
    pub checker: Checker,
    pub interval: Duration,
    pub timeout: Duration,
    /// Passing checks in a row to become healthy.
    pub healthy_threshold: u32,
    /// Failing checks in a row to become unhealthy.
    pub unhealthy_threshold: u32,
    pub initial: InitialState,
    /// `None` for a TCP check.
    pub matcher: Option<StatusMatcher>,
    /// Whether the `Host` header is the target's `IP:PORT` rather than the URL's name.
    pub host_is_address: bool,
    pub follow_redirects: bool,
    pub user_agent: &'static str,
}

impl Checker {
    pub fn parse(text: &str) -> Option<Checker> {
        match text {
            "alb" => Some(Checker::Alb),
            "nlb" => Some(Checker::Nlb),
            "k8s" | "k8s-readiness" => Some(Checker::K8sReadiness),
            "haproxy" => Some(Checker::Haproxy),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Checker::Alb => "alb",
            Checker::Nlb => "nlb",
            Checker::K8sReadiness => "k8s-readiness",
            Checker::Haproxy => "haproxy",
        }
    }

    /// The checker's defaults.
    pub fn preset(self) -> Preset {
        let matcher = |text: &str| StatusMatcher::parse(text).ok();
        match self {
            Checker::Alb => Preset {
                checker: self,
                interval: Duration::from_secs(30),
                timeout: Duration::from_secs(5),
                healthy_threshold: 5,
                unhealthy_threshold: 2,
                initial: InitialState::Initial,
                matcher: matcher("200"),
                host_is_address: true,
                follow_redirects: false,
                user_agent: "ELB-HealthChecker/2.0",
            },
            Checker::Nlb => Preset {
                checker: self,
                interval: Duration::from_secs(30),
                timeout: Duration::from_secs(10),
                healthy_threshold: 5,
                unhealthy_threshold: 2,
                initial: InitialState::Initial,
                matcher: None,
                host_is_address: true,
                follow_redirects: false,
                user_agent: "ELB-HealthChecker/2.0",
            },
            Checker::K8sReadiness => Preset {
                checker: self,
                interval: Duration::from_secs(10),
                timeout: Duration::from_secs(1),
                healthy_threshold: 1,
                unhealthy_threshold: 3,
                initial: InitialState::Unhealthy,
                matcher: matcher("200-399"),
                host_is_address: true,
                follow_redirects: true,
                user_agent: "kube-probe/1.31",
            },
            Checker::Haproxy => Preset {
                checker: self,
                interval: Duration::from_secs(2),
                timeout: Duration::from_secs(2),
                healthy_threshold: 2,
                unhealthy_threshold: 3,
                initial: InitialState::Healthy,
                matcher: matcher("200-399"),
                host_is_address: true,
                follow_redirects: false,
                user_agent: "",
            },
        }
    }
}

impl Checker {
    /// A monitor's health in the checker's words: a target group's `initial`,
    /// `healthy`, `unhealthy` (Kubernetes: not ready until it passes; HAProxy: up until
    /// it fails).
    pub fn state(self, health: crate::Health) -> &'static str {
        match (health, self.preset().initial) {
            (crate::Health::Up, _) | (crate::Health::Unknown, InitialState::Healthy) => "healthy",
            (crate::Health::Down, _) | (crate::Health::Unknown, InitialState::Unhealthy) => "unhealthy",
            (crate::Health::Unknown, InitialState::Initial) => "initial",
        }
    }

    /// The target group's reason code for a transition to `health` whose recorded
    /// reason is `reason` (a failure code first, or `[STATUS] (404) in 200`).
    pub fn reason_code(self, health: crate::Health, reason: &str) -> Option<&'static str> {
        const TIMEOUTS: [&str; 6] = ["tcp.timeout", "tcp.filtered", "tls.timeout", "http.no_answer", "http.body_stalled", "dns.timeout"];
        match health {
            crate::Health::Up => None,
            crate::Health::Unknown => Some("Elb.InitialHealthChecking"),
            crate::Health::Down if TIMEOUTS.iter().any(|code| reason.starts_with(code)) => Some("Target.Timeout"),
            crate::Health::Down if reason.starts_with("[STATUS] (") => Some("Target.ResponseCodeMismatch"),
            crate::Health::Down => Some("Target.FailedHealthChecks"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Checker, StatusMatcher};
    use crate::Health;

    #[test]
    fn states_and_reasons_use_the_target_groups_words() {
        assert_eq!(Checker::Alb.state(Health::Unknown), "initial");
        assert_eq!(Checker::K8sReadiness.state(Health::Unknown), "unhealthy");
        assert_eq!(Checker::Haproxy.state(Health::Unknown), "healthy");
        assert_eq!(Checker::Alb.state(Health::Down), "unhealthy");
        let cases = [
            (Health::Down, "tcp.timeout: no answer from 10.0.1.5:5000 within 5s", Some("Target.Timeout")),
            (Health::Down, "http.no_answer: 10.0.1.5:5000 accepted", Some("Target.Timeout")),
            (Health::Down, "[STATUS] (404) in 200", Some("Target.ResponseCodeMismatch")),
            (Health::Down, "tcp.refused: nothing listens on 10.0.1.5:5000", Some("Target.FailedHealthChecks")),
            (Health::Up, "all conditions passed", None),
        ];
        for (health, reason, code) in cases {
            assert_eq!(Checker::Alb.reason_code(health, reason), code, "{reason}");
        }
    }

    #[test]
    fn matchers_read_as_a_target_group_writes_them() {
        let cases: &[(&str, &[u16], &[u16])] = &[
            ("200", &[200], &[201, 301, 404]),
            ("200-399", &[200, 302, 399], &[199, 400]),
            ("200-299,302", &[200, 250, 302], &[301, 303, 500]),
            (" 204 , 301-302 ", &[204, 301, 302], &[200]),
        ];
        for (text, yes, no) in cases {
            let matcher = StatusMatcher::parse(text).expect(text);
            for status in *yes {
                assert!(matcher.matches(*status), "{text} should match {status}");
            }
            for status in *no {
                assert!(!matcher.matches(*status), "{text} should not match {status}");
            }
        }
        assert_eq!(StatusMatcher::parse("200-299,302").map(|m| m.to_string()), Ok("200-299,302".to_owned()));
        for bad in ["", "abc", "99", "600", "300-200", "200-", "2OO"] {
            assert!(StatusMatcher::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
