//! Whether an alert is muted now, and by what: the active silences that match it and the
//! firing alerts that inhibit it. One answer for the dispatcher, the API and the CLI.

use std::collections::BTreeMap;

use vigil_alerts::inhibit::{InhibitIndex, InhibitRule, Source};
use vigil_alerts::silence::SilenceIndex;
use vigil_alerts::Silence;
use vigil_store::{EpisodeRecord, EpisodeState};

/// An alert's mutes.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Mutes {
    /// Ids of the active silences that match it.
    pub silenced_by: Vec<String>,
    /// Fingerprints of the firing alerts that inhibit it.
    pub inhibited_by: Vec<String>,
    /// The inhibit rules that do (by name, or `#N` for the Nth).
    pub inhibit_rules: Vec<String>,
}

impl Mutes {
    pub fn muted(&self) -> bool {
        !self.silenced_by.is_empty() || !self.inhibited_by.is_empty()
    }
}

/// What mutes are judged against: the silences and every firing alert.
pub struct MuteContext<'a> {
    pub rules: &'a [InhibitRule],
    silences: SilenceIndex<'a>,
    index: InhibitIndex<'a>,
}

impl<'a> MuteContext<'a> {
    pub fn new(
        silences: &'a [Silence],
        rules: &'a [InhibitRule],
        episodes: impl IntoIterator<Item = &'a EpisodeRecord>,
        now_ms: i64,
    ) -> MuteContext<'a> {
        let sources: Vec<Source<'a>> = if rules.is_empty() {
            Vec::new()
        } else {
            episodes
                .into_iter()
                .filter(|episode| episode.state == EpisodeState::Firing)
                .map(|episode| Source { fingerprint: fingerprint(&episode.fingerprint), labels: &episode.labels })
                .collect()
        };
        MuteContext { rules, silences: SilenceIndex::new(silences, now_ms), index: InhibitIndex::new(rules, &sources) }
    }

    pub fn mutes(&self, labels: &BTreeMap<String, String>) -> Mutes {
        mutes_with(&self.silences, self.rules, |rule, labels| self.index.muted_by(rule, labels), labels)
    }
}

/// An alert's mutes from the active silences and, per inhibit rule, the source that
/// mutes it (`inhibited(rule number, labels)`).
pub fn mutes_with(
    silences: &SilenceIndex<'_>,
    rules: &[InhibitRule],
    inhibited: impl Fn(usize, &BTreeMap<String, String>) -> Option<u64>,
    labels: &BTreeMap<String, String>,
) -> Mutes {
    let silenced_by = silences.muting(labels).into_iter().map(|silence| silence.id.clone()).collect();
    let mut mutes = Mutes { silenced_by, ..Mutes::default() };
    for (index, rule) in rules.iter().enumerate() {
        if let Some(source) = inhibited(index, labels) {
            let name = if rule.name.is_empty() { format!("#{}", index + 1) } else { rule.name.clone() };
            mutes.inhibited_by.push(format!("{source:016x}"));
            mutes.inhibit_rules.push(name);
        }
    }
    mutes
}

/// A stored fingerprint as a number (0 for one that is not hex).
pub fn fingerprint(text: &str) -> u64 {
    vigil_alerts::alert::parse_fingerprint(text).unwrap_or(0)
}
