//! Silences and fingerprints, with cases ported from Alertmanager's
//! `silence/silence_test.go` (`TestQMatches`, `TestSilenceCanUpdate`,
//! `TestValidateSilence`, `TestSilenceExpire`) and Prometheus's label-set fingerprints.

use std::collections::BTreeMap;

use crate::matcher::parse;
use crate::silence::{can_update, expired_times, validate, Silence, SilenceIndex, SilenceState};
use crate::{fingerprint, Flapping};

const HOUR: i64 = 3_600_000;
const MINUTE: i64 = 60_000;
const NOW: i64 = 1_795_341_600_000;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
}

fn silence(matchers: &str, starts_at: i64, ends_at: i64) -> Silence {
    Silence {
        id: "id".to_owned(),
        matchers: parse(matchers).expect("matchers"),
        starts_at,
        ends_at,
        updated_at: 0,
        created_by: "test".to_owned(),
        comment: String::new(),
    }
}

#[test]
fn silences_match_as_alertmanager_queries_them() {
    let alert = labels(&[("job", "test"), ("instance", "web-1"), ("path", "/user/profile"), ("method", "GET")]);
    let cases = [
        (r#"job="test""#, true),
        (r#"job!="test""#, false),
        (r#"job="test",method="POST""#, false),
        (r#"job="test",method!="POST""#, true),
        (r#"path=~"/user/.+""#, true),
        (r#"path!~"/user/.+""#, false),
        (r#"path=~"/user/.+",path=~"/nothing/.+""#, false),
    ];
    for (matchers, muted) in cases {
        let silence = silence(matchers, NOW - HOUR, NOW + HOUR);
        assert_eq!(silence.mutes(&alert, NOW), muted, "{matchers}");
        assert!(!silence.mutes(&alert, NOW + 2 * HOUR), "{matchers}: expired silences mute nothing");
    }
    // The index answers as each silence does, in the order given.
    let mut all: Vec<Silence> = cases.iter().map(|(matchers, _)| silence(matchers, NOW - HOUR, NOW + HOUR)).collect();
    all.push(silence(r#"job="other""#, NOW - HOUR, NOW + HOUR));
    all.push(silence(r#"job="test""#, NOW + HOUR, NOW + 2 * HOUR));
    all.push(silence(r#"job="", method="GET""#, NOW - HOUR, NOW + HOUR));
    for (index, silence) in all.iter_mut().enumerate() {
        silence.id = index.to_string();
    }
    let index = SilenceIndex::new(&all, NOW);
    let indexed: Vec<&str> = index.muting(&alert).iter().map(|silence| silence.id.as_str()).collect();
    let scanned: Vec<&str> = all.iter().filter(|silence| silence.mutes(&alert, NOW)).map(|silence| silence.id.as_str()).collect();
    assert_eq!(indexed, scanned);
    assert_eq!(indexed, ["0", "3", "4"]);
}

#[test]
fn silence_states_include_both_ends() {
    let silence = silence("a=b", NOW, NOW + HOUR);
    assert_eq!(silence.state(NOW - 1), SilenceState::Pending);
    assert_eq!(silence.state(NOW), SilenceState::Active);
    assert_eq!(silence.state(NOW + HOUR), SilenceState::Active);
    assert_eq!(silence.state(NOW + HOUR + 1), SilenceState::Expired);
}

#[test]
fn silence_updates_follow_can_update() {
    // (old start, old end, new start, new end, allowed)
    let cases = [
        // An empty (zero-time) silence is expired.
        (0, 0, NOW, NOW - MINUTE, false),
        // Expired.
        (NOW - HOUR, NOW - 1000, NOW, NOW, false),
        // Pending.
        (NOW + HOUR, NOW + 2 * HOUR, NOW - MINUTE, NOW + HOUR, false),
        (NOW + HOUR, NOW + 2 * HOUR, NOW + MINUTE, NOW + MINUTE, true),
        (NOW + HOUR, NOW + 2 * HOUR, NOW, NOW + 2 * HOUR, true),
        // Active.
        (NOW - HOUR, NOW + 2 * HOUR, NOW - MINUTE, NOW + 2 * HOUR, false),
        (NOW - HOUR, NOW + 2 * HOUR, NOW - HOUR, NOW - 1000, false),
        (NOW - HOUR, NOW + 2 * HOUR, NOW - HOUR, NOW, true),
        (NOW - HOUR, NOW + 2 * HOUR, NOW - HOUR, NOW + 3 * HOUR, true),
    ];
    for (index, (old_start, old_end, new_start, new_end, allowed)) in cases.into_iter().enumerate() {
        let old = silence("a=b", old_start, old_end);
        let matchers = old.matchers.clone();
        assert_eq!(can_update(&old, &matchers, new_start, new_end, NOW), allowed, "case {index}");
    }
    // Other matchers are a new silence.
    let old = silence("a=b", NOW - HOUR, NOW + HOUR);
    assert!(!can_update(&old, &parse("a=c").expect("matchers"), NOW - HOUR, NOW + HOUR, NOW));
}

#[test]
fn silences_are_validated_with_alertmanagers_messages() {
    let cases = [
        ("a=b", NOW, NOW, ""),
        ("", NOW, NOW, "at least one matcher required"),
        (r#"a="",b=~".*""#, NOW, NOW, "at least one matcher must not match the empty string"),
        ("a=b", NOW, NOW - 1000, "end time must not be before start time"),
        ("a=b", 0, NOW, "invalid zero start timestamp"),
        ("a=b", NOW, 0, "invalid zero end timestamp"),
        // Negative matchers never match only the empty string.
        (r#"a!="""#, NOW, NOW + 1, ""),
    ];
    for (matchers, starts_at, ends_at, error) in cases {
        let result = validate(&parse(matchers).expect("matchers"), starts_at, ends_at);
        assert_eq!(result.err().unwrap_or_default(), error, "{matchers}");
    }
}

#[test]
fn expiring_moves_the_times_as_alertmanager_does() {
    assert_eq!(expired_times(NOW - HOUR, NOW + HOUR, NOW), (NOW - HOUR, NOW), "active: ends now");
    assert_eq!(expired_times(NOW + HOUR, NOW + 2 * HOUR, NOW), (NOW, NOW), "pending: starts and ends now");
    assert_eq!(expired_times(NOW - 2 * HOUR, NOW - HOUR, NOW), (NOW - 2 * HOUR, NOW - HOUR), "expired: unchanged");
}

#[test]
fn fingerprints_are_prometheus_label_set_fingerprints() {
    // From prometheus/common's model/signature_test.go.
    assert_eq!(fingerprint(&BTreeMap::new()), 14_695_981_039_346_656_037);
    assert_eq!(fingerprint(&labels(&[("name", "garland, briggs"), ("fear", "love is not enough")])), 5_799_056_148_416_392_346);
}

#[test]
fn flapping_starts_past_the_count_and_ends_once_settled() {
    let flapping = Flapping { max_changes: 3, window_ms: 10 * MINUTE, settle_ms: 5 * MINUTE };
    // (changes as minutes before NOW, minutes after NOW asked, flapping?, why)
    let cases: &[(&[i64], i64, bool, &str)] = &[
        (&[9, 6, 3, 1], 0, true, "four changes within ten minutes"),
        (&[6, 3, 1], 0, false, "three changes are not more than three"),
        (&[9, 6, 3, 1], 2, true, "the oldest change left the window, but it has not settled"),
        (&[9, 6, 3, 1], 3, true, "held for four minutes: not yet settled"),
        (&[9, 6, 3, 1], 4, false, "held for five minutes: settled"),
        (&[11, 6, 3, 1], 0, false, "changes exactly a window apart are not in one window"),
        (&[30, 29, 28, 27, 3, 1], 0, false, "the earlier flapping settled; two changes since"),
        (&[30, 29, 28, 27, 26, 22, 18, 14, 10, 6, 2], 0, true, "never held for five minutes since it began to flap"),
        (&[], 0, false, "no changes"),
        (&[9, 6, 3, -1], 0, false, "a change in the future does not count"),
    ];
    for (ago, after, expected, why) in cases {
        let changes: Vec<i64> = ago.iter().map(|minutes| NOW - minutes * MINUTE).collect();
        assert_eq!(flapping.is_flapping(&changes, NOW + after * MINUTE), *expected, "{why}: {ago:?} at +{after}m");
    }
}
