//! Bucketed event-time windows: a group's window keeps one aggregate per bucket (the
//! range divided into 600 buckets, at least 1 ms), never the events themselves. A
//! bucket is in the window `(t - range, t]` when it starts after `t - range`, so window
//! edges are exact to one bucket width.

use std::collections::VecDeque;

use crate::ast::RangeFunction;

/// How many buckets a range is split into.
pub const BUCKETS_PER_RANGE: i64 = 600;

#[derive(Debug, Clone, Default)]
struct Bucket {
    index: i64,
    count: u64,
    bytes: u64,
    sum: f64,
    min: f64,
    max: f64,
    first: Option<(i64, f64)>,
    last: Option<(i64, f64)>,
    /// Only for `quantile_over_time`.
    values: Vec<f64>,
}

/// The window of one group of one range aggregation.
#[derive(Debug, Clone, Default)]
pub struct GroupWindow {
    buckets: VecDeque<Bucket>,
}

impl GroupWindow {
    /// Adds one line (`bytes` long) or one unwrapped `value` at `at` (ms). Returns the
    /// bucket index when the line opened a new bucket.
    pub fn add(&mut self, at: i64, bucket_ms: i64, bytes: usize, value: Option<f64>, keep_values: bool) -> Option<i64> {
        let index = at.div_euclid(bucket_ms);
        let (position, opened) = match self.buckets.binary_search_by_key(&index, |bucket| bucket.index) {
            Ok(position) => (position, None),
            Err(position) => {
                self.buckets.insert(position, Bucket { index, min: f64::INFINITY, max: f64::NEG_INFINITY, ..Bucket::default() });
                (position, Some(index))
            }
        };
        let bucket = &mut self.buckets[position];
        bucket.count += 1;
        bucket.bytes += bytes as u64;
        if let Some(value) = value {
            bucket.sum += value;
            bucket.min = bucket.min.min(value);
            bucket.max = bucket.max.max(value);
            if bucket.first.is_none_or(|(first_at, _)| at < first_at) {
                bucket.first = Some((at, value));
            }
            if bucket.last.is_none_or(|(last_at, _)| at >= last_at) {
                bucket.last = Some((at, value));
            }
            if keep_values {
                bucket.values.push(value);
            }
        }
        opened
    }

    /// Drops buckets that can no longer be in any window ending at or after `t`;
    /// `dropped` is told each dropped bucket's index.
    pub fn expire(&mut self, t: i64, range_ms: i64, bucket_ms: i64, mut dropped: impl FnMut(i64)) {
        while self.buckets.front().is_some_and(|bucket| bucket.index * bucket_ms <= t - range_ms) {
            if let Some(bucket) = self.buckets.pop_front() {
                dropped(bucket.index);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// The function's value over the window ending at `t`, or `None` when the window
    /// holds nothing.
    /// `unwrapped`: `rate` sums the values per second instead of counting lines.
    pub fn value(
        &self,
        function: RangeFunction,
        parameter: Option<f64>,
        unwrapped: bool,
        t: i64,
        range_ms: i64,
        bucket_ms: i64,
    ) -> Option<f64> {
        let in_window =
            || self.buckets.iter().filter(move |bucket| bucket.index * bucket_ms > t - range_ms && bucket.index * bucket_ms <= t);
        let count: u64 = in_window().map(|bucket| bucket.count).sum();
        if count == 0 {
            return None;
        }
        let seconds = range_ms as f64 / 1000.0;
        Some(match function {
            RangeFunction::CountOverTime => count as f64,
            RangeFunction::Rate if unwrapped => in_window().map(|bucket| bucket.sum).sum::<f64>() / seconds,
            RangeFunction::Rate => count as f64 / seconds,
            RangeFunction::BytesOverTime => in_window().map(|bucket| bucket.bytes).sum::<u64>() as f64,
            RangeFunction::BytesRate => in_window().map(|bucket| bucket.bytes).sum::<u64>() as f64 / seconds,
            RangeFunction::SumOverTime => in_window().map(|bucket| bucket.sum).sum(),
            RangeFunction::AvgOverTime => in_window().map(|bucket| bucket.sum).sum::<f64>() / count as f64,
            RangeFunction::MinOverTime => in_window().map(|bucket| bucket.min).fold(f64::INFINITY, f64::min),
            RangeFunction::MaxOverTime => in_window().map(|bucket| bucket.max).fold(f64::NEG_INFINITY, f64::max),
            RangeFunction::FirstOverTime => in_window().filter_map(|bucket| bucket.first).min_by_key(|(at, _)| *at)?.1,
            RangeFunction::LastOverTime => in_window().filter_map(|bucket| bucket.last).max_by_key(|(at, _)| *at)?.1,
            RangeFunction::QuantileOverTime => {
                let mut values: Vec<f64> = in_window().flat_map(|bucket| bucket.values.iter().copied()).collect();
                values.sort_by(f64::total_cmp);
                quantile(parameter.unwrap_or(0.5), &values)?
            }
        })
    }
}

/// Prometheus' quantile: linear interpolation between the closest ranks.
pub fn quantile(phi: f64, sorted: &[f64]) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = phi.clamp(0.0, 1.0) * last as f64;
    let lower = rank.floor() as usize;
    let upper = rank.ceil() as usize;
    let weight = rank - lower as f64;
    Some(sorted[lower] * (1.0 - weight) + sorted[upper] * weight)
}
