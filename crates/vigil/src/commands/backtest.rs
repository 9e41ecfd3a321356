//! `vigil backtest`: replays a log file (or stdin) through the configured rules on event
//! time and prints every firing and resolution, then how often each rule fired.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use vigil_core::Timestamp;
use vigil_logql::eval::pipeline::Labels;
use vigil_logql::eval::{AlertState, Entry, RuleEvaluator, RuleEvent};

use crate::cli::ReplayArgs;
use crate::logs::event_time::{event_time, TimeFields};

/// Lines longer than this are skipped and counted.
const MAX_LINE: u64 = 1024 * 1024;

pub struct BacktestOptions {
    pub config: PathBuf,
    pub rule: Option<String>,
    pub json: bool,
    pub replay: ReplayArgs,
}

struct RuleRun {
    name: String,
    evaluator: RuleEvaluator,
    fired: u64,
    resolved: u64,
}

pub fn run(options: BacktestOptions) -> anyhow::Result<()> {
    let config = vigil_config::load_file(&options.config).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    let mut rules: Vec<RuleRun> = config
        .rules
        .iter()
        .filter(|rule| options.rule.as_deref().is_none_or(|only| rule.name.as_str() == only))
        .map(|rule| RuleRun { name: rule.name.as_str().to_owned(), evaluator: crate::rules::evaluator(rule), fired: 0, resolved: 0 })
        .collect();
    match (&options.rule, rules.is_empty()) {
        (Some(name), true) => anyhow::bail!("no rule `{name}` in {}", options.config.display()),
        (None, true) => anyhow::bail!("{} has no rules", options.config.display()),
        _ => {}
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let replayed = replay(&options.replay, |at, stream, line| {
        for rule in &mut rules {
            while let Some(expiry) = rule.evaluator.next_expiry().filter(|&expiry| expiry <= at) {
                let events = rule.evaluator.advance(expiry);
                report(&mut out, rule, &events, options.json)?;
            }
            let events = rule.evaluator.observe(Entry { at, stream, line });
            report(&mut out, rule, &events, options.json)?;
        }
        Ok(())
    })?;
    out.flush()?;
    let mut summary = replayed.summary();
    let lines = replayed.lines;
    for rule in &rules {
        let stats = rule.evaluator.stats();
        let still = rule.evaluator.firing().count();
        summary.push_str(&format!(
            "  {}: fired {} times, resolved {}, firing at the end {still} (matched {} lines, late {}, over group limit {}, unwrap errors {}, unparseable {})\n",
            rule.name, rule.fired, rule.resolved, stats.matched, stats.late, stats.dropped_groups, stats.unwrap_errors, stats.parse_errors
        ));
        if stats.matched == 0 && lines > 0 {
            summary.push_str("    no line matched: check --labels against the rule's stream selector\n");
        }
    }
    if options.json {
        eprint!("{summary}");
    } else {
        print!("{summary}");
    }
    Ok(())
}

/// What [`replay`] read.
pub struct Replayed {
    pub lines: u64,
    /// Lines without a timestamp (they took the time of the line before).
    pub untimed: u64,
    pub skipped_long: u64,
    pub elapsed: f64,
}

impl Replayed {
    /// `replayed N lines in …`, one line.
    pub fn summary(&self) -> String {
        format!(
            "replayed {} lines in {:.2}s ({:.0} lines/s){}{}\n",
            self.lines,
            self.elapsed,
            self.lines as f64 / self.elapsed.max(1e-9),
            if self.untimed > 0 { format!(", {} without a timestamp (arrival order)", self.untimed) } else { String::new() },
            if self.skipped_long > 0 { format!(", {} longer than 1 MiB skipped", self.skipped_long) } else { String::new() },
        )
    }
}

/// Reads a log file (or stdin for `-`) line by line and hands each non-empty line to
/// `on_line` with its event time (Unix milliseconds: from its JSON time field, else the
/// newest time before it) and the stream labels of `--labels`. Shows progress on a
/// terminal for large files.
pub fn replay(args: &ReplayArgs, mut on_line: impl FnMut(i64, &Labels, &str) -> anyhow::Result<()>) -> anyhow::Result<Replayed> {
    let (input, timestamp_field) = (args.input.as_str(), args.timestamp_field.as_deref());
    let stream = parse_labels(args.labels.as_deref(), input)?;
    let (reader, total_bytes): (Box<dyn Read>, Option<u64>) = if input == "-" {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let file = File::open(input).with_context(|| format!("opening {input}"))?;
        let size = file.metadata().ok().map(|metadata| metadata.len());
        (Box::new(file), size)
    };
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    let show_progress = std::io::stderr().is_terminal() && total_bytes.is_some_and(|size| size > 16 << 20);
    let started = Instant::now();
    let mut last_progress = Instant::now();
    let (mut lines, mut bytes_read, mut skipped_long, mut untimed) = (0u64, 0u64, 0u64, 0u64);
    let mut last_at: Option<i64> = None;
    let mut buffer = Vec::with_capacity(4096);
    let time_fields = TimeFields::new(timestamp_field);
    loop {
        buffer.clear();
        let read = (&mut reader).take(MAX_LINE + 1).read_until(b'\n', &mut buffer).context("reading input")?;
        if read == 0 {
            break;
        }
        bytes_read += read as u64;
        if buffer.len() as u64 > MAX_LINE && buffer.last() != Some(&b'\n') {
            skipped_long += 1;
            skip_rest_of_line(&mut reader, &mut bytes_read)?;
            continue;
        }
        let line = match std::str::from_utf8(&buffer) {
            Ok(line) => std::borrow::Cow::Borrowed(line),
            Err(_) => String::from_utf8_lossy(&buffer),
        };
        let line = line.trim_end_matches(['\n', '\r']);
        if line.is_empty() {
            continue;
        }
        lines += 1;
        let at = match event_time(line, &time_fields) {
            Some(at) => at,
            None => {
                untimed += 1;
                last_at.unwrap_or_else(|| vigil_core::Clock::now(&vigil_core::SystemClock).0)
            }
        };
        last_at = Some(last_at.map_or(at, |last| last.max(at)));
        on_line(at, &stream, line)?;
        if show_progress && last_progress.elapsed().as_millis() >= 250 {
            last_progress = Instant::now();
            let percent = bytes_read as f64 * 100.0 / total_bytes.unwrap_or(1).max(1) as f64;
            let rate = lines as f64 / started.elapsed().as_secs_f64().max(1e-9);
            eprint!("\r{percent:5.1}%  {lines} lines  {rate:.0} lines/s ");
        }
    }
    if show_progress {
        eprint!("\r{:60}\r", "");
    }
    Ok(Replayed { lines, untimed, skipped_long, elapsed: started.elapsed().as_secs_f64() })
}

fn skip_rest_of_line(reader: &mut impl BufRead, bytes_read: &mut u64) -> anyhow::Result<()> {
    let mut sink = Vec::new();
    loop {
        sink.clear();
        let read = reader.take(MAX_LINE).read_until(b'\n', &mut sink)?;
        *bytes_read += read as u64;
        if read == 0 || sink.last() == Some(&b'\n') {
            return Ok(());
        }
    }
}

fn report(out: &mut impl Write, rule: &mut RuleRun, events: &[RuleEvent], json: bool) -> anyhow::Result<()> {
    for event in events {
        let state = match event.state {
            AlertState::Firing => {
                rule.fired += 1;
                "firing"
            }
            AlertState::Resolved => {
                rule.resolved += 1;
                "resolved"
            }
        };
        let at = Timestamp(event.at).to_rfc3339();
        if json {
            let value = serde_json::json!({"rule": rule.name, "state": state, "at": at, "labels": event.labels, "value": event.value});
            writeln!(out, "{value}")?;
        } else {
            let labels: Vec<String> = event.labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            writeln!(out, "{at}  {:<8}  {}  {{{}}}  value={}", state.to_uppercase(), rule.name, labels.join(", "), event.value)?;
        }
    }
    Ok(())
}

/// `k=v,k2=v2` into labels; without it, `filename` names the input.
fn parse_labels(text: Option<&str>, input: &str) -> anyhow::Result<Labels> {
    let Some(text) = text else {
        return Ok(BTreeMap::from([("filename".to_owned(), input.to_owned())]));
    };
    text.split(',')
        .filter(|pair| !pair.trim().is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').with_context(|| format!("invalid label `{pair}`, expected NAME=VALUE"))?;
            Ok((name.trim().to_owned(), value.trim().trim_matches('"').to_owned()))
        })
        .collect()
}
