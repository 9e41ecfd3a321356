//! Vigil's HTTP server: `/healthz`, `/readyz`, `/metrics`, log intake
//! (`/loki/api/v1/push`, OTLP `/v1/logs`) and Alertmanager's webhook
//! (`/api/v1/alertmanager`). Later the API and UI.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use vigil_store::Store;

use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub metrics: Arc<Metrics>,
    pub store: Store,
    /// True once the engine runs; false again while shutting down.
    pub ready: Arc<AtomicBool>,
    /// Where pushed log lines go; `None` when no rules are configured.
    pub logs: Option<tokio::sync::mpsc::Sender<crate::logs::LogBatch>>,
    /// Alertmanager's webhook; `None` when `inbound.alertmanager` is not configured.
    pub inbound: Option<Arc<crate::inbound::Inbound>>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/loki/api/v1/push", post(crate::logs::loki::push).layer(DefaultBodyLimit::max(crate::logs::loki::MAX_BODY_BYTES)))
        .route("/v1/logs", post(crate::logs::otlp::export).layer(DefaultBodyLimit::max(crate::logs::loki::MAX_BODY_BYTES)))
        .route("/api/v1/alertmanager", post(crate::inbound::webhook).layer(DefaultBodyLimit::max(crate::inbound::MAX_BODY_BYTES)))
        .with_state(state)
}

/// Alive: the process answers.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready: the engine runs and the store answers.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if !state.ready.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready: starting or stopping\n");
    }
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready\n"),
        Err(error) => {
            tracing::warn!(%error, "readiness check: store unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "not ready: store unreachable\n")
        }
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], state.metrics.encode())
}
