//! Where each SLO stands now, from the windows every node stored: what `vigil slo
//! report` prints and the UI's SLO page draws.

use std::time::Duration;

use vigil_config::SloConfig;
use vigil_core::slo::BurnEvaluator;
use vigil_core::time::format_duration;
use vigil_core::Timestamp;
use vigil_store::{Store, StoreError};

fn window(ms: i64) -> String {
    format_duration(Duration::from_millis(ms.unsigned_abs()))
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// One SLO's state now, from the windows the nodes stored.
#[derive(Debug, serde::Serialize)]
pub struct SloReport {
    pub name: String,
    pub service: Option<String>,
    pub objective: String,
    pub window: String,
    /// Good share of the SLO window's events; none without events.
    pub sli: Option<f64>,
    pub events: u64,
    pub bad: u64,
    pub budget_consumed: f64,
    /// Negative when overspent.
    pub budget_remaining: f64,
    /// At the first alert's long-window burn rate; 0 when spent, none when nothing burns.
    pub exhausted_in_seconds: Option<i64>,
    pub alerts: Vec<AlertReport>,
    /// `no data`, `ok`, `burning` (an alert fires) or `overspent`.
    pub status: &'static str,
    /// The newest time the stored windows had seen.
    pub as_of: Option<String>,
}

#[derive(Debug, serde::Serialize)]
pub struct AlertReport {
    pub severity: &'static str,
    pub long: String,
    pub short: String,
    pub burn_rate_long: f64,
    pub burn_rate_short: f64,
    pub above: String,
    pub firing: bool,
}

/// Each SLO's SLI, budget and burn rates at `now`, from the windows the nodes stored.
pub async fn reports(store: &Store, slos: &[SloConfig], now: Timestamp) -> Result<Vec<SloReport>, StoreError> {
    let now = now.0;
    let mut reports = Vec::new();
    for slo in slos {
        let period = millis(slo.window);
        let mut evaluator = BurnEvaluator::new(slo.objective, slo.alerts.clone(), &[period]);
        let stored = store.slo_windows_of_all_nodes(slo.name.as_str()).await?;
        let as_of = stored.as_ref().map(|windows| windows.at);
        if let Some(windows) = &stored {
            // Every node's blocks, added up.
            evaluator.restore(&crate::slos::stored_blocks(windows), &[], windows.at);
            evaluator.advance(now.max(windows.at));
        }
        let counts = evaluator.window_burn(period).map(|burn| burn.counts).unwrap_or_default();
        let budget = vigil_core::slo::Budget::of(counts, slo.objective);
        let alerts: Vec<AlertReport> = slo
            .alerts
            .iter()
            .zip(evaluator.firing())
            .map(|(alert, firing)| {
                let rate = |length| evaluator.window_burn(length).map_or(0.0, |burn| burn.burn_rate);
                AlertReport {
                    severity: alert.tier.as_str(),
                    long: window(alert.long),
                    short: window(alert.short),
                    burn_rate_long: rate(alert.long),
                    burn_rate_short: rate(alert.short),
                    above: alert.factor.to_string(),
                    firing: *firing,
                }
            })
            .collect();
        let current = alerts.first().map_or(0.0, |alert| alert.burn_rate_long);
        let status = match () {
            _ if counts.total == 0 => "no data",
            _ if budget.remaining < 0.0 => "overspent",
            _ if alerts.iter().any(|alert| alert.firing) => "burning",
            _ => "ok",
        };
        reports.push(SloReport {
            name: slo.name.as_str().to_owned(),
            service: slo.service.clone(),
            objective: slo.objective.to_string(),
            window: window(period),
            sli: (counts.total > 0).then(|| 1.0 - counts.error_ratio()),
            events: counts.total,
            bad: counts.bad,
            budget_consumed: budget.consumed,
            budget_remaining: budget.remaining,
            exhausted_in_seconds: budget.exhausted_in(current, period).map(|ms| ms / 1000),
            alerts,
            status,
            as_of: as_of.map(|at| Timestamp(at).to_rfc3339()),
        });
    }
    Ok(reports)
}
