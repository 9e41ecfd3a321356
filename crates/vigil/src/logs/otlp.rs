//! `POST /v1/logs`, OpenTelemetry's OTLP/HTTP logs export in its JSON encoding.
//!
//! Each log record becomes a line: the body if it is a string, else the body as JSON.
//! Its labels are the resource's attributes, the record's attributes (names sanitized:
//! `service.name` is `service_name`) and `level` from the severity text. The event time
//! is `timeUnixNano`, else `observedTimeUnixNano`. Protobuf bodies are answered 415.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use serde::Deserialize;
use vigil_logql::eval::pipeline::sanitize;

use super::loki::{deliver, PushError};
use super::{LogBatch, LogStream};
use crate::http::AppState;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportRequest {
    #[serde(default)]
    resource_logs: Vec<ResourceLogs>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceLogs {
    #[serde(default)]
    resource: Option<Resource>,
    #[serde(default)]
    scope_logs: Vec<ScopeLogs>,
}

#[derive(Deserialize, Default)]
struct Resource {
    #[serde(default)]
    attributes: Vec<KeyValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScopeLogs {
    #[serde(default)]
    log_records: Vec<LogRecord>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogRecord {
    #[serde(default)]
    time_unix_nano: Option<Nanos>,
    #[serde(default)]
    observed_time_unix_nano: Option<Nanos>,
    #[serde(default)]
    severity_text: Option<String>,
    #[serde(default)]
    body: Option<serde_json::Value>,
    #[serde(default)]
    attributes: Vec<KeyValue>,
}

/// OTLP JSON writes 64-bit integers as strings, but numbers are accepted too.
#[derive(Deserialize)]
#[serde(untagged)]
enum Nanos {
    Text(String),
    Number(u64),
}

impl Nanos {
    fn millis(&self) -> Option<i64> {
        let nanos = match self {
            Nanos::Text(text) => text.trim().parse::<u64>().ok()?,
            Nanos::Number(number) => *number,
        };
        (nanos > 0).then(|| i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX))
    }
}

#[derive(Deserialize)]
struct KeyValue {
    key: String,
    #[serde(default)]
    value: serde_json::Value,
}

/// An OTLP `AnyValue` as text: strings as they are, other scalars printed, arrays and
/// maps as JSON.
fn any_value_text(value: &serde_json::Value) -> String {
    let Some(object) = value.as_object() else { return value.to_string() };
    match object.iter().next() {
        Some((kind, inner)) if kind == "stringValue" => inner.as_str().unwrap_or_default().to_owned(),
        Some((kind, inner)) if kind == "intValue" => inner.as_str().map_or_else(|| inner.to_string(), str::to_owned),
        Some((kind, inner)) if kind == "doubleValue" || kind == "boolValue" => inner.to_string(),
        Some((_, inner)) => inner.to_string(),
        None => String::new(),
    }
}

/// Parses an OTLP JSON export into a batch; records without any time get `now`.
pub fn parse_json(body: &[u8], now: i64) -> Result<LogBatch, PushError> {
    let request: ExportRequest =
        serde_json::from_slice(body).map_err(|error| PushError::Malformed(format!("invalid OTLP logs body: {error}")))?;
    let mut batch = LogBatch::default();
    for resource_logs in request.resource_logs {
        let resource: BTreeMap<String, String> = resource_logs
            .resource
            .unwrap_or_default()
            .attributes
            .iter()
            .map(|attribute| (sanitize(&attribute.key), any_value_text(&attribute.value)))
            .collect();
        for scope in resource_logs.scope_logs {
            for record in scope.log_records {
                let mut labels = resource.clone();
                for attribute in &record.attributes {
                    labels.insert(sanitize(&attribute.key), any_value_text(&attribute.value));
                }
                if let Some(level) = record.severity_text.filter(|level| !level.is_empty()) {
                    labels.insert("level".to_owned(), level);
                }
                let at = record
                    .time_unix_nano
                    .as_ref()
                    .and_then(Nanos::millis)
                    .or_else(|| record.observed_time_unix_nano.as_ref().and_then(Nanos::millis))
                    .unwrap_or(now);
                let line = record.body.as_ref().map(any_value_text).unwrap_or_default();
                batch.streams.push(LogStream { labels, entries: vec![(at, line)] });
            }
        }
    }
    Ok(batch)
}

pub async fn export(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> (StatusCode, String) {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("application/json");
    if content_type.starts_with("application/x-protobuf") {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "OTLP protobuf is not supported yet; export with the JSON encoding (http/json)\n".to_owned(),
        );
    }
    let now = vigil_core::Clock::now(&vigil_core::SystemClock).0;
    let batch = match super::loki::decompress(headers.get(header::CONTENT_ENCODING).and_then(|value| value.to_str().ok()), &body)
        .and_then(|body| parse_json(&body, now))
    {
        Ok(batch) => batch,
        Err(error) => return super::loki::refusal(error),
    };
    match deliver(&state, batch) {
        (StatusCode::NO_CONTENT, _) => (StatusCode::OK, "{}".to_owned()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn otlp_json_records_become_lines_with_labels() {
        let body = br#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"thumbs"}}]},
          "scopeLogs":[{"logRecords":[
            {"timeUnixNano":"1700000000123000000","severityText":"ERROR","body":{"stringValue":"job failed"},
             "attributes":[{"key":"job.id","value":{"intValue":"42"}}]},
            {"observedTimeUnixNano":1700000001000000000,"body":{"kvlistValue":{"values":[]}}},
            {"body":{"stringValue":"no time"}}]}]}]}"#;
        let batch = super::parse_json(body, 5).expect("valid");
        assert_eq!(batch.lines(), 3);
        let first = &batch.streams[0];
        assert_eq!(first.entries[0], (1_700_000_000_123, "job failed".to_owned()));
        assert_eq!(first.labels["service_name"], "thumbs");
        assert_eq!(first.labels["job_id"], "42");
        assert_eq!(first.labels["level"], "ERROR");
        assert_eq!(batch.streams[1].entries[0].0, 1_700_000_001_000);
        assert_eq!(batch.streams[2].entries[0], (5, "no time".to_owned()));
        assert!(super::parse_json(b"not json", 0).is_err());
        assert!(super::parse_json(br#"{"resourceLogs":5}"#, 0).is_err());
    }
}
