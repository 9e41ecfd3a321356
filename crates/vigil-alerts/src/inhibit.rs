//! Inhibition, with Alertmanager's meaning (`inhibit/inhibit.go`): a firing alert that
//! matches a rule's source matchers mutes every alert that matches its target matchers
//! and has the same values for the rule's `equal` labels (a missing label counts as
//! empty). An alert that matches both sides is not muted by a source that also does,
//! so two such alerts cannot mute each other.
//!
//! Alertmanager keeps one source per `equal` set in an index; Vigil asks every active
//! source, which differs only when several sources share an `equal` set and some of
//! them match both sides (Alertmanager then answers by whichever came last).

use std::collections::BTreeMap;

use crate::matcher::{all_match, Matcher};

/// One `inhibit-rules:` entry.
#[derive(Debug, Clone, Default)]
pub struct InhibitRule {
    pub name: String,
    pub source: Vec<Matcher>,
    pub target: Vec<Matcher>,
    pub equal: Vec<String>,
}

/// A firing alert that may be a source.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub fingerprint: u64,
    pub labels: &'a BTreeMap<String, String>,
}

impl InhibitRule {
    fn equal_values<'a>(&self, labels: &'a BTreeMap<String, String>) -> Vec<&'a str> {
        self.equal.iter().map(|name| labels.get(name).map_or("", String::as_str)).collect()
    }

    /// The first source among `firing` that mutes `target`, by this rule.
    pub fn muted_by(&self, target: &BTreeMap<String, String>, firing: &[Source<'_>]) -> Option<u64> {
        if !all_match(&self.target, target) {
            return None;
        }
        self.equal_source(target, firing, all_match(&self.source, target))
    }

    /// A firing source with `target`'s values of the `equal` labels; with
    /// `exclude_two_sided`, not one that matches the target matchers too.
    pub(crate) fn equal_source(&self, target: &BTreeMap<String, String>, firing: &[Source<'_>], exclude_two_sided: bool) -> Option<u64> {
        let wanted = self.equal_values(target);
        firing
            .iter()
            .find(|source| {
                all_match(&self.source, source.labels)
                    && self.equal_values(source.labels) == wanted
                    && !(exclude_two_sided && all_match(&self.target, source.labels))
            })
            .map(|source| source.fingerprint)
    }
}

/// Which rule and source mute `target`, if any (the first rule that does).
pub fn muted_by<'r>(rules: &'r [InhibitRule], target: &BTreeMap<String, String>, firing: &[Source<'_>]) -> Option<(&'r InhibitRule, u64)> {
    rules.iter().find_map(|rule| rule.muted_by(target, firing).map(|source| (rule, source)))
}
