//! Who is on call, for any moment past or future: a schedule's layers of rotations, each
//! in its own time zone, restricted to times of the week if it says so, and overrides.
//!
//! A layer's members take turns from its `start` (the first member's first turn). A
//! daily or weekly rotation counts calendar days in the layer's zone, so its handoffs
//! stay at the same wall-clock time across daylight-saving changes (that turn is an hour
//! shorter or longer); a rotation of any other length (`12h`) counts elapsed time. A
//! handoff at a wall-clock time the clocks skip (a spring-forward gap) happens as much
//! later as the gap is long (02:30 becomes 03:30), and one at a time that happens twice
//! happens the first time: the `compatible` rule of RFC 5545 calendars and Temporal.
//!
//! Where layers overlap, the later one in the list wins (as a PagerDuty schedule's higher
//! layer does); a layer restricted to some times of the week has nobody outside them, so
//! a lower one shows through. An override beats every layer for its span. Everything is
//! computed from the schedule and the moment asked about: nothing is stored but the
//! overrides.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::ToSpan;

const MINUTE: i64 = 60_000;
const WEEK_MINUTES: u32 = 7 * 24 * 60;

/// How long one member's turn lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Calendar days in the layer's zone: 1 for daily, 7 for weekly.
    Days(u32),
    /// Elapsed milliseconds.
    Fixed(i64),
}

/// A span of the week a layer covers, in minutes from Monday 00:00 local time:
/// `[start, end)`, wrapping past Sunday when `end <= start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restriction {
    pub start: u32,
    pub end: u32,
}

impl Restriction {
    fn contains(&self, minute: u32) -> bool {
        if self.start < self.end {
            (self.start..self.end).contains(&minute)
        } else {
            minute >= self.start || minute < self.end
        }
    }
}

/// One layer of a schedule.
#[derive(Debug, Clone)]
pub struct Layer {
    pub members: Vec<String>,
    pub turn: Turn,
    /// When the first member's first turn starts, milliseconds since the epoch.
    pub start: i64,
    pub zone: TimeZone,
    /// The times of the week it covers; empty: all of them.
    pub restrictions: Vec<Restriction>,
}

/// Someone on call instead of the layers, for `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub person: String,
    pub from: i64,
    pub to: i64,
}

/// A schedule: layers, later ones over earlier ones, and the overrides its config gives.
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    pub layers: Vec<Layer>,
    pub overrides: Vec<Override>,
}

/// Who is on call at a moment, and where that comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnCall {
    pub person: String,
    /// The layer's index, or `None` for an override.
    pub layer: Option<usize>,
}

/// One stretch of the final schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shift {
    pub person: String,
    pub layer: Option<usize>,
    pub from: i64,
    pub to: i64,
}

fn zoned(at: i64, zone: &TimeZone) -> Option<DateTime> {
    Some(jiff::Timestamp::from_millisecond(at).ok()?.to_zoned_datetime(zone.clone()).datetime())
}

/// The instant a local date and time happens in `zone` (a time in a gap: when the clocks
/// reach it).
fn instant(date: Date, time: Time, zone: &TimeZone) -> Option<i64> {
    Some(zone.to_timestamp(date.to_datetime(time)).ok()?.as_millisecond())
}

impl Layer {
    /// Which turn `at` falls in (from 0 at `start`, negative before), and when that turn
    /// began and ends.
    fn turn_at(&self, at: i64) -> Option<(i64, i64, i64)> {
        match self.turn {
            Turn::Fixed(length) => {
                let length = length.max(1);
                let turn = (at - self.start).div_euclid(length);
                Some((turn, self.start + turn * length, self.start + (turn + 1) * length))
            }
            Turn::Days(days) => {
                let days = i64::from(days.max(1));
                let first = zoned(self.start, &self.zone)?;
                let local = zoned(at, &self.zone)?;
                let handoff = first.time();
                let mut elapsed = i64::from(local.date().since((jiff::Unit::Day, first.date())).ok()?.get_days());
                // Before this date's handoff (as an instant: a handoff in a gap is late).
                if at < instant(local.date(), handoff, &self.zone)? {
                    elapsed -= 1;
                }
                let turn = elapsed.div_euclid(days);
                let begin = first.date().checked_add((turn * days).days()).ok()?;
                let end = first.date().checked_add(((turn + 1) * days).days()).ok()?;
                Some((turn, instant(begin, handoff, &self.zone)?, instant(end, handoff, &self.zone)?))
            }
        }
    }

    /// Minutes from Monday 00:00 local.
    fn week_minute(&self, at: i64) -> Option<u32> {
        let local = zoned(at, &self.zone)?;
        let day = u32::try_from(local.weekday().to_monday_zero_offset()).ok()?;
        Some(day * 1_440 + u32::try_from(local.hour()).ok()? * 60 + u32::try_from(local.minute()).ok()?)
    }

    fn covers(&self, at: i64) -> bool {
        self.restrictions.is_empty()
            || self.week_minute(at).is_some_and(|minute| self.restrictions.iter().any(|restriction| restriction.contains(minute)))
    }

    /// The member on call at `at`, if the layer covers it.
    fn member_at(&self, at: i64) -> Option<&str> {
        if self.members.is_empty() || !self.covers(at) {
            return None;
        }
        let (turn, _, _) = self.turn_at(at)?;
        let index = usize::try_from(turn.rem_euclid(self.members.len() as i64)).ok()?;
        Some(&self.members[index])
    }

    /// The next moment after `at` when this layer's answer may change: its turn's end or
    /// the next edge of a restriction.
    fn next_change(&self, at: i64) -> Option<i64> {
        let turn_end = self.turn_at(at).map(|(_, _, end)| end);
        let restriction = self.next_restriction_edge(at);
        turn_end.into_iter().chain(restriction).filter(|next| *next > at).min()
    }

    fn next_restriction_edge(&self, at: i64) -> Option<i64> {
        if self.restrictions.is_empty() {
            return None;
        }
        let minute = self.week_minute(at)?;
        // The next edge in minutes of the week ahead (1..=a week).
        let ahead = self
            .restrictions
            .iter()
            .flat_map(|restriction| [restriction.start, restriction.end % WEEK_MINUTES])
            .map(|edge| (edge + WEEK_MINUTES - minute - 1) % WEEK_MINUTES + 1)
            .min()?;
        // Counted as local time: the edge is a wall-clock time.
        let local = zoned(at, &self.zone)?;
        let from_minute = local.date().to_datetime(Time::constant(local.hour(), local.minute(), 0, 0));
        let edge = from_minute.checked_add(i64::from(ahead).minutes()).ok()?;
        let next = instant(edge.date(), edge.time(), &self.zone)?;
        // A gap can put the edge at or before `at`: then step a minute past it.
        Some(if next > at { next } else { at + MINUTE })
    }
}

impl Schedule {
    /// Who is on call at `at`: an override (`extra` first, then the schedule's own), else
    /// the last layer that has someone then.
    pub fn who(&self, extra: &[Override], at: i64) -> Option<OnCall> {
        if let Some(found) = extra.iter().chain(&self.overrides).find(|item| item.from <= at && at < item.to) {
            return Some(OnCall { person: found.person.clone(), layer: None });
        }
        self.layers
            .iter()
            .enumerate()
            .rev()
            .find_map(|(index, layer)| layer.member_at(at).map(|person| OnCall { person: person.to_owned(), layer: Some(index) }))
    }

    /// The next moment after `at` when the answer may change.
    pub fn next_change(&self, extra: &[Override], at: i64) -> Option<i64> {
        let overrides = extra.iter().chain(&self.overrides).flat_map(|item| [item.from, item.to]).filter(|edge| *edge > at);
        self.layers.iter().filter_map(|layer| layer.next_change(at)).chain(overrides).min()
    }

    /// The final schedule over `[from, to)`: who is on call when, with stretches of the
    /// same person from the same source joined, and time nobody covers left out.
    pub fn shifts(&self, extra: &[Override], from: i64, to: i64) -> Vec<Shift> {
        let mut shifts: Vec<Shift> = Vec::new();
        let mut at = from;
        while at < to {
            let next = self.next_change(extra, at).unwrap_or(to).min(to);
            if let Some(on_call) = self.who(extra, at) {
                match shifts.last_mut() {
                    Some(last) if last.to == at && last.person == on_call.person && last.layer == on_call.layer => last.to = next,
                    _ => shifts.push(Shift { person: on_call.person, layer: on_call.layer, from: at, to: next }),
                }
            }
            at = next;
        }
        shifts
    }
}

/// Overrides of one schedule that overlap: the pairs, by index.
pub fn overlapping(overrides: &[Override]) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    for (first, a) in overrides.iter().enumerate() {
        for (second, b) in overrides.iter().enumerate().skip(first + 1) {
            if a.from < b.to && b.from < a.to {
                pairs.push((first, second));
            }
        }
    }
    pairs
}

#[cfg(test)]
mod tests;
