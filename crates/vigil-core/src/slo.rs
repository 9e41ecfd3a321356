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

use std::collections::VecDeque;
use std::fmt;

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

/// Counts per bucket at one resolution, oldest first; only buckets that hold events.
#[derive(Debug, Clone)]
struct Ring {
    width: i64,
    /// The longest window read from it, in buckets.
    keep: i64,
    buckets: VecDeque<(i64, Counts)>,
    /// Buckets dropped from the front so far: a position plus this stays valid as
    /// the front goes.
    popped: usize,
    /// Bumped when a late event inserts a bucket in the middle, which moves positions.
    inserts: u64,
}

impl Ring {
    fn add(&mut self, bucket: i64, counts: Counts) {
        match self.buckets.back_mut() {
            Some((last, sum)) if *last == bucket => sum.add(counts),
            Some((last, _)) if *last > bucket => {
                // A late event: into its bucket, wherever it is.
                let position = self.buckets.partition_point(|(index, _)| *index < bucket);
                match self.buckets.get_mut(position) {
                    Some((index, sum)) if *index == bucket => sum.add(counts),
                    _ => {
                        self.buckets.insert(position, (bucket, counts));
                        self.inserts += 1;
                    }
                }
            }
            _ => self.buckets.push_back((bucket, counts)),
        }
    }

    /// Drops buckets no window reads at `bucket` any more.
    fn prune(&mut self, bucket: i64) {
        while self.buckets.front().is_some_and(|(index, _)| *index <= bucket - self.keep) {
            self.buckets.pop_front();
            self.popped += 1;
        }
    }

    /// The sum of buckets `from..to`.
    fn sum(&self, from: i64, to: i64) -> Counts {
        let start = self.buckets.partition_point(|(index, _)| *index < from);
        let mut sum = Counts::default();
        for (index, counts) in self.buckets.range(start..) {
            if *index >= to {
                break;
            }
            sum.add(*counts);
        }
        sum
    }
}

/// One window's running sum over its ring.
#[derive(Debug, Clone)]
struct Window {
    length: i64,
    ring: usize,
    /// In buckets.
    span: i64,
    /// The newest bucket it covers; it covers `last - span + 1 ..= last`.
    last: i64,
    sum: Counts,
    /// Where its oldest bucket is in the ring (plus the ring's `popped`), valid while
    /// the ring's `inserts` is still the second number.
    cursor: Option<(usize, u64)>,
}

impl Window {
    /// The ring position of the first bucket it covers.
    fn position(&self, ring: &Ring) -> usize {
        match self.cursor {
            Some((absolute, inserts)) if inserts == ring.inserts && absolute >= ring.popped => absolute - ring.popped,
            _ => {
                let oldest = self.last - self.span + 1;
                ring.buckets.partition_point(|(index, _)| *index < oldest)
            }
        }
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

/// One SLO's windows and the state of its burn alerts.
#[derive(Debug, Clone)]
pub struct BurnEvaluator {
    objective: Objective,
    alerts: Vec<BurnAlert>,
    rings: Vec<Ring>,
    windows: Vec<Window>,
    /// Per alert: (long window, short window) indices.
    pairs: Vec<(usize, usize)>,
    firing: Vec<bool>,
    /// The newest time seen.
    now: i64,
    /// [`BurnEvaluator::next_expiry`], computed again only when a window moved to a
    /// new bucket or stopped being empty.
    expiry: Option<i64>,
    expiry_stale: bool,
    /// Buckets (width, index) that took events since [`BurnEvaluator::take_changed`],
    /// each once per run of events in it.
    changed: Vec<(i64, i64)>,
}

/// One bucket's counts, as stored to rebuild the windows after a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredBucket {
    /// The bucket's width, milliseconds.
    pub width: i64,
    /// Its index: it starts at `index × width`.
    pub index: i64,
    pub counts: Counts,
}

impl BurnEvaluator {
    /// `extra` windows (e.g. the SLO window, for the budget) are kept besides the alerts'.
    pub fn new(objective: Objective, alerts: Vec<BurnAlert>, extra: &[i64]) -> BurnEvaluator {
        let mut evaluator = BurnEvaluator {
            objective,
            alerts: Vec::new(),
            rings: Vec::new(),
            windows: Vec::new(),
            pairs: Vec::new(),
            firing: Vec::new(),
            now: i64::MIN,
            expiry: None,
            expiry_stale: false,
            changed: Vec::new(),
        };
        for alert in &alerts {
            let pair = (evaluator.window(alert.long), evaluator.window(alert.short));
            evaluator.pairs.push(pair);
        }
        for &length in extra {
            evaluator.window(length);
        }
        evaluator.firing = vec![false; alerts.len()];
        evaluator.alerts = alerts;
        evaluator
    }

    fn window(&mut self, length: i64) -> usize {
        let length = length.max(1);
        if let Some(index) = self.windows.iter().position(|window| window.length == length) {
            return index;
        }
        let width = resolution(length);
        let span = (length + width - 1) / width;
        let ring = match self.rings.iter().position(|ring| ring.width == width) {
            Some(ring) => ring,
            None => {
                self.rings.push(Ring { width, keep: 0, buckets: VecDeque::new(), popped: 0, inserts: 0 });
                self.rings.len() - 1
            }
        };
        self.rings[ring].keep = self.rings[ring].keep.max(span);
        self.windows.push(Window { length, ring, span, last: i64::MIN, sum: Counts::default(), cursor: None });
        self.windows.len() - 1
    }

    /// The newest time seen (events and moves), if any.
    pub fn now(&self) -> Option<i64> {
        (self.now != i64::MIN).then_some(self.now)
    }

    /// The buckets that took events since the last call, with their counts now (those
    /// already out of every window are left out).
    pub fn take_changed(&mut self) -> Vec<StoredBucket> {
        let mut changed = std::mem::take(&mut self.changed);
        changed.sort_unstable();
        changed.dedup();
        changed
            .into_iter()
            .filter_map(|(width, index)| {
                let ring = self.rings.iter().find(|ring| ring.width == width)?;
                let position = ring.buckets.partition_point(|(bucket, _)| *bucket < index);
                match ring.buckets.get(position) {
                    Some((bucket, counts)) if *bucket == index => Some(StoredBucket { width, index, counts: *counts }),
                    _ => None,
                }
            })
            .collect()
    }

    /// Per bucket width, the oldest index a window still reads at the newest time seen:
    /// stored buckets older than that can go.
    pub fn oldest_kept(&self) -> Vec<(i64, i64)> {
        if self.now == i64::MIN {
            return Vec::new();
        }
        self.rings.iter().map(|ring| (ring.width, self.now.div_euclid(ring.width) - ring.keep + 1)).collect()
    }

    /// Rebuilds the windows from stored buckets as they were at `now` (buckets of widths
    /// it does not keep, or newer than `now`, are ignored), and reports the alerts that
    /// fire at `now`.
    pub fn restore(&mut self, buckets: &[StoredBucket], now: i64) -> Vec<BurnChange> {
        for stored in buckets {
            if let Some(ring) = self.rings.iter_mut().find(|ring| ring.width == stored.width) {
                if stored.index <= now.div_euclid(ring.width) && stored.counts.total > 0 {
                    ring.add(stored.index, stored.counts);
                }
            }
        }
        for window in &mut self.windows {
            window.last = i64::MIN;
        }
        self.now = i64::MIN;
        self.move_to(now);
        self.expiry_stale = true;
        self.evaluate(now)
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

    /// Counts `total` events at `at`, `bad` of them bad, then reports the alerts that
    /// change. A late event (before the newest seen) counts in the windows that still
    /// cover it.
    pub fn observe(&mut self, at: i64, total: u64, bad: u64) -> Vec<BurnChange> {
        let counts = Counts { total, bad: bad.min(total) };
        if at > self.now {
            self.move_to(at);
        }
        let rings = self.rings.len();
        for ring in &mut self.rings {
            let bucket = at.div_euclid(ring.width);
            ring.add(bucket, counts);
            if !self.changed.iter().rev().take(rings).any(|changed| *changed == (ring.width, bucket)) {
                self.changed.push((ring.width, bucket));
            }
        }
        for window in &mut self.windows {
            let bucket = at.div_euclid(self.rings[window.ring].width);
            if bucket <= window.last && bucket > window.last - window.span {
                self.expiry_stale |= window.sum.total == 0 || bucket < window.last;
                window.sum.add(counts);
            }
        }
        self.evaluate(at.max(self.now))
    }

    /// Moves time on to `at` without an event: windows drop what they no longer cover,
    /// and alerts that stop (or start) crossing change.
    pub fn advance(&mut self, at: i64) -> Vec<BurnChange> {
        if at <= self.now {
            return Vec::new();
        }
        self.move_to(at);
        self.evaluate(at)
    }

    /// The next time at which a bucket leaves a window: when an alert may change without
    /// an event. `None` when no window holds anything.
    pub fn next_expiry(&mut self) -> Option<i64> {
        if self.expiry_stale {
            self.expiry = self.find_expiry();
            self.expiry_stale = false;
        }
        self.expiry
    }

    fn find_expiry(&self) -> Option<i64> {
        self.windows
            .iter()
            .filter(|window| window.sum.total > 0)
            .filter_map(|window| {
                let ring = &self.rings[window.ring];
                ring.buckets.get(window.position(ring)).map(|(index, _)| (index + window.span) * ring.width)
            })
            .min()
    }

    fn move_to(&mut self, at: i64) {
        self.now = at;
        for window in &mut self.windows {
            let ring = &self.rings[window.ring];
            let bucket = at.div_euclid(ring.width);
            if bucket == window.last {
                continue;
            }
            self.expiry_stale = true;
            let oldest = bucket - window.span + 1;
            if window.last == i64::MIN || bucket - window.last >= window.span {
                window.sum = ring.sum(oldest, bucket + 1);
                window.last = bucket;
                window.cursor = None;
                let position = window.position(ring);
                window.cursor = Some((position + ring.popped, ring.inserts));
            } else {
                // The buckets that left, walked from the window's cursor; none enter (an
                // event is never newer than the time it moves to).
                let mut position = window.position(ring);
                while let Some((index, counts)) = ring.buckets.get(position) {
                    if *index >= oldest {
                        break;
                    }
                    window.sum.subtract(*counts);
                    position += 1;
                }
                if ring.buckets.back().is_some_and(|(index, _)| *index > window.last) {
                    window.sum.add(ring.sum(window.last + 1, bucket + 1));
                }
                window.last = bucket;
                window.cursor = Some((position + ring.popped, ring.inserts));
            }
        }
        for ring in &mut self.rings {
            let bucket = at.div_euclid(ring.width);
            ring.prune(bucket);
        }
    }

    fn burn(&self, window: usize) -> WindowBurn {
        let window = &self.windows[window];
        WindowBurn { length: window.length, counts: window.sum, burn_rate: window.sum.burn_rate(self.objective) }
    }

    /// The burn rate over the window of `length` milliseconds, if it is kept.
    pub fn window_burn(&self, length: i64) -> Option<WindowBurn> {
        self.windows.iter().position(|window| window.length == length).map(|index| self.burn(index))
    }

    fn evaluate(&mut self, at: i64) -> Vec<BurnChange> {
        let mut changes = Vec::new();
        for (index, alert) in self.alerts.iter().enumerate() {
            let (long, short) = self.pairs[index];
            let crosses = |window: usize| self.windows[window].sum.burns_above(self.objective, alert.factor);
            let firing = crosses(long) && crosses(short);
            if firing != self.firing[index] {
                changes.push(BurnChange { alert: index, firing, at, long: self.burn(long), short: self.burn(short) });
            }
        }
        for change in &changes {
            self.firing[change.alert] = change.firing;
        }
        changes
    }
}

#[cfg(test)]
mod tests;
