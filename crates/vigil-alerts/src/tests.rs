//! Alertmanager's tests, ported as data: `matcher/parse/parse_test.go` (TestMatchers,
//! TestMatcher) and `dispatch/route_test.go` (TestRouteMatch, TestRouteMatchers,
//! TestRouteWalk, TestInheritParentGroupByAll).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::matcher::{parse, parse_one, MatchType};
use crate::{GroupBy, Matcher, Route, RouteSpec};

use MatchType::{Equal as EQ, NotEqual as NE, NotRegexp as NRE, Regexp as RE};

type Expected = &'static [(MatchType, &'static str, &'static str)];

/// (input, the matchers, or the error).
const MATCHERS: &[(&str, Result<Expected, &str>)] = &[
    ("", Ok(&[])),
    ("{}", Ok(&[])),
    ("{foo=bar}", Ok(&[(EQ, "foo", "bar")])),
    ("{foo=bar,}", Ok(&[(EQ, "foo", "bar")])),
    ("{foo!=bar}", Ok(&[(NE, "foo", "bar")])),
    ("{foo=~[a-z]+}", Ok(&[(RE, "foo", "[a-z]+")])),
    ("{foo!~[a-z]+}", Ok(&[(NRE, "foo", "[a-z]+")])),
    ("{foo=🙂}", Ok(&[(EQ, "foo", "🙂")])),
    ("{foo=🙂bar}", Ok(&[(EQ, "foo", "🙂bar")])),
    ("foo=bar", Ok(&[(EQ, "foo", "bar")])),
    ("foo=bar,", Ok(&[(EQ, "foo", "bar")])),
    ("foo!=bar", Ok(&[(NE, "foo", "bar")])),
    ("foo=~[a-z]+", Ok(&[(RE, "foo", "[a-z]+")])),
    ("foo!~[a-z]+", Ok(&[(NRE, "foo", "[a-z]+")])),
    ("{\"foo\"=\"bar\"}", Ok(&[(EQ, "foo", "bar")])),
    ("{\"foo\"=\"bar\",}", Ok(&[(EQ, "foo", "bar")])),
    ("{\"foo\"!=\"bar\"}", Ok(&[(NE, "foo", "bar")])),
    ("{\"foo\"=~\"[a-z]+\"}", Ok(&[(RE, "foo", "[a-z]+")])),
    ("{\"foo\"=~\"\\\\d+\"}", Ok(&[(RE, "foo", "\\d+")])),
    ("{\"foo\"!~\"[a-z]+\"}", Ok(&[(NRE, "foo", "[a-z]+")])),
    ("{\"foo\"=\"🙂\"}", Ok(&[(EQ, "foo", "🙂")])),
    ("{\"foo\"=\"\\xf0\\x9f\\x99\\x82\"}", Ok(&[(EQ, "foo", "🙂")])),
    ("{\"foo\"=\"\\U0001f642\"}", Ok(&[(EQ, "foo", "🙂")])),
    ("{\"foo\"=\"🙂bar\"}", Ok(&[(EQ, "foo", "🙂bar")])),
    ("{\"foo\"=\"bar\\n\"}", Ok(&[(EQ, "foo", "bar\n")])),
    ("{\"foo\"=\"bar\\t\"}", Ok(&[(EQ, "foo", "bar\t")])),
    ("{\"foo\"=\"\\\"bar\\\"\"}", Ok(&[(EQ, "foo", "\"bar\"")])),
    ("{\"foo\"=\"bar\\\\\"}", Ok(&[(EQ, "foo", "bar\\")])),
    ("\"foo\"=\"bar\"", Ok(&[(EQ, "foo", "bar")])),
    ("\"foo\"=\"bar\",", Ok(&[(EQ, "foo", "bar")])),
    ("{foo=bar,bar!=baz}", Ok(&[(EQ, "foo", "bar"), (NE, "bar", "baz")])),
    ("{foo=\"bar\",bar!=\"baz\"}", Ok(&[(EQ, "foo", "bar"), (NE, "bar", "baz")])),
    ("foo=bar,bar!=baz", Ok(&[(EQ, "foo", "bar"), (NE, "bar", "baz")])),
    ("foo=\"bar\",bar!=\"baz\"", Ok(&[(EQ, "foo", "bar"), (NE, "bar", "baz")])),
    (",", Err("0:1: unexpected ,: expected label name")),
    ("{,}", Err("1:2: unexpected ,: expected label name")),
    ("{", Err("0:1: end of input: expected close brace")),
    ("}", Err("0:1: }: expected opening brace")),
    ("foo=bar}", Err("0:8: }: expected opening brace")),
    ("{foo=bar", Err("0:8: end of input: expected close brace")),
    ("{foo=:\"bar\"}", Err("6:11: unexpected \"bar\": expected a comma or close brace")),
    ("{foo=\"bar\\w\"}", Err("5:12: \"bar\\w\": invalid input")),
    ("{\"foo\"=~\"\\d+\"}", Err("8:13: \"\\d+\": invalid input")),
    ("{foo=bar\\n}", Err("8:9: \\: invalid input: expected a comma or close brace")),
    ("{\"foo\"=\"\\xf0\\x9f\"}", Err("7:17: \"\\xf0\\x9f\": invalid input")),
    // Beyond Alertmanager's table: spaces, an operator missing, unterminated quotes.
    ("{ foo = \"bar\" , baz =~ \"q.*\" }", Ok(&[(EQ, "foo", "bar"), (RE, "baz", "q.*")])),
    ("{foo}", Err("4:5: unexpected }: expected an operator such as '=', '!=', '=~' or '!~'")),
    ("{foo=\"bar}", Err("5:10: \"bar}: missing end \": expected label value")),
    ("{foo!bar}", Err("4:5: !: expected one of '=~': expected an operator such as '=', '!=', '=~' or '!~'")),
];

#[test]
fn matchers_parse_as_alertmanager_parses_them() {
    for (input, expected) in MATCHERS {
        let parsed = parse(input).map(|matchers| matchers.iter().map(|m| (m.kind, m.name.clone(), m.value.clone())).collect::<Vec<_>>());
        let expected = expected
            .map(|list| list.iter().map(|(kind, name, value)| (*kind, (*name).to_owned(), (*value).to_owned())).collect::<Vec<_>>())
            .map_err(str::to_owned);
        assert_eq!(parsed, expected, "input {input:?}");
    }
}

#[test]
fn exactly_one_matcher() {
    assert_eq!(parse_one("{foo=bar}").map(|m| m.to_string()), Ok("foo=\"bar\"".to_owned()));
    assert_eq!(parse_one("").map(|m| m.to_string()), Err("no matchers".to_owned()));
    assert_eq!(parse_one("{}").map(|m| m.to_string()), Err("no matchers".to_owned()));
    assert_eq!(parse_one("foo=bar,bar=baz").map(|m| m.to_string()), Err("expected 1 matcher, found 2".to_owned()));
    assert_eq!(parse_one("foo=\"\\xf0\\x9f\"").map(|m| m.to_string()), Err("4:14: \"\\xf0\\x9f\": invalid input".to_owned()));
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
}

#[test]
fn matchers_match_as_alertmanager_matches() {
    // (matcher, labels, matches): a missing label is the empty string; regexes are
    // anchored (pkg/labels/matcher_test.go).
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], bool);
    let cases: &[Case] = &[
        ("foo=bar", &[("foo", "bar")], true),
        ("foo=bar", &[("foo", "baz")], false),
        ("foo!=bar", &[("foo", "baz")], true),
        ("foo!=bar", &[], true),
        ("foo=\"\"", &[], true),
        ("foo!=\"\"", &[], false),
        ("foo=~bar", &[("foo", "bar")], true),
        ("foo=~bar", &[("foo", "foobar")], false),
        ("foo=~ba.*", &[("foo", "bar")], true),
        ("foo=~.*", &[], true),
        ("foo=~.+", &[], false),
        ("foo!~bar", &[("foo", "foobar")], true),
        ("foo!~ba.*", &[("foo", "bar")], false),
        ("foo=~\"bar|baz\"", &[("foo", "baz")], true),
        ("foo=~\"(?i)BAR\"", &[("foo", "bar")], true),
    ];
    for (text, set, expected) in cases {
        let matcher = parse_one(text).expect(text);
        assert_eq!(matcher.matches(&labels(set)), *expected, "{text} on {set:?}");
    }
    assert!(parse_one("foo=~\"(\"").is_err_and(|error| error.starts_with("failed to create matcher: invalid regular expression")));
}

// --- routes (dispatch/route_test.go) -----------------------------------------------

fn eq(name: &str, value: &str) -> Matcher {
    Matcher::new(EQ, name, value).expect("matcher")
}

fn re(name: &str, value: &str) -> Matcher {
    Matcher::match_re(name, value).expect("matcher")
}

fn route(receiver: Option<&str>, matchers: Vec<Matcher>, routes: Vec<RouteSpec>) -> RouteSpec {
    RouteSpec { receiver: receiver.map(str::to_owned), matchers, routes, ..RouteSpec::default() }
}

fn by(names: &[&str]) -> Option<GroupBy> {
    Some(GroupBy::Labels(names.iter().map(|name| (*name).to_owned()).collect()))
}

fn minutes(count: u64) -> Option<Duration> {
    Some(Duration::from_secs(count * 60))
}

/// The tree of TestRouteMatch (`match`/`match_re`), or of TestRouteMatchers (the same
/// with `matchers`), as specs.
fn tree(new_style: bool) -> RouteSpec {
    // A `matchers:` list: each entry parsed on its own.
    let parse_list = |entries: &[&str]| entries.iter().flat_map(|entry| parse(entry).expect(entry)).collect::<Vec<_>>();
    let team_a = if new_style { parse_list(&["{owner=\"team-A\"}", "{level!=\"critical\"}"]) } else { vec![eq("owner", "team-A")] };
    let testing = if new_style { parse_list(&["{env=\"testing\"}", "{baz!~\".*quux\"}"]) } else { vec![eq("env", "testing")] };
    let production_b =
        if new_style { parse_list(&["env=~\"produ.*\"", "job=~\".*\""]) } else { vec![re("env", "produ.*"), re("job", ".*")] };
    let team_bc = if new_style { parse_list(&["{owner=~\"team-(B|C)\"}"]) } else { vec![re("owner", "team-(B|C)")] };
    let mut a = route(Some("notify-A"), team_a, Vec::new());
    let mut testing_route = route(Some("notify-testing"), testing, Vec::new());
    testing_route.group_by = Some(GroupBy::All);
    let mut production_a = route(Some("notify-productionA"), vec![eq("env", "production")], Vec::new());
    production_a.group_wait = minutes(1);
    production_a.continue_matching = true;
    let mut production_b_route = route(Some("notify-productionB"), production_b, Vec::new());
    production_b_route.group_wait = Some(Duration::from_secs(30));
    production_b_route.group_interval = minutes(5);
    production_b_route.repeat_interval = minutes(60);
    production_b_route.group_by = by(&["job"]);
    a.routes = vec![testing_route, production_a, production_b_route];
    let mut bc = route(Some("notify-BC"), team_bc, Vec::new());
    bc.group_by = by(&["foo", "bar"]);
    bc.group_wait = minutes(2);
    let mut long = route(None, vec![eq("wait", "long")], Vec::new());
    long.group_wait = minutes(2);
    let role_testing = route(Some("notify-testing"), vec![eq("env", "testing")], vec![long]);
    let mut role = route(None, vec![eq("group_by", "role")], vec![role_testing]);
    role.group_by = by(&["role"]);
    route(Some("notify-def"), Vec::new(), vec![a, bc, role])
}

/// (labels, per matched route: receiver, group-by (None: all), group-wait s,
/// group-interval s, repeat-interval s, key).
type RouteCase =
    (&'static [(&'static str, &'static str)], &'static [(&'static str, Option<&'static [&'static str]>, u64, u64, u64, &'static str)]);

const ROUTE_MATCH: &[RouteCase] = &[
    (&[("owner", "team-A")], &[("notify-A", Some(&[]), 30, 300, 14400, "{}/{owner=\"team-A\"}")]),
    (&[("owner", "team-A"), ("env", "unset")], &[("notify-A", Some(&[]), 30, 300, 14400, "{}/{owner=\"team-A\"}")]),
    (&[("owner", "team-C")], &[("notify-BC", Some(&["foo", "bar"]), 120, 300, 14400, "{}/{owner=~\"^(?:team-(B|C))$\"}")]),
    (&[("owner", "team-A"), ("env", "testing")], &[("notify-testing", None, 30, 300, 14400, "{}/{owner=\"team-A\"}/{env=\"testing\"}")]),
    (
        &[("owner", "team-A"), ("env", "production")],
        &[
            ("notify-productionA", Some(&[]), 60, 300, 14400, "{}/{owner=\"team-A\"}/{env=\"production\"}"),
            ("notify-productionB", Some(&["job"]), 30, 300, 3600, "{}/{owner=\"team-A\"}/{env=~\"^(?:produ.*)$\",job=~\"^(?:.*)$\"}"),
        ],
    ),
    (&[("group_by", "role")], &[("notify-def", Some(&["role"]), 30, 300, 14400, "{}/{group_by=\"role\"}")]),
    (
        &[("env", "testing"), ("group_by", "role")],
        &[("notify-testing", Some(&["role"]), 30, 300, 14400, "{}/{group_by=\"role\"}/{env=\"testing\"}")],
    ),
    (
        &[("env", "testing"), ("group_by", "role"), ("wait", "long")],
        &[("notify-testing", Some(&["role"]), 120, 300, 14400, "{}/{group_by=\"role\"}/{env=\"testing\"}/{wait=\"long\"}")],
    ),
];

fn check(tree: &Route, cases: &[RouteCase], keys: &dyn Fn(&str) -> String) {
    for (set, expected) in cases {
        let matched: Vec<_> = tree
            .matches(&labels(set))
            .iter()
            .map(|route| {
                let group_by = match &route.options.group_by {
                    GroupBy::All => None,
                    GroupBy::Labels(names) => Some(names.clone()),
                };
                (
                    route.options.receiver.clone(),
                    group_by,
                    route.options.group_wait.as_secs(),
                    route.options.group_interval.as_secs(),
                    route.options.repeat_interval.as_secs(),
                    route.key.clone(),
                )
            })
            .collect();
        let expected: Vec<_> = expected
            .iter()
            .map(|(receiver, group_by, wait, interval, repeat, key)| {
                let group_by = group_by.map(|names| names.iter().map(|name| (*name).to_owned()).collect::<BTreeSet<_>>());
                ((*receiver).to_owned(), group_by, *wait, *interval, *repeat, keys(key))
            })
            .collect();
        assert_eq!(matched, expected, "labels {set:?}");
    }
}

#[test]
fn routes_match_as_alertmanager_routes_them() {
    check(&Route::new(&tree(false)), ROUTE_MATCH, &|key| key.to_owned());
}

#[test]
fn routes_with_new_style_matchers_match_alike() {
    // TestRouteMatchers: the same tree written with `matchers`; the keys show the
    // matchers as written (sorted), not anchored.
    let keys = |key: &str| {
        key.replace("{owner=\"team-A\"}", "{level!=\"critical\",owner=\"team-A\"}")
            .replace("{env=\"testing\"}", "{baz!~\".*quux\",env=\"testing\"}")
            .replace("^(?:team-(B|C))$", "team-(B|C)")
            .replace("^(?:produ.*)$", "produ.*")
            .replace("^(?:.*)$", ".*")
    };
    let tree = Route::new(&tree(true));
    // Under group_by=role the `env="testing"` route has no `baz` matcher.
    let (role, team): (Vec<RouteCase>, Vec<RouteCase>) =
        ROUTE_MATCH.iter().copied().partition(|(set, _)| set.iter().any(|(name, _)| *name == "group_by"));
    check(&tree, &team, &keys);
    check(&tree, &role, &|key| key.to_owned());
    // level="critical" leaves team A's route to the root.
    assert_eq!(tree.matches(&labels(&[("owner", "team-A"), ("level", "critical")]))[0].options.receiver, "notify-def");
}

#[test]
fn walking_visits_parents_first() {
    let tree = Route::new(&tree(false));
    let mut receivers = Vec::new();
    tree.walk(&mut |route| receivers.push(route.options.receiver.clone()));
    assert_eq!(
        receivers,
        [
            "notify-def",
            "notify-A",
            "notify-testing",
            "notify-productionA",
            "notify-productionB",
            "notify-BC",
            "notify-def",
            "notify-testing",
            "notify-testing"
        ]
    );
}

#[test]
fn children_inherit_group_by_all_unless_they_set_their_own() {
    let mut parent = route(None, vec![eq("env", "parent")], Vec::new());
    parent.group_by = Some(GroupBy::All);
    let child1 = route(None, vec![eq("env", "child1")], Vec::new());
    let mut child2 = route(None, vec![eq("env", "child2")], Vec::new());
    child2.group_by = by(&["foo"]);
    parent.routes = vec![child1, child2];
    let tree = Route::new(&route(None, Vec::new(), vec![parent]));
    let parent = &tree.routes[0];
    assert_eq!(parent.options.group_by, GroupBy::All);
    assert_eq!(parent.routes[0].options.group_by, GroupBy::All);
    assert_eq!(parent.routes[1].options.group_by, by(&["foo"]).expect("labels"));
}

#[test]
fn time_intervals_are_not_inherited() {
    let mut parent = route(Some("a"), Vec::new(), vec![route(None, vec![eq("x", "1")], Vec::new())]);
    parent.mute_time_intervals = vec!["weekends".to_owned()];
    let tree = Route::new(&parent);
    assert_eq!(tree.options.mute_time_intervals, ["weekends"]);
    assert!(tree.routes[0].options.mute_time_intervals.is_empty());
    assert_eq!(tree.routes[0].options.receiver, "a");
}

#[test]
fn group_keys_name_the_route_and_the_group_labels() {
    let tree = Route::new(&tree(false));
    let set = labels(&[("owner", "team-C"), ("foo", "1"), ("bar", "2"), ("other", "x")]);
    let routes = tree.matches(&set);
    assert_eq!(routes[0].group_key(&set), "{}/{owner=~\"^(?:team-(B|C))$\"}:{bar=\"2\", foo=\"1\"}");
}
