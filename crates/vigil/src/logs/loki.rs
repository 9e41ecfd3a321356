//! `POST /loki/api/v1/push`, Loki's push API, JSON form:
//! `{"streams":[{"stream":{"app":"api"},"values":[["<unix ns>","line"], ...]}]}`.
//!
//! Malformed bodies get 400 with the reason, bodies over the limit 413, and a full
//! engine queue 429 (clients retry). Protobuf bodies are answered 415 for now.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use serde::Deserialize;
use tokio::sync::mpsc;

use super::{LogBatch, LogStream};
use crate::http::AppState;

/// Largest accepted push body.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

#[derive(Deserialize)]
struct PushRequest {
    streams: Vec<PushStream>,
}

#[derive(Deserialize)]
struct PushStream {
    stream: BTreeMap<String, String>,
    values: Vec<PushEntry>,
}

/// `[timestamp, line]` or `[timestamp, line, structured metadata]`.
#[derive(Deserialize)]
struct PushEntry(String, String, #[serde(default)] serde::de::IgnoredAny);

/// Parses a JSON push body into a batch.
pub fn parse(body: &[u8]) -> Result<LogBatch, String> {
    let request: PushRequest = serde_json::from_slice(body).map_err(|error| format!("invalid push body: {error}"))?;
    let mut batch = LogBatch::default();
    for stream in request.streams {
        let mut entries = Vec::with_capacity(stream.values.len());
        for PushEntry(timestamp, line, _) in stream.values {
            let nanos: i128 =
                timestamp.trim().parse().map_err(|_| format!("invalid timestamp `{timestamp}`, expected Unix nanoseconds as a string"))?;
            entries.push((i64::try_from(nanos / 1_000_000).map_err(|_| format!("timestamp `{timestamp}` is out of range"))?, line));
        }
        batch.streams.push(LogStream { labels: stream.stream, entries });
    }
    Ok(batch)
}

pub async fn push(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> (StatusCode, String) {
    let Some(sender) = &state.logs else {
        return (StatusCode::NOT_FOUND, "no rules are configured, so log intake is off\n".to_owned());
    };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("application/json");
    if content_type.starts_with("application/x-protobuf") {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "protobuf push is not supported yet; send JSON\n".to_owned());
    }
    if headers.get(header::CONTENT_ENCODING).is_some_and(|value| value.as_bytes() != b"identity") {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "compressed push bodies are not supported yet\n".to_owned());
    }
    let batch = match parse(&body) {
        Ok(batch) => batch,
        Err(message) => return (StatusCode::BAD_REQUEST, format!("{message}\n")),
    };
    let lines = batch.lines() as u64;
    match sender.try_send(batch) {
        Ok(()) => {
            state.metrics.log_lines.inc_by(lines);
            (StatusCode::NO_CONTENT, String::new())
        }
        Err(mpsc::error::TrySendError::Full(_)) => {
            state.metrics.log_pushes_rejected.inc();
            (StatusCode::TOO_MANY_REQUESTS, "intake is saturated, retry later\n".to_owned())
        }
        Err(mpsc::error::TrySendError::Closed(_)) => (StatusCode::SERVICE_UNAVAILABLE, "vigil is stopping\n".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn push_bodies_parse_or_say_why_not() {
        let body = br#"{"streams":[{"stream":{"app":"api"},"values":[["1700000000123456789","a"],["1700000000200000000","b",{"trace_id":"x"}]]}]}"#;
        let batch = super::parse(body).expect("valid");
        assert_eq!(batch.lines(), 2);
        assert_eq!(batch.streams[0].entries[0], (1_700_000_000_123, "a".to_owned()));
        assert_eq!(batch.streams[0].labels["app"], "api");
        let cases: &[(&[u8], &str)] = &[
            (b"{", "invalid push body"),
            (br#"{"streams":[{"stream":{},"values":[["soon","a"]]}]}"#, "invalid timestamp `soon`"),
            (br#"{"streams":[{"values":[]}]}"#, "invalid push body: missing field `stream`"),
        ];
        for (body, message) in cases {
            let error = super::parse(body).err().unwrap_or_default();
            assert!(error.starts_with(message), "{error}");
        }
    }
}
