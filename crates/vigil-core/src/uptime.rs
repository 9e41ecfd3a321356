//! Time-weighted uptime over a window, from stored transitions and the periods Vigil ran.
//!
//! Time in the window is split three ways: up, down, and unknown. Unknown is any time
//! Vigil was not running (no run covers it) or had no verdict yet. Uptime is
//! `up / (up + down)`, so time Vigil did not watch never counts as up or as down.
//! An outage lasts from its DOWN transition to the next UP transition, wall clock, even
//! when Vigil was briefly stopped in between.

use std::time::Duration;

use crate::hysteresis::Health;
use crate::time::Timestamp;

/// One stored state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateChange {
    pub at: Timestamp,
    pub health: Health,
}

/// A half-open period `[start, end)` during which Vigil was running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// The uptime of one monitor over one window.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct UptimeReport {
    pub window_start: Timestamp,
    pub window_end: Timestamp,
    #[serde(serialize_with = "as_millis")]
    pub up: Duration,
    #[serde(serialize_with = "as_millis")]
    pub down: Duration,
    #[serde(serialize_with = "as_millis")]
    pub unknown: Duration,
    /// `up / (up + down)` in percent; `None` when nothing in the window is known.
    pub uptime_percent: Option<f64>,
    /// Outages that overlap the window, including one still going on.
    pub outages: usize,
    #[serde(serialize_with = "option_as_millis")]
    pub longest_outage: Option<Duration>,
    /// Mean length of the outages in the window that have ended.
    #[serde(serialize_with = "option_as_millis")]
    pub mean_time_to_recovery: Option<Duration>,
}

fn as_millis<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

fn option_as_millis<S: serde::Serializer>(duration: &Option<Duration>, serializer: S) -> Result<S::Ok, S::Error> {
    match duration {
        Some(duration) => as_millis(duration, serializer),
        None => serializer.serialize_none(),
    }
}

/// Computes the report. `changes` must be sorted by time and should include the last
/// change before `window_start`, so the state at the start of the window is known.
pub fn compute(changes: &[StateChange], coverage: &[Coverage], window_start: Timestamp, window_end: Timestamp) -> UptimeReport {
    let mut up = 0i64;
    let mut down = 0i64;
    let total = (window_end.0 - window_start.0).max(0);

    for (index, change) in changes.iter().enumerate() {
        let next_at = changes.get(index + 1).map_or(window_end, |next| next.at);
        let start = change.at.max(window_start);
        let end = next_at.min(window_end);
        if start >= end {
            continue;
        }
        let watched = covered_millis(coverage, start, end);
        match change.health {
            Health::Up => up += watched,
            Health::Down => down += watched,
            Health::Unknown => {}
        }
    }

    let mut outages = 0usize;
    let mut longest: Option<i64> = None;
    let mut recovered_total = 0i64;
    let mut recovered_count = 0i64;
    for (index, change) in changes.iter().enumerate() {
        let continues_previous = index > 0 && changes[index - 1].health == Health::Down;
        if change.health != Health::Down || continues_previous {
            continue;
        }
        let end = changes[index + 1..].iter().find(|later| later.health != Health::Down).map(|later| later.at);
        let overlaps = change.at < window_end && end.is_none_or(|end| end > window_start);
        if !overlaps {
            continue;
        }
        outages += 1;
        let length = end.unwrap_or(window_end).0 - change.at.0;
        longest = Some(longest.map_or(length, |longest| longest.max(length)));
        if let Some(end) = end.filter(|&end| end <= window_end) {
            recovered_total += end.0 - change.at.0;
            recovered_count += 1;
        }
    }

    let known = up + down;
    let to_duration = |millis: i64| Duration::from_millis(u64::try_from(millis).unwrap_or(0));
    UptimeReport {
        window_start,
        window_end,
        up: to_duration(up),
        down: to_duration(down),
        unknown: to_duration(total - known),
        uptime_percent: (known > 0).then(|| up as f64 * 100.0 / known as f64),
        outages,
        longest_outage: longest.map(to_duration),
        mean_time_to_recovery: (recovered_count > 0).then(|| to_duration(recovered_total / recovered_count)),
    }
}

/// Milliseconds of `[start, end)` that some coverage period includes. Coverage periods
/// may overlap (several nodes, or a crashed run whose end is its last heartbeat).
fn covered_millis(coverage: &[Coverage], start: Timestamp, end: Timestamp) -> i64 {
    let mut clipped: Vec<(i64, i64)> =
        coverage.iter().map(|period| (period.start.0.max(start.0), period.end.0.min(end.0))).filter(|(a, b)| a < b).collect();
    clipped.sort_unstable();
    let mut total = 0;
    let mut reached = i64::MIN;
    for (a, b) in clipped {
        let a = a.max(reached);
        if b > a {
            total += b - a;
            reached = b;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn change(minute: i64, health: Health) -> StateChange {
        StateChange { at: Timestamp(minute * MIN), health }
    }

    fn cover(from_minute: i64, to_minute: i64) -> Coverage {
        Coverage { start: Timestamp(from_minute * MIN), end: Timestamp(to_minute * MIN) }
    }

    struct Case {
        name: &'static str,
        changes: Vec<StateChange>,
        coverage: Vec<Coverage>,
        window: (i64, i64),
        /// (up, down, unknown) minutes, uptime %, outages, longest, mttr (minutes)
        expected: (i64, i64, i64, Option<f64>, usize, Option<i64>, Option<i64>),
    }

    #[test]
    fn uptime_table() {
        use Health::{Down, Up};
        let cases = vec![
            Case {
                name: "always up",
                changes: vec![change(0, Up)],
                coverage: vec![cover(0, 100)],
                window: (0, 100),
                expected: (100, 0, 0, Some(100.0), 0, None, None),
            },
            Case {
                name: "one ten minute outage",
                changes: vec![change(0, Up), change(40, Down), change(50, Up)],
                coverage: vec![cover(0, 100)],
                window: (0, 100),
                expected: (90, 10, 0, Some(90.0), 1, Some(10), Some(10)),
            },
            Case {
                name: "vigil not running is unknown, not up",
                changes: vec![change(0, Up)],
                coverage: vec![cover(0, 30), cover(80, 100)],
                window: (0, 100),
                expected: (50, 0, 50, Some(100.0), 0, None, None),
            },
            Case {
                name: "time before the first verdict is unknown",
                changes: vec![change(20, Up)],
                coverage: vec![cover(0, 100)],
                window: (0, 100),
                expected: (80, 0, 20, Some(100.0), 0, None, None),
            },
            Case {
                name: "outage spanning the window start counts, clipped time",
                changes: vec![change(0, Up), change(90, Down), change(110, Up)],
                coverage: vec![cover(0, 200)],
                window: (100, 200),
                expected: (90, 10, 0, Some(90.0), 1, Some(20), Some(20)),
            },
            Case {
                name: "ongoing outage has no recovery time",
                changes: vec![change(0, Up), change(70, Down)],
                coverage: vec![cover(0, 100)],
                window: (0, 100),
                expected: (70, 30, 0, Some(70.0), 1, Some(30), None),
            },
            Case {
                name: "outage across a restart keeps its wall-clock length",
                changes: vec![change(0, Up), change(20, Down), change(60, Up)],
                coverage: vec![cover(0, 30), cover(50, 100)],
                window: (0, 100),
                expected: (60, 20, 20, Some(75.0), 1, Some(40), Some(40)),
            },
            Case {
                name: "two outages and overlapping coverage",
                changes: vec![change(0, Up), change(10, Down), change(20, Up), change(50, Down), change(80, Up)],
                coverage: vec![cover(0, 60), cover(40, 100)],
                window: (0, 100),
                expected: (60, 40, 0, Some(60.0), 2, Some(30), Some(20)),
            },
            Case { name: "nothing known", changes: vec![], coverage: vec![], window: (0, 100), expected: (0, 0, 100, None, 0, None, None) },
        ];
        for case in cases {
            let report = compute(&case.changes, &case.coverage, Timestamp(case.window.0 * MIN), Timestamp(case.window.1 * MIN));
            let minutes = |d: Duration| d.as_millis() as i64 / MIN;
            let actual = (
                minutes(report.up),
                minutes(report.down),
                minutes(report.unknown),
                report.uptime_percent,
                report.outages,
                report.longest_outage.map(minutes),
                report.mean_time_to_recovery.map(minutes),
            );
            assert_eq!(actual, case.expected, "{}", case.name);
        }
    }
}
