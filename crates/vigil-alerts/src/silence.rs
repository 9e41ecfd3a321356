//! Silences with Alertmanager's meaning (`silence/silence.go`): matchers over a time
//! range, pending before it starts, active from its start to its end (both included),
//! expired after. What may be changed in place follows `canUpdate`: the same matchers,
//! and times that do not rewrite the past; anything else replaces the silence with a
//! new one and expires the old, so history is kept.

use std::collections::BTreeMap;

use crate::matcher::{all_match, MatchType, Matcher};

/// Where a silence stands at some time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SilenceState {
    Pending,
    Active,
    Expired,
}

impl SilenceState {
    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Pending => "pending",
            SilenceState::Active => "active",
            SilenceState::Expired => "expired",
        }
    }
}

/// A silence; times are Unix milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<Matcher>,
    pub starts_at: i64,
    pub ends_at: i64,
    pub updated_at: i64,
    pub created_by: String,
    pub comment: String,
}

impl Silence {
    pub fn state(&self, now_ms: i64) -> SilenceState {
        state(self.starts_at, self.ends_at, now_ms)
    }

    /// Whether the silence mutes an alert with `labels` at `now_ms`.
    pub fn mutes(&self, labels: &BTreeMap<String, String>, now_ms: i64) -> bool {
        self.state(now_ms) == SilenceState::Active && all_match(&self.matchers, labels)
    }

    /// Whether its matchers match `labels`, whatever the time.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        all_match(&self.matchers, labels)
    }
}

/// A silence's state from its times (Alertmanager's `getState`).
pub fn state(starts_at: i64, ends_at: i64, now_ms: i64) -> SilenceState {
    if now_ms < starts_at {
        SilenceState::Pending
    } else if now_ms > ends_at {
        SilenceState::Expired
    } else {
        SilenceState::Active
    }
}

fn matches_empty(matcher: &Matcher) -> bool {
    match matcher.kind {
        MatchType::Equal => matcher.value.is_empty(),
        MatchType::Regexp => matcher.matches_value(""),
        MatchType::NotEqual | MatchType::NotRegexp => false,
    }
}

/// Checks a silence before it is stored, with Alertmanager's messages.
pub fn validate(matchers: &[Matcher], starts_at: i64, ends_at: i64) -> Result<(), String> {
    if matchers.is_empty() {
        return Err("at least one matcher required".to_owned());
    }
    if let Some(matcher) = matchers.iter().find(|matcher| matcher.name.is_empty()) {
        return Err(format!("invalid label name {:?}", matcher.name));
    }
    if matchers.iter().all(matches_empty) {
        return Err("at least one matcher must not match the empty string".to_owned());
    }
    if starts_at == 0 {
        return Err("invalid zero start timestamp".to_owned());
    }
    if ends_at == 0 {
        return Err("invalid zero end timestamp".to_owned());
    }
    if ends_at < starts_at {
        return Err("end time must not be before start time".to_owned());
    }
    Ok(())
}

/// Whether silence `old` may become `new` in place at `now_ms` (Alertmanager's
/// `canUpdate`): same matchers; an active one keeps its start and may not end in the
/// past; a pending one may not start in the past; an expired one never changes.
pub fn can_update(old: &Silence, new_matchers: &[Matcher], new_starts_at: i64, new_ends_at: i64, now_ms: i64) -> bool {
    if old.matchers != new_matchers {
        return false;
    }
    match old.state(now_ms) {
        // Alertmanager compares the starts in whole seconds.
        SilenceState::Active => old.starts_at.div_euclid(1000) == new_starts_at.div_euclid(1000) && new_ends_at >= now_ms,
        SilenceState::Pending => new_starts_at >= now_ms,
        SilenceState::Expired => false,
    }
}

/// The times an expired silence gets (Alertmanager's `expire`): an active one ends
/// now, a pending one starts and ends now, an expired one keeps its times.
pub fn expired_times(starts_at: i64, ends_at: i64, now_ms: i64) -> (i64, i64) {
    match state(starts_at, ends_at, now_ms) {
        SilenceState::Expired => (starts_at, ends_at),
        SilenceState::Active => (starts_at, now_ms),
        SilenceState::Pending => (now_ms, now_ms),
    }
}

/// The silences active at one moment, indexed by one equality matcher each, so an
/// alert is checked against the silences that can match it rather than all of them.
pub struct SilenceIndex<'a> {
    silences: &'a [Silence],
    by_label: std::collections::HashMap<(&'a str, &'a str), Vec<usize>>,
    /// Active silences without a non-empty equality matcher: checked for every alert.
    scan: Vec<usize>,
}

impl<'a> SilenceIndex<'a> {
    pub fn new(silences: &'a [Silence], now_ms: i64) -> SilenceIndex<'a> {
        let mut by_label: std::collections::HashMap<(&'a str, &'a str), Vec<usize>> = std::collections::HashMap::new();
        let mut scan = Vec::new();
        for (index, silence) in silences.iter().enumerate().filter(|(_, silence)| silence.state(now_ms) == SilenceState::Active) {
            let key = silence.matchers.iter().find(|matcher| matcher.kind == MatchType::Equal && !matcher.value.is_empty());
            match key {
                Some(matcher) => by_label.entry((matcher.name.as_str(), matcher.value.as_str())).or_default().push(index),
                None => scan.push(index),
            }
        }
        SilenceIndex { silences, by_label, scan }
    }

    /// The active silences that mute `labels`, in the order given.
    pub fn muting(&self, labels: &BTreeMap<String, String>) -> Vec<&'a Silence> {
        let mut candidates: Vec<usize> = self.scan.clone();
        if !self.by_label.is_empty() {
            for (name, value) in labels {
                if let Some(indices) = self.by_label.get(&(name.as_str(), value.as_str())) {
                    candidates.extend(indices);
                }
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        candidates.into_iter().map(|index| &self.silences[index]).filter(|silence| all_match(&silence.matchers, labels)).collect()
    }
}
