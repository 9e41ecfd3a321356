//! The routes that take bodies from outside: Loki's push API (`/loki/api/v1/push`),
//! OTLP/HTTP logs (`/v1/logs`) and Alertmanager's webhook (`/api/v1/alertmanager`).
//! Decoding is the domain's (`logs::loki`, `logs::otlp`, `alerts::inbound`); this module reads
//! bodies within their limits, authenticates, and maps outcomes to status codes.
//!
//! A body over its limit gets 413 with the reason. The rest of the upload is read and
//! discarded first (up to [`DRAIN_BYTES`], for up to [`DRAIN_TIME`]), because closing
//! a socket that still holds unread data resets the connection, and the client would
//! see a reset instead of the answer.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use tokio::sync::mpsc;

use super::AppState;
use crate::logs::loki::{self, PushError, MAX_DECODED_BYTES};
use crate::logs::{otlp, LogBatch};

/// At most this much of an oversized upload is read (and discarded) before answering.
pub const DRAIN_BYTES: usize = 64 * 1024 * 1024;
/// At most this long is spent reading an oversized upload before answering.
pub const DRAIN_TIME: Duration = Duration::from_secs(10);

/// A refusal: the status and a one-line reason for the client.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub reason: String,
}

impl Refusal {
    pub fn new(status: StatusCode, reason: impl Into<String>) -> Refusal {
        Refusal { status, reason: reason.into() }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = (self.status, format!("{}\n", self.reason)).into_response();
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if self.status == StatusCode::TOO_MANY_REQUESTS || self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<PushError> for Refusal {
    fn from(error: PushError) -> Refusal {
        match error {
            PushError::Malformed(message) => Refusal::new(StatusCode::BAD_REQUEST, message),
            PushError::TooLarge => {
                Refusal::new(StatusCode::PAYLOAD_TOO_LARGE, format!("body larger than {MAX_DECODED_BYTES} bytes decompressed"))
            }
            PushError::Unsupported(message) => Refusal::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, message),
        }
    }
}

/// Reads a request's body, at most `limit` bytes. Over the limit (by `Content-Length`
/// or as it arrives) the rest is drained and the answer is 413 with the limit, unless
/// the client asked `Expect: 100-continue` and has not sent the body yet.
pub async fn read_body(request: Request, limit: usize) -> Result<(HeaderMap, Bytes), Refusal> {
    let (parts, mut body) = request.into_parts();
    let too_large = || Refusal::new(StatusCode::PAYLOAD_TOO_LARGE, format!("body larger than the limit of {limit} bytes"));
    let declared = parts.headers.get(header::CONTENT_LENGTH).and_then(|value| value.to_str().ok()?.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        let waits_for_continue = parts
            .headers
            .get(header::EXPECT)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.eq_ignore_ascii_case("100-continue"));
        if !waits_for_continue {
            drain(body).await;
        }
        return Err(too_large());
    }
    let mut collected = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| Refusal::new(StatusCode::BAD_REQUEST, format!("reading the body failed: {error}")))?;
        let Ok(data) = frame.into_data() else { continue };
        if collected.len() + data.len() > limit {
            drain(body).await;
            return Err(too_large());
        }
        collected.extend_from_slice(&data);
    }
    Ok((parts.headers, collected.freeze()))
}

/// Refuses a request without using its body, which is read and discarded first (see
/// the module's note on resets).
async fn refuse_unread(request: Request, refusal: Refusal) -> Refusal {
    drain(request.into_body()).await;
    refusal
}

/// Reads and discards what is left of a body, within [`DRAIN_BYTES`] and [`DRAIN_TIME`].
async fn drain(mut body: Body) {
    let discard = async {
        let mut seen = 0usize;
        while let Some(Ok(frame)) = body.frame().await {
            seen += frame.data_ref().map_or(0, Bytes::len);
            if seen > DRAIN_BYTES {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, discard).await;
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// `POST /loki/api/v1/push`.
pub async fn loki_push(State(state): State<AppState>, request: Request) -> Result<StatusCode, Refusal> {
    let (headers, body) = read_body(request, loki::MAX_BODY_BYTES).await?;
    let content_type = header_text(&headers, header::CONTENT_TYPE).unwrap_or("application/json");
    let batch = loki::decode(content_type, header_text(&headers, header::CONTENT_ENCODING), &body)?;
    deliver(&state, batch)
}

/// `POST /v1/logs`: 200 with an empty `ExportLogsServiceResponse` in the request's
/// encoding.
pub async fn otlp_logs(State(state): State<AppState>, request: Request) -> Result<Response, Refusal> {
    let (headers, body) = read_body(request, loki::MAX_BODY_BYTES).await?;
    let encoding = otlp::Encoding::of(header_text(&headers, header::CONTENT_TYPE))?;
    let body = loki::decompress(header_text(&headers, header::CONTENT_ENCODING), &body)?;
    let now = vigil_core::Clock::now(&vigil_core::SystemClock).0;
    let batch = otlp::decode(encoding, &body, now)?;
    deliver(&state, batch)?;
    Ok(match encoding {
        otlp::Encoding::Protobuf => ([(header::CONTENT_TYPE, "application/x-protobuf")], Bytes::new()).into_response(),
        otlp::Encoding::Json => ([(header::CONTENT_TYPE, "application/json")], "{}").into_response(),
    })
}

/// Hands a batch to the rule engine: 204, or 429 when its queue is full.
fn deliver(state: &AppState, batch: LogBatch) -> Result<StatusCode, Refusal> {
    let Some(sender) = &state.logs else {
        return Err(Refusal::new(StatusCode::NOT_FOUND, "no rules are configured, so log intake is off"));
    };
    let lines = batch.lines() as u64;
    match sender.try_send(batch) {
        Ok(()) => {
            state.metrics.log_lines.inc_by(lines);
            Ok(StatusCode::NO_CONTENT)
        }
        Err(mpsc::error::TrySendError::Full(_)) => {
            state.metrics.log_pushes_rejected.inc();
            Err(Refusal::new(StatusCode::TOO_MANY_REQUESTS, "intake is saturated, retry later"))
        }
        Err(mpsc::error::TrySendError::Closed(_)) => Err(Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "vigil is stopping")),
    }
}

/// `POST /api/v1/alertmanager`: Alertmanager's webhook, version 4.
pub async fn alertmanager_webhook(State(state): State<AppState>, request: Request) -> Result<Response, Refusal> {
    let inbound = &state.inbound;
    let Some(config) = &inbound.config else {
        return Err(refuse_unread(request, Refusal::new(StatusCode::NOT_FOUND, "inbound.alertmanager is not configured")).await);
    };
    // The token is checked before the body is used.
    if let Some(token) = &config.token {
        let given = header_text(request.headers(), header::AUTHORIZATION).and_then(|value| value.strip_prefix("Bearer "));
        if !given.is_some_and(|given| constant_time_eq(given.trim().as_bytes(), token.expose().as_bytes())) {
            return Err(refuse_unread(request, Refusal::new(StatusCode::UNAUTHORIZED, "missing or wrong bearer token")).await);
        }
    }
    let (_, body) = read_body(request, crate::alerts::inbound::MAX_BODY_BYTES).await?;
    let payload: crate::alerts::inbound::WebhookPayload = serde_json::from_slice(&body)
        .map_err(|error| Refusal::new(StatusCode::BAD_REQUEST, format!("invalid Alertmanager webhook body: {error}")))?;
    if payload.version != "4" {
        return Err(Refusal::new(StatusCode::BAD_REQUEST, format!("unsupported webhook version `{}`, expected \"4\"", payload.version)));
    }
    match inbound.receive(payload).await {
        Ok(received) => Ok(axum::Json(received).into_response()),
        Err(error) => {
            tracing::error!(%error, "storing inbound alerts failed");
            Err(Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "storing the alerts failed; retry"))
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_compare_whole() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secre"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
    }
}
