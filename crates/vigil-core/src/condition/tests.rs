//! Data-driven tests: one table of parse cases, one of evaluation cases.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::*;
use crate::time::Timestamp;

fn facts(body: &'static str) -> CheckFacts<'static> {
    CheckFacts {
        connected: true,
        status: Some(200),
        body: body.as_bytes(),
        response_time: Duration::from_millis(150),
        ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        certificate_expires_at: Some(Timestamp(100 * 3_600_000)),
        now: Timestamp(0),
    }
}

/// Evaluates `condition` and returns `(success, resolved)`.
fn check(condition: &str, facts: &CheckFacts<'_>) -> (bool, String) {
    let condition = Condition::parse(condition).unwrap_or_else(|error| panic!("{condition}: {error}"));
    let result = evaluate(std::slice::from_ref(&condition), facts).remove(0);
    (result.success, result.resolved)
}

#[test]
fn evaluation_table() {
    let body = r#"{"status":"OK","count":"42","hex":"0x1F","items":[{"id":7},{"id":8}],"ok":true,"empty":[],"ratio":0.5}"#;
    let cases: &[(&str, bool, &str)] = &[
        ("[STATUS] == 200", true, "[STATUS] (200) == 200"),
        ("[STATUS] != 200", false, "[STATUS] (200) != 200"),
        ("[STATUS] < 300", true, "[STATUS] (200) < 300"),
        ("[STATUS] >= 0xC8", true, "[STATUS] (200) >= 0xC8"),
        ("[STATUS] == 0b11001000", true, "[STATUS] (200) == 0b11001000"),
        ("[STATUS] == any(200, 201)", true, "[STATUS] (200) == any(200, 201)"),
        ("[STATUS] == any(500, 503)", false, "[STATUS] (200) == any(500, 503)"),
        ("[BODY].status == OK", true, "[BODY].status (OK) == OK"),
        ("[BODY].status == DOWN", false, "[BODY].status (OK) == DOWN"),
        ("[BODY].missing == OK", false, "[BODY].missing (missing) == OK"),
        ("[BODY].count > 40", true, "[BODY].count (42) > 40"),
        ("[BODY].hex == 31", true, "[BODY].hex (0x1F) == 31"),
        ("[BODY].items[1].id == 8", true, "[BODY].items[1].id (8) == 8"),
        ("len([BODY].items) == 2", true, "len([BODY].items) (2) == 2"),
        ("len([BODY].empty) > 0", false, "len([BODY].empty) (0) > 0"),
        ("len([BODY].status) == 2", true, "len([BODY].status) (2) == 2"),
        ("has([BODY].items) == true", true, "has([BODY].items) (true) == true"),
        ("has([BODY].errors) == false", true, "has([BODY].errors) (false) == false"),
        ("[BODY].ok == true", true, "[BODY].ok (true) == true"),
        ("[BODY].ratio < 0.75", true, "[BODY].ratio (0.5) < 0.75"),
        ("[BODY] == pat(*\"status\":\"OK\"*)", true, "[BODY] ({\"status\":\"OK\",\"count\":\"42\",\"hex\":\"0x1F\",\"items\":[{\"id\":7},{\"id\":8}],\"ok\":true,\"empty\":[],\"ratio\":0.…) == pat(*\"status\":\"OK\"*)"),
        ("[BODY].status == pat(O*)", true, "[BODY].status (OK) == pat(O*)"),
        ("[BODY].status != pat(*X*)", true, "[BODY].status (OK) != pat(*X*)"),
        ("[RESPONSE_TIME] < 500", true, "[RESPONSE_TIME] (150) < 500"),
        ("[RESPONSE_TIME] < 100ms", false, "[RESPONSE_TIME] (150) < 100ms"),
        ("[CONNECTED] == true", true, "[CONNECTED] (true) == true"),
        ("[IP] == 127.0.0.1", true, "[IP] (127.0.0.1) == 127.0.0.1"),
        ("[CERTIFICATE_EXPIRATION] > 48h", true, "[CERTIFICATE_EXPIRATION] (360000000) > 48h"),
        ("[CERTIFICATE_EXPIRATION] > 240h", false, "[CERTIFICATE_EXPIRATION] (360000000) > 240h"),
        ("200 == [STATUS]", true, "200 == [STATUS] (200)"),
    ];
    let facts = facts(body);
    for (condition, success, resolved) in cases {
        assert_eq!(check(condition, &facts), (*success, (*resolved).to_owned()), "{condition}");
    }
}

#[test]
fn missing_values_fail_without_panicking() {
    let mut facts = facts("not json");
    facts.status = None;
    facts.connected = false;
    facts.certificate_expires_at = None;
    assert_eq!(check("[STATUS] == 200", &facts), (false, "[STATUS] (missing) == 200".to_owned()));
    assert_eq!(check("[STATUS] != 200", &facts), (true, "[STATUS] (missing) != 200".to_owned()));
    assert_eq!(check("[STATUS] < 500", &facts), (false, "[STATUS] (missing) < 500".to_owned()));
    assert_eq!(check("[BODY].status == OK", &facts), (false, "[BODY].status (missing) == OK".to_owned()));
    assert_eq!(check("[CONNECTED] == true", &facts), (false, "[CONNECTED] (false) == true".to_owned()));
    assert_eq!(check("[CERTIFICATE_EXPIRATION] > 48h", &facts), (false, "[CERTIFICATE_EXPIRATION] (missing) > 48h".to_owned()));
}

#[test]
fn long_values_are_truncated_in_results() {
    let body: &'static str = Box::leak("x".repeat(500).into_boxed_str());
    let (_, resolved) = check("[BODY] == y", &facts(body));
    assert!(resolved.len() < 200, "{resolved}");
}

#[test]
fn parse_errors_table() {
    let cases: &[(&str, &str)] = &[
        ("[STATUS] 200", "condition `[STATUS] 200` has no comparator, expected one of == != < <= > >="),
        ("[STATUS] ==", "condition `[STATUS] ==` has an empty side"),
        (
            "[STATUSS] == 200",
            "unknown placeholder `[STATUSS]`, expected [STATUS], [BODY], [RESPONSE_TIME], [CONNECTED], [IP] or [CERTIFICATE_EXPIRATION]",
        ),
        ("[BODY]status == OK", "invalid JSON path `status`, expected e.g. `[BODY].data[0].id`"),
        ("[BODY].a[x] == 1", "invalid JSON path `.a[x]`, expected e.g. `[BODY].data[0].id`"),
        ("[BODY]. == 1", "invalid JSON path `.`, expected e.g. `[BODY].data[0].id`"),
        ("[STATUS].x == 1", "invalid JSON path `[STATUS].x`, expected e.g. `[BODY].data[0].id`"),
        ("200 == 200", "condition `200 == 200` has no placeholder such as [STATUS] or [BODY]"),
        ("[STATUS] < abc", "`<` needs a number on the other side, got `abc`"),
        ("[BODY].status > OK", "`>` needs a number on the other side, got `OK`"),
        ("[STATUS] >= 5m", "`>=` needs a number on the other side, got `5m`"),
        ("[STATUS] < pat(2*)", "`[STATUS] < pat(2*)`: pat() and any() work only with == and !="),
        ("pat(2*) == [STATUS]", "`pat(2*) == [STATUS]`: pat() and any() belong on the right side"),
        ("[CONNECTED] > 1", "`[CONNECTED] > 1`: `>` cannot order this value"),
        ("has([BODY].x) < 1", "`has([BODY].x) < 1`: `<` cannot order this value"),
    ];
    for (text, message) in cases {
        match Condition::parse(text) {
            Ok(condition) => panic!("{text} parsed as {condition:?}"),
            Err(error) => assert_eq!(error.to_string(), *message, "{text}"),
        }
    }
}

#[test]
fn numbers_parse_like_gatus() {
    use super::parse::parse_number;
    let cases: &[(&str, Option<f64>)] = &[
        ("200", Some(200.0)),
        ("-3", Some(-3.0)),
        ("0x1F", Some(31.0)),
        ("0b101", Some(5.0)),
        ("0o17", Some(15.0)),
        ("1.5", Some(1.5)),
        ("1e3", Some(1000.0)),
        ("abc", None),
        ("inf", None),
        ("NaN", None),
        ("0xZZ", None),
        ("", None),
    ];
    for (text, expected) in cases {
        assert_eq!(parse_number(text), *expected, "{text}");
    }
}
