//! Streaming evaluation of a metric expression on event time, for alerting.
//!
//! Each line is fed once ([`RuleEvaluator::observe`]); every range aggregation runs its
//! pipeline and adds the line to its group's bucketed window; the expression is then
//! evaluated at the newest event time seen, so a rule fires on the event that crosses
//! its threshold, not at a later tick. [`RuleEvaluator::advance`] moves time on without
//! events (windows empty, alerts resolve); [`RuleEvaluator::next_expiry`] says when the
//! next bucket leaves a window, so replays can resolve at the exact moment.
//!
//! An alert is one output label set: it fires when the set appears in the result (after
//! `for`, if set) and resolves when it disappears. Lines older than the longest range
//! plus the allowed lateness are counted as late and not evaluated. Each range
//! aggregation keeps at most `max_groups` groups; lines for more are counted and
//! dropped.

pub mod json;
pub mod pipeline;
pub mod queries;
#[cfg(test)]
mod tests;
pub mod window;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::ast::*;
use pipeline::{label_filter, Labels, Pipeline, ERROR_LABEL};
use queries::{LineState, QuerySet};
use window::{GroupWindow, BUCKETS_PER_RANGE};

/// One log line.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// Event time, Unix milliseconds.
    pub at: i64,
    pub stream: &'a Labels,
    pub line: &'a str,
}

/// A change of an alert's state.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleEvent {
    pub state: AlertState,
    /// Event time of the change, Unix milliseconds.
    pub at: i64,
    pub labels: Labels,
    /// The expression's value for these labels (the last value, on resolution).
    pub value: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    Firing,
    Resolved,
}

/// Settings of one evaluator.
#[derive(Debug, Clone, Copy)]
pub struct EvaluatorOptions {
    /// How long the condition must hold before firing, ms.
    pub for_ms: i64,
    /// How far behind the newest event a line may arrive and still count, ms.
    pub lateness_ms: i64,
    /// Groups per range aggregation.
    pub max_groups: usize,
}

impl Default for EvaluatorOptions {
    fn default() -> Self {
        EvaluatorOptions { for_ms: 0, lateness_ms: 60_000, max_groups: 10_000 }
    }
}

/// Counters an operator wants to see.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EvaluatorStats {
    pub lines: u64,
    pub matched: u64,
    pub late: u64,
    pub dropped_groups: u64,
    pub unwrap_errors: u64,
    /// Lines a `json` or `logfmt` stage could not read (`__error__` set).
    pub parse_errors: u64,
}

/// Which labels a range aggregation keeps per group.
#[derive(Debug, Clone)]
enum Key {
    All,
    By(Vec<String>),
    Without(Vec<String>),
}

impl Key {
    fn from_grouping(grouping: &Grouping) -> Key {
        if grouping.without {
            Key::Without(grouping.labels.clone())
        } else {
            Key::By(grouping.labels.clone())
        }
    }

    fn apply(&self, labels: &Labels) -> Labels {
        match self {
            Key::All => labels.clone(),
            Key::By(names) => names.iter().filter_map(|name| labels.get(name).map(|value| (name.clone(), value.clone()))).collect(),
            Key::Without(names) => labels.iter().filter(|(name, _)| !names.contains(name)).map(|(k, v)| (k.clone(), v.clone())).collect(),
        }
    }
}

/// What a [`QuerySet`] answered for a rule's range query on one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asked {
    pub kept: bool,
    /// For a dropped line, whether the query's pipeline would count a parse error
    /// (`None`: only the pipeline can tell, see [`QuerySet::parse_error`]).
    pub parse_error: Option<bool>,
}

impl Asked {
    /// Asks query `index` of `queries` about the line begun in `state`.
    pub fn of(queries: &QuerySet, state: &mut LineState, index: usize, stream: &Labels, line: &str) -> Asked {
        let kept = queries.keeps(state, index, stream, line);
        let parse_error = if kept { Some(false) } else { queries.parse_error(state, index, stream, line) };
        Asked { kept, parse_error }
    }
}

struct RangeState {
    aggregation: RangeAggregation,
    pipeline: Pipeline,
    /// For the usual `| json | label filters` query: the same question asked of the line
    /// as spans first, so a line the filters drop builds no label map (most of them).
    prefilter: Option<(QuerySet, LineState)>,
    key: Key,
    range_ms: i64,
    bucket_ms: i64,
    groups: HashMap<Labels, GroupWindow>,
    /// How many groups hold each bucket index, so the next expiry is found without
    /// visiting every group.
    occupied: BTreeMap<i64, usize>,
}

impl RangeState {
    fn expire_group(occupied: &mut BTreeMap<i64, usize>, window: &mut GroupWindow, now: i64, range_ms: i64, bucket_ms: i64) {
        window.expire(now, range_ms, bucket_ms, |index| {
            if let Some(count) = occupied.get_mut(&index) {
                *count -= 1;
                if *count == 0 {
                    occupied.remove(&index);
                }
            }
        });
    }
}

/// The result of evaluating part of an expression.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Scalar(f64),
    Vector(Vec<(Labels, f64)>),
}

struct Alert {
    since: i64,
    firing: bool,
    value: f64,
}

pub struct RuleEvaluator {
    expr: MetricExpr,
    /// Whether each output label set depends only on the range groups with the same
    /// key, so a line needs only its own group evaluated.
    local: bool,
    ranges: Vec<RangeState>,
    options: EvaluatorOptions,
    watermark: Option<i64>,
    max_range_ms: i64,
    alerts: BTreeMap<Labels, Alert>,
    stats: EvaluatorStats,
}

impl RuleEvaluator {
    pub fn new(expr: &MetricExpr, options: EvaluatorOptions) -> RuleEvaluator {
        let mut ranges = Vec::new();
        collect_ranges(expr, None, &mut ranges);
        let max_range_ms = ranges.iter().map(|range| range.range_ms).max().unwrap_or(0);
        let local = ranges.len() == 1 && is_local(expr, &ranges[0].key);
        RuleEvaluator {
            expr: expr.clone(),
            local,
            ranges,
            options,
            watermark: None,
            max_range_ms,
            alerts: BTreeMap::new(),
            stats: EvaluatorStats::default(),
        }
    }

    pub fn stats(&self) -> EvaluatorStats {
        self.stats
    }

    /// The longest range of the expression, ms: how much event time fills every window.
    pub fn max_range_ms(&self) -> i64 {
        self.max_range_ms
    }

    /// Labels of the alerts firing now.
    /// Label groups held across the rule's range aggregations.
    pub fn group_count(&self) -> usize {
        self.ranges.iter().map(|range| range.groups.len()).sum()
    }

    pub fn firing(&self) -> impl Iterator<Item = &Labels> {
        self.alerts.iter().filter(|(_, alert)| alert.firing).map(|(labels, _)| labels)
    }

    /// Each range's log query, in the order [`RuleEvaluator::observe_asking`] asks about.
    pub fn log_queries(&self) -> Vec<&LogExpr> {
        self.ranges.iter().map(|range| &range.aggregation.log).collect()
    }

    /// Feeds one line; returns the alerts it fired or resolved.
    pub fn observe(&mut self, entry: Entry<'_>) -> Vec<RuleEvent> {
        self.observe_asking(entry, |_| None)
    }

    /// As [`RuleEvaluator::observe`], with `ask(range)` answering for the line whether
    /// range number `range`'s query keeps it, from a [`QuerySet`] shared with other
    /// queries (`None`: the evaluator finds out itself). A kept line then goes through
    /// the range's pipeline for its labels.
    pub fn observe_asking(&mut self, entry: Entry<'_>, mut ask: impl FnMut(usize) -> Option<Asked>) -> Vec<RuleEvent> {
        self.stats.lines += 1;
        if let Some(watermark) = self.watermark {
            if entry.at <= watermark - self.max_range_ms - self.options.lateness_ms {
                self.stats.late += 1;
                return Vec::new();
            }
        }
        let mut matched = false;
        let mut parse_error = false;
        let mut touched: Option<Labels> = None;
        for (index, range) in self.ranges.iter_mut().enumerate() {
            if !range.pipeline.selects(entry.stream) {
                continue;
            }
            let asked = ask(index).or_else(|| {
                let (queries, state) = range.prefilter.as_mut()?;
                queries.begin(state);
                Some(Asked::of(queries, state, 0, entry.stream, entry.line))
            });
            if let Some(Asked { kept: false, parse_error: error }) = asked {
                match error {
                    Some(error) => parse_error |= error,
                    // Rare: the pipeline itself says.
                    None => drop(range.pipeline.process_with(entry.stream, entry.line, &mut parse_error)),
                }
                continue;
            }
            let Some(mut labels) = range.pipeline.process_with(entry.stream, entry.line, &mut parse_error) else { continue };
            let value = match &range.aggregation.unwrap {
                None => None,
                Some(unwrap) => {
                    let converted = labels.get(&unwrap.label).and_then(|text| match unwrap.conversion {
                        Conversion::Number => text.trim().parse::<f64>().ok(),
                        Conversion::Duration => crate::lexer::parse_duration_seconds(text.trim()),
                        Conversion::Bytes => crate::lexer::parse_bytes(text.trim()),
                    });
                    if converted.is_none() {
                        labels.insert(ERROR_LABEL.to_owned(), "SampleExtractionErr".to_owned());
                    }
                    if !unwrap.filters.iter().all(|filter| label_filter(filter, &mut labels)) {
                        continue;
                    }
                    match converted {
                        Some(value) => Some(value),
                        None => {
                            self.stats.unwrap_errors += 1;
                            continue;
                        }
                    }
                }
            };
            let key = range.key.apply(&labels);
            if !range.groups.contains_key(&key) && range.groups.len() >= self.options.max_groups {
                self.stats.dropped_groups += 1;
                continue;
            }
            let keep_values = range.aggregation.function == RangeFunction::QuantileOverTime;
            let window = range.groups.entry(key.clone()).or_default();
            if let Some(index) = window.add(entry.at, range.bucket_ms, entry.line.len(), value, keep_values) {
                *range.occupied.entry(index).or_insert(0) += 1;
            }
            touched = Some(key);
            matched = true;
        }
        self.stats.parse_errors += u64::from(parse_error);
        let now = self.watermark.map_or(entry.at, |watermark| watermark.max(entry.at));
        self.watermark = Some(now);
        if !matched {
            return Vec::new();
        }
        self.stats.matched += 1;
        match touched.filter(|_| self.local) {
            Some(key) => self.evaluate_group(now, key),
            None => self.evaluate(now),
        }
    }

    /// Evaluates only the output label set `key` (for group-local expressions).
    fn evaluate_group(&mut self, now: i64, key: Labels) -> Vec<RuleEvent> {
        let range = &mut self.ranges[0];
        if let Some(window) = range.groups.get_mut(&key) {
            RangeState::expire_group(&mut range.occupied, window, now, range.range_ms, range.bucket_ms);
        }
        let mut next_range = 0;
        let result = match evaluate_keys(&self.expr, &self.ranges, &mut next_range, now, Some(&key)) {
            Value::Scalar(value) => vec![(Labels::new(), value)],
            Value::Vector(samples) => samples,
        };
        let present: BTreeMap<Labels, f64> = result.into_iter().filter(|(labels, _)| *labels == key).collect();
        self.update_alerts(now, present, std::slice::from_ref(&key))
    }

    /// Moves time to `now` without a line: windows slide, alerts may resolve (or, with
    /// `for`, start firing).
    pub fn advance(&mut self, now: i64) -> Vec<RuleEvent> {
        let now = self.watermark.map_or(now, |watermark| watermark.max(now));
        self.watermark = Some(now);
        self.evaluate(now)
    }

    /// The next time a bucket leaves a window (or a pending alert's `for` ends), when
    /// evaluating again could change the result.
    pub fn next_expiry(&self) -> Option<i64> {
        let windows =
            self.ranges.iter().filter_map(|range| range.occupied.keys().next().map(|index| index * range.bucket_ms + range.range_ms));
        let pending = self.alerts.values().filter(|alert| !alert.firing).map(|alert| alert.since + self.options.for_ms);
        windows.chain(pending).filter(|&at| self.watermark.is_none_or(|now| at > now)).min()
    }

    fn evaluate(&mut self, now: i64) -> Vec<RuleEvent> {
        for range in &mut self.ranges {
            let (occupied, range_ms, bucket_ms) = (&mut range.occupied, range.range_ms, range.bucket_ms);
            range.groups.retain(|_, window| {
                RangeState::expire_group(occupied, window, now, range_ms, bucket_ms);
                !window.is_empty()
            });
        }
        let mut next_range = 0;
        let result = match evaluate_keys(&self.expr, &self.ranges, &mut next_range, now, None) {
            Value::Scalar(value) => vec![(Labels::new(), value)],
            Value::Vector(samples) => samples,
        };
        let present: BTreeMap<Labels, f64> = result.into_iter().collect();
        self.update_alerts(now, present, &[])
    }

    /// Applies a result to the alerts. With `only` empty the result is complete: alerts
    /// missing from it resolve. Otherwise it covers just the label sets in `only`.
    fn update_alerts(&mut self, now: i64, present: BTreeMap<Labels, f64>, only: &[Labels]) -> Vec<RuleEvent> {
        let mut events = Vec::new();
        for (labels, value) in &present {
            let alert = self.alerts.entry(labels.clone()).or_insert(Alert { since: now, firing: false, value: *value });
            alert.value = *value;
            if !alert.firing && now - alert.since >= self.options.for_ms {
                alert.firing = true;
                events.push(RuleEvent { state: AlertState::Firing, at: now, labels: labels.clone(), value: *value });
            }
        }
        let gone: Vec<Labels> = if only.is_empty() {
            self.alerts.keys().filter(|labels| !present.contains_key(*labels)).cloned().collect()
        } else {
            only.iter().filter(|labels| !present.contains_key(*labels) && self.alerts.contains_key(*labels)).cloned().collect()
        };
        for labels in gone {
            if let Some(alert) = self.alerts.remove(&labels) {
                if alert.firing {
                    events.push(RuleEvent { state: AlertState::Resolved, at: now, labels, value: alert.value });
                }
            }
        }
        events
    }
}

/// Collects range aggregations in evaluation order and picks each one's group key: its
/// own `by`/`without`, or — when a `sum` sits right above an additive function — the
/// sum's grouping, so groups stay as few as the result needs.
fn collect_ranges(expr: &MetricExpr, parent: Option<&VectorAggregation>, ranges: &mut Vec<RangeState>) {
    match expr {
        MetricExpr::Range(aggregation) => {
            let additive = matches!(
                aggregation.function,
                RangeFunction::CountOverTime
                    | RangeFunction::Rate
                    | RangeFunction::BytesOverTime
                    | RangeFunction::BytesRate
                    | RangeFunction::SumOverTime
            );
            let key = match (&aggregation.grouping, parent) {
                (Some(grouping), _) => Key::from_grouping(grouping),
                (None, Some(parent)) if parent.op == VectorOp::Sum && additive => {
                    parent.grouping.as_ref().map_or(Key::By(Vec::new()), Key::from_grouping)
                }
                _ => Key::All,
            };
            let range_ms = i64::try_from(aggregation.range.as_millis()).unwrap_or(i64::MAX).max(1);
            let wanted = wanted_labels(aggregation, &key);
            let mut queries = QuerySet::new();
            let query = queries.add(&aggregation.log);
            ranges.push(RangeState {
                aggregation: aggregation.clone(),
                pipeline: Pipeline::extracting(&aggregation.log, wanted),
                prefilter: queries.is_shared_json(query).then(|| (queries, LineState::default())),
                key,
                range_ms,
                bucket_ms: (range_ms / BUCKETS_PER_RANGE).max(1),
                groups: HashMap::new(),
                occupied: BTreeMap::new(),
            });
        }
        MetricExpr::Vector(vector) => collect_ranges(&vector.inner, Some(vector), ranges),
        MetricExpr::Binary { left, right, .. } => {
            collect_ranges(left, None, ranges);
            collect_ranges(right, None, ranges);
        }
        MetricExpr::Number(_) => {}
    }
}

/// The labels a range aggregation reads after its parsers: those its label filters,
/// unwrap and group key name. `None` (all labels) when the key keeps every label.
fn wanted_labels(aggregation: &RangeAggregation, key: &Key) -> Option<BTreeSet<String>> {
    let Key::By(group) = key else { return None };
    let mut wanted: BTreeSet<String> = group.iter().cloned().collect();
    for stage in &aggregation.log.stages {
        if let Stage::LabelFilter(filter) = stage {
            filter_labels(filter, &mut wanted);
        }
    }
    if let Some(unwrap) = &aggregation.unwrap {
        wanted.insert(unwrap.label.clone());
        unwrap.filters.iter().for_each(|filter| filter_labels(filter, &mut wanted));
    }
    Some(wanted)
}

/// The labels `filter` reads. A label a parser extracts under a name the stream already
/// has is renamed `NAME_extracted`: a filter on that name needs `NAME` extracted.
pub(crate) fn filter_labels(filter: &LabelFilter, names: &mut BTreeSet<String>) {
    fn read(name: &str, names: &mut BTreeSet<String>) {
        if let Some(base) = name.strip_suffix("_extracted") {
            names.insert(base.to_owned());
        }
        names.insert(name.to_owned());
    }
    match filter {
        LabelFilter::And(left, right) | LabelFilter::Or(left, right) => {
            filter_labels(left, names);
            filter_labels(right, names);
        }
        LabelFilter::Match(matcher) => read(&matcher.name, names),
        LabelFilter::Compare { name, .. } => read(name, names),
    }
}

/// Whether every output label set of `expr` is exactly one group key of its only range
/// aggregation: range aggregations themselves, a `sum` whose grouping is that key, and
/// arithmetic or comparison with scalars.
fn is_local(expr: &MetricExpr, key: &Key) -> bool {
    match expr {
        MetricExpr::Range(_) => true,
        MetricExpr::Vector(vector) => {
            let grouping = vector.grouping.as_ref().map_or(Key::By(Vec::new()), Key::from_grouping);
            vector.op == VectorOp::Sum && matches!((&grouping, key), (Key::By(a), Key::By(b)) if a == b) && is_local(&vector.inner, key)
        }
        MetricExpr::Binary { left, right, .. } => match (left.as_ref(), right.as_ref()) {
            (MetricExpr::Number(_), other) | (other, MetricExpr::Number(_)) => is_local(other, key),
            _ => false,
        },
        MetricExpr::Number(_) => true,
    }
}

/// Evaluates `expr` at `now`; with `only`, range aggregations contribute just that group.
fn evaluate_keys(expr: &MetricExpr, ranges: &[RangeState], next_range: &mut usize, now: i64, only: Option<&Labels>) -> Value {
    match expr {
        MetricExpr::Number(value) => Value::Scalar(*value),
        MetricExpr::Range(_) => {
            let range = &ranges[*next_range];
            *next_range += 1;
            let value_of = |labels: &Labels, window: &GroupWindow| {
                let value = window.value(
                    range.aggregation.function,
                    range.aggregation.parameter,
                    range.aggregation.unwrap.is_some(),
                    now,
                    range.range_ms,
                    range.bucket_ms,
                )?;
                Some((labels.clone(), value))
            };
            let samples = match only {
                Some(key) => range.groups.get_key_value(key).and_then(|(labels, window)| value_of(labels, window)).into_iter().collect(),
                None => range.groups.iter().filter_map(|(labels, window)| value_of(labels, window)).collect(),
            };
            Value::Vector(samples)
        }
        MetricExpr::Vector(vector) => {
            let inner = match evaluate_keys(&vector.inner, ranges, next_range, now, only) {
                Value::Vector(samples) => samples,
                Value::Scalar(value) => vec![(Labels::new(), value)],
            };
            Value::Vector(aggregate(vector, inner))
        }
        MetricExpr::Binary { op, return_bool, left, right } => {
            let left = evaluate_keys(left, ranges, next_range, now, only);
            let right = evaluate_keys(right, ranges, next_range, now, only);
            binary(*op, *return_bool, left, right)
        }
    }
}

fn aggregate(vector: &VectorAggregation, samples: Vec<(Labels, f64)>) -> Vec<(Labels, f64)> {
    let key = vector.grouping.as_ref().map_or(Key::By(Vec::new()), Key::from_grouping);
    let mut groups: BTreeMap<Labels, Vec<(Labels, f64)>> = BTreeMap::new();
    for (labels, value) in samples {
        groups.entry(key.apply(&labels)).or_default().push((labels, value));
    }
    let mut out = Vec::new();
    for (group, mut members) in groups {
        let values = || members.iter().map(|(_, value)| *value);
        match vector.op {
            VectorOp::Sum => out.push((group, values().sum())),
            VectorOp::Avg => out.push((group.clone(), values().sum::<f64>() / members.len() as f64)),
            VectorOp::Min => out.push((group, values().fold(f64::INFINITY, f64::min))),
            VectorOp::Max => out.push((group, values().fold(f64::NEG_INFINITY, f64::max))),
            VectorOp::Count => out.push((group, members.len() as f64)),
            VectorOp::Topk | VectorOp::Bottomk => {
                let k = vector.parameter.unwrap_or(1.0) as usize;
                members.sort_by(|a, b| if vector.op == VectorOp::Topk { b.1.total_cmp(&a.1) } else { a.1.total_cmp(&b.1) });
                out.extend(members.into_iter().take(k));
            }
        }
    }
    out
}

fn apply(op: BinaryOp, a: f64, b: f64) -> Option<f64> {
    Some(match op {
        BinaryOp::Add => a + b,
        BinaryOp::Subtract => a - b,
        BinaryOp::Multiply => a * b,
        BinaryOp::Divide => a / b,
        BinaryOp::Modulo => a % b,
        BinaryOp::Power => a.powf(b),
        BinaryOp::Equal => f64::from(u8::from(a == b)),
        BinaryOp::NotEqual => f64::from(u8::from(a != b)),
        BinaryOp::Less => f64::from(u8::from(a < b)),
        BinaryOp::LessOrEqual => f64::from(u8::from(a <= b)),
        BinaryOp::Greater => f64::from(u8::from(a > b)),
        BinaryOp::GreaterOrEqual => f64::from(u8::from(a >= b)),
    })
}

/// One sample through a binary operator: comparisons without `bool` filter (keeping
/// `keep`), with `bool` give 0 or 1; arithmetic gives the result.
fn combine(op: BinaryOp, return_bool: bool, a: f64, b: f64, keep: f64) -> Option<f64> {
    let result = apply(op, a, b)?;
    if op.is_comparison() && !return_bool {
        (result == 1.0).then_some(keep)
    } else {
        Some(result)
    }
}

fn binary(op: BinaryOp, return_bool: bool, left: Value, right: Value) -> Value {
    match (left, right) {
        (Value::Scalar(a), Value::Scalar(b)) => match combine(op, return_bool, a, b, a) {
            Some(value) => Value::Scalar(value),
            None => Value::Vector(Vec::new()),
        },
        (Value::Vector(samples), Value::Scalar(b)) => {
            Value::Vector(samples.into_iter().filter_map(|(labels, a)| Some((labels, combine(op, return_bool, a, b, a)?))).collect())
        }
        (Value::Scalar(a), Value::Vector(samples)) => {
            Value::Vector(samples.into_iter().filter_map(|(labels, b)| Some((labels, combine(op, return_bool, a, b, b)?))).collect())
        }
        (Value::Vector(left), Value::Vector(right)) => {
            let right: HashMap<Labels, f64> = right.into_iter().collect();
            Value::Vector(
                left.into_iter()
                    .filter_map(|(labels, a)| {
                        let b = *right.get(&labels)?;
                        Some((labels, combine(op, return_bool, a, b, a)?))
                    })
                    .collect(),
            )
        }
    }
}
