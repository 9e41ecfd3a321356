//! The set's answers against each query's own pipeline, on lines chosen to break a shared
//! walk: broken JSON, values that do not convert, duplicate keys, escapes, nested keys,
//! stream labels that rename extracted ones, `__error__` read and written.

use super::*;
use crate::{parse, Expr};

const QUERIES: &[&str] = &[
    r#"{app="api"}"#,
    r#"{app="api"} | json | status >= 500"#,
    r#"{app="api"} | json | duration > 300ms"#,
    r#"{app="api"} | json | path = "/api/data""#,
    r#"{app="api"} | json | path = "/api/data" | status >= 500"#,
    r#"{app="api"} | json | path = "/api/data" | duration > 3s"#,
    r#"{app="api"} |= "/static/" | json | status >= 500"#,
    r#"{app="api"} != "healthz" | json | status >= 500 or duration > 1s"#,
    r#"{app="api"} | json | __error__ = """#,
    r#"{app="api"} | json | __error__ != """#,
    r#"{app="api"} | json | __error__ = "" | status >= 500"#,
    r#"{app="api"} | json | status >= 500 | __error__ = "LabelFilterErr""#,
    r#"{app="api"} | json | status_extracted >= 500"#,
    r#"{app="api"} | json | req_path = "/api/data""#,
    r#"{app="api"} | json | _timestamp != """#,
    r#"{app="api"} | json | method =~ "P.*""#,
    r#"{app="api"} | json | bytes > 1KB"#,
    r#"{app="api"} | status >= 500"#,
    r#"{app="api"} |~ "status.:5.." "#,
    r#"{app="api"} | logfmt | status >= 500"#,
    r#"{app="api"} | json | logfmt | status >= 500"#,
    r#"{app="api"} | regexp "status.:(?P<code>[0-9]+)" | code >= 500"#,
    r#"{app="api"} | json status="status" | status >= 500"#,
    r#"{app="api"} | level = "error" | json | status >= 500"#,
    r#"{app="api"} | json | status >= 500 |= "timeout""#,
];

const LINES: &[&str] = &[
    r#"{"path":"/api/data","status":500,"duration":"4s","method":"POST","bytes":2048}"#,
    r#"{"path":"/api/data","status":200,"duration":"0.042s","method":"GET","bytes":20}"#,
    r#"{"path":"\/api\/data","status":503,"duration":"4s"}"#,
    r#"{"path":"/api/d\u0061ta","status":"502","duration":"250ms"}"#,
    r#"{"path":"/static/app.js","status":500,"duration":"1.5s","msg":"timeout"}"#,
    r#"{"path":"/api/data","status":"abc","duration":"soon"}"#,
    r#"{"path":"/api/data","status":500,"status":200}"#,
    r#"{"req":{"path":"/api/data"},"status":501}"#,
    r#"{"@timestamp":"2026-12-07T10:00:00Z","status":404}"#,
    r#"{"status_extracted":700,"status":100}"#,
    r#"{"__error__":"mine","status":500}"#,
    r#"{"path":"/api/data","status":500 broken"#,
    r#"{"path":"/healthz","status":500}"#,
    "status=503 duration=2s path=/api/data",
    "plain text status:500 timeout",
    "",
];

fn log(text: &str) -> LogExpr {
    match parse(text) {
        Ok(Expr::Log(log)) => log,
        other => panic!("{text}: {other:?}"),
    }
}

#[test]
fn the_set_answers_as_each_pipeline_does() {
    let streams = [
        Labels::from([("app".to_owned(), "api".to_owned())]),
        Labels::from([("app".to_owned(), "api".to_owned()), ("status".to_owned(), "200".to_owned())]),
        Labels::from([
            ("app".to_owned(), "api".to_owned()),
            ("path".to_owned(), "/api/data".to_owned()),
            ("level".to_owned(), "error".to_owned()),
        ]),
        Labels::from([("app".to_owned(), "web".to_owned())]),
    ];
    let mut set = QuerySet::new();
    let indices: Vec<usize> = QUERIES.iter().map(|text| set.add(&log(text))).collect();
    assert_eq!(set.add(&log(QUERIES[1])), indices[1], "an equal query is the same one");
    assert_eq!(set.len(), QUERIES.len());
    let shared = set.queries.iter().filter(|query| matches!(query.kind, Kind::Shared { .. })).count();
    assert!(shared >= 17, "most shapes share the walk: {shared}");
    let mut state = LineState::default();
    let mut kept = 0;
    for stream in &streams {
        set.stream(&mut state, stream);
        for line in LINES {
            // Asked forwards, then backwards on a fresh line, so no answer depends on
            // which query parsed the line first.
            for order in [indices.clone(), indices.iter().rev().copied().collect()] {
                set.begin(&mut state);
                for &index in &order {
                    let expected = set.selects(index, stream) && Pipeline::new(&log(QUERIES[index])).process(stream, line).is_some();
                    let answer = set.selects(index, stream) && set.keeps(&mut state, index, stream, line);
                    assert_eq!(answer, expected, "{} on {line} with {stream:?}", QUERIES[index]);
                    assert_eq!(set.selects(index, stream) && set.keeps(&mut state, index, stream, line), expected, "asked again");
                    kept += usize::from(answer);
                    if set.selects(index, stream) && !answer && set.is_shared_json(index) {
                        // Whichever query read the line first, a dropped one tells its own
                        // pipeline's parse error.
                        let mut error = false;
                        let _ = Pipeline::new(&log(QUERIES[index])).process_with(stream, line, &mut error);
                        if let Some(told) = set.parse_error(&mut state, index, stream, line) {
                            assert_eq!(told, error, "{} on {line} with {stream:?}", QUERIES[index]);
                        }
                    }
                }
            }
        }
    }
    assert!(kept > 100, "the cases keep lines too: {kept}");
}

/// A rule asks its query alone first and skips its pipeline for the lines it drops: the
/// parse errors it counts for those must be the pipeline's.
#[test]
fn a_dropped_line_tells_the_pipelines_parse_error() {
    let streams = [
        Labels::from([("app".to_owned(), "api".to_owned())]),
        Labels::from([("app".to_owned(), "api".to_owned()), ("__error__".to_owned(), "upstream".to_owned())]),
        Labels::from([("app".to_owned(), "api".to_owned()), ("path".to_owned(), "/api/data".to_owned())]),
    ];
    let mut dropped_with_error = 0;
    for text in QUERIES {
        let mut set = QuerySet::new();
        let index = set.add(&log(text));
        if !set.is_shared_json(index) {
            continue;
        }
        let pipeline = Pipeline::new(&log(text));
        for stream in &streams {
            for line in LINES {
                let mut state = LineState::default();
                set.begin(&mut state);
                let mut expected = false;
                let kept = pipeline.process_with(stream, line, &mut expected).is_some();
                assert_eq!(set.keeps(&mut state, index, stream, line), kept, "{text} on {line}");
                if !kept {
                    match set.parse_error(&mut state, index, stream, line) {
                        Some(error) => assert_eq!(error, expected, "{text} on {line} with {stream:?}"),
                        None => assert!(line.contains("error"), "only a line that could hold `__error__` is left to the pipeline"),
                    }
                    dropped_with_error += usize::from(expected);
                }
            }
        }
    }
    assert!(dropped_with_error > 10, "the cases drop broken lines: {dropped_with_error}");
}
