//! `people:`, `schedules:`, `escalation-policies:` and `incidents:`, and the `incident:`
//! of routes and receivers: who can be paged and how, who is on call when, how a page
//! escalates, and what an incident does. Raw forms, their validation into located
//! errors, and the typed model, in one place.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use marked_yaml::Spanned;
use serde::Deserialize;
use vigil_core::escalation::{Policy, Step, Target};
use vigil_core::incident::{Cadence, IncidentRule, IncidentSetting, Severity};
use vigil_core::oncall::{Layer, Override, Restriction, Schedule, Turn};

use crate::load::Loader;
use crate::model::NotifierConfig;

/// `people:` entry: how a person is paged.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawPerson {
    /// Where pages go by e-mail (through `incidents.email-via`).
    pub email: Option<Spanned<String>>,
    /// A Slack member ID (`U012AB3CD`), mentioned in pages sent through
    /// `incidents.slack-via`.
    pub slack: Option<Spanned<String>>,
    /// A URL pages are POSTed to as JSON (ntfy, a pager bridge).
    pub webhook: Option<Spanned<String>>,
    /// Their time zone, for showing them times (`Europe/Berlin`). Default UTC.
    pub time_zone: Option<Spanned<String>>,
}

/// `schedules:` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawSchedule {
    /// The zone its layers' handoffs and restrictions are read in, unless a layer says.
    /// Default UTC.
    pub time_zone: Option<Spanned<String>>,
    /// Rotations; a later layer takes precedence where it has someone.
    pub layers: Vec<RawLayer>,
    /// Someone on call instead of the layers for a while (more can be added at run
    /// time with `vigil oncall override`).
    #[serde(default)]
    pub overrides: Vec<RawOverride>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawLayer {
    /// `daily`, `weekly`, or a length such as `12h` or `3d`.
    pub rotation: Spanned<String>,
    /// When turns change: `09:00` (daily and other lengths), `mon 09:00` (weekly).
    /// Default 09:00, Mondays for weekly.
    pub handoff: Option<Spanned<String>>,
    /// The people taking turns, in order.
    pub members: Vec<Spanned<String>>,
    /// The date the first member's first turn starts (`2026-12-07`). Default: the first
    /// handoff of 2024.
    pub start: Option<Spanned<String>>,
    /// Times of the week the layer covers: `mon-fri 09:00-17:00`, `22:00-06:00`,
    /// `fri 18:00-mon 09:00`. Default: all the time.
    #[serde(default)]
    pub restrictions: Vec<Spanned<String>>,
    /// This layer's own zone. Default: the schedule's.
    pub time_zone: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawOverride {
    pub person: Spanned<String>,
    /// RFC 3339 (`2026-12-24T00:00:00Z`), or a local date and time in the schedule's zone.
    pub from: Spanned<String>,
    pub to: Spanned<String>,
}

/// `escalation-policies:` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawPolicy {
    /// In order: whom to notify (`schedule:NAME`, `person:NAME`, or a notifier), then how
    /// long to wait for an acknowledgement.
    pub steps: Vec<RawStep>,
    /// Run the steps this many more times. Default 0.
    pub repeat: Option<Spanned<i64>>,
    /// Notified once the last step's wait passes without an acknowledgement.
    #[serde(default)]
    pub fallback: Vec<Spanned<String>>,
    /// After an acknowledgement, page again from the first step if nothing happens to the
    /// incident for this long.
    pub renotify: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawStep {
    pub notify: Vec<Spanned<String>>,
    /// Default 5m.
    pub wait: Option<Spanned<String>>,
}

/// `incidents:`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawIncidents {
    /// The email notifier whose SMTP settings page people by e-mail.
    pub email_via: Option<Spanned<String>>,
    /// The Slack notifier that pages people who have a `slack:` member ID.
    pub slack_via: Option<Spanned<String>>,
    /// Where Vigil is reached from outside, for acknowledgement links in pages
    /// (`https://vigil.example.com`). Default: `http://` and `listen`.
    pub external_url: Option<Spanned<String>>,
    /// Notifiers that get stakeholder updates.
    #[serde(default)]
    pub stakeholders: Vec<Spanned<String>>,
    /// Stakeholder update cadence per severity: `SEV-1: {first: 5m, every: 15m}`.
    #[serde(default)]
    pub updates: BTreeMap<String, RawCadence>,
    /// Severities that resolve themselves when all their alerts have; the others ask a
    /// human to confirm. Default `[SEV-3]`.
    pub auto_resolve: Option<Vec<Spanned<String>>>,
    /// How often an incident whose alerts all resolved asks for that confirmation.
    /// Default 30m.
    pub resolve_reminder: Option<Spanned<String>>,
    /// Whether alerts with `severity: page` open an incident when no route says.
    /// Default true.
    pub page_tier: Option<bool>,
    /// The escalation policy of incidents whose route names none.
    pub default_escalation: Option<Spanned<String>>,
    /// How long an acknowledgement link in a page works. Default 24h.
    pub link_lifetime: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawCadence {
    pub first: Option<Spanned<String>>,
    pub every: Option<Spanned<String>>,
}

/// A route's or receiver's `incident:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawIncidentRule {
    /// `false`: the alerts it takes open no incident. Default true.
    pub open: Option<bool>,
    /// `SEV-1`, `SEV-2` or `SEV-3`. Default SEV-2.
    pub severity: Option<Spanned<String>>,
    /// The service the incident is about. Default: the alert's `service` label.
    pub service: Option<String>,
    /// The escalation policy that pages for it.
    pub escalation: Option<Spanned<String>>,
}

/// A person who can be paged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonConfig {
    pub name: String,
    pub email: Option<String>,
    pub slack: Option<String>,
    pub webhook: Option<String>,
    /// IANA name of their zone.
    pub time_zone: String,
}

/// A schedule: its layers and config overrides, and the zone it is read in.
#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    pub name: String,
    pub time_zone: TimeZone,
    pub schedule: Schedule,
}

/// `incidents:`, validated.
#[derive(Debug, Clone)]
pub struct IncidentsConfig {
    pub email_via: Option<String>,
    pub slack_via: Option<String>,
    /// Base of acknowledgement links, without a trailing `/`.
    pub external_url: Option<String>,
    pub stakeholders: Vec<String>,
    pub cadences: BTreeMap<Severity, Cadence>,
    pub auto_resolve: BTreeSet<Severity>,
    pub resolve_reminder: Duration,
    pub page_tier: bool,
    pub default_escalation: Option<String>,
    pub link_lifetime: Duration,
}

impl Default for IncidentsConfig {
    fn default() -> Self {
        IncidentsConfig {
            email_via: None,
            slack_via: None,
            external_url: None,
            stakeholders: Vec::new(),
            cadences: Severity::ALL.iter().map(|severity| (*severity, Cadence::default_for(*severity))).collect(),
            auto_resolve: BTreeSet::from([Severity::Sev3]),
            resolve_reminder: Duration::from_secs(30 * 60),
            page_tier: true,
            default_escalation: None,
            link_lifetime: Duration::from_secs(24 * 3600),
        }
    }
}

/// The sections together, as the rest of the config refers to them.
#[derive(Debug, Clone, Default)]
pub struct OnCallConfig {
    pub people: BTreeMap<String, PersonConfig>,
    pub schedules: BTreeMap<String, ScheduleConfig>,
    pub escalation_policies: BTreeMap<String, Policy>,
    pub incidents: IncidentsConfig,
}

/// The zone of `name`: the system's database, `UTC` without one.
fn zone(name: &str) -> Result<TimeZone, String> {
    if name == "UTC" {
        return Ok(TimeZone::UTC);
    }
    TimeZone::get(name).map_err(|_| format!("unknown time zone `{name}`, expected an IANA name such as Europe/Berlin or UTC"))
}

fn weekday(text: &str) -> Option<Weekday> {
    let text = text.to_ascii_lowercase();
    const NAMES: [(&str, Weekday); 7] = [
        ("mon", Weekday::Monday),
        ("tue", Weekday::Tuesday),
        ("wed", Weekday::Wednesday),
        ("thu", Weekday::Thursday),
        ("fri", Weekday::Friday),
        ("sat", Weekday::Saturday),
        ("sun", Weekday::Sunday),
    ];
    NAMES.iter().find(|(short, _)| text.len() >= 3 && short.starts_with(&text[..3]) && text.len() <= 9).map(|(_, day)| *day)
}

/// Minutes of a `HH:MM` (`24:00` when `end`).
fn minutes(text: &str, end: bool) -> Option<u32> {
    let (hours, minutes) = text.split_once(':')?;
    let (hours, minutes): (u32, u32) = (hours.parse().ok()?, minutes.parse().ok()?);
    let total = hours * 60 + minutes;
    (minutes < 60 && (total < 24 * 60 || end && total == 24 * 60)).then_some(total)
}

/// A handoff: an optional weekday and a time of day.
fn handoff(text: &str) -> Option<(Option<Weekday>, Time)> {
    let mut parts = text.split_whitespace();
    let (day, time) = match (parts.next(), parts.next(), parts.next()) {
        (Some(time), None, None) => (None, time),
        (Some(day), Some(time), None) => (Some(weekday(day)?), time),
        _ => return None,
    };
    let total = minutes(time, false)?;
    Some((day, Time::new(i8::try_from(total / 60).ok()?, i8::try_from(total % 60).ok()?, 0, 0).ok()?))
}

/// A restriction: `[DAY[-DAY]] HH:MM-HH:MM`, or `DAY HH:MM-DAY HH:MM`.
pub(crate) fn restrictions(text: &str) -> Result<Vec<Restriction>, String> {
    let invalid = || format!("invalid restriction `{text}`, expected e.g. `mon-fri 09:00-17:00`, `22:00-06:00` or `fri 18:00-mon 09:00`");
    let day_index = |day: &str| weekday(day).map(|day| u32::try_from(day.to_monday_zero_offset()).unwrap_or(0));
    const WEEK: u32 = 7 * 1_440;
    let words: Vec<&str> = text.split_whitespace().collect();
    match words[..] {
        // `fri 18:00-mon 09:00`: one span of the week.
        [from_day, span, to_time] if span.contains('-') => {
            let (from_time, to_day) = span.split_once('-').ok_or_else(invalid)?;
            let start = day_index(from_day).ok_or_else(invalid)? * 1_440 + minutes(from_time, false).ok_or_else(invalid)?;
            let end = (day_index(to_day).ok_or_else(invalid)? * 1_440 + minutes(to_time, true).ok_or_else(invalid)?) % WEEK;
            Ok(vec![Restriction { start, end }])
        }
        [times] | [_, times] => {
            let days: Vec<u32> = match words[..] {
                [_, _] => {
                    let range = words[0];
                    let (first, last) = range.split_once('-').unwrap_or((range, range));
                    let (first, last) = (day_index(first).ok_or_else(invalid)?, day_index(last).ok_or_else(invalid)?);
                    let count = (last + 7 - first) % 7 + 1;
                    (0..count).map(|offset| (first + offset) % 7).collect()
                }
                _ => (0..7).collect(),
            };
            let (from, to) = times.split_once('-').ok_or_else(invalid)?;
            let (from, to) = (minutes(from, false).ok_or_else(invalid)?, minutes(to, true).ok_or_else(invalid)?);
            if from == to {
                return Err(format!("restriction `{text}` covers no time"));
            }
            // Past midnight (`22:00-06:00`) runs into the next day.
            let length = if to > from { to - from } else { 1_440 - from + to };
            Ok(days.into_iter().map(|day| Restriction { start: day * 1_440 + from, end: (day * 1_440 + from + length) % WEEK }).collect())
        }
        _ => Err(invalid()),
    }
}

/// A map's entries in name order (its keys keep their place in the file).
fn sorted<T>(map: HashMap<Spanned<String>, T>) -> Vec<(Spanned<String>, T)> {
    let mut entries: Vec<(Spanned<String>, T)> = map.into_iter().collect();
    entries.sort_by(|(a, _), (b, _)| a.as_str().cmp(b.as_str()));
    entries
}

impl Loader {
    /// Reads the four sections; `notifiers` are the configured ones (to check `*-via`,
    /// `stakeholders` and notifier targets), `listen` the default for links.
    pub(crate) fn on_call(
        &mut self,
        people: HashMap<Spanned<String>, RawPerson>,
        schedules: HashMap<Spanned<String>, RawSchedule>,
        policies: HashMap<Spanned<String>, RawPolicy>,
        incidents: Option<RawIncidents>,
        notifiers: &BTreeMap<String, NotifierConfig>,
    ) -> OnCallConfig {
        let incidents_raw = incidents.unwrap_or_default();
        let mut config = OnCallConfig::default();
        let mut person_spans = BTreeMap::new();
        for (name, raw) in sorted(people) {
            if let Some(person) = self.person(&name, raw) {
                person_spans.insert(name.as_str().to_owned(), *name.span());
                config.people.insert(name.as_str().to_owned(), person);
            }
        }
        for (name, raw) in sorted(schedules) {
            if let Some(schedule) = self.schedule(&name, raw, &config.people) {
                config.schedules.insert(name.as_str().to_owned(), schedule);
            }
        }
        for (name, raw) in sorted(policies) {
            if let Some(policy) = self.policy(&name, raw, &config, notifiers) {
                config.escalation_policies.insert(name.as_str().to_owned(), policy);
            }
        }
        config.incidents = self.incidents(incidents_raw, &config, notifiers, &person_spans);
        config
    }

    fn person(&mut self, name: &Spanned<String>, raw: RawPerson) -> Option<PersonConfig> {
        if let Some(email) = &raw.email {
            let valid = email.split_once('@').is_some_and(|(user, host)| !user.is_empty() && host.contains('.') && !host.contains('@'))
                && !email.contains(char::is_whitespace);
            if !valid {
                self.error(Some(email.span()), format!("invalid e-mail address `{}` for {}", email.as_str(), name.as_str()));
            }
        }
        if let Some(webhook) = &raw.webhook {
            if crate::load::parse_http_url(webhook).is_none() {
                self.error(Some(webhook.span()), format!("invalid webhook URL for {}, expected http:// or https://", name.as_str()));
            }
        }
        let time_zone = match &raw.time_zone {
            Some(text) => match zone(text) {
                Ok(_) => text.as_str().to_owned(),
                Err(error) => {
                    self.error(Some(text.span()), error);
                    "UTC".to_owned()
                }
            },
            None => "UTC".to_owned(),
        };
        if raw.email.is_none() && raw.slack.is_none() && raw.webhook.is_none() {
            self.error(
                Some(name.span()),
                format!("person `{}` has no way to be paged: give them an `email`, `slack` or `webhook`", name.as_str()),
            );
        }
        Some(PersonConfig {
            name: name.as_str().to_owned(),
            email: raw.email.map(|email| email.as_str().to_owned()),
            slack: raw.slack.map(|slack| slack.as_str().to_owned()),
            webhook: raw.webhook.map(|webhook| webhook.as_str().to_owned()),
            time_zone,
        })
    }

    fn zone_or_utc(&mut self, text: Option<&Spanned<String>>) -> TimeZone {
        match text {
            Some(text) => zone(text).unwrap_or_else(|error| {
                self.error(Some(text.span()), error);
                TimeZone::UTC
            }),
            None => TimeZone::UTC,
        }
    }

    /// An instant from RFC 3339, or a local date and time (or date) in `zone`.
    fn instant(&mut self, text: &Spanned<String>, zone: &TimeZone) -> Option<i64> {
        if let Ok(at) = text.parse::<jiff::Timestamp>() {
            return Some(at.as_millisecond());
        }
        let local = text
            .parse::<jiff::civil::DateTime>()
            .or_else(|_| text.parse::<Date>().map(|date| date.to_datetime(Time::midnight())))
            .ok()
            .and_then(|local| zone.to_timestamp(local).ok());
        if local.is_none() {
            self.error(
                Some(text.span()),
                format!("invalid time `{}`, expected 2026-12-24T09:00:00Z or a local 2026-12-24 09:00", text.as_str()),
            );
        }
        local.map(|at| at.as_millisecond())
    }

    fn schedule(&mut self, name: &Spanned<String>, raw: RawSchedule, people: &BTreeMap<String, PersonConfig>) -> Option<ScheduleConfig> {
        let schedule_zone = self.zone_or_utc(raw.time_zone.as_ref());
        if raw.layers.is_empty() {
            self.error(Some(name.span()), format!("schedule `{}` has no layers", name.as_str()));
        }
        let name = name.as_str();
        let mut layers = Vec::new();
        for raw_layer in raw.layers {
            let layer_zone = match &raw_layer.time_zone {
                Some(_) => self.zone_or_utc(raw_layer.time_zone.as_ref()),
                None => schedule_zone.clone(),
            };
            if let Some(layer) = self.layer(name, raw_layer, layer_zone, people) {
                layers.push(layer);
            }
        }
        let mut overrides = Vec::new();
        let mut spans = Vec::new();
        for raw_override in raw.overrides {
            if !people.contains_key(raw_override.person.as_str()) {
                self.error(Some(raw_override.person.span()), format!("unknown person `{}`", raw_override.person.as_str()));
            }
            let (Some(from), Some(to)) = (self.instant(&raw_override.from, &schedule_zone), self.instant(&raw_override.to, &schedule_zone))
            else {
                continue;
            };
            if to <= from {
                self.error(Some(raw_override.to.span()), "an override must end after it starts");
                continue;
            }
            overrides.push(Override { person: raw_override.person.as_str().to_owned(), from, to });
            spans.push(*raw_override.from.span());
        }
        for (_, second) in vigil_core::oncall::overlapping(&overrides) {
            self.error(Some(&spans[second]), format!("this override of schedule `{name}` overlaps an earlier one"));
        }
        Some(ScheduleConfig { name: name.to_owned(), time_zone: schedule_zone, schedule: Schedule { layers, overrides } })
    }

    fn layer(&mut self, schedule: &str, raw: RawLayer, zone: TimeZone, people: &BTreeMap<String, PersonConfig>) -> Option<Layer> {
        let turn = match raw.rotation.as_str() {
            "daily" => Turn::Days(1),
            "weekly" => Turn::Days(7),
            other => match vigil_core::parse_duration(other) {
                Ok(length) if length.as_secs() % 86_400 == 0 && length.as_secs() > 0 => {
                    Turn::Days(u32::try_from(length.as_secs() / 86_400).unwrap_or(u32::MAX))
                }
                Ok(length) if length >= Duration::from_secs(60) => Turn::Fixed(i64::try_from(length.as_millis()).unwrap_or(i64::MAX)),
                _ => {
                    self.error(
                        Some(raw.rotation.span()),
                        format!("invalid rotation `{other}`, expected daily, weekly or a length of at least a minute such as 12h"),
                    );
                    return None;
                }
            },
        };
        if raw.members.is_empty() {
            self.error(Some(raw.rotation.span()), format!("a rotation of schedule `{schedule}` has no members"));
        }
        for member in &raw.members {
            if !people.contains_key(member.as_str()) {
                self.error(Some(member.span()), format!("unknown person `{}`", member.as_str()));
            }
        }
        let default_day = (turn == Turn::Days(7)).then_some(Weekday::Monday);
        let (day, time) = match &raw.handoff {
            Some(text) => match handoff(text) {
                Some((day, time)) => (day.or(default_day), time),
                None => {
                    self.error(Some(text.span()), format!("invalid handoff `{}`, expected `09:00` or `mon 09:00`", text.as_str()));
                    (default_day, Time::constant(9, 0, 0, 0))
                }
            },
            None => (default_day, Time::constant(9, 0, 0, 0)),
        };
        let first_date = match &raw.start {
            Some(text) => match text.parse::<Date>() {
                Ok(date) => date,
                Err(_) => {
                    self.error(Some(text.span()), format!("invalid start `{}`, expected a date such as 2026-12-07", text.as_str()));
                    Date::constant(2024, 1, 1)
                }
            },
            None => Date::constant(2024, 1, 1),
        };
        // The first handoff on or after that date, on the handoff's weekday if it has one.
        let first_date = match day {
            Some(day) => {
                let ahead = (day.to_monday_zero_offset() - first_date.weekday().to_monday_zero_offset()).rem_euclid(7);
                first_date.checked_add(jiff::Span::new().days(i64::from(ahead))).unwrap_or(first_date)
            }
            None => first_date,
        };
        let start = zone.to_timestamp(first_date.to_datetime(time)).map(|at| at.as_millisecond()).unwrap_or(0);
        let mut restrictions_list = Vec::new();
        for text in &raw.restrictions {
            match restrictions(text) {
                Ok(found) => restrictions_list.extend(found),
                Err(error) => self.error(Some(text.span()), error),
            }
        }
        Some(Layer {
            members: raw.members.iter().map(|member| member.as_str().to_owned()).collect(),
            turn,
            start,
            zone,
            restrictions: restrictions_list,
        })
    }

    fn page_target(
        &mut self,
        text: &Spanned<String>,
        config: &OnCallConfig,
        notifiers: &BTreeMap<String, NotifierConfig>,
    ) -> Option<Target> {
        let target = Target::parse(text);
        let known = match &target {
            Target::Person(name) => config.people.contains_key(name),
            Target::Schedule(name) => config.schedules.contains_key(name),
            Target::Notifier(name) => notifiers.contains_key(name),
        };
        if !known {
            let what = match &target {
                Target::Person(name) => format!("unknown person `{name}`"),
                Target::Schedule(name) => format!("unknown schedule `{name}`"),
                Target::Notifier(name) => format!("unknown notifier `{name}` (or write person:NAME, schedule:NAME)"),
            };
            self.error(Some(text.span()), what);
            return None;
        }
        Some(target)
    }

    fn policy(
        &mut self,
        name: &Spanned<String>,
        raw: RawPolicy,
        config: &OnCallConfig,
        notifiers: &BTreeMap<String, NotifierConfig>,
    ) -> Option<Policy> {
        if raw.steps.is_empty() {
            self.error(Some(name.span()), format!("escalation policy `{}` has no steps", name.as_str()));
        }
        let name = name.as_str();
        let mut steps = Vec::new();
        for step in &raw.steps {
            if step.notify.is_empty() {
                self.error(step.wait.as_ref().map(|wait| wait.span()), format!("a step of escalation policy `{name}` notifies no one"));
            }
            let notify = step.notify.iter().filter_map(|text| self.page_target(text, config, notifiers)).collect();
            let wait = self.duration(step.wait.as_ref(), Duration::from_secs(300));
            steps.push(Step { notify, wait: i64::try_from(wait.as_millis()).unwrap_or(i64::MAX) });
        }
        let repeat = match &raw.repeat {
            Some(value) if (0..=100).contains(&**value) => u32::try_from(**value).unwrap_or(0),
            Some(value) => {
                self.error(Some(value.span()), "repeat must be from 0 to 100");
                0
            }
            None => 0,
        };
        let fallback = raw.fallback.iter().filter_map(|text| self.page_target(text, config, notifiers)).collect();
        let renotify = raw.renotify.as_ref().map(|text| i64::try_from(self.duration(Some(text), Duration::ZERO).as_millis()).unwrap_or(0));
        Some(Policy { steps, repeat, fallback, renotify })
    }

    fn incidents(
        &mut self,
        raw: RawIncidents,
        config: &OnCallConfig,
        notifiers: &BTreeMap<String, NotifierConfig>,
        person_spans: &BTreeMap<String, marked_yaml::Span>,
    ) -> IncidentsConfig {
        let mut incidents = IncidentsConfig::default();
        let kind = |name: &str| notifiers.get(name).map(NotifierConfig::kind);
        if let Some(via) = &raw.email_via {
            match kind(via) {
                Some("email") => incidents.email_via = Some(via.as_str().to_owned()),
                Some(other) => {
                    self.error(Some(via.span()), format!("email-via `{}` is a {other} notifier, not an email one", via.as_str()))
                }
                None => self.error(Some(via.span()), format!("unknown notifier `{}`", via.as_str())),
            }
        }
        if let Some(via) = &raw.slack_via {
            match kind(via) {
                Some("slack") => incidents.slack_via = Some(via.as_str().to_owned()),
                Some(other) => self.error(Some(via.span()), format!("slack-via `{}` is a {other} notifier, not a slack one", via.as_str())),
                None => self.error(Some(via.span()), format!("unknown notifier `{}`", via.as_str())),
            }
        }
        if let Some(url) = &raw.external_url {
            match crate::load::parse_http_url(url) {
                Some(_) => incidents.external_url = Some(url.trim_end_matches('/').to_owned()),
                None => self.error(Some(url.span()), format!("invalid external-url `{}`, expected http:// or https://", url.as_str())),
            }
        }
        for stakeholder in &raw.stakeholders {
            if notifiers.contains_key(stakeholder.as_str()) {
                incidents.stakeholders.push(stakeholder.as_str().to_owned());
            } else {
                self.error(Some(stakeholder.span()), format!("unknown notifier `{}`", stakeholder.as_str()));
            }
        }
        for (severity, cadence) in &raw.updates {
            let Some(severity) = Severity::parse(severity) else {
                let span = cadence.first.as_ref().or(cadence.every.as_ref()).map(|text| *text.span());
                self.error(span.as_ref(), format!("unknown severity `{severity}`, expected SEV-1, SEV-2 or SEV-3"));
                continue;
            };
            let millis = |duration: Duration| i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
            let first = cadence.first.as_ref().map(|text| millis(self.duration(Some(text), Duration::ZERO)));
            let every = cadence.every.as_ref().map(|text| millis(self.duration(Some(text), Duration::ZERO)));
            incidents.cadences.insert(severity, Cadence { first, every });
        }
        if let Some(list) = &raw.auto_resolve {
            incidents.auto_resolve.clear();
            for text in list {
                match Severity::parse(text) {
                    Some(severity) => {
                        incidents.auto_resolve.insert(severity);
                    }
                    None => self.error(Some(text.span()), format!("unknown severity `{}`, expected SEV-1, SEV-2 or SEV-3", text.as_str())),
                }
            }
        }
        incidents.resolve_reminder = self.duration(raw.resolve_reminder.as_ref(), incidents.resolve_reminder);
        incidents.link_lifetime = self.duration(raw.link_lifetime.as_ref(), incidents.link_lifetime);
        incidents.page_tier = raw.page_tier.unwrap_or(true);
        if let Some(name) = &raw.default_escalation {
            if config.escalation_policies.contains_key(name.as_str()) {
                incidents.default_escalation = Some(name.as_str().to_owned());
            } else {
                self.error(Some(name.span()), format!("unknown escalation policy `{}`", name.as_str()));
            }
        }
        // Everyone a policy can page must be reachable.
        let paged: BTreeSet<&str> = config
            .escalation_policies
            .values()
            .flat_map(|policy| policy.steps.iter().flat_map(|step| step.notify.iter()).chain(&policy.fallback))
            .flat_map(|target| match target {
                Target::Person(name) => vec![name.as_str()],
                Target::Schedule(name) => config
                    .schedules
                    .get(name)
                    .map(|schedule| {
                        schedule.schedule.layers.iter().flat_map(|layer| layer.members.iter().map(String::as_str)).collect::<Vec<_>>()
                    })
                    .unwrap_or_default(),
                Target::Notifier(_) => Vec::new(),
            })
            .collect();
        for name in paged {
            let Some(person) = config.people.get(name) else { continue };
            let reachable = person.email.is_some() && incidents.email_via.is_some()
                || person.slack.is_some() && incidents.slack_via.is_some()
                || person.webhook.is_some();
            if !reachable {
                let needs = if person.email.is_some() {
                    "incidents.email-via (an email notifier)"
                } else {
                    "incidents.slack-via (a slack notifier)"
                };
                self.error(person_spans.get(name), format!("{name} can be paged but not reached: set {needs}"));
            }
        }
        incidents
    }

    /// A route's or receiver's `incident:`.
    pub(crate) fn incident_setting(&mut self, raw: &RawIncidentRule, policies: &BTreeSet<String>) -> IncidentSetting {
        if raw.open == Some(false) {
            return IncidentSetting::Off;
        }
        let severity = match &raw.severity {
            Some(text) => Severity::parse(text).unwrap_or_else(|| {
                self.error(Some(text.span()), format!("unknown severity `{}`, expected SEV-1, SEV-2 or SEV-3", text.as_str()));
                Severity::Sev2
            }),
            None => Severity::Sev2,
        };
        if let Some(name) = &raw.escalation {
            if !policies.contains(name.as_str()) {
                self.error(Some(name.span()), format!("unknown escalation policy `{}`", name.as_str()));
            }
        }
        IncidentSetting::Open(IncidentRule {
            severity,
            service: raw.service.clone(),
            escalation: raw.escalation.as_ref().map(|name| name.as_str().to_owned()),
        })
    }
}

#[cfg(test)]
mod tests;
