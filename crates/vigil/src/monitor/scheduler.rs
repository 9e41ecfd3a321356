//! The scheduler: one task per monitor on a drift-free cadence (ticks at fixed instants,
//! a missed tick is skipped, never bunched), bounded concurrency across monitors, and
//! a per-check timeout, so one slow target never delays another.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};
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

/// Starts every monitor's task. Tasks stop scheduling when `stop` turns true; a check in
/// flight finishes and is reported first.
pub fn spawn(
    monitors: Monitors,
    client: HttpClient,
    max_concurrent: usize,
    clock: Arc<dyn Clock>,
    events: mpsc::Sender<CheckDone>,
    stop: watch::Receiver<bool>,
) -> JoinSet<()> {
    let permits = Arc::new(Semaphore::new(max_concurrent));
    let mut tasks = JoinSet::new();
    let now = Instant::now();
    for index in 0..monitors.len() {
        let monitors = Arc::clone(&monitors);
        let (client, permits, clock, events, mut stop) = (client.clone(), permits.clone(), clock.clone(), events.clone(), stop.clone());
        tasks.spawn(async move {
            let monitor = &monitors[index];
            let interval = monitor.config.interval;
            let mut ticks = tokio::time::interval_at(now + start_offset(monitor.config.name.as_str(), interval), interval);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
            let mut previous: Option<Instant> = None;
            loop {
                let scheduled = tokio::select! {
                    biased;
                    () = crate::run::stopped(&mut stop) => break,
                    scheduled = ticks.tick() => scheduled,
                };
                let skipped = previous.map_or(0, |previous| {
                    let gap = scheduled.duration_since(previous).as_millis() / interval.as_millis().max(1);
                    u64::try_from(gap).unwrap_or(0).saturating_sub(1)
                });
                previous = Some(scheduled);
                let Ok(_permit) = permits.acquire().await else { break };
                let lag = Instant::now().saturating_duration_since(scheduled);
                let check = monitor.check(&client, || clock.now()).await;
                if events.send(CheckDone { index, check, lag, skipped }).await.is_err() {
                    break;
                }
            }
        });
    }
    tasks
}
