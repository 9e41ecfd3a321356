//! The HTTP server: `GET /img/{key}` (on the fly), `POST /events/s3` (S3 event
//! notifications), `/metrics`, `/healthz`, `/readyz`.
//!
//! `/img/{key}?w=&h=&fit=&format=&q=&sig=` needs a valid signature unless
//! `allow-unsigned`; `format=auto` picks WebP when the client accepts it. A thumbnail is
//! named by the request and the input's version, cached on disk, and served with a
//! strong ETag and a year of `Cache-Control`; identical requests in flight share one
//! render.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::OnceCell;

use crate::buckets::BucketError;
use crate::cache::Cache;
use crate::image::{self, Fit, Format, Spec};
use crate::service::Service;
use crate::sign;

/// Largest S3 event body.
const MAX_EVENT_BYTES: usize = 1024 * 1024;
/// Largest width or height asked of `/img`.
const MAX_DIMENSION: u32 = 8192;

type Rendered = Result<Arc<Vec<u8>>, (StatusCode, String)>;

#[derive(Clone)]
pub struct HttpState {
    pub service: Service,
    pub cache: Arc<Cache>,
    pub ready: Arc<AtomicBool>,
    inflight: Arc<Mutex<HashMap<String, Arc<OnceCell<Rendered>>>>>,
}

impl HttpState {
    pub fn new(service: Service, cache: Arc<Cache>, ready: Arc<AtomicBool>) -> HttpState {
        HttpState { service, cache, ready, inflight: Arc::default() }
    }
}

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/img/{*key}", get(image))
        .route("/events/s3", post(s3_events).layer(axum::extract::DefaultBodyLimit::max(MAX_EVENT_BYTES)))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(state)
}

/// The one error answer: a status and a reason for people and logs, never internals.
#[derive(Debug)]
pub struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{}\n", self.1)).into_response()
    }
}

fn refuse(status: StatusCode, reason: impl Into<String>) -> Refusal {
    Refusal(status, reason.into())
}

/// What `/img` was asked for, validated.
struct Request {
    key: String,
    spec: Spec,
    /// `format=auto`: the answer depends on `Accept`.
    negotiated: bool,
}

fn parse_request(state: &HttpState, key: &str, params: &[(String, String)], accept: &str) -> Result<Request, Refusal> {
    let param = |name: &str| params.iter().find(|(candidate, _)| candidate == name).map(|(_, value)| value.as_str());
    let dimension = |name: &str| -> Result<Option<u32>, Refusal> {
        match param(name) {
            None => Ok(None),
            Some(text) => match text.parse::<u32>() {
                Ok(value) if (1..=MAX_DIMENSION).contains(&value) => Ok(Some(value)),
                _ => Err(refuse(StatusCode::BAD_REQUEST, format!("`{name}` must be a whole number from 1 to {MAX_DIMENSION}"))),
            },
        }
    };
    let width = dimension("w")?.ok_or_else(|| refuse(StatusCode::BAD_REQUEST, "`w` (the width) is required"))?;
    let height = dimension("h")?;
    let fit = match param("fit") {
        None => Fit::Contain,
        Some(text) => Fit::parse(text).ok_or_else(|| refuse(StatusCode::BAD_REQUEST, "`fit` must be contain, cover or fill"))?,
    };
    let quality = match param("q") {
        None => state.service.config.quality,
        Some(text) => {
            text.parse::<u8>().ok().filter(|q| (1..=100).contains(q)).ok_or_else(|| refuse(StatusCode::BAD_REQUEST, "`q` must be 1-100"))?
        }
    };
    let (format, negotiated) = match param("format") {
        None => (Some(state.service.config.output_format(key)), false),
        Some("same") => (None, false),
        Some("auto") => (Some(if accept.contains("image/webp") { Format::Webp } else { Format::Jpeg }), true),
        Some(text) => (
            Some(Format::parse(text).ok_or_else(|| refuse(StatusCode::BAD_REQUEST, "`format` must be jpeg, png, webp, same or auto"))?),
            false,
        ),
    };
    let spec = Spec { width, height, fit, format, quality, keep_profile: state.service.config.keep_profile };
    Ok(Request { key: key.to_owned(), spec, negotiated })
}

fn check_signature(state: &HttpState, path: &str, params: &[(String, String)]) -> Result<(), Refusal> {
    let config = &state.service.config;
    let given = params.iter().find(|(name, _)| name == "sig").map(|(_, value)| value.as_str());
    match (&config.signing_key, given) {
        (Some(key), Some(given)) if sign::verify(key.expose().as_bytes(), &sign::canonical(path, params), given) => Ok(()),
        _ if config.allow_unsigned => Ok(()),
        (None, _) => Err(refuse(StatusCode::FORBIDDEN, "signed URLs are required and no signing-key is configured")),
        (Some(_), None) => Err(refuse(StatusCode::FORBIDDEN, "missing signature: sign the URL (thumbs sign)")),
        (Some(_), Some(_)) => Err(refuse(StatusCode::FORBIDDEN, "invalid signature")),
    }
}

async fn image(State(state): State<HttpState>, Path(key): Path<String>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let response = serve_image(&state, &key, query.as_deref().unwrap_or(""), &headers).await;
    state.service.metrics.requests.get_or_create(&crate::metrics::StatusLabels { status: response.status().as_u16().to_string() }).inc();
    response
}

async fn serve_image(state: &HttpState, key: &str, query: &str, headers: &HeaderMap) -> Response {
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    if let Err(refusal) = check_signature(state, &format!("/img/{key}"), &params) {
        return refusal.into_response();
    }
    let accept = headers.get(header::ACCEPT).and_then(|value| value.to_str().ok()).unwrap_or("");
    let request = match parse_request(state, key, &params, accept) {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(),
    };
    let (_, version) = match state.service.input.head(&request.key).await {
        Ok(found) => found,
        Err(BucketError::NotFound(_)) => return refuse(StatusCode::NOT_FOUND, format!("no input `{}`", request.key)).into_response(),
        Err(error) => return refuse(StatusCode::SERVICE_UNAVAILABLE, format!("input bucket unavailable: {error}")).into_response(),
    };
    let spec = &request.spec;
    let name = Cache::name_of(&format!(
        "{}\n{version}\n{}x{:?} {} {:?} q{}",
        request.key,
        spec.width,
        spec.height,
        spec.fit.as_str(),
        spec.format,
        spec.quality
    ));
    let etag = format!("\"{}\"", &name[..32]);
    let mut response_headers = HeaderMap::new();
    response_headers.insert(header::ETAG, HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\"")));
    response_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    if request.negotiated {
        response_headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    }
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|given| given.split(',').any(|tag| tag.trim() == etag));
    if not_modified {
        return (StatusCode::NOT_MODIFIED, response_headers).into_response();
    }
    let bytes = match state.cache.get(&name) {
        Some(bytes) => {
            state.service.metrics.cache_hits.inc();
            Arc::new(bytes)
        }
        None => match render_once(state, &name, &request).await {
            Ok(bytes) => bytes,
            Err((status, reason)) => return refuse(status, reason).into_response(),
        },
    };
    let content_type = image_content_type(&bytes);
    response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    (StatusCode::OK, response_headers, bytes.as_ref().clone()).into_response()
}

/// Renders `request`, once for every identical request in flight.
async fn render_once(state: &HttpState, name: &str, request: &Request) -> Rendered {
    let cell = {
        let mut inflight = state.inflight.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match inflight.get(name) {
            Some(cell) => {
                state.service.metrics.coalesced.inc();
                Arc::clone(cell)
            }
            None => {
                let cell = Arc::new(OnceCell::new());
                inflight.insert(name.to_owned(), Arc::clone(&cell));
                cell
            }
        }
    };
    let result = cell.get_or_init(|| render(state, name, request)).await.clone();
    state.inflight.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(name);
    result
}

async fn render(state: &HttpState, name: &str, request: &Request) -> Rendered {
    state.service.metrics.cache_misses.inc();
    let service = &state.service;
    let bytes = match service.input.get(&request.key, service.config.limits.max_input_bytes).await {
        Ok(bytes) => bytes,
        Err(BucketError::NotFound(key)) => return Err((StatusCode::NOT_FOUND, format!("no input `{key}`"))),
        Err(error @ BucketError::TooLarge { .. }) => return Err((StatusCode::UNPROCESSABLE_ENTITY, error.to_string())),
        Err(error) => return Err((StatusCode::SERVICE_UNAVAILABLE, format!("input bucket unavailable: {error}"))),
    };
    let Ok(_permit) = service.slots.acquire().await else { return Err((StatusCode::SERVICE_UNAVAILABLE, "stopping".to_owned())) };
    let (spec, timeout) = (request.spec.clone(), service.config.job_timeout);
    let started = Instant::now();
    // The decoder stops at the deadline, so the slot is not held past it.
    let limits = image::Limits { deadline: Some(started + timeout), ..service.config.limits };
    let work = tokio::task::spawn_blocking(move || image::thumbnail(&bytes, &spec, &limits));
    let rendered = match tokio::time::timeout(timeout, work).await {
        Ok(Ok(Ok(thumbnail))) => thumbnail,
        Ok(Ok(Err(image::ImageError::TimedOut))) => return Err((StatusCode::SERVICE_UNAVAILABLE, "rendering took too long".to_owned())),
        Ok(Ok(Err(error))) => return Err((StatusCode::UNPROCESSABLE_ENTITY, format!("cannot make a thumbnail: {error}"))),
        Ok(Err(_)) => return Err((StatusCode::INTERNAL_SERVER_ERROR, "rendering failed".to_owned())),
        Err(_) => return Err((StatusCode::SERVICE_UNAVAILABLE, "rendering took too long".to_owned())),
    };
    service.metrics.render_seconds.observe(started.elapsed().as_secs_f64());
    state.cache.put(name, &rendered.bytes);
    Ok(Arc::new(rendered.bytes))
}

fn image_content_type(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(&[0xFF, 0xD8]) {
        "image/jpeg"
    } else if bytes.starts_with(b"\x89PNG") {
        "image/png"
    } else {
        "image/webp"
    }
}

async fn s3_events(State(state): State<HttpState>, body: Bytes) -> Response {
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return refuse(StatusCode::BAD_REQUEST, "invalid S3 event notification: not JSON").into_response();
    };
    let crate::config::BucketUrl::S3 { bucket, .. } = &state.service.config.input else {
        return refuse(StatusCode::NOT_FOUND, "the input is not an S3 bucket; local files are watched").into_response();
    };
    let mut queued = 0;
    for (event_bucket, object) in crate::service::s3_event_keys(&event) {
        let Some(key) = state.service.input.key_of(&object).filter(|_| &event_bucket == bucket) else { continue };
        if crate::service::ignored(&key) {
            continue;
        }
        if let Err(error) = state.service.enqueue(&key).await {
            tracing::error!(%error, key, "queueing from an S3 event failed");
            return refuse(StatusCode::SERVICE_UNAVAILABLE, "queue unavailable; send again").into_response();
        }
        queued += 1;
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], format!("{{\"queued\":{queued}}}")).into_response()
}

async fn metrics(State(state): State<HttpState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], state.service.metrics.encode())
}

async fn readyz(State(state): State<HttpState>) -> Response {
    if !state.ready.load(Ordering::SeqCst) {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "not ready: starting or stopping").into_response();
    }
    match state.service.queue.ping().await {
        Ok(()) => refuse(StatusCode::OK, "ready").into_response(),
        Err(_) => refuse(StatusCode::SERVICE_UNAVAILABLE, "not ready: queue unavailable").into_response(),
    }
}
