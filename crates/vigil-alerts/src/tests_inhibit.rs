//! Alertmanager's `inhibit/inhibit_test.go` (TestInhibitRuleHasEqual,
//! TestInhibitRuleMatches, TestInhibitRuleMatchers) and `notify/notify_test.go`
//! (TestDedupStageNeedsUpdate), ported as tables.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::group::{needs_update, Sent, Timers};
use crate::inhibit::{muted_by, InhibitIndex, InhibitRule, InhibitState, Source};
use crate::matcher::{MatchType, Matcher};

/// Label pairs as written in the Go tests.
type Pairs = &'static [(&'static str, &'static str)];

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
}

fn matcher(kind: MatchType, name: &str, value: &str) -> Matcher {
    Matcher::new(kind, name, value).expect("matcher")
}

#[test]
fn a_source_needs_the_equal_labels_and_to_be_firing() {
    // TestInhibitRuleHasEqual: (firing sources, equal, target, inhibited). Resolved
    // sources are not passed as firing.
    type Case = (&'static [Pairs], &'static [&'static str], Pairs, bool);
    let cases: &[Case] = &[
        (&[], &[], &[("a", "b")], false),
        (&[&[]], &[], &[("a", "b")], true),
        (&[], &["a", "b"], &[("a", "b"), ("b", "c")], false),
        (&[&[("a", "b"), ("c", "f")]], &["a"], &[("a", "b")], true),
        (&[], &["a"], &[("a", "b")], false),
        (&[&[("a", "c"), ("c", "d")]], &["a"], &[("a", "b")], false),
    ];
    for (sources, equal, target, expected) in cases {
        let rule = InhibitRule { equal: equal.iter().map(|name| (*name).to_owned()).collect(), ..InhibitRule::default() };
        let sets: Vec<BTreeMap<String, String>> = sources.iter().map(|pairs| labels(pairs)).collect();
        let firing: Vec<Source<'_>> =
            sets.iter().enumerate().map(|(index, labels)| Source { fingerprint: index as u64 + 1, labels }).collect();
        assert_eq!(rule.equal_source(&labels(target), &firing, false).is_some(), *expected, "{sources:?} {equal:?} {target:?}");
    }
}

fn rules(new_style: bool) -> Vec<InhibitRule> {
    let rule = |source: &str, target_kind: MatchType, target: &str| InhibitRule {
        name: String::new(),
        source: vec![matcher(MatchType::Equal, source, "1")],
        target: vec![matcher(target_kind, target, "1")],
        equal: vec!["e".to_owned()],
    };
    vec![rule("s1", if new_style { MatchType::NotEqual } else { MatchType::Equal }, "t1"), rule("s2", MatchType::Equal, "t2")]
}

/// (target, inhibited with TestInhibitRuleMatches' rules, with TestInhibitRuleMatchers').
const TARGETS: &[(Pairs, bool, bool)] = &[
    (&[("t1", "1"), ("e", "1")], true, false),
    (&[("t2", "1"), ("e", "1")], true, true),
    (&[("t1", "1"), ("t3", "1"), ("e", "1")], true, false),
    (&[("t1", "1"), ("t2", "1"), ("e", "1")], true, true),
    (&[("t1", "0"), ("e", "1")], false, true),
    (&[("s1", "1"), ("t1", "1"), ("e", "1")], true, false),
    (&[("s2", "1"), ("t2", "1"), ("e", "1")], false, true),
    (&[("t1", "1"), ("e", "0")], false, false),
];

#[test]
fn rules_mute_as_alertmanager_mutes() {
    // Each rule sees the firing alerts; the source alerts are those of the Go test.
    let source1 = labels(&[("s1", "1"), ("t1", "2"), ("e", "1")]);
    let source2 = labels(&[("s2", "1"), ("t2", "1"), ("e", "1")]);
    let firing = [Source { fingerprint: 1, labels: &source1 }, Source { fingerprint: 2, labels: &source2 }];
    for (new_style, column) in [(false, 1), (true, 2)] {
        let rules = rules(new_style);
        for (target, old, new) in TARGETS {
            let expected = if column == 1 { *old } else { *new };
            assert_eq!(muted_by(&rules, &labels(target), &firing).is_some(), expected, "new style {new_style}, target {target:?}");
            let index = InhibitIndex::new(&rules, &firing);
            let indexed = (0..rules.len()).find_map(|rule| index.muted_by(rule, &labels(target)));
            assert_eq!(indexed, muted_by(&rules, &labels(target), &firing).map(|(_, source)| source), "the index agrees: {target:?}");
        }
    }
}

#[test]
fn two_alerts_matching_both_sides_do_not_mute_each_other() {
    let rule = InhibitRule {
        name: "both".to_owned(),
        source: vec![matcher(MatchType::Equal, "severity", "critical")],
        target: vec![matcher(MatchType::Regexp, "severity", "critical|warning")],
        equal: vec!["cluster".to_owned()],
    };
    let a = labels(&[("alertname", "A"), ("severity", "critical"), ("cluster", "x")]);
    let b = labels(&[("alertname", "B"), ("severity", "critical"), ("cluster", "x")]);
    let warning = labels(&[("alertname", "C"), ("severity", "warning"), ("cluster", "x")]);
    let firing = [Source { fingerprint: 1, labels: &a }, Source { fingerprint: 2, labels: &b }];
    assert_eq!(rule.muted_by(&a, &firing), None);
    assert_eq!(rule.muted_by(&b, &firing), None);
    assert_eq!(rule.muted_by(&warning, &firing), Some(1));
    let other_cluster = labels(&[("alertname", "C"), ("severity", "warning"), ("cluster", "y")]);
    assert_eq!(rule.muted_by(&other_cluster, &firing), None);
    let rules = [rule];
    let index = InhibitIndex::new(&rules, &firing);
    let answers: Vec<Option<u64>> = [&a, &b, &warning, &other_cluster].iter().map(|target| index.muted_by(0, target)).collect();
    assert_eq!(answers, [None, None, Some(1), None], "the index agrees");

    // Kept up to date as alerts fire and resolve, it agrees too.
    let mut state = InhibitState::new(rules.to_vec());
    state.add(1, 1, &a);
    state.add(2, 2, &b);
    let answers: Vec<Option<u64>> = [&a, &b, &warning, &other_cluster].iter().map(|target| state.muted_by(0, target)).collect();
    assert_eq!(answers, [None, None, Some(1), None]);
    state.remove(1, &a);
    assert_eq!(state.muted_by(0, &warning), Some(2), "the other source still mutes it");
    state.remove(2, &b);
    assert_eq!(state.muted_by(0, &warning), None, "no source left");
}

fn set(items: &[u64]) -> BTreeSet<u64> {
    items.iter().copied().collect()
}

#[test]
fn a_look_notifies_only_when_something_changed_or_repeat_is_due() {
    let now = 1_000_000_000_i64;
    let minutes = |count: i64| count * 60_000;
    // TestDedupStageNeedsUpdate: (last sent, firing, resolved, repeat min, send resolved, notify).
    let sent = |firing: &[u64], resolved: &[u64], at_ms: i64| Some(Sent { firing: set(firing), resolved: set(resolved), at_ms });
    type Case = (Option<Sent>, &'static [u64], &'static [u64], u64, bool, bool);
    let cases: &[Case] = &[
        (None, &[2, 3, 4], &[], 0, false, true),
        (None, &[], &[2, 3, 4], 0, false, false),
        (sent(&[1, 2, 3], &[], 0), &[2, 3, 4], &[], 0, false, true),
        (sent(&[1, 2, 3], &[], 0), &[1, 2, 3], &[], 0, false, true),
        (sent(&[1, 2, 3], &[], now - minutes(9)), &[1, 2, 3], &[], 10, false, false),
        (sent(&[1, 2, 3], &[], now - minutes(11)), &[1, 2, 3], &[], 10, false, true),
        (sent(&[], &[1, 2, 3], now - minutes(11)), &[], &[3, 4, 5], 10, true, false),
        (sent(&[1, 2], &[3], now - minutes(9)), &[1], &[2, 3], 10, false, false),
        (sent(&[1, 2], &[3], now - minutes(9)), &[1], &[2, 3], 10, true, true),
        (sent(&[1, 2], &[3], now - minutes(9)), &[], &[1, 2, 3], 10, false, true),
        (sent(&[1, 2], &[3], now - minutes(9)), &[], &[1, 2, 3], 10, true, true),
    ];
    for (index, (last, firing, resolved, repeat, send_resolved, expected)) in cases.iter().enumerate() {
        let repeat = Duration::from_secs(repeat * 60);
        assert_eq!(needs_update(last.as_ref(), &set(firing), &set(resolved), repeat, *send_resolved, now), *expected, "case {index}");
    }
}

#[test]
fn group_wait_is_skipped_for_alerts_older_than_it() {
    let timers = Timers { group_wait: Duration::from_secs(30), group_interval: Duration::from_secs(300) };
    let now = 10_000_000;
    assert_eq!(timers.first_flush(now, now), now + 30_000, "a fresh alert waits for its group");
    assert_eq!(timers.first_flush(now, now - 31_000), now, "an alert older than group-wait goes at once");
    assert_eq!(timers.next_flush(now), now + 300_000);
}
