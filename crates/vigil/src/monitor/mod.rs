//! Monitors at run time: the scheduler runs each monitor's checks on its own cadence and
//! reports them as events; the engine turns events into state, transitions and
//! notifications.

pub mod bars;
pub mod engine;
pub mod history;
pub mod overview;
pub mod scheduler;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use vigil_config::{MonitorConfig, Target};
use vigil_core::condition::{evaluate, ConditionResult};
use vigil_core::Timestamp;

use crate::probes::{tcp, HttpClient, HttpRequest, ProbeResult};

/// A monitor ready to run: its config and the request it sends.
pub struct Monitor {
    pub config: MonitorConfig,
    probe: Probe,
}

enum Probe {
    Http(HttpRequest),
    Tcp { host: String, port: u16 },
}

impl Monitor {
    pub fn new(config: MonitorConfig) -> Monitor {
        let probe = match &config.target {
            Target::Http(http) => Probe::Http(HttpRequest {
                method: http.method.clone(),
                url: http.url.clone(),
                headers: http.headers.clone(),
                body: http.body.clone().map(Bytes::from),
                timeout: config.timeout,
                follow_redirects: http.follow_redirects,
                verify_tls: http.verify_tls,
                host_from_address: http.host_from_address,
            }),
            Target::Tcp { host, port } => Probe::Tcp { host: host.clone(), port: *port },
        };
        Monitor { config, probe }
    }

    /// Runs one check and evaluates its conditions.
    pub async fn check(&self, client: &HttpClient, now: impl Fn() -> Timestamp) -> Check {
        let result = match &self.probe {
            Probe::Http(request) => client.send(request).await,
            Probe::Tcp { host, port } => tcp::probe(host, *port, self.config.timeout).await,
        };
        Check::evaluate(result, &self.config.conditions, self.config.matcher.as_ref(), now())
    }
}

/// One evaluated check.
pub struct Check {
    pub at: Timestamp,
    pub result: ProbeResult,
    pub conditions: Vec<ConditionResult>,
    pub healthy: bool,
}

impl Check {
    pub fn evaluate(
        result: ProbeResult,
        conditions: &[vigil_core::condition::Condition],
        matcher: Option<&vigil_core::healthcheck::StatusMatcher>,
        at: Timestamp,
    ) -> Check {
        let mut conditions = evaluate(conditions, &result.facts(at));
        if let Some(matcher) = matcher {
            let status = result.status.map_or_else(|| "none".to_owned(), |status| status.to_string());
            conditions.push(vigil_core::condition::ConditionResult {
                success: result.status.is_some_and(|status| matcher.matches(status)),
                resolved: format!("[STATUS] ({status}) in {matcher}"),
            });
        }
        let healthy = conditions.iter().all(|condition| condition.success);
        Check { at, result, conditions, healthy }
    }

    /// The error, if any, then each failing condition with its resolved values.
    pub fn failures(&self) -> Vec<String> {
        self.result
            .failure
            .iter()
            .map(ToString::to_string)
            .chain(self.conditions.iter().filter(|condition| !condition.success).map(|condition| condition.resolved.clone()))
            .collect()
    }
}

/// Where within its interval a monitor first runs: a stable spread by name, so a restart
/// keeps the cadence and many monitors do not start at once.
pub fn start_offset(name: &str, interval: Duration) -> Duration {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3));
    let millis = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX).max(1);
    Duration::from_millis(hash % millis)
}

pub type Monitors = Arc<[Monitor]>;
