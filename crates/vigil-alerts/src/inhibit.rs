//! Inhibition, with Alertmanager's meaning (`inhibit/inhibit.go`): a firing alert that
//! matches a rule's source matchers mutes every alert that matches its target matchers
//! and has the same values for the rule's `equal` labels (a missing label counts as
//! empty). An alert that matches both sides is not muted by a source that also does,
//! so two such alerts cannot mute each other.
//!
//! Alertmanager keeps one source per `equal` set in an index; Vigil keeps every active
//! source per `equal` set ([`InhibitIndex`]), which differs only when several sources
//! share an `equal` set and some of them match both sides (Alertmanager then answers by
//! whichever came last).

use std::collections::{BTreeMap, HashMap};

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

/// Sources by their `equal` values: (fingerprint, matches the target side too).
type SourcesByEqual<'a> = HashMap<Vec<&'a str>, Vec<(u64, bool)>>;
/// Sources by their `equal` values: (alert key, fingerprint, matches the target side too).
type KeyedSourcesByEqual = HashMap<Vec<String>, Vec<(i64, u64, bool)>>;

/// The rules' sources indexed by their `equal` values, built once for many targets: a
/// target is then one lookup per rule instead of a scan of every firing alert. Answers
/// as [`InhibitRule::muted_by`] does, first source in `firing` order.
pub struct InhibitIndex<'a> {
    rules: &'a [InhibitRule],
    /// Per rule: `equal` values → (source fingerprint, whether it matches the target side too).
    by_rule: Vec<SourcesByEqual<'a>>,
}

impl<'a> InhibitIndex<'a> {
    pub fn new(rules: &'a [InhibitRule], firing: &[Source<'a>]) -> InhibitIndex<'a> {
        let by_rule = rules
            .iter()
            .map(|rule| {
                let mut index: SourcesByEqual<'a> = HashMap::new();
                for source in firing.iter().filter(|source| all_match(&rule.source, source.labels)) {
                    let two_sided = all_match(&rule.target, source.labels);
                    index.entry(rule.equal_values(source.labels)).or_default().push((source.fingerprint, two_sided));
                }
                index
            })
            .collect();
        InhibitIndex { rules, by_rule }
    }

    /// The first source that mutes `target` by rule number `rule`.
    pub fn muted_by(&self, rule: usize, target: &BTreeMap<String, String>) -> Option<u64> {
        let (spec, index) = (self.rules.get(rule)?, self.by_rule.get(rule)?);
        if index.is_empty() || !all_match(&spec.target, target) {
            return None;
        }
        let exclude_two_sided = all_match(&spec.source, target);
        let wanted = spec.equal_values(target);
        index.get(&wanted)?.iter().find(|(_, two_sided)| !(exclude_two_sided && *two_sided)).map(|(fingerprint, _)| *fingerprint)
    }
}

/// [`InhibitIndex`] kept up to date as alerts fire and resolve, for a long-lived reader
/// (the alert dispatcher) that would otherwise rebuild it for every look.
#[derive(Debug, Default)]
pub struct InhibitState {
    rules: Vec<InhibitRule>,
    /// Per rule: `equal` values → (alert key, fingerprint, matches the target side too).
    by_rule: Vec<KeyedSourcesByEqual>,
}

impl InhibitState {
    pub fn new(rules: Vec<InhibitRule>) -> InhibitState {
        let by_rule = rules.iter().map(|_| HashMap::new()).collect();
        InhibitState { rules, by_rule }
    }

    fn owned(values: Vec<&str>) -> Vec<String> {
        values.into_iter().map(str::to_owned).collect()
    }

    /// A firing alert (`key` identifies it for [`InhibitState::remove`]).
    pub fn add(&mut self, key: i64, fingerprint: u64, labels: &BTreeMap<String, String>) {
        for (rule, index) in self.rules.iter().zip(&mut self.by_rule) {
            if all_match(&rule.source, labels) {
                let two_sided = all_match(&rule.target, labels);
                index.entry(Self::owned(rule.equal_values(labels))).or_default().push((key, fingerprint, two_sided));
            }
        }
    }

    /// The alert resolved.
    pub fn remove(&mut self, key: i64, labels: &BTreeMap<String, String>) {
        for (rule, index) in self.rules.iter().zip(&mut self.by_rule) {
            let values = Self::owned(rule.equal_values(labels));
            if let Some(sources) = index.get_mut(&values) {
                sources.retain(|(source, _, _)| *source != key);
                if sources.is_empty() {
                    index.remove(&values);
                }
            }
        }
    }

    /// The first source (in the order added) that mutes `target` by rule number `rule`.
    pub fn muted_by(&self, rule: usize, target: &BTreeMap<String, String>) -> Option<u64> {
        let (spec, index) = (self.rules.get(rule)?, self.by_rule.get(rule)?);
        if index.is_empty() || !all_match(&spec.target, target) {
            return None;
        }
        let exclude_two_sided = all_match(&spec.source, target);
        index
            .get(&Self::owned(spec.equal_values(target)))?
            .iter()
            .find(|(_, _, two_sided)| !(exclude_two_sided && *two_sided))
            .map(|(_, fingerprint, _)| *fingerprint)
    }
}
