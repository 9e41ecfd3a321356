//! The SLO detector: log SLIs evaluated on every line as it arrives (by event time), each
//! SLO's burn alerts turned into alert changes for the one alert lifecycle. The rule
//! engine feeds it the lines it reads and moves it on with its clock tick.
//!
//! A burn alert's labels: `alertname: SLOBurn`, `slo`, `severity` (`page` or `ticket`),
//! `window` (`1h/5m`), `service` when set, and the SLO's `labels:`; so an inhibit rule
//! with `equal: [slo]` lets a page mute its ticket sibling. Its summary gives both
//! windows' burn rates, and its description the budget consumed and left and the time
//! to exhaustion at the long window's rate; the last bad lines are its evidence.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use vigil_config::{Sli, SloConfig};
use vigil_core::slo::{Budget, BurnChange, BurnEvaluator};
use vigil_core::time::format_duration;
use vigil_core::Timestamp;
use vigil_logql::eval::pipeline::{Labels, Pipeline};
use vigil_store::AlertSource;

use crate::alerts::AlertChange;
use crate::metrics::{Metrics, SloLabels, SloWindowLabels};

/// Bad lines carried into a burn alert as evidence.
const SAMPLE_LINES: usize = 5;

/// The `alertname` of every burn alert.
pub const ALERTNAME: &str = "SLOBurn";

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn window(ms: i64) -> String {
    format_duration(Duration::from_millis(ms.unsigned_abs())).replace(' ', "")
}

struct LogSlo {
    config: SloConfig,
    bad: Pipeline,
    good_query: bool,
    total: Pipeline,
    evaluator: BurnEvaluator,
    samples: VecDeque<String>,
}

impl LogSlo {
    /// Whether `total` counts the line, and if so whether it is bad.
    fn classify(&self, stream: &Labels, line: &str) -> Option<bool> {
        if !self.total.selects(stream) || self.total.process(stream, line).is_none() {
            return None;
        }
        let kept = self.bad.selects(stream) && self.bad.process(stream, line).is_some();
        Some(kept != self.good_query)
    }
}

/// The log SLOs of one node.
pub struct SloDetector {
    slos: Vec<LogSlo>,
}

impl SloDetector {
    /// The SLOs of `configs` whose SLI reads logs.
    pub fn logs(configs: &[SloConfig]) -> SloDetector {
        let slos = configs
            .iter()
            .filter_map(|config| match &config.sli {
                Sli::Logs { bad, good_query, total } => Some(LogSlo {
                    bad: Pipeline::new(&bad.expr),
                    good_query: *good_query,
                    total: Pipeline::new(&total.expr),
                    evaluator: BurnEvaluator::new(config.objective, config.alerts.clone(), &[millis(config.window)]),
                    samples: VecDeque::with_capacity(SAMPLE_LINES),
                    config: config.clone(),
                }),
                Sli::Monitor { .. } => None,
            })
            .collect();
        SloDetector { slos }
    }

    pub fn is_empty(&self) -> bool {
        self.slos.is_empty()
    }

    /// Counts one line at its event time `at`; returns the burn alerts that fire or
    /// resolve, on this line or on a window edge passed since the line before.
    pub fn observe(&mut self, at: i64, stream: &Labels, line: &str, received_at: Timestamp) -> Vec<AlertChange> {
        let mut out = Vec::new();
        for slo in &mut self.slos {
            while let Some(expiry) = slo.evaluator.next_expiry().filter(|&expiry| expiry <= at) {
                let changes = slo.evaluator.advance(expiry);
                out.extend(changes.iter().map(|change| alert_change(slo, change, received_at)));
            }
            let Some(bad) = slo.classify(stream, line) else { continue };
            if bad {
                if slo.samples.len() == SAMPLE_LINES {
                    slo.samples.pop_front();
                }
                slo.samples.push_back(line.to_owned());
            }
            let changes = slo.evaluator.observe(at, 1, u64::from(bad));
            out.extend(changes.iter().map(|change| alert_change(slo, change, received_at)));
        }
        out
    }

    /// Moves every SLO on to `now` (no line came): windows drop what they no longer
    /// cover, and alerts whose windows stopped burning resolve.
    pub fn advance(&mut self, now: Timestamp) -> Vec<AlertChange> {
        let mut out = Vec::new();
        for slo in &mut self.slos {
            while let Some(expiry) = slo.evaluator.next_expiry().filter(|&expiry| expiry <= now.0) {
                let changes = slo.evaluator.advance(expiry);
                out.extend(changes.iter().map(|change| alert_change(slo, change, now)));
            }
            let changes = slo.evaluator.advance(now.0);
            out.extend(changes.iter().map(|change| alert_change(slo, change, now)));
        }
        out
    }
}

impl SloDetector {
    /// Each SLO's budget left, SLI and burn rate per alert window, into `metrics`.
    pub fn export(&self, metrics: &Metrics) {
        for slo in &self.slos {
            let name = slo.config.name.as_str().to_owned();
            if let Some(budget_window) = slo.evaluator.window_burn(millis(slo.config.window)) {
                let labels = SloLabels { slo: name.clone() };
                let budget = Budget::of(budget_window.counts, slo.config.objective);
                metrics.slo_budget_remaining.get_or_create(&labels).set(budget.remaining);
                if budget_window.counts.total > 0 {
                    metrics.slo_sli.get_or_create(&labels).set(1.0 - budget_window.counts.error_ratio());
                }
            }
            for alert in &slo.config.alerts {
                for length in [alert.long, alert.short] {
                    if let Some(burn) = slo.evaluator.window_burn(length) {
                        let labels = SloWindowLabels { slo: name.clone(), window: window(length) };
                        metrics.slo_burn_rate.get_or_create(&labels).set(burn.burn_rate);
                    }
                }
            }
        }
    }
}

/// The labels of an SLO's burn alert number `alert`.
pub fn labels(config: &SloConfig, alert: usize) -> BTreeMap<String, String> {
    let burn = config.alerts[alert];
    let mut labels = config.labels.clone();
    if let Some(service) = &config.service {
        labels.insert("service".to_owned(), service.clone());
    }
    labels.insert("alertname".to_owned(), ALERTNAME.to_owned());
    labels.insert("slo".to_owned(), config.name.as_str().to_owned());
    labels.insert("severity".to_owned(), burn.tier.as_str().to_owned());
    labels.insert("window".to_owned(), format!("{}/{}", window(burn.long), window(burn.short)));
    labels
}

fn alert_change(slo: &LogSlo, change: &BurnChange, received_at: Timestamp) -> AlertChange {
    let config = &slo.config;
    let burn = config.alerts[change.alert];
    let labels = labels(config, change.alert);
    let period = millis(config.window);
    let summary = format!(
        "{}: error budget burning at {:.2}x over {} and {:.2}x over {} (fires above {})",
        config.name.as_str(),
        change.long.burn_rate,
        window(burn.long),
        change.short.burn_rate,
        window(burn.short),
        burn.factor
    );
    let budget = slo.evaluator.window_burn(period).map(|window_burn| Budget::of(window_burn.counts, config.objective));
    let description = budget.map(|budget| {
        let left = if budget.remaining < 0.0 {
            format!("{:.2}% left: overspent", 100.0 * budget.remaining)
        } else {
            format!("{:.2}% left", 100.0 * budget.remaining)
        };
        let exhaustion = match budget.exhausted_in(change.long.burn_rate, period) {
            Some(0) => "the budget is spent".to_owned(),
            Some(ms) => {
                format!("at the {} rate it is spent in {}", window(burn.long), format_duration(Duration::from_millis(ms.unsigned_abs())))
            }
            None => "nothing burns it now".to_owned(),
        };
        format!(
            "objective {} over {}: {:.2}% of the budget consumed, {left}; {exhaustion}",
            config.objective,
            window(period),
            100.0 * budget.consumed
        )
    });
    let mut annotations = BTreeMap::from([("summary".to_owned(), summary.clone())]);
    if let Some(description) = description {
        annotations.insert("description".to_owned(), description);
    }
    annotations.extend(config.annotations.clone());
    let samples: Vec<String> = slo.samples.iter().cloned().collect();
    AlertChange {
        source: AlertSource::Slo,
        source_key: format!("{}:{}", config.name.as_str(), labels.get("window").map_or("", String::as_str)),
        labels,
        annotations,
        firing: change.firing,
        at: Timestamp(change.at),
        ends_at: None,
        received_at,
        generator_url: String::new(),
        value: change.long.burn_rate,
        evidence: serde_json::json!(samples),
        notify: Vec::new(),
        payload: None,
        actions: Vec::new(),
        summary,
        template_labels: None,
    }
}
