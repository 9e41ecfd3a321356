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
use std::sync::Arc;
use std::time::Duration;

use vigil_config::{Sli, SloConfig};
use vigil_core::hysteresis::Health;
use vigil_core::slo::{Budget, BurnChange, BurnEvaluator};
use vigil_core::time::format_duration;
use vigil_core::{Clock, SystemClock, Timestamp};
use vigil_logql::eval::pipeline::Labels;
use vigil_store::{AlertSource, Applied, EpisodeChange, SloSample, Store, StoreError};

use crate::alerts::AlertChange;
use crate::effects::Effects;
use crate::metrics::{Metrics, SloLabels, SloWindowLabels};

mod logs;
pub mod report;
mod shared;

pub use logs::LogSlis;
pub use shared::stored_blocks;

/// Bad lines carried into a burn alert as evidence.
const SAMPLE_LINES: usize = 5;

/// The `alertname` of every burn alert.
pub const ALERTNAME: &str = "SLOBurn";

const HOUR: i64 = 3_600_000;

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn window(ms: i64) -> String {
    format_duration(Duration::from_millis(ms.unsigned_abs())).replace(' ', "")
}

/// Where an SLO's events come from.
enum Source {
    /// Its index among the detector's [`LogSlis`].
    Logs(usize),
    Monitor(MonitorSli),
}

/// A monitor SLI: what each check of the monitor counts. `vigil run` and `vigil slo
/// backtest` (over the checks the stored transitions imply) count through the same one.
#[derive(Debug, Clone)]
pub struct MonitorSli {
    pub monitor: String,
    /// Time up instead of checks.
    pub time_weighted: bool,
    /// The previous check's time and the monitor's state after it.
    last: Option<(i64, Health)>,
}

impl MonitorSli {
    /// The monitor SLI of `sli`, if it is one.
    pub fn of(sli: &Sli) -> Option<MonitorSli> {
        match sli {
            Sli::Monitor { monitor, time_weighted } => {
                Some(MonitorSli { monitor: monitor.clone(), time_weighted: *time_weighted, last: None })
            }
            Sli::Logs { .. } => None,
        }
    }

    /// The events a check of the monitor at `at` counts, `(total, bad)`: one check, or
    /// the milliseconds since the check before (bad while the monitor was DOWN; none
    /// while it was UNKNOWN or after a gap longer than two intervals). `health` is its
    /// state once this check counted.
    pub fn count(&mut self, at: i64, healthy: bool, health: Health, interval: Duration) -> Option<(u64, u64)> {
        if !self.time_weighted {
            return Some((1, u64::from(!healthy)));
        }
        let counted = match self.last {
            Some((before, last_health)) if last_health != Health::Unknown && at - before <= 2 * millis(interval) => {
                let spent = u64::try_from(at - before).unwrap_or(0);
                Some((spent, if last_health == Health::Down { spent } else { 0 }))
            }
            _ => None,
        };
        self.last = Some((at, health));
        counted
    }
}

struct Slo {
    config: SloConfig,
    source: Source,
    evaluator: BurnEvaluator,
    samples: VecDeque<String>,
    /// Where the next hour starts, in its own time: the budget is sampled there.
    next_sample: Option<i64>,
}

impl Slo {
    fn new(config: &SloConfig, source: Source) -> Slo {
        Slo {
            source,
            evaluator: BurnEvaluator::new(config.objective, config.alerts.clone(), &[millis(config.window)]),
            samples: VecDeque::with_capacity(SAMPLE_LINES),
            config: config.clone(),
            next_sample: None,
        }
    }

    /// Keeps `text` among the last [`SAMPLE_LINES`] samples, in the oldest one's buffer
    /// once they are that many (a burning stream's bad lines allocate nothing).
    fn sample(&mut self, text: &str) {
        let mut kept = if self.samples.len() == SAMPLE_LINES { self.samples.pop_front().unwrap_or_default() } else { String::new() };
        kept.clear();
        kept.push_str(text);
        self.samples.push_back(kept);
    }

    /// Before its time moves to `at`: when that passes an hour's start, the budget
    /// window as it stands there (to its minute buckets), for `vigil slo history`.
    #[inline]
    fn sample_before(&mut self, at: i64, out: &mut Vec<(String, SloSample)>) {
        match self.next_sample {
            Some(next) if at < next => {}
            Some(_) => self.take_sample(at, out),
            // The first time seen: sampling starts at the next hour.
            None => self.next_sample = Some((at.div_euclid(HOUR) + 1) * HOUR),
        }
    }

    fn take_sample(&mut self, at: i64, out: &mut Vec<(String, SloSample)>) {
        let hour = at.div_euclid(HOUR) * HOUR;
        self.next_sample = Some(hour + HOUR);
        let period = millis(self.config.window);
        let Some(burn) = self.evaluator.window_burn(period).filter(|burn| burn.counts.total > 0) else { return };
        if out.len() < MAX_PENDING_SAMPLES {
            out.push((
                self.config.name.as_str().to_owned(),
                SloSample {
                    at: hour,
                    window_ms: period,
                    objective_ppb: i64::try_from(self.config.objective.good_ppb()).unwrap_or(i64::MAX),
                    total: i64::try_from(burn.counts.total).unwrap_or(i64::MAX),
                    bad: i64::try_from(burn.counts.bad).unwrap_or(i64::MAX),
                },
            ));
        }
    }
}

/// Budget samples kept for the next save at most (a store that refuses writes for
/// days loses the oldest hours' samples, not memory).
const MAX_PENDING_SAMPLES: usize = 100_000;

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
    logs: LogSlis,
    /// `logs` or `monitors`: which of a node's detectors this is, for its lease.
    kind: &'static str,
    /// This node, whose stored windows it rebuilds and saves.
    node: String,
    clock: Arc<dyn Clock>,
    /// When it last saved (real time: saving is IO pacing, not a decision).
    saved: Option<std::time::Instant>,
    sharing: shared::Sharing,
    /// Budget samples taken since the last save.
    samples: Vec<(String, SloSample)>,
}

impl SloDetector {
    fn with(slos: Vec<Slo>, logs: LogSlis, kind: &'static str) -> SloDetector {
        SloDetector {
            slos,
            logs,
            kind,
            node: String::new(),
            clock: Arc::new(SystemClock),
            saved: None,
            sharing: shared::Sharing::default(),
            samples: Vec::new(),
        }
    }

    /// The SLOs of `configs` whose SLI reads logs.
    pub fn logs(configs: &[SloConfig]) -> SloDetector {
        let mut logs = LogSlis::new();
        let slos = configs.iter().filter_map(|config| logs.add(&config.sli).map(|index| Slo::new(config, Source::Logs(index)))).collect();
        SloDetector::with(slos, logs, "logs")
    }

    /// The SLOs of `configs` whose SLI is a monitor.
    pub fn monitors(configs: &[SloConfig]) -> SloDetector {
        let slos =
            configs.iter().filter_map(|config| MonitorSli::of(&config.sli).map(|sli| Slo::new(config, Source::Monitor(sli)))).collect();
        SloDetector::with(slos, LogSlis::new(), "monitors")
    }

    /// Saves and rebuilds its windows as `node`'s, and takes its leases on `clock`.
    pub fn on_node(mut self, node: &str, clock: Arc<dyn Clock>) -> SloDetector {
        self.node = node.to_owned();
        self.clock = clock;
        self
    }

    pub fn is_empty(&self) -> bool {
        self.slos.is_empty()
    }

    /// Counts one check of a monitor; returns the burn alerts that fire or resolve.
    pub fn observe_check(&mut self, check: &CheckEvent<'_>) -> Vec<AlertChange> {
        let mut out = Vec::new();
        let at = check.at.0;
        let emits = self.sharing.emits();
        for slo in &mut self.slos {
            let (total, bad) = match &mut slo.source {
                Source::Monitor(sli) if sli.monitor == check.monitor => match sli.count(at, check.healthy, check.health, check.interval) {
                    Some(counts) => counts,
                    None => continue,
                },
                _ => {
                    if slo.evaluator.next_expiry().is_some_and(|expiry| expiry < at) {
                        slo.sample_before(at, &mut self.samples);
                        let changes = slo.evaluator.advance(at);
                        emit(emits, slo, &changes, check.at, &mut out);
                    }
                    continue;
                }
            };
            slo.sample_before(at, &mut self.samples);
            if bad > 0 {
                if let Some(failure) = &check.failure {
                    slo.sample(&format!("{} {failure}", check.at.to_rfc3339()));
                }
            }
            let changes = slo.evaluator.observe(at, total, bad);
            emit(emits, slo, &changes, check.at, &mut out);
        }
        out
    }

    /// Counts the lines of one stream (`(event time, line)`); returns the burn alerts
    /// that fire or resolve, on a line or on a window edge passed since the line before.
    pub fn observe_stream(&mut self, stream: &Labels, entries: &[(i64, String)], received_at: Timestamp) -> Vec<AlertChange> {
        self.select(stream);
        let mut out = Vec::new();
        for (at, line) in entries {
            self.observe_line(*at, stream, line, received_at, &mut out);
        }
        out
    }

    /// Starts the lines of one stream, for [`SloDetector::observe_line`].
    pub fn select(&mut self, stream: &Labels) {
        self.logs.select(stream);
    }

    /// The compiled SLIs, which rules' queries may join ([`LogSlis::add_query`]) to be
    /// asked about the line begun last.
    pub fn logs_mut(&mut self) -> &mut LogSlis {
        &mut self.logs
    }

    /// Counts one line at its event time `at` (of the stream [`SloDetector::select`]ed
    /// last), which it begins: queries asked after it are asked about this line.
    pub fn observe_line(&mut self, at: i64, stream: &Labels, line: &str, received_at: Timestamp, out: &mut Vec<AlertChange>) {
        self.logs.begin_line();
        let emits = self.sharing.emits();
        for slo in &mut self.slos {
            let Source::Logs(index) = slo.source else { continue };
            let Some(bad) = self.logs.classify(index, stream, line) else {
                // Not its line: only a window edge passed may change it.
                if slo.evaluator.next_expiry().is_some_and(|expiry| expiry < at) {
                    slo.sample_before(at, &mut self.samples);
                    let changes = slo.evaluator.advance(at);
                    emit(emits, slo, &changes, received_at, out);
                }
                continue;
            };
            slo.sample_before(at, &mut self.samples);
            if bad {
                slo.sample(line);
            }
            let changes = slo.evaluator.observe(at, 1, u64::from(bad));
            emit(emits, slo, &changes, received_at, out);
        }
    }

    /// Counts `total` events at `at`, `bad` of them bad, for SLO number `index` as if its
    /// SLI had read them: for `vigil bench slos`, which fills a month of windows without
    /// writing a month of lines.
    pub fn count(&mut self, index: usize, at: i64, total: u64, bad: u64) -> Vec<AlertChange> {
        let mut out = Vec::new();
        let emits = self.sharing.emits();
        if let Some(slo) = self.slos.get_mut(index) {
            slo.sample_before(at, &mut self.samples);
            let changes = slo.evaluator.observe(at, total, bad);
            emit(emits, slo, &changes, Timestamp(at), &mut out);
        }
        out
    }

    /// Heap bytes the SLOs' windows hold.
    pub fn heap_bytes(&self) -> usize {
        self.slos.iter().map(|slo| slo.evaluator.heap_bytes()).sum()
    }

    /// Moves every SLO on to `now` (no line came): windows drop what they no longer
    /// cover, and alerts whose windows stopped burning resolve.
    pub fn advance(&mut self, now: Timestamp) -> Vec<AlertChange> {
        let mut out = Vec::new();
        let emits = self.sharing.emits();
        for slo in &mut self.slos {
            slo.sample_before(now.0, &mut self.samples);
            let changes = slo.evaluator.advance(now.0);
            emit(emits, slo, &changes, now, &mut out);
        }
        out
    }
}

/// The burn alerts of `changes`, unless another node is the one that says so.
fn emit(emits: bool, slo: &Slo, changes: &[BurnChange], received_at: Timestamp, out: &mut Vec<AlertChange>) {
    if emits {
        out.extend(changes.iter().map(|change| alert_change(slo, change, received_at)));
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
            effects.episodes_stored();
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
    let changes = left.into_iter().map(|episode| resolving(episode, now)).collect();
    store_changes(store, effects, changes, now).await;
    Ok(())
}

/// The change that resolves a stored burn alert.
fn resolving(episode: vigil_store::EpisodeRecord, now: Timestamp) -> AlertChange {
    AlertChange {
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
        signal_at: None,
    }
}

/// The source key of an SLO's burn alert: `NAME:LONG/SHORT`.
fn source_key(config: &SloConfig, alert: usize) -> String {
    let burn = config.alerts[alert];
    format!("{}:{}/{}", config.name.as_str(), window(burn.long), window(burn.short))
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
        source_key: source_key(config, change.alert),
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
        signal_at: None,
    }
}
