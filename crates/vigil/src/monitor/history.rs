//! What the UI shows of recent checks: each monitor's last checks with their phase
//! timings (in memory), and its checks summed per hour (stored, so sparklines and
//! response-time badges survive a restart). The engine records every check here; the
//! HTTP layer reads snapshots.

use std::collections::VecDeque;
use std::sync::Mutex;

use vigil_core::Timestamp;
use vigil_probes::Timings;
use vigil_store::{CheckHour, Store, StoreError};

use super::Check;

/// Checks kept per monitor, newest last.
pub const RECENT: usize = 20;
/// Hours kept per monitor in memory (the sparklines span a day; the badge a day too).
pub const HOURS: usize = 48;
/// Hours kept in the store.
pub const STORED_HOURS: i64 = 7 * 24;
const HOUR: i64 = 3_600_000;

/// One check as the monitor page lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RecentCheck {
    pub at: Timestamp,
    pub healthy: bool,
    pub status: Option<u16>,
    pub response_ms: f64,
    pub timings: Timings,
    /// `code: cause` of a failed check, then the failing conditions.
    pub failure: Option<String>,
    /// The diagnosis code, e.g. `tcp.refused`.
    pub code: Option<&'static str>,
}

#[derive(Debug, Clone, Default)]
pub struct MonitorHistory {
    pub recent: VecDeque<RecentCheck>,
    pub hours: VecDeque<CheckHour>,
    /// The latest failed check, kept after it leaves `recent`.
    pub last_failure: Option<RecentCheck>,
}

/// A recent check as kept: 40 bytes (a [`RecentCheck`] is 128), since every monitor
/// keeps [`RECENT`] of them — 40 MB at 50,000 monitors instead of 200.
#[derive(Debug, Clone)]
struct Kept {
    at: i64,
    /// Microseconds, saturated.
    response_us: u32,
    /// DNS, connect, TLS, first byte: microseconds, [`NONE`] for a phase that did not run.
    timings: [u32; 4],
    /// 0 for none.
    status: u16,
    healthy: bool,
    /// A failed check's text and diagnosis code (failures are rare: boxed).
    failure: Option<Box<(String, Option<&'static str>)>>,
}

const NONE: u32 = u32::MAX;

fn micros(duration: std::time::Duration) -> u32 {
    u32::try_from(duration.as_micros()).unwrap_or(NONE - 1).min(NONE - 1)
}

fn phase(micros: u32) -> Option<std::time::Duration> {
    (micros != NONE).then(|| std::time::Duration::from_micros(u64::from(micros)))
}

impl Kept {
    fn of(check: &RecentCheck) -> Kept {
        let timing = |phase: Option<std::time::Duration>| phase.map_or(NONE, micros);
        let timings = &check.timings;
        Kept {
            at: check.at.0,
            // Saturating, and NaN-safe (`as` gives 0): a float from outside never panics here.
            response_us: (check.response_ms * 1000.0).clamp(0.0, f64::from(NONE - 1)) as u32,
            timings: [timing(timings.dns), timing(timings.connect), timing(timings.tls), timing(timings.first_byte)],
            status: check.status.unwrap_or(0),
            healthy: check.healthy,
            failure: (check.failure.is_some() || check.code.is_some())
                .then(|| Box::new((check.failure.clone().unwrap_or_default(), check.code))),
        }
    }

    fn check(&self) -> RecentCheck {
        let [dns, connect, tls, first_byte] = self.timings;
        RecentCheck {
            at: Timestamp(self.at),
            healthy: self.healthy,
            status: (self.status != 0).then_some(self.status),
            response_ms: f64::from(self.response_us) / 1000.0,
            timings: Timings { dns: phase(dns), connect: phase(connect), tls: phase(tls), first_byte: phase(first_byte) },
            failure: self.failure.as_ref().filter(|_| !self.healthy).map(|failure| failure.0.clone()),
            code: self.failure.as_ref().and_then(|failure| failure.1),
        }
    }
}

/// One monitor's history as kept.
#[derive(Debug, Clone, Default)]
struct KeptMonitor {
    recent: VecDeque<Kept>,
    hours: VecDeque<CheckHour>,
    last_failure: Option<Box<RecentCheck>>,
}

#[derive(Default)]
struct Inner {
    monitors: Vec<KeptMonitor>,
    /// Monitors whose current hour changed since the last save.
    /// (A list and a flag per monitor: at 10,000 checks a second a tree's insert was a
    /// measurable share of the engine's time.)
    dirty: Vec<usize>,
    is_dirty: Vec<bool>,
}

/// Every monitor's recent checks, by the monitor's index in [`super::Monitors`].
#[derive(Default)]
pub struct CheckHistory {
    inner: Mutex<Inner>,
}

fn lock(mutex: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl CheckHistory {
    pub fn new(monitors: usize) -> CheckHistory {
        CheckHistory {
            inner: Mutex::new(Inner {
                monitors: vec![KeptMonitor::default(); monitors],
                dirty: Vec::new(),
                is_dirty: vec![false; monitors],
            }),
        }
    }

    /// Loads `node`'s stored hours of the last two days (`names` in the monitors'
    /// order): the sums it goes on adding to and saving as its own.
    pub async fn restore(&self, store: &Store, node: &str, names: &[&str], now: Timestamp) -> Result<(), StoreError> {
        let since = Timestamp(hour_of(now.0) - (HOURS as i64 - 1) * HOUR);
        let rows = store.own_check_hours(node, since, Timestamp(hour_of(now.0))).await?;
        let mut inner = lock(&self.inner);
        for (monitor, hour) in rows {
            if let Some(index) = names.iter().position(|name| *name == monitor) {
                let hours = &mut inner.monitors[index].hours;
                hours.push_back(hour);
                if hours.len() > HOURS {
                    hours.pop_front();
                }
            }
        }
        Ok(())
    }

    /// Records one check of monitor `index`.
    pub fn record(&self, index: usize, check: &Check, failures: &[String]) {
        let response_ms = check.result.response_time.as_secs_f64() * 1000.0;
        let recent = RecentCheck {
            at: check.at,
            healthy: check.healthy,
            status: check.result.status,
            response_ms,
            timings: check.result.timings,
            failure: (!check.healthy).then(|| failures.join("; ")),
            code: check.result.failure.as_ref().map(|failure| failure.code.as_str()),
        };
        let mut inner = lock(&self.inner);
        let Some(history) = inner.monitors.get_mut(index) else { return };
        let hour = hour_of(check.at.0);
        match history.hours.back_mut() {
            Some(last) if last.hour == hour => add(last, &recent),
            Some(last) if last.hour > hour => {}
            _ => {
                let mut fresh = CheckHour { hour, ..CheckHour::default() };
                add(&mut fresh, &recent);
                history.hours.push_back(fresh);
                if history.hours.len() > HOURS {
                    history.hours.pop_front();
                }
            }
        }
        if history.recent.len() >= RECENT {
            // Before the push, so the queue never grows past its RECENT slots.
            history.recent.pop_front();
        }
        if history.recent.capacity() < RECENT {
            history.recent.reserve_exact(RECENT - history.recent.len());
        }
        history.recent.push_back(Kept::of(&recent));
        if !recent.healthy {
            history.last_failure = Some(Box::new(recent));
        }
        if !std::mem::replace(&mut inner.is_dirty[index], true) {
            inner.dirty.push(index);
        }
    }

    /// A copy of monitor `index`'s history.
    pub fn of(&self, index: usize) -> MonitorHistory {
        let inner = lock(&self.inner);
        let Some(kept) = inner.monitors.get(index) else { return MonitorHistory::default() };
        MonitorHistory {
            recent: kept.recent.iter().map(Kept::check).collect(),
            hours: kept.hours.clone(),
            last_failure: kept.last_failure.as_deref().cloned(),
        }
    }

    /// For every monitor: its hourly mean response times over the last `hours` hours up
    /// to `now` (`None` for an hour without checks) and its latest failure.
    pub fn summaries(&self, hours: usize, now: Timestamp) -> Vec<(Vec<Option<f64>>, Option<RecentCheck>)> {
        let current = hour_of(now.0);
        let first = current - (hours as i64 - 1) * HOUR;
        let inner = lock(&self.inner);
        inner
            .monitors
            .iter()
            .map(|history| {
                let mut means = vec![None; hours];
                for hour in history.hours.iter().filter(|hour| hour.hour >= first && hour.hour <= current) {
                    means[((hour.hour - first) / HOUR) as usize] = hour.mean_ms();
                }
                (means, history.last_failure.as_deref().cloned())
            })
            .collect()
    }

    /// Stores the current hour of every monitor checked since the last save, as `node`'s.
    pub async fn save(&self, store: &Store, node: &str, names: &[&str], now: Timestamp) -> Result<(), StoreError> {
        let rows: Vec<(String, CheckHour)> = {
            let mut inner = lock(&self.inner);
            let mut dirty = std::mem::take(&mut inner.dirty);
            dirty.sort_unstable();
            for &index in &dirty {
                inner.is_dirty[index] = false;
            }
            dirty
                .into_iter()
                .filter_map(|index| {
                    let hour = inner.monitors.get(index)?.hours.back()?;
                    Some(((*names.get(index)?).to_owned(), *hour))
                })
                .collect()
        };
        if rows.is_empty() {
            return Ok(());
        }
        store.save_check_hours(node, &rows, Timestamp(hour_of(now.0) - STORED_HOURS * HOUR)).await
    }
}

fn hour_of(ms: i64) -> i64 {
    ms.div_euclid(HOUR) * HOUR
}

fn add(hour: &mut CheckHour, check: &RecentCheck) {
    hour.checks += 1;
    hour.failures += u64::from(!check.healthy);
    hour.total_ms += check.response_ms;
    hour.max_ms = hour.max_ms.max(check.response_ms);
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_probes::ProbeResult;

    fn check(at: i64, healthy: bool, millis: u64) -> Check {
        let result = ProbeResult { response_time: std::time::Duration::from_millis(millis), ..ProbeResult::default() };
        Check { at: Timestamp(at), result, conditions: Vec::new(), healthy }
    }

    #[test]
    fn hours_sum_checks_and_keep_the_latest_failure() {
        let history = CheckHistory::new(2);
        history.record(0, &check(HOUR * 10 + 5, true, 100), &[]);
        history.record(0, &check(HOUR * 10 + 9, false, 300), &["[STATUS] (500) == 200".to_owned()]);
        history.record(0, &check(HOUR * 11 + 1, true, 50), &[]);
        let one = history.of(0);
        assert_eq!(one.hours.len(), 2);
        assert_eq!((one.hours[0].checks, one.hours[0].failures, one.hours[0].mean_ms(), one.hours[0].max_ms), (2, 1, Some(200.0), 300.0));
        assert_eq!(one.last_failure.as_ref().map(|check| check.at), Some(Timestamp(HOUR * 10 + 9)));
        let summaries = history.summaries(3, Timestamp(HOUR * 11 + 30));
        assert_eq!(summaries[0].0, vec![None, Some(200.0), Some(50.0)]);
        assert_eq!(summaries[1].0, vec![None, None, None]);
    }

    #[test]
    fn a_kept_check_reads_back_as_recorded_to_the_microsecond() {
        use std::time::Duration;
        let timings = Timings {
            dns: None,
            connect: Some(Duration::from_micros(1_234)),
            tls: Some(Duration::ZERO),
            first_byte: Some(Duration::from_secs(7_200)),
        };
        let cases = [
            RecentCheck { at: Timestamp(5), healthy: true, status: Some(200), response_ms: 12.345, timings, failure: None, code: None },
            RecentCheck {
                at: Timestamp(-1),
                healthy: false,
                status: None,
                response_ms: 0.0,
                timings: Timings::default(),
                failure: Some("tcp.refused: connection refused; [STATUS] == 200".to_owned()),
                code: Some("tcp.refused"),
            },
        ];
        for check in cases {
            let back = Kept::of(&check).check();
            assert_eq!(
                (back.at, back.healthy, back.status, back.failure.clone(), back.code),
                (check.at, check.healthy, check.status, check.failure.clone(), check.code)
            );
            assert!((back.response_ms - check.response_ms).abs() < 0.001, "{} vs {}", back.response_ms, check.response_ms);
            let expected = |phase: Option<Duration>| phase.map(|phase| phase.min(Duration::from_micros(u64::from(NONE - 1))));
            assert_eq!(
                [back.timings.dns, back.timings.connect, back.timings.tls, back.timings.first_byte],
                [check.timings.dns, check.timings.connect, check.timings.tls, check.timings.first_byte].map(expected)
            );
        }
        assert!(std::mem::size_of::<Kept>() <= 40, "{}", std::mem::size_of::<Kept>());
    }

    #[test]
    fn only_the_last_checks_and_hours_are_kept() {
        let history = CheckHistory::new(1);
        for n in 0..(HOURS as i64 + 5) {
            history.record(0, &check(n * HOUR, true, 10), &[]);
        }
        let one = history.of(0);
        assert_eq!((one.recent.len(), one.hours.len()), (RECENT, HOURS));
        assert_eq!(one.hours.front().map(|hour| hour.hour), Some(5 * HOUR));
    }
}
