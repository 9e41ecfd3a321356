//! The scheduler: one task per monitor on a drift-free cadence (ticks at fixed instants,
//! a missed tick is skipped, never bunched), bounded concurrency across monitors, and
//! a per-check timeout, so one slow target never delays another.
//!
//! With a `retry-interval`, a check that disagrees with the monitor's state (a failure
//! while UP, a success while DOWN) is followed by another one `retry-interval` after it
//! ends, and so on until the threshold is reached or a check agrees again; the regular
//! ticks go on meanwhile. Each task follows its own checks with a copy of the monitor's
//! hysteresis state, started from the engine's, so the pace needs nothing from the
//! engine; the engine alone decides and records transitions.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};
use vigil_core::hysteresis::MonitorState;
use vigil_core::Clock;

use super::{start_offset, Check, Monitors};
use crate::probes::HttpClient;

/// A finished check of monitor `index`.
pub struct CheckDone {
    pub index: usize,
    pub check: Check,
    /// How late the check started against its schedule.
    pub lag: Duration,
    /// Ticks skipped before this one because the previous check was still running.
    pub skipped: u64,
}

/// Starts every monitor's task, each following its monitor's state from `states` (the
/// engine's, index for index). Tasks stop scheduling when `stop` turns true; a check in
/// flight finishes and is reported first.
pub fn spawn(
    monitors: Monitors,
    states: Vec<MonitorState>,
    client: HttpClient,
    max_concurrent: usize,
    clock: Arc<dyn Clock>,
    events: mpsc::Sender<CheckDone>,
    stop: watch::Receiver<bool>,
) -> JoinSet<()> {
    let permits = Arc::new(Semaphore::new(max_concurrent));
    let mut tasks = JoinSet::new();
    let now = Instant::now();
    for (index, mut state) in states.into_iter().enumerate().take(monitors.len()) {
        let monitors = Arc::clone(&monitors);
        let (client, permits, clock, events, mut stop) = (client.clone(), permits.clone(), clock.clone(), events.clone(), stop.clone());
        tasks.spawn(async move {
            let monitor = &monitors[index];
            let interval = monitor.config.interval;
            let mut ticks = tokio::time::interval_at(now + start_offset(monitor.config.name.as_str(), interval), interval);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
            let mut previous: Option<Instant> = None;
            let mut retry_at: Option<Instant> = None;
            loop {
                let (scheduled, retry) = tokio::select! {
                    biased;
                    () = crate::node::stopped(&mut stop) => break,
                    scheduled = ticks.tick() => (scheduled, false),
                    () = sleep_until(retry_at) => (retry_at.unwrap_or_else(Instant::now), true),
                };
                let skipped = match previous {
                    Some(previous) if !retry => {
                        let gap = scheduled.duration_since(previous).as_millis() / interval.as_millis().max(1);
                        u64::try_from(gap).unwrap_or(0).saturating_sub(1)
                    }
                    _ => 0,
                };
                if !retry {
                    previous = Some(scheduled);
                }
                let Ok(_permit) = permits.acquire().await else { break };
                let lag = Instant::now().saturating_duration_since(scheduled);
                let span = tracing::info_span!(
                    "check",
                    monitor = %monitor.config.name,
                    healthy = tracing::field::Empty,
                    trace_id = tracing::field::Empty
                );
                crate::telemetry::record_trace_id(&span);
                // Boxed: the check's future (the HTTP client's connection state) is several
                // KB; kept inline it would make every monitor's idle task that big (250 MB
                // at 50,000 monitors), boxed it exists only while the check runs.
                let check = Box::pin(tracing::Instrument::instrument(monitor.check(&client, || clock.now()), span.clone())).await;
                span.record("healthy", check.healthy);
                state.observe(check.healthy, check.at, monitor.config.thresholds);
                retry_at = monitor.config.retry_interval.filter(|_| state.is_settling()).map(|pace| Instant::now() + pace);
                if events.send(CheckDone { index, check, lag, skipped }).await.is_err() {
                    break;
                }
            }
        });
    }
    tasks
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
