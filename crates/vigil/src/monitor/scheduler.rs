//! The scheduler: one task per monitor on a drift-free cadence (ticks at fixed instants,
//! a missed tick is skipped, never bunched), bounded concurrency across monitors, and
//! a per-check timeout, so one slow target never delays another. The tasks run on probe
//! threads of their own (one per core in `vigil run`), the monitors dealt between them.
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

/// The target of each check's span, which the traces' filter enables at DEBUG.
pub const CHECK_SPAN_TARGET: &str = "vigil::check";

/// A finished check of monitor `index`.
pub struct CheckDone {
    pub index: usize,
    pub check: Check,
    /// How late the check started against its schedule.
    pub lag: Duration,
    /// Ticks skipped before this one because the previous check was still running.
    pub skipped: u64,
}

/// Starts every monitor's task on `threads` probe threads, each with a single-threaded
/// runtime of its own and every `threads`-th monitor: a check's wake-ups (timer,
/// connect, response, its connection task) stay on one thread, where a shared
/// work-stealing runtime woke its other workers through futexes at every turn (a fifth
/// of the CPU per check at 10,000 checks/s). The `max_concurrent` permits are one pool
/// for every thread, so a thread whose targets are slow can take what the others leave
/// (an uncontended permit is an atomic add; only a check that waits for one is woken
/// from another thread). Each task follows its monitor's state from `states` (the
/// engine's, index for index). Tasks stop scheduling when `stop` turns true; a check in
/// flight finishes and is reported first.
#[allow(clippy::too_many_arguments)]
pub fn spawn(
    monitors: Monitors,
    states: Vec<MonitorState>,
    client: HttpClient,
    max_concurrent: usize,
    threads: usize,
    clock: Arc<dyn Clock>,
    events: mpsc::Sender<CheckDone>,
    stop: watch::Receiver<bool>,
) -> std::io::Result<Checks> {
    let threads = threads.clamp(1, monitors.len().max(1));
    let permits = Arc::new(Semaphore::new(max_concurrent.max(1)));
    let now = Instant::now();
    let mut partitions: Vec<Vec<(usize, MonitorState)>> = (0..threads).map(|_| Vec::new()).collect();
    for (index, state) in states.into_iter().enumerate().take(monitors.len()) {
        partitions[index % threads].push((index, state));
    }
    let mut finished = Vec::with_capacity(threads);
    for (number, partition) in partitions.into_iter().enumerate() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let (monitors, client, clock, events, stop, permits) =
            (Arc::clone(&monitors), client.clone(), clock.clone(), events.clone(), stop.clone(), Arc::clone(&permits));
        std::thread::Builder::new().name(format!("vigil-probes-{number}")).spawn(move || {
            runtime.block_on(async move {
                let mut tasks = JoinSet::new();
                for (index, state) in partition {
                    let monitors = Arc::clone(&monitors);
                    let (client, permits, clock, events, stop) =
                        (client.clone(), permits.clone(), clock.clone(), events.clone(), stop.clone());
                    tasks.spawn(async move { run_monitor(&monitors, index, state, now, &client, &permits, &clock, &events, stop).await });
                }
                drop(events);
                while tasks.join_next().await.is_some() {}
            });
            let _ = done_tx.send(());
        })?;
        finished.push(done_rx);
    }
    Ok(Checks { finished })
}

/// The monitors' tasks on their probe threads.
pub struct Checks {
    finished: Vec<tokio::sync::oneshot::Receiver<()>>,
}

impl Checks {
    /// Waits until every monitor's task has ended (after `stop`, or once the events'
    /// receiver is gone).
    pub async fn join(self) {
        for finished in self.finished {
            let _ = finished.await;
        }
    }
}

/// One monitor's checks, on its cadence, until `stop`.
#[allow(clippy::too_many_arguments)]
async fn run_monitor(
    monitors: &Monitors,
    index: usize,
    mut state: MonitorState,
    now: Instant,
    client: &HttpClient,
    permits: &Semaphore,
    clock: &Arc<dyn Clock>,
    events: &mpsc::Sender<CheckDone>,
    mut stop: watch::Receiver<bool>,
) {
    let monitor = &monitors[index];
    let interval = monitor.config.interval;
    let mut ticks = tokio::time::interval_at(now + start_offset(monitor.config.name.as_str(), interval), interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut previous: Option<Instant> = None;
    let mut retry_at: Option<Instant> = None;
    // One waiter for the whole task: a new one per tick would join and leave the
    // stop channel's waiter list, a lock shared by every monitor.
    let stopped = crate::node::stopped(&mut stop);
    tokio::pin!(stopped);
    loop {
        let (scheduled, retry) = tokio::select! {
            biased;
            () = &mut stopped => break,
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
        // DEBUG under its own target: the logs' default level makes no span per
        // check (formatting the monitor's name into each was 16 % of the CPU per
        // check at 4,000 checks/s), the traces' filter asks for it by target.
        let span = tracing::debug_span!(
            target: CHECK_SPAN_TARGET,
            "check",
            monitor = %monitor.config.name,
            healthy = tracing::field::Empty,
            trace_id = tracing::field::Empty
        );
        crate::telemetry::record_trace_id(&span);
        // Boxed: the check's future (the HTTP client's connection state) is several
        // KB; kept inline it would make every monitor's idle task that big (250 MB
        // at 50,000 monitors), boxed it exists only while the check runs.
        let check = Box::pin(tracing::Instrument::instrument(monitor.check(client, || clock.now()), span.clone())).await;
        span.record("healthy", check.healthy);
        state.observe(check.healthy, check.at, monitor.config.thresholds);
        retry_at = monitor.config.retry_interval.filter(|_| state.is_settling()).map(|pace| Instant::now() + pace);
        if events.send(CheckDone { index, check, lag, skipped }).await.is_err() {
            break;
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
