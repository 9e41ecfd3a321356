//! Data-driven tests. The evaluation and validation tables are ported from TwiN/gatus
//! `config/endpoint/condition_test.go` (row names are Gatus'); the others are Vigil's.

use std::net::IpAddr;
use std::time::Duration;

use super::*;
use crate::time::Timestamp;

/// A check's observations in the shape of Gatus' `Result`, zero values included.
#[derive(Clone, Copy)]
struct Response {
    status: u16,
    ip: &'static str,
    millis: u64,
    body: &'static str,
    connected: bool,
    certificate_hours: i64,
}

const R: Response = Response { status: 0, ip: "", millis: 0, body: "", connected: false, certificate_hours: 0 };

impl Response {
    fn facts(&self) -> CheckFacts<'static> {
        let now = Timestamp(1_700_000_000_000);
        CheckFacts {
            connected: self.connected,
            status: (self.status != 0).then_some(self.status),
            body: self.body.as_bytes(),
            response_time: Duration::from_millis(self.millis),
            ip: self.ip.parse::<IpAddr>().ok(),
            certificate_expires_at: (self.certificate_hours != 0).then(|| Timestamp(now.0 + self.certificate_hours * 3_600_000)),
            now,
        }
    }
}

/// Evaluates `condition` and returns `(success, resolved)`.
fn check(condition: &str, response: &Response) -> (bool, String) {
    let condition = Condition::parse(condition).unwrap_or_else(|error| panic!("{condition}: {error}"));
    let result = evaluate(std::slice::from_ref(&condition), &response.facts()).remove(0);
    (result.success, result.resolved)
}

/// Gatus' own cases. Gatus shows a successful condition unresolved by default, so for
/// those rows the expected text is the condition itself and only success is compared.
/// Not ported: the rows for Gatus' UI options (`dont-resolve-failed-conditions`), and
/// `[RESPONSE_TIME] < potato`, which Gatus reads as `< 0` and Vigil refuses (see
/// `parse_errors_table`).
#[test]
fn gatus_evaluation_table() {
    let cases: &[(&str, &str, Response, bool, &str)] = &[
        ("ip", "[IP] == 127.0.0.1", Response { ip: "127.0.0.1", ..R }, true, "[IP] == 127.0.0.1"),
        ("status", "[STATUS] == 200", Response { status: 200, ..R }, true, "[STATUS] == 200"),
        ("status-failure", "[STATUS] == 200", Response { status: 500, ..R }, false, "[STATUS] (500) == 200"),
        ("status-using-less-than", "[STATUS] < 300", Response { status: 201, ..R }, true, "[STATUS] < 300"),
        ("status-using-less-than-failure", "[STATUS] < 300", Response { status: 404, ..R }, false, "[STATUS] (404) < 300"),
        ("response-time-using-less-than", "[RESPONSE_TIME] < 500", Response { millis: 50, ..R }, true, "[RESPONSE_TIME] < 500"),
        ("response-time-using-less-than-with-duration", "[RESPONSE_TIME] < 1s", Response { millis: 50, ..R }, true, "[RESPONSE_TIME] < 1s"),
        ("response-time-using-greater-than", "[RESPONSE_TIME] > 500", Response { millis: 750, ..R }, true, "[RESPONSE_TIME] > 500"),
        (
            "response-time-using-greater-than-with-duration",
            "[RESPONSE_TIME] > 1s",
            Response { millis: 2000, ..R },
            true,
            "[RESPONSE_TIME] > 1s",
        ),
        (
            "response-time-using-greater-than-or-equal-to-equal",
            "[RESPONSE_TIME] >= 500",
            Response { millis: 500, ..R },
            true,
            "[RESPONSE_TIME] >= 500",
        ),
        (
            "response-time-using-greater-than-or-equal-to-greater",
            "[RESPONSE_TIME] >= 500",
            Response { millis: 499, ..R },
            false,
            "[RESPONSE_TIME] (499) >= 500",
        ),
        (
            "response-time-using-greater-than-or-equal-to-failure",
            "[RESPONSE_TIME] >= 500",
            Response { millis: 499, ..R },
            false,
            "[RESPONSE_TIME] (499) >= 500",
        ),
        (
            "response-time-using-less-than-or-equal-to-equal",
            "[RESPONSE_TIME] <= 500",
            Response { millis: 500, ..R },
            true,
            "[RESPONSE_TIME] <= 500",
        ),
        (
            "response-time-using-less-than-or-equal-to-less",
            "[RESPONSE_TIME] <= 500",
            Response { millis: 25, ..R },
            true,
            "[RESPONSE_TIME] <= 500",
        ),
        (
            "response-time-using-less-than-or-equal-to-failure",
            "[RESPONSE_TIME] <= 500",
            Response { millis: 750, ..R },
            false,
            "[RESPONSE_TIME] (750) <= 500",
        ),
        ("body", "[BODY] == test", Response { body: "test", ..R }, true, "[BODY] == test"),
        ("body-numerical-equal", "[BODY] == 123", Response { body: "123", ..R }, true, "[BODY] == 123"),
        ("body-numerical-less-than", "[BODY] < 124", Response { body: "123", ..R }, true, "[BODY] < 124"),
        ("body-numerical-greater-than", "[BODY] > 122", Response { body: "123", ..R }, true, "[BODY] > 122"),
        ("body-numerical-greater-than-failure", "[BODY] > 123", Response { body: "100", ..R }, false, "[BODY] (100) > 123"),
        ("body-jsonpath", "[BODY].status == UP", Response { body: r##"{"status":"UP"}"##, ..R }, true, "[BODY].status == UP"),
        (
            "body-jsonpath-complex",
            "[BODY].data.name == john",
            Response { body: r##"{"data": {"id": 1, "name": "john"}}"##, ..R },
            true,
            "[BODY].data.name == john",
        ),
        (
            "body-jsonpath-complex-invalid",
            "[BODY].data.name == john",
            Response { body: r##"{"data": {"id": 1}}"##, ..R },
            false,
            "[BODY].data.name (INVALID) == john",
        ),
        (
            "body-jsonpath-complex-len-invalid",
            "len([BODY].data.name) == john",
            Response { body: r##"{"data": {"id": 1}}"##, ..R },
            false,
            "len([BODY].data.name) (INVALID) == john",
        ),
        (
            "body-jsonpath-double-placeholder",
            "[BODY].user.firstName != [BODY].user.lastName",
            Response { body: r##"{"user": {"firstName": "john", "lastName": "doe"}}"##, ..R },
            true,
            "[BODY].user.firstName != [BODY].user.lastName",
        ),
        (
            "body-jsonpath-double-placeholder-failure",
            "[BODY].user.firstName == [BODY].user.lastName",
            Response { body: r##"{"user": {"firstName": "john", "lastName": "doe"}}"##, ..R },
            false,
            "[BODY].user.firstName (john) == [BODY].user.lastName (doe)",
        ),
        (
            "body-jsonpath-when-body-is-array",
            "[BODY][0].id == 1",
            Response { body: r##"[{"id": 1}, {"id": 2}]"##, ..R },
            true,
            "[BODY][0].id == 1",
        ),
        (
            "body-jsonpath-when-body-has-null-parameter",
            "[BODY].data == OK",
            Response { body: r##"{"data": null}""##, ..R },
            false,
            "[BODY].data (INVALID) == OK",
        ),
        (
            "body-jsonpath-when-body-has-array-with-null",
            "[BODY].items[0] == OK",
            Response { body: r##"{"items": [null, null]}""##, ..R },
            false,
            "[BODY].items[0] (INVALID) == OK",
        ),
        ("body-jsonpath-when-body-is-null", "[BODY].data == OK", Response { body: "null", ..R }, false, "[BODY].data (INVALID) == OK"),
        (
            "body-jsonpath-when-body-is-array-but-actual-body-is-not",
            "[BODY][0].name == test",
            Response { body: r##"{"statusCode": 500, "message": "Internal Server Error"}"##, ..R },
            false,
            "[BODY][0].name (INVALID) == test",
        ),
        (
            "body-jsonpath-complex-int",
            "[BODY].data.id == 1",
            Response { body: r##"{"data": {"id": 1}}"##, ..R },
            true,
            "[BODY].data.id == 1",
        ),
        (
            "body-jsonpath-complex-array-int",
            "[BODY].data[1].id == 2",
            Response { body: r##"{"data": [{"id": 1}, {"id": 2}, {"id": 3}]}"##, ..R },
            true,
            "[BODY].data[1].id == 2",
        ),
        (
            "body-jsonpath-complex-int-using-greater-than",
            "[BODY].data.id > 0",
            Response { body: r##"{"data": {"id": 1}}"##, ..R },
            true,
            "[BODY].data.id > 0",
        ),
        (
            "body-jsonpath-hexadecimal-int-using-greater-than",
            "[BODY].data > 0",
            Response { body: r##"{"data": "0x1"}"##, ..R },
            true,
            "[BODY].data > 0",
        ),
        (
            "body-jsonpath-hexadecimal-int-using-equal-to-0x1",
            "[BODY].data == 1",
            Response { body: r##"{"data": "0x1"}"##, ..R },
            true,
            "[BODY].data == 1",
        ),
        (
            "body-jsonpath-hexadecimal-int-using-equals",
            "[BODY].data == 0x1",
            Response { body: r##"{"data": "0x1"}"##, ..R },
            true,
            "[BODY].data == 0x1",
        ),
        (
            "body-jsonpath-hexadecimal-int-using-equal-to-0x2",
            "[BODY].data == 2",
            Response { body: r##"{"data": "0x2"}"##, ..R },
            true,
            "[BODY].data == 2",
        ),
        (
            "body-jsonpath-hexadecimal-int-using-equal-to-0xF",
            "[BODY].data == 15",
            Response { body: r##"{"data": "0xF"}"##, ..R },
            true,
            "[BODY].data == 15",
        ),
        (
            "body-jsonpath-hexadecimal-int-using-equal-to-0xC0ff33",
            "[BODY].data == 12648243",
            Response { body: r##"{"data": "0xC0ff33"}"##, ..R },
            true,
            "[BODY].data == 12648243",
        ),
        (
            "body-jsonpath-hexadecimal-int-len",
            "len([BODY].data) == 3",
            Response { body: r##"{"data": "0x1"}"##, ..R },
            true,
            "len([BODY].data) == 3",
        ),
        (
            "body-jsonpath-hexadecimal-int-greater",
            "[BODY].data >= 1",
            Response { body: r##"{"data": "0x01"}"##, ..R },
            true,
            "[BODY].data >= 1",
        ),
        (
            "body-jsonpath-hexadecimal-int-0x01-len",
            "len([BODY].data) == 4",
            Response { body: r##"{"data": "0x01"}"##, ..R },
            true,
            "len([BODY].data) == 4",
        ),
        (
            "body-jsonpath-octal-int-using-greater-than",
            "[BODY].data > 0",
            Response { body: r##"{"data": "0o1"}"##, ..R },
            true,
            "[BODY].data > 0",
        ),
        (
            "body-jsonpath-octal-int-using-equal",
            "[BODY].data == 2",
            Response { body: r##"{"data": "0o2"}"##, ..R },
            true,
            "[BODY].data == 2",
        ),
        (
            "body-jsonpath-octal-int-using-equals",
            "[BODY].data == 0o2",
            Response { body: r##"{"data": "0o2"}"##, ..R },
            true,
            "[BODY].data == 0o2",
        ),
        (
            "body-jsonpath-binary-int-using-greater-than",
            "[BODY].data > 0",
            Response { body: r##"{"data": "0b1"}"##, ..R },
            true,
            "[BODY].data > 0",
        ),
        (
            "body-jsonpath-binary-int-using-equal",
            "[BODY].data == 2",
            Response { body: r##"{"data": "0b0010"}"##, ..R },
            true,
            "[BODY].data == 2",
        ),
        (
            "body-jsonpath-binary-int-using-equals",
            "[BODY].data == 0b10",
            Response { body: r##"{"data": "0b0010"}"##, ..R },
            true,
            "[BODY].data == 0b10",
        ),
        (
            "body-jsonpath-complex-int-using-greater-than-failure",
            "[BODY].data.id > 5",
            Response { body: r##"{"data": {"id": 1}}"##, ..R },
            false,
            "[BODY].data.id (1) > 5",
        ),
        (
            "body-jsonpath-float-using-greater-than-issue433",
            "[BODY].balance > 100",
            Response { body: r##"{"balance": "123.40000000000005"}"##, ..R },
            true,
            "[BODY].balance > 100",
        ),
        (
            "body-jsonpath-complex-int-using-less-than",
            "[BODY].data.id < 5",
            Response { body: r##"{"data": {"id": 2}}"##, ..R },
            true,
            "[BODY].data.id < 5",
        ),
        (
            "body-jsonpath-complex-int-using-less-than-failure",
            "[BODY].data.id < 5",
            Response { body: r##"{"data": {"id": 10}}"##, ..R },
            false,
            "[BODY].data.id (10) < 5",
        ),
        ("connected", "[CONNECTED] == true", Response { connected: true, ..R }, true, "[CONNECTED] == true"),
        ("connected-failure", "[CONNECTED] == true", Response { connected: false, ..R }, false, "[CONNECTED] (false) == true"),
        ("certificate-expiration-not-set", "[CERTIFICATE_EXPIRATION] == 0", R, true, "[CERTIFICATE_EXPIRATION] == 0"),
        (
            "certificate-expiration-greater-than-numerical",
            "[CERTIFICATE_EXPIRATION] > 2419200000",
            Response { certificate_hours: 1440, ..R },
            true,
            "[CERTIFICATE_EXPIRATION] > 2419200000",
        ),
        (
            "certificate-expiration-greater-than-numerical-failure",
            "[CERTIFICATE_EXPIRATION] > 2419200000",
            Response { certificate_hours: 336, ..R },
            false,
            "[CERTIFICATE_EXPIRATION] (336h) > 2419200000",
        ),
        (
            "certificate-expiration-greater-than-duration",
            "[CERTIFICATE_EXPIRATION] > 12h",
            Response { certificate_hours: 24, ..R },
            true,
            "[CERTIFICATE_EXPIRATION] > 12h",
        ),
        (
            "certificate-expiration-greater-than-duration",
            "[CERTIFICATE_EXPIRATION] > 48h",
            Response { certificate_hours: 24, ..R },
            false,
            "[CERTIFICATE_EXPIRATION] (24h) > 48h",
        ),
        ("no-placeholders", "1 == 2", R, false, "1 == 2"),
        (
            "len-body-jsonpath-complex",
            "len([BODY].data.name) == 4",
            Response { body: r##"{"data": {"name": "john"}}"##, ..R },
            true,
            "len([BODY].data.name) == 4",
        ),
        ("len-body-array", "len([BODY]) == 3", Response { body: r##"[{"id": 1}, {"id": 2}, {"id": 3}]"##, ..R }, true, "len([BODY]) == 3"),
        (
            "len-body-keyed-array",
            "len([BODY].data) == 3",
            Response { body: r##"{"data": [{"id": 1}, {"id": 2}, {"id": 3}]}"##, ..R },
            true,
            "len([BODY].data) == 3",
        ),
        (
            "len-body-array-invalid",
            "len([BODY].data) == 8",
            Response { body: r##"{"name": "john.doe"}"##, ..R },
            false,
            "len([BODY].data) (INVALID) == 8",
        ),
        ("len-body-string", "len([BODY]) == 8", Response { body: "john.doe", ..R }, true, "len([BODY]) == 8"),
        (
            "len-body-keyed-string",
            "len([BODY].name) == 8",
            Response { body: r##"{"name": "john.doe"}"##, ..R },
            true,
            "len([BODY].name) == 8",
        ),
        ("len-body-keyed-int", "len([BODY].age) == 2", Response { body: r##"{"age":18}"##, ..R }, true, "len([BODY].age) == 2"),
        ("len-body-keyed-bool", "len([BODY].adult) == 4", Response { body: r##"{"adult":true}"##, ..R }, true, "len([BODY].adult) == 4"),
        (
            "len-body-object-inside-array",
            "len([BODY][0]) == 23",
            Response { body: r##"[{"age":18,"adult":true}]"##, ..R },
            true,
            "len([BODY][0]) == 23",
        ),
        (
            "len-body-object-keyed-int-inside-array",
            "len([BODY][0].age) == 2",
            Response { body: r##"[{"age":18,"adult":true}]"##, ..R },
            true,
            "len([BODY][0].age) == 2",
        ),
        (
            "len-body-keyed-bool-inside-array",
            "len([BODY][0].adult) == 4",
            Response { body: r##"[{"age":18,"adult":true}]"##, ..R },
            true,
            "len([BODY][0].adult) == 4",
        ),
        ("len-body-object", "len([BODY]) == 20", Response { body: r##"{"name": "john.doe"}"##, ..R }, true, "len([BODY]) == 20"),
        ("pat-body-1", "[BODY] == pat(*john*)", Response { body: r##"{"name": "john.doe"}"##, ..R }, true, "[BODY] == pat(*john*)"),
        ("pat-body-2", "[BODY].name == pat(john*)", Response { body: r##"{"name": "john.doe"}"##, ..R }, true, "[BODY].name == pat(john*)"),
        (
            "pat-body-failure",
            "[BODY].name == pat(bob*)",
            Response { body: r##"{"name": "john.doe"}"##, ..R },
            false,
            "[BODY].name (john.doe) == pat(bob*)",
        ),
        (
            "pat-body-html",
            r##"[BODY] == pat(*<div id="user">john.doe</div>*)"##,
            Response {
                body: r##"<!DOCTYPE html><html lang="en"><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8" /></head><body><div id="user">john.doe</div></body></html>"##,
                ..R
            },
            true,
            r##"[BODY] == pat(*<div id="user">john.doe</div>*)"##,
        ),
        (
            "pat-body-html-failure",
            r##"[BODY] == pat(*<div id="user">john.doe</div>*)"##,
            Response {
                body: r##"<!DOCTYPE html><html lang="en"><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8" /></head><body><div id="user">jane.doe</div></body></html>"##,
                ..R
            },
            false,
            r##"[BODY] (<!DOCTYPE html><html lang...(truncated)) == pat(*<div id="user">john.doe</div>*)"##,
        ),
        (
            "pat-body-html-failure-alt",
            r##"pat(*<div id="user">john.doe</div>*) == [BODY]"##,
            Response {
                body: r##"<!DOCTYPE html><html lang="en"><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8" /></head><body><div id="user">jane.doe</div></body></html>"##,
                ..R
            },
            false,
            r##"pat(*<div id="user">john.doe</div>*) == [BODY] (<!DOCTYPE html><html lang...(truncated))"##,
        ),
        (
            "pat-body-in-array",
            "[BODY].data == pat(*Whatever*)",
            Response { body: r##"{"data": ["hello", "world", "Whatever"]}"##, ..R },
            true,
            "[BODY].data == pat(*Whatever*)",
        ),
        ("pat-ip", "[IP] == pat(10.*)", Response { ip: "10.0.0.0", ..R }, true, "[IP] == pat(10.*)"),
        ("pat-ip-failure", "[IP] == pat(10.*)", Response { ip: "255.255.255.255", ..R }, false, "[IP] (255.255.255.255) == pat(10.*)"),
        ("pat-status", "[STATUS] == pat(4*)", Response { status: 404, ..R }, true, "[STATUS] == pat(4*)"),
        ("pat-status-failure", "[STATUS] == pat(4*)", Response { status: 200, ..R }, false, "[STATUS] (200) == pat(4*)"),
        (
            "any-body-1",
            "[BODY].name == any(john.doe, jane.doe)",
            Response { body: r##"{"name": "john.doe"}"##, ..R },
            true,
            "[BODY].name == any(john.doe, jane.doe)",
        ),
        (
            "any-body-2",
            "[BODY].name == any(john.doe, jane.doe)",
            Response { body: r##"{"name": "jane.doe"}"##, ..R },
            true,
            "[BODY].name == any(john.doe, jane.doe)",
        ),
        (
            "any-body-failure",
            "[BODY].name == any(john.doe, jane.doe)",
            Response { body: r##"{"name": "bob"}"##, ..R },
            false,
            "[BODY].name (bob) == any(john.doe, jane.doe)",
        ),
        ("any-status-1", "[STATUS] == any(200, 429)", Response { status: 200, ..R }, true, "[STATUS] == any(200, 429)"),
        ("any-status-2", "[STATUS] == any(200, 429)", Response { status: 429, ..R }, true, "[STATUS] == any(200, 429)"),
        ("any-status-reverse", "any(200, 429) == [STATUS]", Response { status: 429, ..R }, true, "any(200, 429) == [STATUS]"),
        ("any-status-failure", "[STATUS] == any(200, 429)", Response { status: 404, ..R }, false, "[STATUS] (404) == any(200, 429)"),
        ("has", "has([BODY].errors) == false", Response { body: "{}", ..R }, true, "has([BODY].errors) == false"),
        (
            "has-key-of-map",
            "has([BODY].article) == true",
            Response {
                body: r##"{
  "article": {
    "id": 123,
    "title": "Hello, world!",
    "author": "John Doe",
    "tags": ["hello", "world"],
    "content": "I really like Gatus!"
  }
}"##,
                ..R
            },
            true,
            "has([BODY].article) == true",
        ),
        (
            "has-failure",
            "has([BODY].errors) == false",
            Response { body: r##"{"errors": ["1"]}"##, ..R },
            false,
            "has([BODY].errors) (true) == false",
        ),
    ];
    for (name, condition, response, success, output) in cases {
        let (got_success, resolved) = check(condition, response);
        assert_eq!(got_success, *success, "{name}: {condition} gave {resolved}");
        if *success {
            assert_eq!(output, condition, "{name}: Gatus shows successes unresolved");
        } else {
            assert_eq!(resolved, *output, "{name}: {condition}");
        }
    }
}

/// Vigil resolves successful conditions too (Gatus' `resolve-successful-conditions`),
/// and these cases go beyond Gatus' table.
#[test]
fn evaluation_table() {
    let json = r#"{"status":"OK","count":"42","hex":"0x1F","items":[{"id":7},{"id":8}],"ok":true,"empty":[],"ratio":0.5,"big":1000000,"nothing":null}"#;
    let body = Response { status: 200, body: json, connected: true, millis: 150, ip: "127.0.0.1", certificate_hours: 100 };
    let cases: &[(&str, Response, bool, &str)] = &[
        ("[BODY].status == UP", Response { body: r#"{"status":"UP"}"#, ..R }, true, "[BODY].status (UP) == UP"),
        ("[STATUS] == 200", body, true, "[STATUS] (200) == 200"),
        ("[STATUS] >= 0xC8", body, true, "[STATUS] (200) >= 0xC8 (200)"),
        ("[STATUS] == 0b11001000", body, true, "[STATUS] (200) == 0b11001000"),
        ("[STATUS] == any(500, 503)", body, false, "[STATUS] (200) == any(500, 503)"),
        ("[STATUS] == any(0xC8)", body, false, "[STATUS] (200) == any(0xC8)"),
        ("[status] == 200", body, true, "[status] (200) == 200"),
        ("[Body].status == OK", body, true, "[Body].status (OK) == OK"),
        ("[BODY].count > 40", body, true, "[BODY].count (42) > 40"),
        ("[BODY].hex == 31", body, true, "[BODY].hex (0x1F) == 31"),
        ("[BODY].ratio == 0.5", body, true, "[BODY].ratio (0.5) == 0.5"),
        ("[BODY].ratio > 0", body, false, "[BODY].ratio (0) > 0 (0s)"),
        ("[BODY].big == 1e+06", body, true, "[BODY].big (1e+06) == 1e+06"),
        ("len([BODY].big) == 5", body, true, "len([BODY].big) (5) == 5"),
        ("[BODY].items[1].id == 8", body, true, "[BODY].items[1].id (8) == 8"),
        ("len([BODY].items) == 2", body, true, "len([BODY].items) (2) == 2"),
        ("len([BODY].empty) > 0", body, false, "len([BODY].empty) (0) > 0 (0s)"),
        ("[BODY].items == [map[id:7] map[id:8]]", body, true, "[BODY].items ([map[id:7] map[id:8]]) == [map[id:7] map[id:8]]"),
        ("has([BODY].items) == true", body, true, "has([BODY].items) (true) == true"),
        ("has([BODY].nothing) == false", body, true, "has([BODY].nothing) (false) == false"),
        ("[BODY].nothing != x", body, true, "[BODY].nothing (INVALID) != x"),
        ("[BODY].missing < 5", body, true, "[BODY].missing (0) < 5"),
        ("[BODY].ok == true", body, true, "[BODY].ok (true) == true"),
        ("pat(O*) == [BODY].status", body, true, "pat(O*) == [BODY].status (OK)"),
        ("[BODY].status != pat(*X*)", body, true, "[BODY].status (OK) != pat(*X*)"),
        ("[RESPONSE_TIME] < 100ms", body, false, "[RESPONSE_TIME] (150) < 100ms (0s)"),
        ("[RESPONSE_TIME] < 1.5", body, false, "[RESPONSE_TIME] (150) < 1.5 (1)"),
        ("[CERTIFICATE_EXPIRATION] > 48h", body, true, "[CERTIFICATE_EXPIRATION] (100h) > 48h"),
        ("[CERTIFICATE_EXPIRATION] > 240h", body, false, "[CERTIFICATE_EXPIRATION] (100h) > 240h"),
        ("200 == [STATUS]", body, true, "200 == [STATUS] (200)"),
        ("500 > [STATUS]", body, true, "500 > [STATUS] (200)"),
        ("[STATUS] == [BODY].count", body, false, "[STATUS] (200) == [BODY].count (42)"),
        ("raw == raw", R, true, "raw == raw"),
        ("[BODY] == [1,2]", Response { body: "[1,2]", ..R }, true, "[BODY] ([1,2]) == [1,2]"),
        ("[BODY] == a > b", Response { body: "a > b", ..R }, true, "[BODY] (a > b) == a > b"),
        // Without a response Gatus reads the status as 0 and the address as empty.
        ("[STATUS] == 200", R, false, "[STATUS] (0) == 200"),
        ("[STATUS] < 500", R, true, "[STATUS] (0) < 500"),
        ("[IP] == pat(10.*)", R, false, "[IP] () == pat(10.*)"),
        ("[CERTIFICATE_EXPIRATION] > 48h", R, false, "[CERTIFICATE_EXPIRATION] (0s) > 48h"),
        ("len([BODY]) == 3", Response { body: "[1, 2, 3]", ..R }, true, "len([BODY]) (3) == 3"),
        ("has([BODY]) == false", Response { body: " \n", ..R }, true, "has([BODY]) (false) == false"),
        ("len([BODY].name) == 4", Response { body: r#"{"name":"über"}"#, ..R }, false, "len([BODY].name) (5) == 4"),
    ];
    for (condition, response, success, resolved) in cases {
        assert_eq!(check(condition, response), (*success, (*resolved).to_owned()), "{condition}");
    }
}

#[test]
fn long_values_are_truncated_in_results() {
    let body: &'static str = Box::leak("x".repeat(500).into_boxed_str());
    let (_, resolved) = check("[BODY] == y", &Response { body, ..R });
    assert_eq!(resolved, format!("[BODY] ({}...(truncated)) == y", "x".repeat(100)));
}

/// Gatus' `TestCondition_Validate`: what it accepts parses here (but for its
/// placeholders Vigil does not provide), and what it rejects is refused with a reason.
#[test]
fn gatus_validation_table() {
    let valid = [
        "[STATUS] == 200",
        "[STATUS] != 200",
        "[STATUS] <= 200",
        "[STATUS] >= 200",
        "[STATUS] < 200",
        "[STATUS] > 200",
        "[STATUS] == any(200, 201, 202, 203)",
        "[STATUS] == [BODY].status",
        "[CONNECTED] == true",
        "[RESPONSE_TIME] < 500",
        "[IP] == 127.0.0.1",
        "[BODY] == 1",
        "[BODY].test == wat",
        "[BODY].test.wat == wat",
        "[BODY].age == [BODY].id",
        "[BODY].users[0].id == 1",
        "len([BODY].users) == 100",
        "len([BODY].data) < 5",
        "has([BODY].errors) == false",
        "has([BODY].users[0].name) == true",
        "[BODY].name == pat(john*)",
        "[CERTIFICATE_EXPIRATION] > 48h",
        "raw == raw",
    ];
    for text in valid {
        if let Err(error) = Condition::parse(text) {
            panic!("{text}: {error}");
        }
    }
    let invalid: &[(&str, &str)] = &[
        ("[DOMAIN_EXPIRATION] > 720h", "placeholder `[DOMAIN_EXPIRATION]` is not supported by Vigil"),
        ("[STATUS] ? 201", "condition `[STATUS] ? 201`: `?` is not an operator, expected one of == != <= >= > < with a space on each side"),
        ("[STATUS]==201", "condition `[STATUS]==201`: put a space on each side of `==`, as Gatus requires"),
        (
            "[STATUS] = = 201",
            "condition `[STATUS] = = 201`: `=` is not an operator, expected one of == != <= >= > < with a space on each side",
        ),
        ("[STATUS] ==", "condition `[STATUS] ==` has an empty side"),
        ("[STATUS]", "condition `[STATUS]` has no operator, expected one of == != <= >= > < with a space on each side"),
    ];
    for (text, message) in invalid {
        match Condition::parse(text) {
            Ok(condition) => panic!("{text} parsed as {condition:?}"),
            Err(error) => assert_eq!(error.to_string(), *message, "{text}"),
        }
    }
}

#[test]
fn parse_errors_table() {
    let not_an_operator = |condition: &str, found: &str| {
        format!("condition `{condition}`: `{found}` is not an operator, expected one of == != <= >= > < with a space on each side")
    };
    let cases: &[(&str, String)] = &[
        ("[STATUS] 200", "condition `[STATUS] 200` has no operator, expected one of == != <= >= > < with a space on each side".into()),
        ("[STATUS] === 200", not_an_operator("[STATUS] === 200", "===")),
        ("[STATUS] => 200", not_an_operator("[STATUS] => 200", "=>")),
        ("[STATUS] = 200", not_an_operator("[STATUS] = 200", "=")),
        ("[STATUS] !== 200", not_an_operator("[STATUS] !== 200", "!==")),
        ("[STATUS]=200", not_an_operator("[STATUS]=200", "=")),
        ("[STATUS]<=200", "condition `[STATUS]<=200`: put a space on each side of `<=`, as Gatus requires".into()),
        ("== 200", "condition `== 200` has an empty side".into()),
        ("[BODY] == a == b", "condition `[BODY] == a == b` has more than one `==`".into()),
        (
            "[STATUSS] == 200",
            "unknown placeholder `[STATUSS]`, expected [STATUS], [BODY], [RESPONSE_TIME], [CONNECTED], [IP] or [CERTIFICATE_EXPIRATION]"
                .into(),
        ),
        ("[CONTEXT].user == 1", "placeholder `[CONTEXT]` is not supported by Vigil".into()),
        ("[BODY]status == OK", "invalid JSON path `status`, expected e.g. `[BODY].data[0].id`".into()),
        ("[BODY].a[x] == 1", "invalid JSON path `.a[x]`, expected e.g. `[BODY].data[0].id`".into()),
        ("[BODY].data[-1] == 1", "invalid JSON path `.data[-1]`, expected e.g. `[BODY].data[0].id`".into()),
        ("[BODY]. == 1", "invalid JSON path `.`, expected e.g. `[BODY].data[0].id`".into()),
        ("[STATUS].x == 1", "invalid JSON path `[STATUS].x`, expected e.g. `[BODY].data[0].id`".into()),
        ("len(foo) == 1", "`len(foo)`: len() takes a placeholder such as [BODY].items".into()),
        ("[RESPONSE_TIME] < potato", "`<` needs a number or a duration on the other side, got `potato`".into()),
        ("[STATUS] < abc", "`<` needs a number or a duration on the other side, got `abc`".into()),
        ("[BODY].status > OK", "`>` needs a number or a duration on the other side, got `OK`".into()),
        ("[STATUS] < pat(2*)", "`[STATUS] < pat(2*)`: pat() and any() work only with == and !=".into()),
        ("any(1, 2) >= [STATUS]", "`any(1, 2) >= [STATUS]`: pat() and any() work only with == and !=".into()),
        ("[CONNECTED] > 1", "`[CONNECTED] > 1`: `>` cannot order this value".into()),
        ("has([BODY].x) < 1", "`has([BODY].x) < 1`: `<` cannot order this value".into()),
        ("[BODY] == pat([a-)", "`pat([a-)`: malformed pattern: a `[` without its `]`, an empty class, or a trailing `\\`".into()),
    ];
    for (text, message) in cases {
        match Condition::parse(text) {
            Ok(condition) => panic!("{text} parsed as {condition:?}"),
            Err(error) => assert_eq!(error.to_string(), *message, "{text}"),
        }
    }
}

#[test]
fn conditions_without_placeholders_never_read_the_response() {
    let read = |text: &str| Condition::parse(text).map(|condition| condition.reads_response()).ok();
    assert_eq!(read("1 == 2"), Some(false));
    assert_eq!(read("pat(a*) == any(a)"), Some(false));
    assert_eq!(read("[STATUS] == 200"), Some(true));
    assert_eq!(read("any(200, 429) == [STATUS]"), Some(true));
}

/// Mutated conditions must parse or fail with an error, and what parses must evaluate
/// against odd bodies without panicking (a deterministic seed; set
/// VIGIL_FUZZ_ITERATIONS for a longer search).
#[test]
fn mutated_conditions_never_panic() {
    let seeds = [
        "[STATUS] == any(200, 201)",
        "len([BODY].data[0].items) >= 0x1F",
        "pat(*<div id=\"user\">*) == [BODY]",
        "[CERTIFICATE_EXPIRATION] > 48h",
        "has([BODY].a.b[3]) != false",
        "[RESPONSE_TIME] <= 1.5s",
    ];
    let pieces =
        ["[", "]", "(", ")", " == ", " < ", "\\", "*", "?", "[^", "-", ".", "0x", "99999999999999999999", "ü", "len(", "pat(", " ", "h"];
    let bodies: [&'static str; 5] = [r#"{"data":[{"items":[1,2]}],"a":{"b":[0,1,2,{"x":null}]}}"#, "[[[[]]]]", "", "\u{0}", "1e400"];
    let iterations = std::env::var("VIGIL_FUZZ_ITERATIONS").ok().and_then(|text| text.parse().ok()).unwrap_or(20_000);
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut below = |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound as u64) as usize
    };
    for _ in 0..iterations {
        let mut text: Vec<char> = seeds[below(seeds.len())].chars().collect();
        for _ in 0..=below(3) {
            let at = below(text.len() + 1);
            if below(2) == 0 {
                text.splice(at..at, pieces[below(pieces.len())].chars()).for_each(drop);
            } else {
                let end = (at + below(4)).min(text.len());
                text.drain(at..end);
            }
        }
        let text: String = text.into_iter().collect();
        if let Ok(condition) = Condition::parse(&text) {
            for body in bodies {
                let _ = check(condition.as_str(), &Response { body, status: 200, ..R });
            }
        }
    }
}

/// Ported from TwiN/gatus `config/endpoint/placeholder_test.go`: what each placeholder
/// resolves to, read from the result text of `PLACEHOLDER == ~`. Not ported: Gatus'
/// placeholders Vigil does not provide (`[DNS_RCODE]`, `[DOMAIN_EXPIRATION]`,
/// `[CONTEXT]`), and unknown ones, which are config errors here.
#[test]
fn gatus_placeholder_resolution_table() {
    let body = r#"{"status":"success","items":[1,2,3],"user":{"name":"john","id":123}}"#;
    let response = Response { status: 200, ip: "127.0.0.1", millis: 250, connected: true, certificate_hours: 30 * 24, body };
    let cases: &[(&str, &str)] = &[
        ("[STATUS]", "200"),
        ("[IP]", "127.0.0.1"),
        ("[RESPONSE_TIME]", "250"),
        ("[CONNECTED]", "true"),
        ("[CERTIFICATE_EXPIRATION]", "2592000000"),
        ("[BODY]", body),
        ("[status]", "200"),
        ("[Ip]", "127.0.0.1"),
        ("len([STATUS])", "3"),
        ("len([IP])", "9"),
        ("has([STATUS])", "true"),
        ("[BODY].status", "success"),
        ("[BODY].user.name", "john"),
        ("[BODY].user.id", "123"),
        ("len([BODY].items)", "3"),
        ("[BODY].items[0]", "1"),
        ("has([BODY].status)", "true"),
        ("has([BODY].missing)", "false"),
        ("[BODY].invalid.path", "INVALID"),
        ("literal", "literal"),
        ("123", "123"),
    ];
    for (placeholder, expected) in cases {
        let (_, resolved) = check(&format!("{placeholder} == ~"), &response);
        let shown = resolved.strip_suffix(" == ~").unwrap_or_else(|| panic!("{resolved}"));
        let value =
            shown.strip_prefix(placeholder).map(str::trim).map(|rest| rest.trim_start_matches('(').trim_end_matches(')')).unwrap_or(shown);
        let value = if value.is_empty() { placeholder } else { value };
        assert_eq!(value, *expected, "{placeholder}: {resolved}");
    }
}
