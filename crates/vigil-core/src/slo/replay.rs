//! A monitor's checks as its stored transitions imply them: what `vigil slo backtest`
//! replays for a monitor SLI, since checks are not stored one by one.
//!
//! Between two stored state changes the monitor held one state, and Vigil checked it
//! every `interval` while it ran (the runs say when). So there is a check at each stored
//! change (the one that made it), then one every `interval` until the next change. A
//! check while DOWN failed and one while UP passed — except the checks that led to a
//! change, which the thresholds tell: the `failure − 1` checks before an outage had
//! failed (the monitor was still UP), the `success − 1` checks before a recovery had
//! passed (it was still DOWN), `retry` apart. While the monitor had no verdict (UNKNOWN)
//! only those checks are known. Failures that never added up to an outage left no trace,
//! so they are not replayed: the live detector counted them, a replay cannot.

use crate::hysteresis::Health;
use crate::uptime::{Coverage, StateChange};

/// What is stored of one monitor, and how it was checked.
#[derive(Debug, Clone, Copy)]
pub struct MonitorHistory<'a> {
    /// In time order.
    pub changes: &'a [StateChange],
    /// When Vigil ran, in time order.
    pub coverage: &'a [Coverage],
    /// Milliseconds between checks, and between the checks that confirm a change.
    pub interval: i64,
    pub retry: i64,
    pub failure_threshold: u32,
    pub success_threshold: u32,
}

/// One implied check: when, whether it passed, and the monitor's state once it counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImpliedCheck {
    pub at: i64,
    pub healthy: bool,
    pub health: Health,
}

/// The checks `history` implies in `[from, to)`, in time order.
pub fn implied_checks(history: &MonitorHistory<'_>, from: i64, to: i64) -> Vec<ImpliedCheck> {
    let interval = history.interval.max(1);
    let retry = history.retry.max(1);
    // Nodes sharing a store run at once: their periods overlap, the checks do not add.
    let mut coverage: Vec<(i64, i64)> = history.coverage.iter().map(|period| (period.start.0, period.end.0)).collect();
    coverage.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(coverage.len());
    for (start, end) in coverage {
        match merged.last_mut() {
            Some((_, last_end)) if start <= *last_end => *last_end = (*last_end).max(end),
            _ => merged.push((start, end)),
        }
    }
    let mut checks = Vec::new();
    for (start, end) in merged {
        let (start, end) = (start.max(from), end.min(to));
        if start >= end {
            continue;
        }
        // The state at `start`, and the changes within the period.
        let before = history.changes.partition_point(|change| change.at.0 <= start);
        let mut health = before.checked_sub(1).map_or(Health::Unknown, |index| history.changes[index].health);
        let inside: Vec<StateChange> = history.changes[before..].iter().take_while(|change| change.at.0 < end).copied().collect();
        // Segments [anchor, next) holding one state; the first anchor is the period's start.
        let mut anchor = start;
        for index in 0..=inside.len() {
            let next = inside.get(index).map_or(end, |change| change.at.0);
            let next_health = inside.get(index).map(|change| change.health);
            // The checks that confirmed the next change, counted back from it.
            let leading = match (health, next_health) {
                (Health::Up | Health::Unknown, Some(Health::Down)) => history.failure_threshold.saturating_sub(1),
                (Health::Down | Health::Unknown, Some(Health::Up)) => history.success_threshold.saturating_sub(1),
                _ => 0,
            };
            let leading_from = next - i64::from(leading) * retry;
            if health != Health::Unknown {
                let mut at = anchor;
                while at < next && at < leading_from {
                    checks.push(ImpliedCheck { at, healthy: health == Health::Up, health });
                    at += interval;
                }
            }
            for step in (1..=i64::from(leading)).rev() {
                let at = next - step * retry;
                if at >= anchor {
                    checks.push(ImpliedCheck { at, healthy: next_health == Some(Health::Up), health });
                }
            }
            if let Some(next_health) = next_health {
                // The change's own check.
                checks.push(ImpliedCheck { at: next, healthy: next_health == Health::Up, health: next_health });
                health = next_health;
                anchor = next + interval;
            }
        }
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    const S: i64 = 1_000;

    fn change(at: i64, health: Health) -> StateChange {
        StateChange { at: Timestamp(at * S), health }
    }

    /// Each case: changes and coverage in seconds, interval and retry in seconds,
    /// thresholds (failure, success), and the checks implied: (second, healthy, state).
    #[test]
    fn transitions_imply_the_checks_that_made_them() {
        use Health::{Down, Up};
        type Case = (&'static str, Vec<StateChange>, Vec<(i64, i64)>, (i64, i64), (u32, u32), Vec<(i64, bool, Health)>);
        let cases: Vec<Case> = vec![
            (
                "up all along: a passing check every interval from the change",
                vec![change(0, Up)],
                vec![(0, 20)],
                (5, 5),
                (2, 2),
                vec![(0, true, Up), (5, true, Up), (10, true, Up), (15, true, Up)],
            ),
            (
                "an outage: one failure before it (threshold 2), the DOWN check, failures, one pass before recovery",
                vec![change(0, Up), change(20, Down), change(40, Up)],
                vec![(0, 50)],
                (5, 5),
                (2, 2),
                vec![
                    (0, true, Up),
                    (5, true, Up),
                    (10, true, Up),
                    (15, false, Up),
                    (20, false, Down),
                    (25, false, Down),
                    (30, false, Down),
                    (35, true, Down),
                    (40, true, Up),
                    (45, true, Up),
                ],
            ),
            (
                "retry-interval: the confirming checks a second apart",
                vec![change(0, Up), change(22, Down)],
                vec![(0, 30)],
                (10, 1),
                (3, 2),
                vec![(0, true, Up), (10, true, Up), (20, false, Up), (21, false, Up), (22, false, Down)],
            ),
            (
                "unknown at first: only the checks that made the first verdict",
                vec![change(12, Up)],
                vec![(0, 20)],
                (4, 4),
                (2, 3),
                vec![(4, true, Health::Unknown), (8, true, Health::Unknown), (12, true, Up), (16, true, Up)],
            ),
            (
                "not running: no checks; the state across a restart carries on",
                vec![change(0, Down)],
                vec![(0, 10), (30, 40)],
                (5, 5),
                (2, 2),
                vec![(0, false, Down), (5, false, Down), (30, false, Down), (35, false, Down)],
            ),
            (
                "two nodes running at once check once",
                vec![change(0, Up)],
                vec![(0, 12), (4, 16)],
                (5, 5),
                (2, 2),
                vec![(0, true, Up), (5, true, Up), (10, true, Up), (15, true, Up)],
            ),
        ];
        for (name, changes, coverage, (interval, retry), (failure, success), expected) in cases {
            let coverage: Vec<Coverage> =
                coverage.iter().map(|(start, end)| Coverage { start: Timestamp(start * S), end: Timestamp(end * S) }).collect();
            let history = MonitorHistory {
                changes: &changes,
                coverage: &coverage,
                interval: interval * S,
                retry: retry * S,
                failure_threshold: failure,
                success_threshold: success,
            };
            let checks: Vec<(i64, bool, Health)> =
                implied_checks(&history, i64::MIN, i64::MAX).iter().map(|check| (check.at / S, check.healthy, check.health)).collect();
            assert_eq!(checks, expected, "{name}");
        }
    }
}
