//! `vigil backtest`: replays a log file (or stdin) through the configured rules on event
//! time and prints every firing and resolution, then how often each rule fired.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{IsTerminal, Read, Write};
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
    let show_progress = std::io::stderr().is_terminal() && total_bytes.is_some_and(|size| size > 16 << 20);
    let started = Instant::now();
    let mut last_progress = Instant::now();
    let (mut lines, mut untimed) = (0u64, 0u64);
    let mut last_at: Option<i64> = None;
    let time_fields = TimeFields::new(timestamp_field);
    let mut split = LineSplitter::new(reader);
    while let Some(bytes) = split.next_line().context("reading input")? {
        let line = match std::str::from_utf8(bytes) {
            Ok(line) => std::borrow::Cow::Borrowed(line),
            Err(_) => String::from_utf8_lossy(bytes),
        };
        let line = line.trim_end_matches('\r');
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
        if show_progress && lines % 4096 == 0 && last_progress.elapsed().as_millis() >= 250 {
            last_progress = Instant::now();
            let percent = split.consumed as f64 * 100.0 / total_bytes.unwrap_or(1).max(1) as f64;
            let rate = lines as f64 / started.elapsed().as_secs_f64().max(1e-9);
            eprint!("\r{percent:5.1}%  {lines} lines  {rate:.0} lines/s ");
        }
    }
    if show_progress {
        eprint!("\r{:60}\r", "");
    }
    Ok(Replayed { lines, untimed, skipped_long: split.skipped_long, elapsed: started.elapsed().as_secs_f64() })
}

/// Splits a reader into lines without copying them: each is a slice of one large buffer
/// (4 MiB, read at a time), handed out until the next call. A line over [`MAX_LINE`]
/// bytes is skipped and counted; a last line without a newline is a line.
struct LineSplitter<R> {
    reader: R,
    buffer: Box<[u8]>,
    /// The unread bytes are `buffer[start..end]`.
    start: usize,
    end: usize,
    eof: bool,
    /// Inside a line too long to keep, until its newline.
    skipping: bool,
    skipped_long: u64,
    /// Bytes of input handed out or skipped.
    consumed: u64,
}

const SPLIT_BUFFER: usize = 4 << 20;

impl<R: Read> LineSplitter<R> {
    fn new(reader: R) -> LineSplitter<R> {
        debug_assert!(SPLIT_BUFFER as u64 > MAX_LINE + 1);
        LineSplitter {
            reader,
            buffer: vec![0; SPLIT_BUFFER].into_boxed_slice(),
            start: 0,
            end: 0,
            eof: false,
            skipping: false,
            skipped_long: 0,
            consumed: 0,
        }
    }

    /// The next line, without its `\n`; `None` at the end of the input.
    fn next_line(&mut self) -> std::io::Result<Option<&[u8]>> {
        loop {
            let unread = &self.buffer[self.start..self.end];
            if let Some(newline) = memchr::memchr(b'\n', unread) {
                let line = self.start..self.start + newline;
                self.start += newline + 1;
                self.consumed += newline as u64 + 1;
                if std::mem::take(&mut self.skipping) {
                    continue;
                }
                if newline as u64 > MAX_LINE {
                    self.skipped_long += 1;
                    continue;
                }
                return Ok(Some(&self.buffer[line]));
            }
            if self.eof {
                if self.start == self.end {
                    return Ok(None);
                }
                let line = self.start..self.end;
                self.consumed += (self.end - self.start) as u64;
                self.start = self.end;
                if self.skipping || (line.end - line.start) as u64 > MAX_LINE {
                    self.skipped_long += u64::from(!self.skipping);
                    return Ok(None);
                }
                return Ok(Some(&self.buffer[line]));
            }
            if (self.end - self.start) as u64 > MAX_LINE {
                // No newline within the limit: the rest of this line is dropped as read.
                if !self.skipping {
                    self.skipped_long += 1;
                    self.skipping = true;
                }
                self.consumed += (self.end - self.start) as u64;
                (self.start, self.end) = (0, 0);
            } else {
                self.buffer.copy_within(self.start..self.end, 0);
                (self.start, self.end) = (0, self.end - self.start);
            }
            match self.reader.read(&mut self.buffer[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(read) => self.end += read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
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

#[cfg(test)]
mod tests {
    use super::{LineSplitter, MAX_LINE};

    /// A reader that hands out at most `step` bytes a read, so lines straddle reads.
    struct Trickle<'a> {
        bytes: &'a [u8],
        step: usize,
    }

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let count = self.bytes.len().min(self.step).min(out.len());
            out[..count].copy_from_slice(&self.bytes[..count]);
            self.bytes = &self.bytes[count..];
            Ok(count)
        }
    }

    #[test]
    fn lines_are_split_across_reads_and_long_ones_skipped() {
        let limit = MAX_LINE as usize;
        let long = "x".repeat(limit + 1);
        let longest = "y".repeat(limit);
        let input = format!("a\r\n\nb\n{long}\n{longest}\nc\n{long}{long}\nlast");
        for step in [1, 7, 4096, 1 << 20, 8 << 20] {
            let mut split = LineSplitter::new(Trickle { bytes: input.as_bytes(), step });
            let mut lines = Vec::new();
            while let Some(line) = split.next_line().expect("read") {
                lines.push(String::from_utf8(line.to_vec()).expect("utf-8"));
            }
            let expected = ["a\r", "", "b", longest.as_str(), "c", "last"];
            assert_eq!(lines.iter().map(|line| line.len()).collect::<Vec<_>>(), expected.map(str::len), "step {step}");
            assert_eq!(lines, expected, "step {step}");
            assert_eq!(split.skipped_long, 2, "step {step}");
            assert_eq!(split.consumed, input.len() as u64, "step {step}");
        }
        // A last line over the limit, without a newline, is skipped too.
        let tail = format!("ok\n{long}");
        let mut split = LineSplitter::new(Trickle { bytes: tail.as_bytes(), step: 1 << 16 });
        assert_eq!(split.next_line().expect("read"), Some(&b"ok"[..]));
        assert_eq!(split.next_line().expect("read"), None);
        assert_eq!(split.skipped_long, 1);
    }
}
