//! When a group's notification goes out, with Alertmanager's timers and dedup
//! (`dispatch/dispatch.go`'s aggregation group, `notify.go`'s `DedupStage`): a new
//! group waits `group-wait` (no wait for an alert that began longer ago than that),
//! then is looked at every `group-interval`; a look sends when the firing alerts are
//! not a subset of those last sent, when every alert has resolved since a notification
//! that had firing ones, when `send-resolved` is on and some resolved alert is new, or
//! when `repeat-interval` has passed since the last notification. Pure: times in, decisions out.

use std::collections::BTreeSet;
use std::time::Duration;

/// What was last sent for a group and receiver (Alertmanager's notification log entry).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sent {
    pub firing: BTreeSet<u64>,
    pub resolved: BTreeSet<u64>,
    /// Milliseconds since the epoch; 0 means never stamped (always re-sent).
    pub at_ms: i64,
}

/// Whether a look at the group now should notify.
pub fn needs_update(
    last: Option<&Sent>,
    firing: &BTreeSet<u64>,
    resolved: &BTreeSet<u64>,
    repeat: Duration,
    send_resolved: bool,
    now_ms: i64,
) -> bool {
    let Some(last) = last else { return !firing.is_empty() };
    if !firing.is_subset(&last.firing) {
        return true;
    }
    if firing.is_empty() {
        // All resolved: tell the receiver, if it heard of any firing.
        return !last.firing.is_empty();
    }
    if send_resolved && !resolved.is_subset(&last.resolved) {
        return true;
    }
    let repeat_ms = i64::try_from(repeat.as_millis()).unwrap_or(i64::MAX);
    last.at_ms < now_ms.saturating_sub(repeat_ms)
}

/// When a group looks at its alerts next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    pub group_wait: Duration,
    pub group_interval: Duration,
}

impl Timers {
    fn ms(duration: Duration) -> i64 {
        i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
    }

    /// The first look of a group created at `now_ms` by an alert that started at
    /// `starts_at_ms`: after group-wait, or at once for an alert older than that.
    pub fn first_flush(&self, now_ms: i64, starts_at_ms: i64) -> i64 {
        if starts_at_ms.saturating_add(Timers::ms(self.group_wait)) < now_ms {
            now_ms
        } else {
            now_ms.saturating_add(Timers::ms(self.group_wait))
        }
    }

    /// The look after one at `flushed_ms`.
    pub fn next_flush(&self, flushed_ms: i64) -> i64 {
        flushed_ms.saturating_add(Timers::ms(self.group_interval))
    }
}
