//! The evaluator against hand-computed windows, with time given by each event.

use super::pipeline::{Labels, Pipeline};
use super::*;
use crate::{parse, Expr};

const SEED: &str = r#"sum(count_over_time({app="api"} | json | path = "/api/data" | duration > 3s [10m])) > 5"#;
const MIN: i64 = 60_000;

fn evaluator(text: &str, options: EvaluatorOptions) -> RuleEvaluator {
    let Ok(Expr::Metric(expr)) = parse(text) else { panic!("metric expression: {text}") };
    RuleEvaluator::new(&expr, options)
}

fn stream() -> Labels {
    Labels::from([("app".to_owned(), "api".to_owned())])
}

fn request(path: &str, seconds: f64) -> String {
    format!(r#"{{"path":"{path}","duration":"{seconds}s","status":200}}"#)
}

/// Feeds `(ms, line)` events; returns `(state, at)` of every alert change.
fn feed(evaluator: &mut RuleEvaluator, events: &[(i64, String)]) -> Vec<(AlertState, i64)> {
    let stream = stream();
    let mut changes = Vec::new();
    for (at, line) in events {
        for event in evaluator.observe(Entry { at: *at, stream: &stream, line }) {
            changes.push((event.state, event.at));
        }
    }
    changes
}

fn slow_at(times: &[i64]) -> Vec<(i64, String)> {
    times.iter().map(|&at| (at, request("/api/data", 3.5))).collect()
}

#[test]
fn five_slow_requests_are_silent_and_the_sixth_fires_on_arrival() {
    let mut rule = evaluator(SEED, EvaluatorOptions::default());
    let times: Vec<i64> = (0..5).map(|i| i * MIN).collect();
    assert!(feed(&mut rule, &slow_at(&times)).is_empty());
    assert_eq!(feed(&mut rule, &slow_at(&[5 * MIN + 1_234])), [(AlertState::Firing, 5 * MIN + 1_234)]);
}

#[test]
fn six_spread_over_eleven_minutes_stay_silent() {
    let mut rule = evaluator(SEED, EvaluatorOptions::default());
    let times: Vec<i64> = (0..6).map(|i| i * 132_000).collect(); // 0 to 11 minutes
    assert!(feed(&mut rule, &slow_at(&times)).is_empty());
}

#[test]
fn a_burst_straddling_a_ten_minute_boundary_fires() {
    // Sumo's `timeslice 10m` counts 3 and 3 and misses this.
    let mut rule = evaluator(SEED, EvaluatorOptions::default());
    let times =
        [9 * MIN + 59_000 - 2_000, 9 * MIN + 59_000 - 1_000, 9 * MIN + 59_000, 10 * MIN + 61_000, 10 * MIN + 62_000, 10 * MIN + 63_000];
    assert_eq!(feed(&mut rule, &slow_at(&times)), [(AlertState::Firing, 10 * MIN + 63_000)]);
}

#[test]
fn other_endpoints_and_fast_requests_are_ignored() {
    let mut rule = evaluator(SEED, EvaluatorOptions::default());
    let mut events = Vec::new();
    for i in 0..20 {
        events.push((i * 1_000, request("/api/other", 9.0)));
        events.push((i * 1_000 + 500, request("/api/data", 2.9)));
    }
    events.push((30_000, "not json at all".to_owned()));
    assert!(feed(&mut rule, &events).is_empty());
    assert_eq!(rule.stats().lines, 41);
}

#[test]
fn resolution_happens_when_the_window_no_longer_holds_six() {
    let mut rule = evaluator(SEED, EvaluatorOptions::default());
    let times: Vec<i64> = (0..6).map(|i| i * 10_000).collect();
    assert_eq!(feed(&mut rule, &slow_at(&times)), [(AlertState::Firing, 50_000)]);
    // Replay-style: evaluate at every moment a bucket leaves a window.
    let mut changes = Vec::new();
    while let Some(at) = rule.next_expiry() {
        changes.extend(rule.advance(at).into_iter().map(|event| (event.state, event.at)));
    }
    // The first request (t=0) leaves the 10-minute window at 10:00.
    assert_eq!(changes, [(AlertState::Resolved, 10 * MIN)]);
    assert_eq!(rule.firing().count(), 0);
}

#[test]
fn out_of_order_lines_count_and_too_late_ones_do_not() {
    let mut rule = evaluator(SEED, EvaluatorOptions { lateness_ms: MIN, ..EvaluatorOptions::default() });
    // Newest first: still one window.
    let times = [50_000, 40_000, 30_000, 20_000, 10_000];
    assert!(feed(&mut rule, &slow_at(&times)).is_empty());
    assert_eq!(feed(&mut rule, &slow_at(&[5_000])), [(AlertState::Firing, 50_000)], "evaluated at the newest event time");
    // 12 minutes behind the newest event: beyond 10m range + 1m lateness.
    let mut other = evaluator(SEED, EvaluatorOptions { lateness_ms: MIN, ..EvaluatorOptions::default() });
    feed(&mut other, &slow_at(&[12 * MIN]));
    feed(&mut other, &slow_at(&[0]));
    assert_eq!(other.stats().late, 1);
}

#[test]
fn for_delays_firing_until_the_condition_has_held_long_enough() {
    let mut rule = evaluator(SEED, EvaluatorOptions { for_ms: MIN, ..EvaluatorOptions::default() });
    let times: Vec<i64> = (0..6).map(|i| i * 1_000).collect();
    assert!(feed(&mut rule, &slow_at(&times)).is_empty(), "pending, not firing");
    assert_eq!(rule.next_expiry(), Some(5_000 + MIN));
    let events = rule.advance(5_000 + MIN);
    assert_eq!(events.iter().map(|e| (e.state, e.at)).collect::<Vec<_>>(), [(AlertState::Firing, 5_000 + MIN)]);
}

#[test]
fn groups_are_bounded_and_excess_is_counted() {
    let text = r#"count_over_time({app="api"} | json [5m]) > 0"#;
    let mut rule = evaluator(text, EvaluatorOptions { max_groups: 2, ..EvaluatorOptions::default() });
    let events: Vec<(i64, String)> = (0..3).map(|i| (i, format!(r#"{{"user":"u{i}"}}"#))).collect();
    let fired = feed(&mut rule, &events);
    assert_eq!(fired.len(), 2, "one alert per group, two groups kept");
    assert_eq!(rule.stats().dropped_groups, 1);
    assert_eq!(rule.group_count(), 2);
}

#[test]
fn unreadable_lines_are_counted_once_and_never_fatal() {
    let text = r#"sum(count_over_time({app="api"} | json | __error__ = "" [5m])) / sum(count_over_time({app="api"} | json [5m])) > 2"#;
    let mut rule = evaluator(text, EvaluatorOptions::default());
    feed(&mut rule, &[(0, "not json".to_owned()), (1, request("/x", 1.0)), (2, "{\"cut".to_owned())]);
    let stats = rule.stats();
    assert_eq!((stats.lines, stats.parse_errors), (3, 2), "once per line, though two aggregations read it");
}

#[test]
fn error_ratios_divide_two_aggregations() {
    let text = r#"sum(count_over_time({app="thumbs"} | json | outcome = "failed" [15m])) / sum(count_over_time({app="thumbs"} | json [15m])) > 0.01"#;
    let mut rule = evaluator(text, EvaluatorOptions::default());
    let stream = Labels::from([("app".to_owned(), "thumbs".to_owned())]);
    let mut fired = Vec::new();
    for i in 0..200 {
        let line = if i == 150 || i == 199 { r#"{"outcome":"failed"}"# } else { r#"{"outcome":"done"}"# };
        fired.extend(rule.observe(Entry { at: i * 1_000, stream: &stream, line }));
    }
    // 1 failure in 151 jobs is 0.66 %; 2 in 200 is exactly 1 % (not more); nothing fires.
    assert!(fired.is_empty(), "{fired:?}");
    fired.extend(rule.observe(Entry { at: 200_000, stream: &stream, line: r#"{"outcome":"failed"}"# }));
    assert_eq!(fired.len(), 1, "3 in 201 is 1.49 %");
    assert!((fired[0].value - 3.0 / 201.0).abs() < 1e-12);
}

#[test]
fn unwrapped_values_aggregate_per_group() {
    let text = r#"quantile_over_time(0.5, {app="api"} | logfmt | unwrap duration(took) [1m]) by (path) > 1"#;
    let mut rule = evaluator(text, EvaluatorOptions::default());
    let stream = stream();
    let lines = ["path=/a took=500ms", "path=/a took=2s", "path=/a took=3s", "path=/b took=100ms", "path=/b took=bad"];
    let mut fired = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        fired.extend(rule.observe(Entry { at: i as i64, stream: &stream, line }));
    }
    // Fires on the second /a line, the one that crosses: median(0.5 s, 2 s) = 1.25 s.
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].labels, Labels::from([("path".to_owned(), "/a".to_owned())]));
    assert_eq!((fired[0].at, fired[0].value), (1, 1.25));
    assert_eq!(rule.stats().unwrap_errors, 1);
}

#[test]
fn rate_of_unwrapped_values_is_their_sum_per_second() {
    let text = r#"sum(rate({app="api"} | logfmt | unwrap bytes [1m])) > 100"#;
    let mut rule = evaluator(text, EvaluatorOptions::default());
    let stream = stream();
    let mut fired = Vec::new();
    for (i, line) in ["bytes=3000", "bytes=2999", "bytes=2"].iter().enumerate() {
        fired.extend(rule.observe(Entry { at: i as i64, stream: &stream, line }));
    }
    // 6001 bytes in a 60 s window is just over 100 per second.
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].at, 2);
    assert!((fired[0].value - 6001.0 / 60.0).abs() < 1e-9);
}

/// A query, a line, and labels the pipeline must produce.
type ExtractionCase<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

#[test]
fn parsers_extract_labels() {
    let stream = stream();
    let cases: &[ExtractionCase<'_>] = &[
        (r#"{app="api"} | json"#, r#"{"a":{"b":1},"list":[1],"s":"x"}"#, &[("a_b", "1"), ("s", "x")]),
        (
            r#"{app="api"} | json p="req.path", first="items[0]""#,
            r#"{"req":{"path":"/x"},"items":["i0"]}"#,
            &[("p", "/x"), ("first", "i0")],
        ),
        (r#"{app="api"} | json"#, "not json", &[("__error__", "JSONParserErr")]),
        (r#"{app="api"} | json"#, r#"{"app":"other"}"#, &[("app", "api"), ("app_extracted", "other")]),
        (r#"{app="api"} | logfmt"#, r#"level=error msg="disk full" empty="#, &[("level", "error"), ("msg", "disk full")]),
        (r#"{app="api"} | logfmt --keep-empty"#, "a=1 empty=", &[("a", "1"), ("empty", "")]),
        (r#"{app="api"} | logfmt --strict"#, r#"a="unterminated"#, &[("__error__", "LogfmtParserErr")]),
        (
            r#"{app="api"} | pattern "<ip> - - [<_>] \"<method> <path> <_>\" <status>""#,
            r#"1.2.3.4 - - [22/Nov/2026] "GET /api/data HTTP/1.1" 200"#,
            &[("ip", "1.2.3.4"), ("method", "GET"), ("path", "/api/data"), ("status", "200")],
        ),
        (r#"{app="api"} | regexp "(?P<method>[A-Z]+) (?P<path>\\S+)""#, "GET /x HTTP/1.1", &[("method", "GET"), ("path", "/x")]),
        (r#"{app="api"} | logfmt | size > 1KiB"#, "size=2KB", &[("size", "2KB")]),
        (r#"{app="api"} | logfmt | took > 1s"#, "took=fast", &[("took", "fast"), ("__error__", "LabelFilterErr")]),
    ];
    for (query, line, expected) in cases {
        let Ok(Expr::Log(log)) = parse(query) else { panic!("log query {query}") };
        let labels = Pipeline::new(&log).process(&stream, line).unwrap_or_else(|| panic!("{query} dropped {line}"));
        for (name, value) in *expected {
            assert_eq!(labels.get(*name).map(String::as_str), Some(*value), "{query} on {line}: {labels:?}");
        }
    }
}

#[test]
fn filters_drop_lines() {
    let stream = stream();
    let cases: &[(&str, &str, bool)] = &[
        (r#"{app="api"} |= "error""#, "an error", true),
        (r#"{app="api"} |= "error""#, "fine", false),
        (r#"{app="api"} |= "warn" or "error""#, "warning", true),
        (r#"{app="api"} != "health""#, "GET /healthz", false),
        (r#"{app="api"} |~ "5\\d\\d""#, "status 503", true),
        (r#"{app="api"} !~ "5\\d\\d""#, "status 503", false),
        (r#"{app="api"} | logfmt | status >= 500 and path = "/x""#, "status=503 path=/x", true),
        (r#"{app="api"} | logfmt | status >= 500 and path = "/x""#, "status=503 path=/y", false),
        (r#"{app="api"} | logfmt | (status = 500 or status = 503), path =~ "/x.*""#, "status=503 path=/xyz", true),
        (r#"{app="api"} | logfmt | missing > 1"#, "a=1", false),
        (r#"{app="api"} | json | __error__ = """#, "not json", false),
        (r#"{app="api"} |~ `error\`"#, r"an error\ here", true),
        (r#"{app="api"} |~ `error\`"#, "an error here", false),
        (r#"{app="api"} | logfmt | counter > -1"#, "counter=0", true),
        (r#"{app="api"} | logfmt | counter > -1"#, "counter=-5", false),
        (r#"{app="api"} | logfmt | latency > -1s"#, "latency=-5m", false),
        (r#"{app="api"} | logfmt | latency > -1s"#, "latency=0s", true),
        // Loki's grammar: `a b, c or d` is `a and (b and (c or d))`.
        (r#"{app="api"} | logfmt | a="1" b="2", c="3" or d="4""#, "a=1 b=2 d=4", true),
        (r#"{app="api"} | logfmt | a="1" b="2", c="3" or d="4""#, "a=1 b=9 d=4", false),
        (r#"{app="api"} | logfmt | a="1", b="2" or c="3""#, "a=9 c=3", false),
        (r#"{app="api"} | logfmt | a="1" and b="2" or c="3""#, "a=9 c=3", true),
    ];
    for (query, line, kept) in cases {
        let Ok(Expr::Log(log)) = parse(query) else { panic!("log query {query}") };
        assert_eq!(Pipeline::new(&log).process(&stream, line).is_some(), *kept, "{query} on {line}");
    }
}

/// Group-local evaluation (only the touched group) must give the same alert events as
/// evaluating everything on every line.
#[test]
fn local_evaluation_matches_full_evaluation() {
    let expressions = [
        r#"count_over_time({app="api"} | json [1m]) > 3"#,
        r#"sum by (user) (count_over_time({app="api"} | json | duration > 3s [1m])) >= 2"#,
        r#"sum(rate({app="api"} | json | duration > 3s [1m])) * 60 > 4"#,
        r#"max_over_time({app="api"} | json | unwrap duration(duration) [1m]) by (user) > 5"#,
    ];
    let stream = stream();
    for text in expressions {
        let mut local = evaluator(text, EvaluatorOptions::default());
        assert!(local.local, "{text} should be group-local");
        let mut full = evaluator(text, EvaluatorOptions::default());
        full.local = false;
        let (mut seed, mut at) = (42u64, 0i64);
        let (mut local_events, mut full_events) = (Vec::new(), Vec::new());
        for _ in 0..3_000 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            at += (seed >> 33) as i64 % 4_000;
            let line = format!(r#"{{"user":"u{}","duration":"{}s"}}"#, (seed >> 20) % 7, (seed >> 40) % 9);
            for (evaluator, events) in [(&mut local, &mut local_events), (&mut full, &mut full_events)] {
                while let Some(expiry) = evaluator.next_expiry().filter(|&expiry| expiry <= at) {
                    events.extend(evaluator.advance(expiry));
                }
                events.extend(evaluator.observe(Entry { at, stream: &stream, line: &line }));
            }
        }
        assert!(!full_events.is_empty(), "{text}: the stream should fire something");
        assert_eq!(local_events, full_events, "{text}");
    }
}

/// The line filter implied by `| json | path = "/api/data"` (skip lines without the quoted
/// value) must keep exactly the lines the pipeline keeps without it: escapes, nested
/// keys, numbers, stream labels of the same name, broken JSON.
#[test]
fn implied_line_filters_change_no_result() {
    // (query, implied filters)
    let queries = [
        (r#"{app="api"} | json | path = "/api/data" | duration > 3s"#, 1),
        (r#"{app="api"} |= "GET" | json | method = "GET" and path = "/api/data""#, 2),
        (r#"{app="api"} | json | path = "/api/data" or path = "/x""#, 0),
        (r#"{app="api"} | json | code = "E42""#, 1),
        (r#"{app="api"} | json | code = "42""#, 0),
        (r#"{app="api"} | logfmt | json | path = "/api/data""#, 0),
    ];
    let lines = [
        r#"{"path":"/api/data","duration":"4s","method":"GET","code":"E42"}"#,
        r#"{"path":"\/api\/data","duration":"4s","method":"GET"}"#,
        r#"{"path":"/api/d\u0061ta","duration":"4s","method":"GET"}"#,
        r#"{"path":"/api/database","duration":"4s"}"#,
        r#"{"req":{"path":"/api/data"},"path":"/x","duration":"4s"}"#,
        r#"{"path":"/api/data","path":"/other","duration":"4s"}"#,
        r#"{"path":"/api/data","duration":"4s" broken"#,
        r#"{"code":42}"#,
        "GET /api/data plain text",
        "",
    ];
    let plain = stream();
    let with_path = Labels::from([("app".to_owned(), "api".to_owned()), ("path".to_owned(), "/api/data".to_owned())]);
    let mut kept = 0;
    for (query, implied) in queries {
        let Ok(Expr::Log(log)) = parse(query) else { panic!("log query {query}") };
        let filtered = Pipeline::new(&log);
        let (reference, count) = Pipeline::new(&log).without_implied_filters();
        assert_eq!(count, implied, "{query}");
        for stream in [&plain, &with_path] {
            for line in lines {
                let result = filtered.process(stream, line);
                assert_eq!(result, reference.process(stream, line), "{query} on {line} with {stream:?}");
                kept += usize::from(result.is_some());
            }
        }
    }
    assert!(kept > 8, "the cases should keep lines too, not only drop them");
}

#[test]
fn numbers_convert_as_floats_parse_them() {
    use crate::ast::Value;
    let number = Value::Number(0.0);
    for text in
        ["0", "7", "007", "503", "123456789012345", "1234567890123456", "99999999999999999999", "", " 42 ", "4e2", "-3", "1.5", "0x10", "٣"]
    {
        let expected = text.trim().parse::<f64>().ok();
        assert_eq!(super::pipeline::convert(text, &number), expected, "{text:?}");
    }
}
