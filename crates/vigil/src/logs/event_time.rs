//! The event time of a log line: read from a JSON field (RFC 3339 text or Unix
//! seconds), so windows follow when things happened, not when lines arrived.

use std::collections::BTreeSet;

use vigil_logql::eval::json;
use vigil_logql::eval::pipeline::sanitize;

/// Fields tried when no field is configured, in this order of preference.
const TIME_FIELDS: &[&str] = &["ts", "time", "timestamp", "@timestamp"];

/// The JSON fields that may hold the event time; the first of them in a line is used.
pub struct TimeFields {
    names: BTreeSet<String>,
}

impl TimeFields {
    pub fn new(field: Option<&str>) -> TimeFields {
        // Extraction yields label names, so fields are looked up by their label name.
        let names = match field {
            Some(field) => BTreeSet::from([sanitize(field)]),
            None => TIME_FIELDS.iter().map(|name| sanitize(name)).collect(),
        };
        TimeFields { names }
    }
}

/// The event time of a JSON line, Unix milliseconds: RFC 3339 text or Unix seconds
/// (milli-, micro- and nanoseconds are recognised by magnitude).
pub fn event_time(line: &str, fields: &TimeFields) -> Option<i64> {
    if !line.starts_with('{') {
        return None;
    }
    // Reading stops at the first candidate field in the line: the event time is usually
    // the first field, so the rest of the line is not read twice.
    let (_, text) = json::first_of(line, &fields.names)?;
    text.parse::<f64>()
        .ok()
        .filter(|value| value.is_finite())
        .map(unix_to_millis)
        .or_else(|| vigil_core::Timestamp::parse_rfc3339(&text).map(|at| at.0))
}

fn unix_to_millis(value: f64) -> i64 {
    let millis = if value > 1e17 {
        value / 1e6
    } else if value > 1e14 {
        value / 1e3
    } else if value > 1e11 {
        value
    } else {
        value * 1e3
    };
    millis as i64
}

#[cfg(test)]
mod tests {
    use super::{event_time, TimeFields};

    #[test]
    fn event_times_are_read_from_common_fields() {
        let cases: &[(&str, Option<&str>, Option<i64>)] = &[
            (r#"{"ts":"2026-11-22T10:00:00Z"}"#, None, Some(1_795_341_600_000)),
            (r#"{"time":"2026-11-22T10:00:00.250Z"}"#, None, Some(1_795_341_600_250)),
            (r#"{"timestamp":"2026-11-22T11:00:00+01:00"}"#, None, Some(1_795_341_600_000)),
            (r#"{"@timestamp":1795341600}"#, None, Some(1_795_341_600_000)),
            (r#"{"ts":1795341600.5}"#, None, Some(1_795_341_600_500)),
            (r#"{"ts":1795341600000}"#, None, Some(1_795_341_600_000)),
            (r#"{"ts":"1795341600"}"#, None, Some(1_795_341_600_000)),
            (r#"{"at":"2026-11-22T10:00:00Z"}"#, Some("at"), Some(1_795_341_600_000)),
            (r#"{"at":"2026-11-22T10:00:00Z"}"#, None, None),
            (r#"{"ts":"yesterday"}"#, None, None),
            ("plain text", None, None),
        ];
        for (line, field, expected) in cases {
            assert_eq!(event_time(line, &TimeFields::new(*field)), *expected, "{line}");
        }
    }
}
