//! `vigil slo`: the configured SLOs with their burn alerts (`list`), where each stands
//! now (`report`, from the windows the nodes stored), and `backtest`, which replays a
//! log file through the log SLIs on event time and prints when each burn alert would
//! have fired and resolved.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use vigil_config::{Config, Sli, SloConfig};
use vigil_core::slo::{BurnChange, BurnEvaluator, Counts};
use vigil_core::time::format_duration;
use vigil_core::Timestamp;

use super::backtest::replay;
use crate::cli::ReplayArgs;
use crate::slos::LogSlis;

#[derive(Debug, Clone)]
pub struct SloBacktestOptions {
    pub config: PathBuf,
    pub slo: Option<String>,
    pub json: bool,
    /// The log of the log SLOs, if one is given.
    pub replay: Option<ReplayArgs>,
    /// For monitor SLOs: how far back.
    pub since: Option<Duration>,
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn window(ms: i64) -> String {
    format_duration(Duration::from_millis(ms.unsigned_abs()))
}

/// `vigil slo list`: every SLO, its SLI, and each burn alert's windows and factor.
pub fn list(config: &Config, json: bool) -> String {
    let mut out = String::new();
    for slo in &config.slos {
        let sli = match &slo.sli {
            Sli::Monitor { monitor, time_weighted: false } => format!("monitor {monitor}: good checks / all checks"),
            Sli::Monitor { monitor, time_weighted: true } => format!("monitor {monitor}: share of time up"),
            Sli::Logs { bad, good_query: false, total } => format!("logs: errors {} / total {}", bad.text, total.text),
            Sli::Logs { bad, good_query: true, total } => format!("logs: 1 − good {} / total {}", bad.text, total.text),
        };
        let alerts: Vec<serde_json::Value> = slo
            .alerts
            .iter()
            .map(|alert| {
                serde_json::json!({
                    "severity": alert.tier.as_str(), "long": window(alert.long), "short": window(alert.short),
                    "burn-rate": alert.factor.to_string(),
                })
            })
            .collect();
        if json {
            let value = serde_json::json!({
                "name": slo.name.as_str(), "service": slo.service, "objective": slo.objective.to_string(),
                "window": window(millis(slo.window)), "sli": sli, "alerts": alerts,
            });
            out.push_str(&format!("{value}\n"));
            continue;
        }
        out.push_str(&format!("{}  objective {} over {}  ({sli})\n", slo.name.as_str(), slo.objective, window(millis(slo.window))));
        for alert in &slo.alerts {
            out.push_str(&format!(
                "  {:<6}  burn rate above {} over {} and {}\n",
                alert.tier.as_str(),
                alert.factor,
                window(alert.long),
                window(alert.short)
            ));
        }
    }
    if config.slos.is_empty() && !json {
        out.push_str("no slos are configured\n");
    }
    out
}

/// One SLO being replayed.
struct Run<'a> {
    slo: &'a SloConfig,
    evaluator: BurnEvaluator,
    counts: Counts,
    /// Per alert: when its current firing started.
    fired_at: Vec<Option<i64>>,
    fired: Vec<u64>,
}

impl<'a> Run<'a> {
    fn new(slo: &'a SloConfig) -> Run<'a> {
        Run {
            slo,
            evaluator: BurnEvaluator::new(slo.objective, slo.alerts.clone(), &[millis(slo.window)]),
            counts: Counts::default(),
            fired_at: vec![None; slo.alerts.len()],
            fired: vec![0; slo.alerts.len()],
        }
    }

    /// Counts events at `at` and reports what changes.
    fn observe(&mut self, out: &mut impl Write, at: i64, total: u64, bad: u64, json: bool) -> anyhow::Result<()> {
        self.counts.total += total;
        self.counts.bad += bad;
        let changes = self.evaluator.observe(at, total, bad);
        self.report(out, &changes, json)
    }

    fn report(&mut self, out: &mut impl Write, changes: &[BurnChange], json: bool) -> anyhow::Result<()> {
        for change in changes {
            let alert = self.slo.alerts[change.alert];
            let at = Timestamp(change.at).to_rfc3339();
            let burns = format!(
                "burn {} {:.3}, {} {:.3} (above {})",
                window(change.long.length),
                change.long.burn_rate,
                window(change.short.length),
                change.short.burn_rate,
                alert.factor
            );
            if change.firing {
                self.fired_at[change.alert] = Some(change.at);
                self.fired[change.alert] += 1;
                if !json {
                    writeln!(out, "{at}  FIRING    {}  {}  {burns}", self.slo.name.as_str(), alert.tier.as_str())?;
                }
            } else {
                let fired_at = self.fired_at[change.alert].take();
                if json {
                    writeln!(out, "{}", self.firing_json(change.alert, fired_at, Some(change.at)))?;
                } else {
                    let lasted = fired_at.map(|fired| format!(", fired {}", window(change.at - fired))).unwrap_or_default();
                    writeln!(out, "{at}  RESOLVED  {}  {}  {burns}{lasted}", self.slo.name.as_str(), alert.tier.as_str())?;
                }
            }
        }
        Ok(())
    }

    fn firing_json(&self, alert: usize, fired_at: Option<i64>, resolved_at: Option<i64>) -> serde_json::Value {
        let config = self.slo.alerts[alert];
        serde_json::json!({
            "slo": self.slo.name.as_str(),
            "severity": config.tier.as_str(),
            "long": window(config.long),
            "short": window(config.short),
            "burn-rate": config.factor.to_string(),
            "fired-at": fired_at.map(|at| Timestamp(at).to_rfc3339()),
            "resolved-at": resolved_at.map(|at| Timestamp(at).to_rfc3339()),
        })
    }

    /// After the replay: the firings still open (JSON), and a line for the summary.
    fn finish(&self, out: &mut impl Write, json: bool) -> anyhow::Result<String> {
        if json {
            for (alert, fired_at) in self.fired_at.iter().enumerate() {
                if fired_at.is_some() {
                    writeln!(out, "{}", self.firing_json(alert, *fired_at, None))?;
                }
            }
        }
        let slo = self.slo;
        let sli =
            if self.counts.total == 0 { "no events".to_owned() } else { format!("{:.4}%", 100.0 * (1.0 - self.counts.error_ratio())) };
        let budget = self.evaluator.window_burn(millis(slo.window)).map(|burn| vigil_core::slo::Budget::of(burn.counts, slo.objective));
        let budget = budget.map_or_else(String::new, |budget| {
            let overspent = if budget.remaining < 0.0 { " (overspent)" } else { "" };
            format!(", budget of the last {} left {:.1}%{overspent}", window(millis(slo.window)), 100.0 * budget.remaining)
        });
        let fired: Vec<String> = slo
            .alerts
            .iter()
            .zip(&self.fired)
            .map(|(alert, fired)| format!("{} {}/{}: {fired}", alert.tier.as_str(), window(alert.long), window(alert.short)))
            .collect();
        Ok(format!(
            "  {}: {} events, {} bad, SLI {sli} against {}{budget}; fired {}\n",
            slo.name.as_str(),
            self.counts.total,
            self.counts.bad,
            slo.objective,
            fired.join(", ")
        ))
    }
}

/// The SLOs `options` chooses: all, or the one named.
fn chosen<'a>(config: &'a Config, options: &SloBacktestOptions) -> anyhow::Result<Vec<&'a SloConfig>> {
    let chosen: Vec<&SloConfig> =
        config.slos.iter().filter(|slo| options.slo.as_deref().is_none_or(|only| slo.name.as_str() == only)).collect();
    if chosen.is_empty() {
        match &options.slo {
            Some(name) => anyhow::bail!("no slo `{name}` in {}", options.config.display()),
            None => anyhow::bail!("{} has no slos", options.config.display()),
        }
    }
    Ok(chosen)
}

/// `vigil slo backtest`: the log SLIs over a past log, on its event times (when a log is
/// given); then the monitor SLIs over the checks their monitors' stored transitions imply.
pub async fn backtest(options: SloBacktestOptions) -> anyhow::Result<()> {
    let config = vigil_config::load_file(&options.config).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    let chosen = chosen(&config, &options)?;
    let logs = chosen.iter().filter(|slo| matches!(slo.sli, Sli::Logs { .. })).count();
    let monitors = chosen.len() - logs;
    match (&options.replay, logs) {
        (Some(_), 0) if monitors == 0 => unreachable!("an slo is of one kind or the other"),
        (Some(_), 0) => eprintln!("note: no log slo is chosen; the log is not read"),
        (None, 0) => {}
        (Some(_), _) => {
            let (config, options) = (config.clone(), options.clone());
            tokio::task::spawn_blocking(move || backtest_logs(&config, &options)).await??;
        }
        (None, _) if monitors == 0 => anyhow::bail!("the log slos need a log to replay: vigil slo backtest FILE -c CONFIG"),
        (None, _) => eprintln!("note: log slos are left out without a log to replay"),
    }
    if monitors > 0 {
        backtest_monitors(&config, &options).await?;
    }
    Ok(())
}

fn backtest_logs(config: &Config, options: &SloBacktestOptions) -> anyhow::Result<()> {
    let Some(replay_args) = &options.replay else { return Ok(()) };
    let mut runs: Vec<(Run<'_>, usize)> = Vec::new();
    let mut logs = LogSlis::new();
    for slo in chosen(config, options)? {
        if let Some(sli) = logs.add(&slo.sli) {
            runs.push((Run::new(slo), sli));
        }
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    // Every line of a replay is of one stream.
    let mut selected = false;
    let replayed = replay(replay_args, |at, stream, line| {
        if !selected {
            logs.select(stream);
            selected = true;
        }
        logs.begin_line();
        for (run, sli) in &mut runs {
            match logs.classify(*sli, stream, line) {
                Some(bad) => run.observe(&mut out, at, 1, u64::from(bad), options.json)?,
                // Not its line: only a window edge passed may change it.
                None if run.evaluator.next_expiry().is_some_and(|expiry| expiry < at) => {
                    let changes = run.evaluator.advance(at);
                    run.report(&mut out, &changes, options.json)?;
                }
                None => {}
            }
        }
        Ok(())
    })?;
    let mut summary = replayed.summary();
    for (run, _) in &runs {
        summary.push_str(&run.finish(&mut out, options.json)?);
        if run.counts.total == 0 && replayed.lines > 0 {
            summary.push_str("    no line counted: check --labels against the SLI's stream selectors\n");
        }
    }
    out.flush()?;
    if options.json {
        eprint!("{summary}");
    } else {
        print!("{summary}");
    }
    Ok(())
}

/// The monitor SLOs over the checks their monitors' stored transitions imply (see
/// [`vigil_core::slo::replay`]), from `--since` ago or everything stored.
async fn backtest_monitors(config: &Config, options: &SloBacktestOptions) -> anyhow::Result<()> {
    let store = super::record::open(config).await?;
    let now = vigil_core::Clock::now(&vigil_core::SystemClock).0;
    let from = options.since.map_or(0, |since| now - millis(since));
    let coverage = store.coverage(Timestamp(from), Timestamp(now)).await?;
    let mut out = Vec::new();
    let mut summary = format!(
        "replayed the checks the stored transitions imply, {} to {} (failures that never made an outage are not stored)\n",
        Timestamp(coverage.first().map_or(now, |period| period.start.0.max(from))).to_rfc3339(),
        Timestamp(now).to_rfc3339()
    );
    for slo in chosen(config, options)? {
        let Some(mut sli) = crate::slos::MonitorSli::of(&slo.sli) else { continue };
        let Some(monitor) = config.monitors.iter().find(|monitor| monitor.name.as_str() == sli.monitor) else { continue };
        let changes = store.state_changes(&sli.monitor, Timestamp(from), Timestamp(now)).await?;
        let history = vigil_core::slo::replay::MonitorHistory {
            changes: &changes,
            coverage: &coverage,
            interval: millis(monitor.interval),
            retry: millis(monitor.retry_interval.unwrap_or(monitor.interval)),
            failure_threshold: monitor.thresholds.failure.get(),
            success_threshold: monitor.thresholds.success.get(),
        };
        let mut run = Run::new(slo);
        for check in vigil_core::slo::replay::implied_checks(&history, from, now) {
            if let Some((total, bad)) = sli.count(check.at, check.healthy, check.health, monitor.interval) {
                run.observe(&mut out, check.at, total, bad, options.json)?;
            }
        }
        let changes = run.evaluator.advance(now);
        run.report(&mut out, &changes, options.json)?;
        summary.push_str(&run.finish(&mut out, options.json)?);
    }
    print!("{}", String::from_utf8_lossy(&out));
    if options.json {
        eprint!("{summary}");
    } else {
        print!("{summary}");
    }
    Ok(())
}

/// `vigil slo report`: each SLO's SLI, budget and burn rates now.
pub async fn report(config: &Config, json: bool) -> anyhow::Result<()> {
    let store = super::record::open(config).await?;
    let now = vigil_core::Clock::now(&vigil_core::SystemClock);
    let reports = crate::slos::report::reports(&store, &config.slos, now).await?;
    let mut out = String::new();
    for report in &reports {
        if json {
            out.push_str(&format!("{}\n", serde_json::to_string(report)?));
            continue;
        }
        let sli = report.sli.map_or_else(|| "no events".to_owned(), |sli| format!("{:.4}%", 100.0 * sli));
        let overspent = if report.budget_remaining < 0.0 { " (overspent)" } else { "" };
        let exhaustion = match report.exhausted_in_seconds {
            Some(0) => ", budget spent".to_owned(),
            Some(seconds) => format!(", spent in {} at the current rate", format_duration(Duration::from_secs(seconds.unsigned_abs()))),
            None => String::new(),
        };
        out.push_str(&format!(
            "{}  {}  objective {} over {}: SLI {sli}, budget left {:.2}%{overspent}{exhaustion}\n",
            report.name,
            report.status.to_uppercase(),
            report.objective,
            report.window,
            100.0 * report.budget_remaining
        ));
        for alert in &report.alerts {
            out.push_str(&format!(
                "  {:<6}  burn {} {:.3}, {} {:.3} (fires above {}){}\n",
                alert.severity,
                alert.long,
                alert.burn_rate_long,
                alert.short,
                alert.burn_rate_short,
                alert.above,
                if alert.firing { "  FIRING" } else { "" }
            ));
        }
    }
    if reports.is_empty() && !json {
        out.push_str("no slos are configured\n");
    }
    print!("{out}");
    Ok(())
}

/// One line of `vigil slo history`.
#[derive(Debug, serde::Serialize)]
struct HistoryPoint {
    at: String,
    /// Good share of the window's events; none without events.
    sli: Option<f64>,
    /// Negative when overspent.
    budget_remaining: f64,
    budget_consumed: f64,
    events: u64,
    bad: u64,
    objective: String,
    window: String,
}

/// `vigil slo history`: one SLO's budget over time, from its hourly samples and, last,
/// its stored windows now.
pub async fn history(config: &Config, name: &str, since: Option<Duration>, every: Option<Duration>, json: bool) -> anyhow::Result<()> {
    let Some(slo) = config.slos.iter().find(|slo| slo.name.as_str() == name) else {
        let names: Vec<&str> = config.slos.iter().map(|slo| slo.name.as_str()).collect();
        anyhow::bail!("no slo `{name}`; the slos are: {}", if names.is_empty() { "none".to_owned() } else { names.join(", ") });
    };
    let store = super::record::open(config).await?;
    let period = millis(slo.window);
    // The newest time anything was counted: the history ends there, live or replayed.
    let stored = store.slo_windows_of_all_nodes(name).await?;
    let samples = store.slo_history(name, i64::MIN).await?;
    let end = stored.as_ref().map(|windows| windows.at).into_iter().chain(samples.last().map(|sample| sample.at)).max();
    let Some(end) = end else {
        println!("{name}: nothing counted yet");
        return Ok(());
    };
    let since = since.map_or(period, millis);
    let every = every.map_or_else(|| (since / 30).max(HOUR_MS) / HOUR_MS * HOUR_MS, |every| millis(every).max(1));
    let mut points: Vec<(i64, Counts, vigil_core::slo::Objective, i64)> = Vec::new();
    for sample in samples.iter().filter(|sample| sample.at >= end - since) {
        let Some(objective) = u64::try_from(sample.objective_ppb).ok().and_then(vigil_core::slo::Objective::from_ppb) else { continue };
        let counts = Counts { total: u64::try_from(sample.total).unwrap_or(0), bad: u64::try_from(sample.bad).unwrap_or(0) };
        let step = sample.at.div_euclid(every);
        // The last sample of each step stands for it.
        if points.last().is_some_and(|(at, ..)| at.div_euclid(every) == step) {
            points.pop();
        }
        points.push((sample.at, counts, objective, sample.window_ms));
    }
    if let Some(windows) = &stored {
        let mut evaluator = BurnEvaluator::new(slo.objective, slo.alerts.clone(), &[period]);
        evaluator.restore(&crate::slos::stored_blocks(windows), &[], windows.at);
        let counts = evaluator.window_burn(period).map(|burn| burn.counts).unwrap_or_default();
        points.push((windows.at, counts, slo.objective, period));
    }
    let lines: Vec<HistoryPoint> = points
        .iter()
        .map(|(at, counts, objective, window_ms)| {
            let budget = vigil_core::slo::Budget::of(*counts, *objective);
            HistoryPoint {
                at: Timestamp(*at).to_rfc3339(),
                sli: (counts.total > 0).then(|| 1.0 - counts.error_ratio()),
                budget_remaining: budget.remaining,
                budget_consumed: budget.consumed,
                events: counts.total,
                bad: counts.bad,
                objective: objective.to_string(),
                window: window(*window_ms),
            }
        })
        .collect();
    let mut out = String::new();
    if json {
        for line in &lines {
            out.push_str(&format!("{}\n", serde_json::to_string(line)?));
        }
    } else {
        out.push_str(&format!(
            "{name}: objective {} over {}; the budget left over the last {}, a line every {}\n",
            slo.objective,
            window(period),
            window(since),
            window(every)
        ));
        for line in &lines {
            let sli = line.sli.map_or_else(|| "no events".to_owned(), |sli| format!("{:.4}%", 100.0 * sli));
            let filled = (line.budget_remaining.clamp(0.0, 1.0) * 20.0).round() as usize;
            let bar = format!("{}{}", "#".repeat(filled), ".".repeat(20 - filled));
            let overspent = if line.budget_remaining < 0.0 { "  overspent" } else { "" };
            out.push_str(&format!("{}  SLI {sli:>9}  budget left {:>7.2}%  [{bar}]{overspent}\n", line.at, 100.0 * line.budget_remaining));
        }
        if lines.is_empty() {
            out.push_str("  no samples in that time\n");
        }
    }
    print!("{out}");
    Ok(())
}

const HOUR_MS: i64 = 3_600_000;
