//! Service level objectives, exactly: the objective as a whole number of parts per
//! billion (`99.9%` is 999,000,000, never 0.99899999…), burn rates, the error budget,
//! and the multi-window multi-burn-rate alerts of the SRE Workbook with the factors
//! Sloth generates, scaled with the SLO's window.
//!
//! A burn alert compares, over each of its two windows, the share of bad events with
//! `factor × (1 − objective)`. The factor is a fraction — the share of the budget the
//! alert allows its long window to consume, times the SLO window over the long window
//! (2% × 30d / 1h = 14.4) — and the comparison is done in integers, so a threshold
//! is exact. A window *crosses* when its burn rate is strictly above the factor, as
//! Sloth's `>` rules are; exactly at the factor it does not. An alert fires when both
//! windows cross and resolves when either stops crossing.
//!
//! [`BurnEvaluator`] keeps the windows as buckets ([`resolution`]): one second for
//! windows up to an hour, ten seconds up to six hours, one minute beyond. A window of
//! length `W` at resolution `r`, read at time `t`, counts the events of the `W / r`
//! buckets up to and including the one that holds `t`.

use std::fmt;

pub mod replay;
pub mod series;

use series::{Cursor, EncodedBlock, Series};

/// Parts per billion: the unit of an [`Objective`].
pub const PPB: u64 = 1_000_000_000;

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// The share of events that must be good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Objective {
    good_ppb: u64,
}

impl Objective {
    /// Reads `99.9%`, `99.9` (a percentage, as Sloth writes it) or `0.999` (a ratio, as
    /// OpenSLO does), to a billionth; below 100% and above 0%.
    pub fn parse(text: &str) -> Result<Objective, String> {
        let text = text.trim();
        let (number, percent) = match text.strip_suffix('%') {
            Some(number) => (number.trim(), true),
            None => (text, false),
        };
        let invalid = || format!("invalid objective `{text}`, expected a percentage such as 99.9% or a ratio such as 0.999");
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty()
            || !whole.bytes().all(|byte| byte.is_ascii_digit())
            || !fraction.bytes().all(|byte| byte.is_ascii_digit())
        {
            return Err(invalid());
        }
        let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| invalid())? };
        // A bare number of 1 or more is a percentage.
        let percent = percent || whole >= 1;
        let (scale, places) = if percent { (10_000_000, 7) } else { (PPB, 9) };
        if fraction.len() > places {
            return Err(format!("objective `{text}` is more precise than a billionth"));
        }
        let fraction_value: u64 = if fraction.is_empty() { 0 } else { fraction.parse().map_err(|_| invalid())? };
        let fraction_ppb = fraction_value * 10u64.pow(u32::try_from(places - fraction.len()).unwrap_or(0));
        let good_ppb = whole.checked_mul(scale).and_then(|ppb| ppb.checked_add(fraction_ppb)).ok_or_else(invalid)?;
        if good_ppb == 0 || good_ppb >= PPB {
            return Err(format!("objective `{text}` must be above 0% and below 100%"));
        }
        Ok(Objective { good_ppb })
    }

    /// The objective of `good_ppb` parts per billion, above 0 and below a billion.
    pub fn from_ppb(good_ppb: u64) -> Option<Objective> {
        (good_ppb > 0 && good_ppb < PPB).then_some(Objective { good_ppb })
    }

    /// The objective in parts per billion.
    pub fn good_ppb(self) -> u64 {
        self.good_ppb
    }

    /// The error budget, `1 − objective`, in parts per billion.
    pub fn budget_ppb(self) -> u64 {
        PPB - self.good_ppb
    }

    /// The objective as a ratio, for display and metrics.
    pub fn ratio(self) -> f64 {
        self.good_ppb as f64 / PPB as f64
    }
}

impl fmt::Display for Objective {
    /// As a percentage without trailing zeros: `99.9%`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.good_ppb / 10_000_000;
        let fraction = format!("{:07}", self.good_ppb % 10_000_000);
        let fraction = fraction.trim_end_matches('0');
        if fraction.is_empty() {
            write!(formatter, "{whole}%")
        } else {
            write!(formatter, "{whole}.{fraction}%")
        }
    }
}

/// A non-negative fraction `numerator / denominator`, kept reduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Factor {
    pub numerator: u128,
    pub denominator: u128,
}

impl Factor {
    pub fn new(numerator: u128, denominator: u128) -> Factor {
        let divisor = gcd(numerator, denominator).max(1);
        Factor { numerator: numerator / divisor, denominator: (denominator / divisor).max(1) }
    }

    /// Reads a decimal such as `14.4` exactly.
    pub fn parse(text: &str) -> Result<Factor, String> {
        let text = text.trim();
        let invalid = || format!("invalid burn rate `{text}`, expected a positive number such as 14.4");
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty() && fraction.is_empty()
            || fraction.len() > 12
            || !whole.bytes().all(|byte| byte.is_ascii_digit())
            || !fraction.bytes().all(|byte| byte.is_ascii_digit())
        {
            return Err(invalid());
        }
        let digits = format!("{whole}{fraction}");
        let numerator: u128 = digits.trim_start_matches('0').parse().unwrap_or(0);
        if numerator == 0 {
            return Err(invalid());
        }
        Ok(Factor::new(numerator, 10u128.pow(u32::try_from(fraction.len()).unwrap_or(0))))
    }

    pub fn value(self) -> f64 {
        self.numerator as f64 / self.denominator as f64
    }
}

impl fmt::Display for Factor {
    /// Up to four decimals, trailing zeros dropped: `14.4`, `0.9333`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = format!("{:.4}", self.value());
        let text = text.trim_end_matches('0').trim_end_matches('.');
        formatter.write_str(text)
    }
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Which tier a burn alert is: a page wakes someone, a ticket waits for working hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Page,
    Ticket,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Page => "page",
            Tier::Ticket => "ticket",
        }
    }
}

/// One multi-window burn-rate alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BurnAlert {
    pub tier: Tier,
    /// Milliseconds.
    pub long: i64,
    pub short: i64,
    /// Both windows cross when their burn rate is strictly above this.
    pub factor: Factor,
}

impl BurnAlert {
    /// The alert that fires when the long window consumes more than `budget_percent`
    /// of an SLO window's budget (`period`, milliseconds): factor = share × period / long.
    pub fn consuming(tier: Tier, long: i64, short: i64, budget_percent: u32, period: i64) -> BurnAlert {
        let factor = Factor::new(u128::from(budget_percent) * period.unsigned_abs() as u128, 100 * long.unsigned_abs() as u128);
        BurnAlert { tier, long, short, factor }
    }
}

/// The SRE Workbook's four alerts as Sloth generates them, for an SLO window of
/// `period` milliseconds: page on 2% of the budget in 1h (and 5m) or 5% in 6h (and
/// 30m), ticket on 10% in 1d (and 2h) or 10% in 3d (and 6h). For 30 days the factors
/// are 14.4, 6, 3 and 1; for 28 days 13.44, 5.6, 2.8 and 0.9333.
pub fn default_alerts(period: i64) -> Vec<BurnAlert> {
    vec![
        BurnAlert::consuming(Tier::Page, HOUR, 5 * MINUTE, 2, period),
        BurnAlert::consuming(Tier::Page, 6 * HOUR, 30 * MINUTE, 5, period),
        BurnAlert::consuming(Tier::Ticket, DAY, 2 * HOUR, 10, period),
        BurnAlert::consuming(Tier::Ticket, 3 * DAY, 6 * HOUR, 10, period),
    ]
}

/// Events counted in a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub total: u64,
    pub bad: u64,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.total += other.total;
        self.bad += other.bad;
    }

    fn subtract(&mut self, other: Counts) {
        self.total = self.total.saturating_sub(other.total);
        self.bad = self.bad.saturating_sub(other.bad);
    }

    /// The share of bad events; 0 without events.
    pub fn error_ratio(self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.bad as f64 / self.total as f64
        }
    }

    /// Error ratio over the budget (`1 − objective`): 1 spends the budget exactly over
    /// the SLO window.
    pub fn burn_rate(self, objective: Objective) -> f64 {
        self.error_ratio() * PPB as f64 / objective.budget_ppb() as f64
    }

    /// Whether the burn rate is strictly above `factor`, computed exactly:
    /// `bad / total > factor × budget` ⇔ `bad × PPB × den > num × budget × total`.
    pub fn burns_above(self, objective: Objective, factor: Factor) -> bool {
        if self.total == 0 {
            return false;
        }
        let left = u128::from(self.bad).checked_mul(u128::from(PPB)).and_then(|value| value.checked_mul(factor.denominator));
        let right =
            factor.numerator.checked_mul(u128::from(objective.budget_ppb())).and_then(|value| value.checked_mul(u128::from(self.total)));
        match (left, right) {
            (Some(left), Some(right)) => left > right,
            // Beyond 10^38: close enough in floating point.
            _ => self.burn_rate(objective) > factor.value(),
        }
    }
}

/// How much of the SLO window's budget `counts` (the events of that window) used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// Share of the budget consumed; above 1 when it is overspent.
    pub consumed: f64,
    /// `1 − consumed`: negative when overspent, never clamped.
    pub remaining: f64,
}

impl Budget {
    pub fn of(counts: Counts, objective: Objective) -> Budget {
        let consumed = if counts.total == 0 { 0.0 } else { counts.burn_rate(objective) };
        Budget { consumed, remaining: 1.0 - consumed }
    }

    /// Milliseconds until the remaining budget is spent at `burn_rate` (1 spends the whole
    /// budget in `period`): zero when it already is, none when nothing burns.
    pub fn exhausted_in(self, burn_rate: f64, period: i64) -> Option<i64> {
        if self.remaining <= 0.0 {
            return Some(0);
        }
        (burn_rate > 0.0).then(|| (self.remaining / burn_rate * period as f64) as i64)
    }
}

/// The bucket width a window of `length` milliseconds is kept at.
pub fn resolution(length: i64) -> i64 {
    if length <= HOUR {
        SECOND
    } else if length <= 6 * HOUR {
        10 * SECOND
    } else {
        MINUTE
    }
}

/// Window `index` as a bit of a mask; past 64 windows, every bit (all are looked at).
#[inline]
fn window_bit(index: usize) -> u64 {
    if index < 64 {
        1 << index
    } else {
        u64::MAX
    }
}

/// One window's running sum over its series.
#[derive(Debug, Clone)]
struct Window {
    length: i64,
    series: usize,
    /// In buckets.
    span: i64,
    /// The newest bucket it covers; it covers `last - span + 1 ..= last`.
    last: i64,
    sum: Counts,
    /// At its oldest bucket, in this node's series and in the other nodes'.
    tail: Cursor,
    others_tail: Cursor,
    /// The oldest bucket it covers that holds events (in either), `i64::MAX` when none:
    /// the next to leave it.
    next_out: i64,
}

impl Window {
    /// Finds `next_out` again from the tails.
    fn seek_next_out(&mut self, series: &Series, others: &Series) {
        let own = series.next_nonempty(&self.tail, self.last + 1);
        let others = if others.is_empty() { None } else { others.next_nonempty(&self.others_tail, self.last + 1) };
        self.next_out = own.into_iter().chain(others).min().unwrap_or(i64::MAX);
    }

    /// An event counted in bucket `index`, which it covers; whether it is the next to
    /// leave now.
    fn counted(&mut self, index: i64) -> bool {
        let next = index < self.next_out;
        self.next_out = self.next_out.min(index);
        next
    }
}

/// A window's burn rate at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowBurn {
    /// Milliseconds.
    pub length: i64,
    pub counts: Counts,
    pub burn_rate: f64,
}

/// A burn alert that started or stopped firing, at `at` (the event or bucket edge that
/// made it cross).
#[derive(Debug, Clone, PartialEq)]
pub struct BurnChange {
    /// Index into the evaluator's alerts.
    pub alert: usize,
    pub firing: bool,
    pub at: i64,
    pub long: WindowBurn,
    pub short: WindowBurn,
}

/// `bad / total > factor × budget`, as `bad × left > total × right` with both sides
/// precomputed; in 64-bit factors when they fit, so each side is one multiplication.
#[derive(Debug, Clone, Copy)]
struct Threshold {
    /// Both sides' factors when each fits in 64 bits (then a product fits in 128).
    narrow: Option<(u64, u64)>,
    factor: Factor,
}

impl Threshold {
    fn new(objective: Objective, factor: Factor) -> Threshold {
        let left = u64::try_from(u128::from(PPB).saturating_mul(factor.denominator)).ok();
        let right = u64::try_from(factor.numerator.saturating_mul(u128::from(objective.budget_ppb()))).ok();
        Threshold { narrow: left.zip(right), factor }
    }

    #[inline]
    fn crossed(&self, counts: Counts, objective: Objective) -> bool {
        match self.narrow {
            Some((left, right)) => {
                counts.total > 0 && u128::from(counts.bad) * u128::from(left) > u128::from(counts.total) * u128::from(right)
            }
            None => counts.burns_above(objective, self.factor),
        }
    }
}

/// Which alerts an evaluation looks at: after a window lost events any may change; after
/// a good event only firing ones may resolve; after a bad one only quiet ones may fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    All,
    Firing,
    Quiet,
}

impl Scope {
    /// The alerts events of `counts` can change: good ones lower the error ratio (only a
    /// firing alert may resolve), bad ones raise it (only a quiet one may fire).
    #[inline]
    fn of_event(counts: Counts) -> Scope {
        if counts.total == 0 {
            Scope::All
        } else if counts.bad == 0 {
            Scope::Firing
        } else if counts.bad == counts.total {
            Scope::Quiet
        } else {
            Scope::All
        }
    }
}

/// One SLO's windows and the state of its burn alerts.
#[derive(Debug, Clone)]
pub struct BurnEvaluator {
    objective: Objective,
    alerts: Vec<BurnAlert>,
    thresholds: Vec<Threshold>,
    /// One series per bucket width, and how many buckets its longest window reads.
    series: Vec<Series>,
    /// The finest width: every other is a multiple of it; and its series.
    finest: i64,
    finest_series: usize,
    keep: Vec<i64>,
    /// Per width too: what other nodes sharing the store counted (empty on one node).
    /// Windows read both; only `series` is this node's to save.
    others: Vec<Series>,
    windows: Vec<Window>,
    /// Per alert: (long window, short window) indices, and the two as a bit mask of
    /// windows (all bits when there are more than 64 windows).
    pairs: Vec<(usize, usize)>,
    pair_masks: Vec<u64>,
    firing: Vec<bool>,
    /// The newest time seen, and per series the bucket it falls in and where that
    /// bucket ends (so a time within it needs no division to tell).
    now: i64,
    now_buckets: Vec<i64>,
    bucket_ends: Vec<i64>,
    /// [`BurnEvaluator::next_expiry`], until a window moves or takes an event.
    expiry: Option<Option<i64>>,
    /// Events at the newest time's bucket not yet added to the series and windows: a busy
    /// stream's events within one bucket of the finest width are added once, when time
    /// moves on (alerts read the windows with them).
    pending: Counts,
    /// Late events (older than the newest time's bucket) not yet added to the series, as
    /// (series, bucket, counts): a late batch rewrites each sealed block it reaches once.
    /// The windows count them at once; the series before anything reads them.
    late: Vec<(usize, i64, Counts)>,
}

/// Late events held for the series at most.
const MAX_LATE: usize = 4096;

/// One stored block of one series, as saved to rebuild the windows after a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlock {
    /// The series' bucket width, milliseconds.
    pub width: i64,
    pub block: EncodedBlock,
}

/// What [`BurnEvaluator::restore`] rebuilt.
#[derive(Debug, Clone, Default)]
pub struct Restored {
    /// The alerts that fire on the rebuilt windows.
    pub changes: Vec<BurnChange>,
    /// Blocks left out: of a width no window reads, or unreadable.
    pub skipped: Vec<String>,
}

impl BurnEvaluator {
    /// `extra` windows (e.g. the SLO window, for the budget) are kept besides the alerts'.
    pub fn new(objective: Objective, alerts: Vec<BurnAlert>, extra: &[i64]) -> BurnEvaluator {
        let mut evaluator = BurnEvaluator {
            objective,
            thresholds: alerts.iter().map(|alert| Threshold::new(objective, alert.factor)).collect(),
            alerts: Vec::new(),
            series: Vec::new(),
            finest: SECOND,
            finest_series: 0,
            keep: Vec::new(),
            others: Vec::new(),
            windows: Vec::new(),
            pairs: Vec::new(),
            firing: Vec::new(),
            now: i64::MIN,
            now_buckets: Vec::new(),
            bucket_ends: Vec::new(),
            expiry: None,
            pending: Counts::default(),
            late: Vec::new(),
            pair_masks: Vec::new(),
        };
        for alert in &alerts {
            let pair = (evaluator.window(alert.long), evaluator.window(alert.short));
            evaluator.pairs.push(pair);
        }
        for &length in extra {
            evaluator.window(length);
        }
        evaluator.firing = vec![false; alerts.len()];
        evaluator.pair_masks = evaluator.pairs.iter().map(|&(long, short)| window_bit(long) | window_bit(short)).collect();
        evaluator.alerts = alerts;
        evaluator.finest = evaluator.series.iter().map(Series::width).min().unwrap_or(SECOND);
        evaluator.finest_series = evaluator.series.iter().position(|series| series.width() == evaluator.finest).unwrap_or(0);
        debug_assert!(evaluator.series.iter().all(|series| series.width() % evaluator.finest == 0));
        evaluator
    }

    fn window(&mut self, length: i64) -> usize {
        let length = length.max(1);
        if let Some(index) = self.windows.iter().position(|window| window.length == length) {
            return index;
        }
        let width = resolution(length);
        let span = (length + width - 1) / width;
        let series = match self.series.iter().position(|series| series.width() == width) {
            Some(series) => series,
            None => {
                self.series.push(Series::new(width));
                self.others.push(Series::new(width));
                self.keep.push(0);
                self.now_buckets.push(i64::MIN);
                self.bucket_ends.push(i64::MIN);
                self.series.len() - 1
            }
        };
        self.keep[series] = self.keep[series].max(span);
        let tail = Cursor::at(i64::MIN);
        self.windows.push(Window {
            length,
            series,
            span,
            last: i64::MIN,
            sum: Counts::default(),
            tail,
            others_tail: tail,
            next_out: i64::MAX,
        });
        self.windows.len() - 1
    }

    /// The newest time seen (events and moves), if any.
    pub fn now(&self) -> Option<i64> {
        (self.now != i64::MIN).then_some(self.now)
    }

    /// The blocks that took events since the last call, encoded (those already out of
    /// every window are left out).
    pub fn take_dirty(&mut self) -> Vec<StoredBlock> {
        self.flush();
        self.flush_late();
        let mut blocks = Vec::new();
        for series in &mut self.series {
            let width = series.width();
            blocks.extend(series.take_dirty().into_iter().map(|block| StoredBlock { width, block }));
        }
        blocks
    }

    /// Every block it holds, encoded.
    pub fn blocks(&mut self) -> Vec<StoredBlock> {
        self.flush();
        self.flush_late();
        let mut blocks = Vec::new();
        for series in &self.series {
            let width = series.width();
            blocks.extend(series.blocks().into_iter().map(|block| StoredBlock { width, block }));
        }
        blocks
    }

    /// Per bucket width, the oldest bucket a window still reads at the newest time seen:
    /// stored blocks that end before it can go.
    pub fn oldest_kept(&self) -> Vec<(i64, i64)> {
        if self.now == i64::MIN {
            return Vec::new();
        }
        self.series.iter().zip(&self.keep).map(|(series, keep)| (series.width(), self.now.div_euclid(series.width()) - keep + 1)).collect()
    }

    /// Rebuilds the windows from stored blocks, this node's (`own`) and other nodes'
    /// (`others`), added to what it holds, as they were at `now`; reports the alerts that
    /// fire at `now`.
    pub fn restore(&mut self, own: &[StoredBlock], others: &[StoredBlock], now: i64) -> Restored {
        self.flush_late();
        let mut skipped = Vec::new();
        for (blocks, layer) in [(own, &mut self.series), (others, &mut self.others)] {
            for stored in blocks {
                match layer.iter_mut().find(|series| series.width() == stored.width) {
                    Some(series) => {
                        if let Err(error) = series.load(&stored.block) {
                            skipped.push(error.to_string());
                        }
                    }
                    None => skipped.push(format!("block of {} ms buckets, which no window reads", stored.width)),
                }
            }
        }
        for window in &mut self.windows {
            window.last = i64::MIN;
        }
        self.now = i64::MIN;
        self.now_buckets.fill(i64::MIN);
        self.bucket_ends.fill(i64::MIN);
        self.expiry = None;
        self.move_to(now);
        Restored { changes: self.evaluate(now, Scope::All, u64::MAX), skipped }
    }

    /// Adds what other nodes counted (`(width, bucket, counts)`, grown since they were
    /// last seen) to the windows, and reports the alerts that change. Time moves on to
    /// the end of the newest bucket of the finest width they counted in, if that is
    /// later than the newest time seen: the windows then hold every node's events up to
    /// there. Buckets of widths it does not keep, or older than every window, are left
    /// out.
    pub fn observe_others(&mut self, counted: &[(i64, i64, Counts)]) -> Vec<BurnChange> {
        self.flush();
        self.flush_late();
        let mut added = false;
        let mut newest = i64::MIN;
        for &(width, index, counts) in counted {
            let Some(position) = self.series.iter().position(|series| series.width() == width) else { continue };
            if counts.total == 0 || self.now != i64::MIN && index <= self.now.div_euclid(width) - self.keep[position] {
                continue;
            }
            if width == self.finest {
                newest = newest.max((index + 1) * width - 1);
            }
            let counts = Counts { total: counts.total, bad: counts.bad.min(counts.total) };
            self.others[position].add(index, counts);
            for window in self.windows.iter_mut().filter(|window| window.series == position) {
                if index <= window.last && index > window.last - window.span {
                    window.sum.add(counts);
                    window.counted(index);
                }
            }
            added = true;
        }
        if !added {
            return Vec::new();
        }
        self.expiry = None;
        let mut changes = Vec::new();
        if newest > self.now {
            changes.extend(self.advance(newest));
        }
        if self.now != i64::MIN {
            changes.extend(self.evaluate(self.now, Scope::All, u64::MAX));
        }
        changes
    }

    /// Alert `alert` as it stands: firing or not, with its windows now.
    pub fn state(&self, alert: usize) -> BurnChange {
        let (long, short) = self.pairs[alert];
        BurnChange { alert, firing: self.firing[alert], at: self.now, long: self.burn(long), short: self.burn(short) }
    }

    /// Whether other nodes' counts are in the windows.
    pub fn has_others(&self) -> bool {
        self.others.iter().any(|series| !series.is_empty())
    }

    pub fn alerts(&self) -> &[BurnAlert] {
        &self.alerts
    }

    pub fn objective(&self) -> Objective {
        self.objective
    }

    /// Whether each alert fires now.
    pub fn firing(&self) -> &[bool] {
        &self.firing
    }

    /// Counts `total` events at `at`, `bad` of them bad, and reports the alerts that
    /// change: at each window edge passed since the newest time seen (as
    /// [`BurnEvaluator::advance`]), then on this event. A late event (before the newest
    /// seen) counts in the windows that still cover it.
    pub fn observe(&mut self, at: i64, total: u64, bad: u64) -> Vec<BurnChange> {
        let counts = Counts { total, bad: bad.min(total) };
        let same_bucket = at >= self.now && self.bucket_ends.get(self.finest_series).is_some_and(|end| at < *end);
        if same_bucket && self.now != i64::MIN {
            // Within the newest bucket of every width, which every window covers: the
            // event waits in `pending` (added to the windows when time moves), and only
            // the alerts it can change are looked at.
            if self.pending.total == 0 {
                // A window that held nothing now holds these: its next expiry is theirs.
                self.expiry = None;
            }
            self.pending.add(counts);
            self.now = at;
            return self.evaluate(at, Scope::of_event(counts), u64::MAX);
        }
        self.flush();
        let mut changes = self.pass_edges_before(at);
        let lost = if at <= self.now {
            0
        } else if self.bucket_ends.get(self.finest_series).is_some_and(|end| at < *end) {
            // Within the same bucket of every width: nothing moves.
            self.now = at;
            0
        } else {
            self.move_to(at)
        };
        let on_time = at >= self.now;
        for (index, ((series, keep), now_bucket)) in self.series.iter_mut().zip(&self.keep).zip(&self.now_buckets).enumerate() {
            let bucket = if on_time { *now_bucket } else { at.div_euclid(series.width()) };
            if bucket <= now_bucket - keep {
                continue;
            }
            if on_time {
                series.add(bucket, counts);
            } else {
                match self.late.last_mut() {
                    Some((last_series, last_bucket, last)) if *last_series == index && *last_bucket == bucket => last.add(counts),
                    _ => self.late.push((index, bucket, counts)),
                }
            }
        }
        if self.late.len() >= MAX_LATE {
            self.flush_late();
        }
        let mut counted = 0u64;
        for (index, window) in self.windows.iter_mut().enumerate() {
            let bucket = if on_time { self.now_buckets[window.series] } else { at.div_euclid(self.series[window.series].width()) };
            if bucket <= window.last && bucket > window.last - window.span {
                window.sum.add(counts);
                counted |= window_bit(index);
                if window.counted(bucket) {
                    self.expiry = None;
                }
            }
        }
        let scope = if lost != 0 { Scope::All } else { Scope::of_event(counts) };
        changes.extend(self.evaluate(at.max(self.now), scope, lost | counted));
        changes
    }

    /// Moves time on to `at` without an event: windows drop what they no longer cover,
    /// and alerts that stop (or start) crossing change, each at the edge where it does.
    pub fn advance(&mut self, at: i64) -> Vec<BurnChange> {
        if at <= self.now {
            return Vec::new();
        }
        let mut changes = self.pass_edges_before(at);
        let lost = self.move_to(at);
        if lost != 0 {
            changes.extend(self.evaluate(at, Scope::All, lost));
        }
        changes
    }

    /// Evaluates at every edge where a bucket leaves a window, before `at`.
    fn pass_edges_before(&mut self, at: i64) -> Vec<BurnChange> {
        let mut changes = Vec::new();
        if self.now == i64::MIN || at <= self.now {
            return changes;
        }
        // Every width is a multiple of the finest, so its bucket starts are every edge.
        // A step over one or two of them (a steady stream) visits each; a longer one
        // looks for where events leave.
        let finest = self.finest;
        // The first edge after now is where now's finest bucket ends.
        let Some(&first) = self.bucket_ends.get(self.finest_series) else { return changes };
        if at <= first {
            return changes;
        }
        if at - first <= 2 * finest {
            let mut edge = first;
            while edge < at {
                let lost = self.move_to(edge);
                if lost != 0 {
                    changes.extend(self.evaluate(edge, Scope::All, lost));
                }
                edge += finest;
            }
            return changes;
        }
        while let Some(expiry) = self.next_expiry().filter(|&expiry| expiry < at && expiry > self.now) {
            let lost = self.move_to(expiry);
            if lost != 0 {
                changes.extend(self.evaluate(expiry, Scope::All, lost));
            }
        }
        changes
    }

    /// The next time at which a bucket leaves a window: when an alert may change without
    /// an event. `None` when no window holds anything.
    pub fn next_expiry(&mut self) -> Option<i64> {
        if let Some(expiry) = self.expiry {
            return expiry;
        }
        // Pending events are in every window's newest bucket (not flushed here: an SLO
        // asked on every line of its stream would lose the batching).
        let pending = self.pending.total > 0;
        let expiry = self
            .windows
            .iter()
            .map(|window| if pending { window.next_out.min(window.last) } else { window.next_out })
            .zip(&self.windows)
            .filter(|(next_out, _)| *next_out != i64::MAX)
            .map(|(next_out, window)| (next_out + window.span) * self.series[window.series].width())
            .min();
        self.expiry = Some(expiry);
        expiry
    }

    /// Adds the late events to the series, a block at a time (the windows have them).
    fn flush_late(&mut self) {
        if self.late.is_empty() {
            return;
        }
        let mut late = std::mem::take(&mut self.late);
        late.sort_unstable_by_key(|(series, bucket, _)| (*series, *bucket));
        let mut added = Vec::with_capacity(late.len());
        for (index, series) in self.series.iter_mut().enumerate() {
            added.clear();
            added.extend(late.iter().filter(|(of, _, _)| *of == index).map(|(_, bucket, counts)| (*bucket, *counts)));
            series.add_many(&added);
        }
        late.clear();
        self.late = late;
    }

    /// Adds the pending events to the series and windows.
    fn flush(&mut self) {
        if self.pending.total == 0 {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        for (series, bucket) in self.series.iter_mut().zip(&self.now_buckets) {
            series.add(*bucket, pending);
        }
        for window in &mut self.windows {
            window.sum.add(pending);
            if window.counted(window.last) {
                self.expiry = None;
            }
        }
    }

    /// Moves every window to `at`; the windows that lost events, as a mask.
    fn move_to(&mut self, at: i64) -> u64 {
        self.flush();
        self.flush_late();
        self.now = at;
        // Which series moved to another bucket: at most a few widths.
        let mut moved = [false; 4];
        let mut any = false;
        for index in 0..self.series.len() {
            if at < self.bucket_ends[index] && at >= self.bucket_ends[index] - self.series[index].width() {
                continue;
            }
            let width = self.series[index].width();
            let bucket = if at >= self.bucket_ends[index] && at < self.bucket_ends[index].saturating_add(width) {
                self.now_buckets[index] + 1
            } else {
                at.div_euclid(width)
            };
            self.now_buckets[index] = bucket;
            self.bucket_ends[index] = (bucket + 1) * width;
            if let Some(slot) = moved.get_mut(index) {
                *slot = true;
            }
            any = true;
        }
        if !any {
            return 0;
        }
        self.expiry = None;
        let mut lost = 0;
        for (index, window) in self.windows.iter_mut().enumerate() {
            let bucket = self.now_buckets[window.series];
            if bucket == window.last {
                continue;
            }
            let (series, others) = (&self.series[window.series], &self.others[window.series]);
            let oldest = bucket - window.span + 1;
            if window.last == i64::MIN || bucket - window.last >= window.span {
                if window.sum.total > 0 {
                    lost |= window_bit(index);
                }
                window.sum = series.sum(oldest, bucket + 1);
                window.sum.add(others.sum(oldest, bucket + 1));
                window.tail = Cursor::at(oldest);
                window.others_tail = Cursor::at(oldest);
                window.last = bucket;
                window.seek_next_out(series, others);
                continue;
            }
            // The buckets that left, from the window's tail. None of this node's enter,
            // as no event is newer than the time it moves to; other nodes may have
            // counted past it.
            let mut gone = series.take(&mut window.tail, oldest);
            let mut entered = false;
            if others.is_empty() {
                window.others_tail = Cursor::at(oldest);
            } else {
                gone.add(others.take(&mut window.others_tail, oldest));
                let entering = others.sum(window.last + 1, bucket + 1);
                entered = entering.total > 0;
                if entered {
                    lost |= window_bit(index);
                }
                window.sum.add(entering);
            }
            if gone.total > 0 {
                lost |= window_bit(index);
            }
            window.sum.subtract(gone);
            window.last = bucket;
            if window.next_out < oldest || entered && window.next_out == i64::MAX {
                // Usually (a steady stream) the bucket now oldest holds events itself.
                match series.holds_events(&window.tail) {
                    Some(true) if others.is_empty() => window.next_out = oldest,
                    _ => window.seek_next_out(series, others),
                }
            }
        }
        for index in 0..self.series.len() {
            // `resolution` gives three widths; any beyond four are pruned every time.
            if moved.get(index).copied().unwrap_or(true) {
                let oldest = self.now_buckets[index] - self.keep[index] + 1;
                self.series[index].prune(oldest);
                if !self.others[index].is_empty() {
                    self.others[index].prune(oldest);
                }
            }
        }
        lost
    }

    fn burn(&self, window: usize) -> WindowBurn {
        let window = &self.windows[window];
        // Every window covers the newest bucket, where pending events are.
        let mut counts = window.sum;
        counts.add(self.pending);
        WindowBurn { length: window.length, counts, burn_rate: counts.burn_rate(self.objective) }
    }

    /// The burn rate over the window of `length` milliseconds, if it is kept.
    pub fn window_burn(&self, length: i64) -> Option<WindowBurn> {
        self.windows.iter().position(|window| window.length == length).map(|index| self.burn(index))
    }

    /// Heap bytes its series hold, for the benchmark's accounting.
    pub fn heap_bytes(&self) -> usize {
        self.series.iter().chain(&self.others).map(Series::heap_bytes).sum::<usize>()
            + self.late.capacity() * std::mem::size_of::<(usize, i64, Counts)>()
    }

    /// Looks at the alerts of `scope` that read a window in `changed` (a mask).
    fn evaluate(&mut self, at: i64, scope: Scope, changed: u64) -> Vec<BurnChange> {
        let mut changes = Vec::new();
        // A good event when nothing fires (a steady stream's usual line) changes nothing.
        if scope == Scope::Firing && !self.firing.contains(&true) || scope == Scope::Quiet && !self.firing.contains(&false) {
            return changes;
        }
        for (index, (((&(long, short), threshold), firing), mask)) in
            self.pairs.iter().zip(&self.thresholds).zip(&mut self.firing).zip(&self.pair_masks).enumerate()
        {
            let was = *firing;
            if changed & mask == 0 || scope == Scope::Firing && !was || scope == Scope::Quiet && was {
                continue;
            }
            // Every window covers the newest bucket, where the pending events are.
            let (mut long_sum, mut short_sum) = (self.windows[long].sum, self.windows[short].sum);
            long_sum.add(self.pending);
            short_sum.add(self.pending);
            let now = threshold.crossed(long_sum, self.objective) && threshold.crossed(short_sum, self.objective);
            if now != was {
                *firing = now;
                let burn = |length, counts: Counts| WindowBurn { length, counts, burn_rate: counts.burn_rate(self.objective) };
                let (long, short) = (burn(self.windows[long].length, long_sum), burn(self.windows[short].length, short_sum));
                changes.push(BurnChange { alert: index, firing: now, at, long, short });
            }
        }
        changes
    }
}

#[cfg(test)]
mod tests;
