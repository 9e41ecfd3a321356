//! Every monitor's uptime per UTC day over the last 90 days, for the overview. Past
//! days do not change, so they are read and computed once a day (the first overview of
//! the day, or at start); a request then reads only today's transitions.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Mutex;
use vigil_core::hysteresis::Health;
use vigil_core::statuspage::daily_uptime;
use vigil_core::uptime::{compute, StateChange};
use vigil_core::Timestamp;
use vigil_store::{Store, StoreError};

const DAY: i64 = 86_400_000;

/// One monitor's bar and where it stands now.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Uptime (percent) per day, oldest first, today last; `None` without data.
    pub days: Vec<Option<f64>>,
    pub state: Health,
    /// Its latest transition: when, and why.
    pub since: Option<Timestamp>,
    pub reason: Option<String>,
}

impl Default for Bar {
    fn default() -> Bar {
        Bar { days: Vec::new(), state: Health::Unknown, since: None, reason: None }
    }
}

/// A transition: when, to what, and why.
type Change = (Timestamp, Health, String);

/// The completed days, as computed at the start of `day`.
struct Past {
    day: i64,
    /// Per monitor: its completed days and its last transition before `day`.
    monitors: HashMap<String, (Vec<Option<f64>>, Option<Change>)>,
}

pub struct UptimeBars {
    store: Store,
    names: Vec<String>,
    days: u32,
    past: Mutex<Option<Arc<Past>>>,
}

impl UptimeBars {
    pub fn new(store: Store, names: Vec<String>, days: u32) -> UptimeBars {
        UptimeBars { store, names, days: days.max(1), past: Mutex::new(None) }
    }

    /// The completed days as of `today` (computed now if another day's are held).
    async fn past(&self, today: i64) -> Result<Arc<Past>, StoreError> {
        let mut held = self.past.lock().await;
        if let Some(past) = held.as_ref().filter(|past| past.day == today) {
            return Ok(Arc::clone(past));
        }
        let completed = self.days - 1;
        let from = Timestamp(today - i64::from(completed) * DAY);
        let changes = self.store.state_changes_of(&self.names, from, Timestamp(today)).await?;
        let coverage = self.store.coverage(from, Timestamp(today)).await?;
        let latest: HashMap<String, Change> = self
            .store
            .latest_transitions_before(Timestamp(today))
            .await?
            .into_iter()
            .map(|record| (record.monitor, (record.at, record.to, record.reason)))
            .collect();
        let monitors = self
            .names
            .iter()
            .map(|name| {
                let changes = changes.get(name).map_or(&[][..], Vec::as_slice);
                let days = if completed == 0 { Vec::new() } else { daily_uptime(changes, &coverage, completed, Timestamp(today - 1)) };
                (name.clone(), (days, latest.get(name).cloned()))
            })
            .collect();
        let past = Arc::new(Past { day: today, monitors });
        *held = Some(Arc::clone(&past));
        Ok(past)
    }

    /// Every monitor's bar at `now`, by name.
    pub async fn bars(&self, now: Timestamp) -> Result<HashMap<String, Bar>, StoreError> {
        let today = now.0.div_euclid(DAY) * DAY;
        let past = self.past(today).await?;
        let mut todays: HashMap<String, Vec<Change>> = HashMap::new();
        for record in self.store.transitions_between(Timestamp(today), Timestamp(now.0 + 1)).await? {
            todays.entry(record.monitor).or_default().push((record.at, record.to, record.reason));
        }
        let coverage = self.store.coverage(Timestamp(today), now).await?;
        Ok(self
            .names
            .iter()
            .map(|name| {
                let (days, before) = past.monitors.get(name).cloned().unwrap_or_default();
                let today_changes = todays.remove(name).unwrap_or_default();
                let changes: Vec<StateChange> =
                    before.iter().chain(&today_changes).map(|(at, health, _)| StateChange { at: *at, health: *health }).collect();
                let mut days = days;
                days.push((now.0 > today).then(|| compute(&changes, &coverage, Timestamp(today), now).uptime_percent).flatten());
                let last = today_changes.last().or(before.as_ref());
                let bar = Bar {
                    days,
                    state: last.map_or(Health::Unknown, |(_, health, _)| *health),
                    since: last.map(|(at, _, _)| *at),
                    reason: last.map(|(_, _, reason)| reason.clone()),
                };
                (name.clone(), bar)
            })
            .collect())
    }
}
