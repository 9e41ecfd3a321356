//! Vigil's HTTP server: `/healthz`, `/readyz`, `/metrics`, log intake
//! (`/loki/api/v1/push`, OTLP `/v1/logs`), Alertmanager's webhook
//! (`/api/v1/alertmanager`), Vigil's API (`api.rs`: bearer tokens and roles) and
//! Alertmanager's API v2 (`alertmanager.rs`), the signed-in web UI (`ui/`) and the
//! public status page (`status.rs`).

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

pub mod alertmanager;
pub mod api;
pub mod incidents;
pub mod intake;
pub mod openapi;
pub mod status;
pub mod ui;

/// Routes that do not read their own bodies take at most this much.
const SMALL_BODY_BYTES: usize = 64 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub metrics: Arc<Metrics>,
    pub store: Store,
    /// True once the engine runs; false again while shutting down.
    pub ready: Arc<AtomicBool>,
    /// Where pushed log lines go; `None` when no rules are configured.
    pub logs: Option<tokio::sync::mpsc::Sender<crate::logs::LogBatch>>,
    /// Alerts from other systems: Alertmanager's webhook and API v2.
    pub inbound: Arc<crate::alerts::inbound::Inbound>,
    /// The firing episodes, for listing them.
    pub episodes: Arc<crate::alerts::cache::EpisodeCache>,
    /// The configured monitors, for the API.
    pub monitors: crate::monitor::Monitors,
    pub clock: Arc<dyn vigil_core::Clock>,
    /// `api.alertmanager-auth: none`: `/api/v2` takes no token.
    pub alertmanager_open: bool,
    /// This node's name and start, for `/api/v2/status`.
    pub node: String,
    pub started: vigil_core::Timestamp,
    /// Incident operations (acknowledge, resolve, notes, updates) and their links.
    pub incidents: crate::incidents::Incidents,
    /// The public status page, if configured.
    pub status: Option<std::sync::Arc<crate::statuspage::StatusPage>>,
    /// Recent checks and hourly response times, for the UI.
    pub history: Arc<crate::monitor::history::CheckHistory>,
    /// The configured SLOs, for the UI's report.
    pub slos: Arc<[vigil_config::SloConfig]>,
    /// Session cookies are `Secure` (the external URL is https).
    pub secure_cookies: bool,
    /// Every monitor's uptime per day, for the overview.
    pub bars: Arc<crate::monitor::bars::UptimeBars>,
}

impl AppState {
    /// The state of a server that runs nothing else: no probes, no intake queue, the
    /// configured routing, on-call and SLOs, a fresh check history. For the router's
    /// tests and `vigil bench ui`.
    pub fn standalone(config: &vigil_config::Config, store: Store, clock: Arc<dyn vigil_core::Clock>) -> AppState {
        let effects = crate::effects::Effects {
            routing: Arc::new(crate::alerts::Routing::new(config)),
            planner: crate::actions::Planner::new(config.actions.clone(), config.remediation.dry_run),
            ..crate::effects::Effects::new(config.delivery)
        };
        let monitors: crate::monitor::Monitors =
            config.monitors.iter().cloned().map(crate::monitor::Monitor::new).collect::<Vec<_>>().into();
        let incidents = crate::incidents::Incidents {
            store: store.clone(),
            on_call: Arc::new(config.on_call.clone()),
            clock: Arc::clone(&clock),
            give_up_after: config.delivery.give_up_after,
            wake: Arc::default(),
            slos: config.slos.iter().map(|slo| slo.name.as_str().to_owned()).collect(),
            subscriptions: None,
        };
        AppState {
            metrics: Arc::new(Metrics::new()),
            ready: Arc::new(AtomicBool::new(true)),
            logs: None,
            inbound: Arc::new(crate::alerts::inbound::Inbound {
                config: config.inbound.alertmanager.clone(),
                store: store.clone(),
                effects,
                clock: Arc::clone(&clock),
            }),
            episodes: Arc::new(crate::alerts::cache::EpisodeCache::new(store.clone())),
            history: Arc::new(crate::monitor::history::CheckHistory::new(monitors.len())),
            bars: Arc::new(crate::monitor::bars::UptimeBars::new(
                store.clone(),
                monitors.iter().map(|monitor| monitor.config.name.as_str().to_owned()).collect(),
                crate::http::ui::DAYS,
            )),
            monitors,
            alertmanager_open: config.api.alertmanager_auth_none,
            node: "standalone".to_owned(),
            started: clock.now(),
            incidents,
            status: None,
            slos: config.slos.clone().into(),
            secure_cookies: false,
            store,
            clock,
        }
    }
}

/// Serves `router(state)` on `listener` until `stop` completes, then finishes the
/// requests in flight.
pub fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<std::io::Result<()>> {
    // The peer's address goes with each request (the status page's subscribe limit).
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(stop).await })
}

/// The status page's own listener (`status-page.listen`): its routes and nothing else.
pub fn serve_status(
    listener: tokio::net::TcpListener,
    page: std::sync::Arc<crate::statuspage::StatusPage>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<std::io::Result<()>> {
    let app: Router = status::routes().with_state(Some(page)).layer(DefaultBodyLimit::max(SMALL_BODY_BYTES));
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(stop).await })
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        // These read their bodies themselves, within their own limits (`intake`).
        .route("/loki/api/v1/push", post(intake::loki_push))
        .route("/v1/logs", post(intake::otlp_logs))
        .route("/api/v1/alertmanager", post(intake::alertmanager_webhook))
        .route("/api/v1/monitors", get(api::monitors))
        .route("/api/v1/alerts", get(api::alerts))
        .route("/api/v1/alerts/{id}", get(api::alert))
        .route("/api/v1/incidents", get(incidents::list).post(incidents::open))
        .route("/api/v1/incidents/stats", get(incidents::stats))
        .route("/api/v1/incidents/{id}", get(incidents::show))
        .route("/api/v1/incidents/{id}/postmortem", get(incidents::postmortem))
        .route("/api/v1/incidents/{id}/{action}", post(incidents::act))
        .route("/api/v1/oncall", get(incidents::oncall))
        .route("/incidents/link/{token}", get(incidents::link_page).post(incidents::link_act))
        .route("/api/v1/openapi.json", get(api::openapi))
        .route("/api/v1/{*rest}", axum::routing::any(api::not_found))
        .route("/api/v2/alerts", get(alertmanager::get_alerts).post(alertmanager::post_alerts))
        .route("/api/v2/alerts/groups", get(alertmanager::get_groups))
        .route("/api/v2/silences", get(alertmanager::get_silences).post(alertmanager::post_silence))
        .route("/api/v2/silence/{id}", get(alertmanager::get_silence).delete(alertmanager::delete_silence))
        .route("/api/v2/receivers", get(alertmanager::get_receivers))
        .route("/api/v2/status", get(alertmanager::get_status))
        .route("/api/v2/{*rest}", axum::routing::any(alertmanager::not_found))
        .merge(status::routes().with_state(state.status.clone()))
        .merge(ui::routes())
        .route_layer(axum::middleware::from_fn_with_state(Arc::clone(&state.metrics), measure))
        .layer(DefaultBodyLimit::max(SMALL_BODY_BYTES))
        .with_state(state)
}

/// Counts every request by route pattern, method and status, and times it.
async fn measure(
    State(metrics): State<Arc<Metrics>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let route =
        request.extensions().get::<axum::extract::MatchedPath>().map_or_else(|| "other".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = std::time::Instant::now();
    let span = tracing::info_span!(
        "http.request",
        http.route = %route,
        http.request.method = %method,
        http.response.status_code = tracing::field::Empty,
        trace_id = tracing::field::Empty
    );
    crate::telemetry::record_trace_id(&span);
    let response = tracing::Instrument::instrument(next.run(request), span.clone()).await;
    span.record("http.response.status_code", response.status().as_u16());
    metrics.http_duration.get_or_create(&crate::metrics::RouteOnlyLabels { route: route.clone() }).observe(started.elapsed().as_secs_f64());
    metrics.http_requests.get_or_create(&crate::metrics::RouteLabels { route, method, status: response.status().as_u16() }).inc();
    response
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
    if let Err(error) = count_alerts_and_incidents(&state).await {
        tracing::warn!(%error, "counting alerts and incidents for /metrics failed; the last counts stand");
    }
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], state.metrics.encode())
}

/// Firing alerts by state (active, suppressed), open incidents by status, and
/// escalations with the pages they sent, as of the scrape.
async fn count_alerts_and_incidents(state: &AppState) -> Result<(), vigil_store::StoreError> {
    use crate::metrics::StateLabels;
    let now = state.clock.now();
    let filter = crate::alerts::view::AlertFilter::default();
    let alerts = crate::alerts::view::alerts(&state.store, &state.episodes, &state.inbound.effects.routing, &filter, now).await?;
    for wanted in ["active", "suppressed"] {
        let count = alerts.iter().filter(|alert| alert.status.state == wanted).count();
        state.metrics.alerts.get_or_create(&StateLabels { state: wanted.to_owned() }).set(i64::try_from(count).unwrap_or(i64::MAX));
    }
    let open = state.store.incidents(vigil_core::Timestamp(0), true, 100_000).await?;
    for status in ["investigating", "identified", "monitoring"] {
        let count = open.iter().filter(|incident| incident.status.as_str() == status).count();
        state.metrics.incidents.get_or_create(&StateLabels { state: status.to_owned() }).set(i64::try_from(count).unwrap_or(i64::MAX));
    }
    for (escalation, count, pages) in state.store.escalation_counts().await? {
        state.metrics.escalations.get_or_create(&StateLabels { state: escalation.clone() }).set(count);
        state.metrics.escalation_pages.get_or_create(&StateLabels { state: escalation }).set(pages);
    }
    Ok(())
}
