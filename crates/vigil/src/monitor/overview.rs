//! What the API says about each monitor: its state and since when, the latest reason,
//! and, for a monitor that checks as a load balancer does, the target group's words.

use vigil_core::Health;
use vigil_store::{Store, StoreError};

use super::Monitors;

#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct MonitorView {
    pub name: String,
    /// The URL or address, credentials shown as `***`.
    pub target: String,
    /// `up`, `down` or `unknown`.
    #[schemars(with = "String")]
    pub state: Health,
    /// RFC 3339: the latest transition.
    #[schemars(with = "Option<String>")]
    pub since: Option<vigil_core::Timestamp>,
    /// Why the latest transition happened.
    pub reason: Option<String>,
    /// `alb`, `nlb`, `k8s-readiness`, `haproxy` for a `health-check:` monitor.
    pub checker: Option<&'static str>,
    /// `initial`, `healthy`, `unhealthy`.
    pub target_state: Option<&'static str>,
    /// `Target.ResponseCodeMismatch`, `Target.Timeout`, `Target.FailedHealthChecks`, ...
    pub reason_code: Option<&'static str>,
}

/// Every configured monitor, as the store last recorded it.
pub async fn overview(store: &Store, monitors: &Monitors) -> Result<Vec<MonitorView>, StoreError> {
    let latest = store.latest_transitions().await?;
    Ok(monitors
        .iter()
        .map(|monitor| {
            let name = monitor.config.name.as_str();
            let last = latest.iter().find(|transition| transition.monitor == name);
            let state = last.map_or(Health::Unknown, |transition| transition.to);
            let reason = last.map(|transition| transition.reason.clone());
            let checker = monitor.config.health_check;
            MonitorView {
                name: name.to_owned(),
                target: monitor.config.target.url(),
                state,
                since: last.map(|transition| transition.at),
                reason_code: checker.and_then(|checker| checker.reason_code(state, reason.as_deref().unwrap_or_default())),
                reason,
                checker: checker.map(|checker| checker.as_str()),
                target_state: checker.map(|checker| checker.state(state)),
            }
        })
        .collect())
}
