//! The SLO detector: log SLIs evaluated on every line as it arrives (by event time) and
//! monitor SLIs on every check, each SLO's burn alerts turned into alert changes for the
//! one alert lifecycle. The rule engine feeds one detector the lines it reads and moves
//! it on with its clock tick; the monitor engine feeds another its checks.
//!
//! A monitor SLI counts checks (`monitor:`: a healthy check is good), or time
//! (`monitor-time:`: each check adds the milliseconds since the one before, bad while
//! the monitor was DOWN, left out while it was UNKNOWN or when the gap is longer than
//! two intervals, as when Vigil was not running).
//!
//! A burn alert's labels: `alertname: SLOBurn`, `slo`, `severity` (`page` or `ticket`),
//! `window` (`1h/5m`), `service` when set, and the SLO's `labels:`; so an inhibit rule
//! with `equal: [slo]` lets a page mute its ticket sibling. Its summary gives both
//! windows' burn rates, and its description the budget consumed and left and the time
//! to exhaustion at the long window's rate; the last bad lines are its evidence.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use vigil_config::{Sli, SloConfig};
use vigil_core::hysteresis::Health;
use vigil_core::slo::{Budget, BurnChange, BurnEvaluator, Counts, StoredBucket};
use vigil_core::time::format_duration;
use vigil_core::Timestamp;
use vigil_logql::eval::pipeline::{Labels, Pipeline};
use vigil_store::{AlertSource, Applied, EpisodeChange, SloBucketRow, SloSave, Store, StoreError};

use crate::alerts::AlertChange;
use crate::effects::Effects;
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

/// A log SLI compiled: which lines count, and which of them are bad. `vigil slo
/// backtest` reads lines through the same one.
pub struct LogSli {
    bad: Pipeline,
    good_query: bool,
    total: Pipeline,
}

impl LogSli {
    /// The compiled SLI of `sli`, if it reads logs.
    pub fn of(sli: &Sli) -> Option<LogSli> {
        match sli {
            Sli::Logs { bad, good_query, total } => {
                Some(LogSli { bad: Pipeline::new(&bad.expr), good_query: *good_query, total: Pipeline::new(&total.expr) })
            }
            Sli::Monitor { .. } => None,
        }
    }

    /// Whether `total` counts the line, and if so whether it is bad.
    pub fn classify(&self, stream: &Labels, line: &str) -> Option<bool> {
        if !self.total.selects(stream) || self.total.process(stream, line).is_none() {
            return None;
        }
        let kept = self.bad.selects(stream) && self.bad.process(stream, line).is_some();
        Some(kept != self.good_query)
    }
}

/// Where an SLO's events come from.
enum Source {
    Logs(LogSli),
    Checks {
        monitor: String,
    },
    /// The previous check's time and the monitor's state after it.
    Time {
        monitor: String,
        last: Option<(i64, Health)>,
    },
}

struct Slo {
    config: SloConfig,
    source: Source,
    evaluator: BurnEvaluator,
    samples: VecDeque<String>,
}

impl Slo {
    fn new(config: &SloConfig, source: Source) -> Slo {
        Slo {
            source,
            evaluator: BurnEvaluator::new(config.objective, config.alerts.clone(), &[millis(config.window)]),
            samples: VecDeque::with_capacity(SAMPLE_LINES),
            config: config.clone(),
        }
    }

    fn classify(&self, stream: &Labels, line: &str) -> Option<bool> {
        match &self.source {
            Source::Logs(sli) => sli.classify(stream, line),
            Source::Checks { .. } | Source::Time { .. } => None,
        }
    }

    fn sample(&mut self, text: String) {
        if self.samples.len() == SAMPLE_LINES {
            self.samples.pop_front();
        }
        self.samples.push_back(text);
    }

    /// Reports what changes as time moves to `at` without an event of this SLO.
    fn pass_edges(&mut self, at: i64, received_at: Timestamp, out: &mut Vec<AlertChange>) {
        while let Some(expiry) = self.evaluator.next_expiry().filter(|&expiry| expiry <= at) {
            let changes = self.evaluator.advance(expiry);
            out.extend(changes.iter().map(|change| alert_change(self, change, received_at)));
        }
    }
}

/// One checked monitor's result, for the monitor SLIs.
pub struct CheckEvent<'a> {
    pub monitor: &'a str,
    pub at: Timestamp,
    pub healthy: bool,
    /// The monitor's state once this check is counted.
    pub health: Health,
    pub interval: Duration,
    /// What failed (with the failure code), for the evidence.
    pub failure: Option<String>,
}

/// The SLOs one engine feeds.
pub struct SloDetector {
    slos: Vec<Slo>,
    /// This node, whose stored windows it rebuilds and saves.
    node: String,
    /// When it last saved (real time: saving is IO pacing, not a decision).
    saved: Option<std::time::Instant>,
}

impl SloDetector {
    /// The SLOs of `configs` whose SLI reads logs.
    pub fn logs(configs: &[SloConfig]) -> SloDetector {
        let slos = configs.iter().filter_map(|config| LogSli::of(&config.sli).map(|sli| Slo::new(config, Source::Logs(sli)))).collect();
        SloDetector { slos, node: String::new(), saved: None }
    }

    /// Saves and rebuilds its windows as `node`'s.
    pub fn on_node(mut self, node: &str) -> SloDetector {
        self.node = node.to_owned();
        self
    }

    /// Rebuilds each SLO's windows from what this node stored, as they were at the
    /// newest time it had seen; stores the burn alerts that fire on them (one already
    /// firing in the store goes on as the same episode) and returns their source keys.
    pub async fn restore(&mut self, store: &Store, effects: &Effects) -> Result<BTreeSet<String>, StoreError> {
        let mut changes = Vec::new();
        for slo in &mut self.slos {
            let Some((at, rows)) = store.slo_windows(slo.config.name.as_str(), &self.node).await? else { continue };
            let buckets: Vec<StoredBucket> = rows
                .iter()
                .map(|row| StoredBucket {
                    width: row.width,
                    index: row.bucket,
                    counts: Counts { total: u64::try_from(row.total).unwrap_or(0), bad: u64::try_from(row.bad).unwrap_or(0) },
                })
                .collect();
            let restored = slo.evaluator.restore(&buckets, at);
            tracing::info!(slo = %slo.config.name, buckets = buckets.len(), at = %Timestamp(at), "slo windows rebuilt");
            changes.extend(restored.iter().map(|change| alert_change(slo, change, Timestamp(at))));
        }
        let keys = changes.iter().map(|change| change.source_key.clone()).collect();
        let now = changes.first().map_or(Timestamp(0), |change| change.received_at);
        store_changes(store, effects, changes, now).await;
        Ok(keys)
    }

    /// Stores the buckets that took events since the last save, at most once a second
    /// unless `now_anyway` (at shutdown).
    pub async fn save(&mut self, store: &Store, now_anyway: bool) {
        if self.slos.is_empty() || (!now_anyway && self.saved.is_some_and(|at| at.elapsed() < Duration::from_secs(1))) {
            return;
        }
        self.saved = Some(std::time::Instant::now());
        let saves: Vec<SloSave> = self
            .slos
            .iter_mut()
            .filter_map(|slo| {
                let buckets = slo.evaluator.take_changed();
                let at = slo.evaluator.now()?;
                (!buckets.is_empty()).then(|| SloSave {
                    slo: slo.config.name.as_str().to_owned(),
                    at,
                    buckets: buckets
                        .iter()
                        .map(|bucket| SloBucketRow {
                            width: bucket.width,
                            bucket: bucket.index,
                            total: i64::try_from(bucket.counts.total).unwrap_or(i64::MAX),
                            bad: i64::try_from(bucket.counts.bad).unwrap_or(i64::MAX),
                        })
                        .collect(),
                    oldest: slo.evaluator.oldest_kept(),
                })
            })
            .collect();
        if let Err(error) = store.save_slo_windows(&self.node, &saves).await {
            tracing::warn!(%error, "storing slo windows failed; a restart may rebuild them short of the last buckets");
        }
    }

    /// The SLOs of `configs` whose SLI is a monitor.
    pub fn monitors(configs: &[SloConfig]) -> SloDetector {
        let slos = configs
            .iter()
            .filter_map(|config| match &config.sli {
                Sli::Monitor { monitor, time_weighted: false } => Some(Slo::new(config, Source::Checks { monitor: monitor.clone() })),
                Sli::Monitor { monitor, time_weighted: true } => {
                    Some(Slo::new(config, Source::Time { monitor: monitor.clone(), last: None }))
                }
                Sli::Logs { .. } => None,
            })
            .collect();
        SloDetector { slos, node: String::new(), saved: None }
    }

    /// Counts one check of a monitor; returns the burn alerts that fire or resolve.
    pub fn observe_check(&mut self, check: &CheckEvent<'_>) -> Vec<AlertChange> {
        let mut out = Vec::new();
        let at = check.at.0;
        for slo in &mut self.slos {
            let (total, bad) = match &mut slo.source {
                Source::Checks { monitor } if monitor == check.monitor => (1, u64::from(!check.healthy)),
                Source::Time { monitor, last } if monitor == check.monitor => {
                    let counted = match *last {
                        Some((before, health)) if health != Health::Unknown && at - before <= 2 * millis(check.interval) => {
                            let spent = u64::try_from(at - before).unwrap_or(0);
                            Some((spent, if health == Health::Down { spent } else { 0 }))
                        }
                        _ => None,
                    };
                    *last = Some((at, check.health));
                    match counted {
                        Some(counts) => counts,
                        None => continue,
                    }
                }
                _ => continue,
            };
            slo.pass_edges(at, check.at, &mut out);
            if bad > 0 {
                if let Some(failure) = &check.failure {
                    slo.sample(format!("{} {failure}", check.at.to_rfc3339()));
                }
            }
            let changes = slo.evaluator.observe(at, total, bad);
            out.extend(changes.iter().map(|change| alert_change(slo, change, check.at)));
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.slos.is_empty()
    }

    /// Counts one line at its event time `at`; returns the burn alerts that fire or
    /// resolve, on this line or on a window edge passed since the line before.
    pub fn observe(&mut self, at: i64, stream: &Labels, line: &str, received_at: Timestamp) -> Vec<AlertChange> {
        let mut out = Vec::new();
        for slo in &mut self.slos {
            slo.pass_edges(at, received_at, &mut out);
            let Some(bad) = slo.classify(stream, line) else { continue };
            if bad {
                slo.sample(line.to_owned());
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
            slo.pass_edges(now.0, now, &mut out);
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

/// Stores burn alerts' firings and resolutions, and wakes who acts on them.
pub async fn store_changes(store: &Store, effects: &Effects, changes: Vec<AlertChange>, now: Timestamp) {
    if changes.is_empty() {
        return;
    }
    let changes: Vec<EpisodeChange> = changes.into_iter().map(|change| effects.decide(change)).collect();
    match store.apply_changes(&changes, now, effects.delivery.give_up_after).await {
        Ok(applied) => {
            for applied in applied {
                match applied {
                    Applied::Started(record) => {
                        tracing::warn!(alert = %record.name, id = record.id, labels = ?record.labels, "slo burn alert firing")
                    }
                    Applied::Resolved(record) => tracing::info!(alert = %record.name, id = record.id, "slo burn alert resolved"),
                    Applied::Refreshed(_) | Applied::Unchanged => {}
                }
            }
            // A resolution may be what a verifying execution waits for.
            effects.stored(false, changes.iter().any(|change| !change.executions.is_empty() || !change.firing));
            effects.wake_alerts.notify_one();
        }
        Err(error) => tracing::error!(%error, "storing slo burn alerts failed"),
    }
}

/// Burn alerts an earlier run left firing that the rebuilt windows do not fire (`firing`:
/// the source keys that do) are resolved.
pub async fn resolve_left_firing(store: &Store, effects: &Effects, now: Timestamp, firing: &BTreeSet<String>) -> Result<(), StoreError> {
    let mut left = store.firing_episodes(Some(AlertSource::Slo)).await?;
    left.retain(|episode| !firing.contains(&episode.source_key));
    if left.is_empty() {
        return Ok(());
    }
    tracing::info!(alerts = left.len(), "burn alerts left firing by the last run resolved: their rebuilt windows do not burn");
    let changes = left
        .into_iter()
        .map(|episode| AlertChange {
            source: AlertSource::Slo,
            source_key: episode.source_key,
            labels: episode.labels,
            annotations: episode.annotations,
            firing: false,
            at: now,
            ends_at: None,
            received_at: now,
            generator_url: String::new(),
            value: 0.0,
            evidence: serde_json::json!([]),
            notify: Vec::new(),
            payload: None,
            actions: Vec::new(),
            summary: String::new(),
            template_labels: None,
        })
        .collect();
    store_changes(store, effects, changes, now).await;
    Ok(())
}

/// The labels of an SLO's burn alert number `alert`.
fn labels(config: &SloConfig, alert: usize) -> BTreeMap<String, String> {
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

fn alert_change(slo: &Slo, change: &BurnChange, received_at: Timestamp) -> AlertChange {
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
