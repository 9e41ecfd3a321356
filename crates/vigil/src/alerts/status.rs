//! Whether an alert is muted now, and by what: the active silences that match it and the
//! firing alerts that inhibit it. One answer for the dispatcher, the API and the CLI.

use std::collections::BTreeMap;

use vigil_alerts::inhibit::{InhibitRule, Source};
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
    pub silences: &'a [Silence],
    pub rules: &'a [InhibitRule],
    sources: Vec<Source<'a>>,
    now_ms: i64,
}

impl<'a> MuteContext<'a> {
    pub fn new(
        silences: &'a [Silence],
        rules: &'a [InhibitRule],
        episodes: impl IntoIterator<Item = &'a EpisodeRecord>,
        now_ms: i64,
    ) -> MuteContext<'a> {
        let sources = if rules.is_empty() {
            Vec::new()
        } else {
            episodes
                .into_iter()
                .filter(|episode| episode.state == EpisodeState::Firing)
                .map(|episode| Source { fingerprint: fingerprint(&episode.fingerprint), labels: &episode.labels })
                .collect()
        };
        MuteContext { silences, rules, sources, now_ms }
    }

    pub fn mutes(&self, labels: &BTreeMap<String, String>) -> Mutes {
        let silenced_by =
            self.silences.iter().filter(|silence| silence.mutes(labels, self.now_ms)).map(|silence| silence.id.clone()).collect();
        let mut mutes = Mutes { silenced_by, ..Mutes::default() };
        for (index, rule) in self.rules.iter().enumerate() {
            if let Some(source) = rule.muted_by(labels, &self.sources) {
                let name = if rule.name.is_empty() { format!("#{}", index + 1) } else { rule.name.clone() };
                mutes.inhibited_by.push(format!("{source:016x}"));
                mutes.inhibit_rules.push(name);
            }
        }
        mutes
    }
}

/// A stored fingerprint as a number (0 for one that is not hex).
pub fn fingerprint(text: &str) -> u64 {
    vigil_alerts::alert::parse_fingerprint(text).unwrap_or(0)
}
