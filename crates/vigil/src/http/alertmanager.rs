//! Alertmanager's API v2 (`/api/v2/...`) with its field names and shapes, so Prometheus
//! (`alerting.alertmanagers`) and `amtool` work against Vigil unchanged: alerts in and
//! out, groups, silences, receivers and status. Tokens as for `/api/v1` (Prometheus and
//! amtool send them as `Authorization: Bearer`), or none with `api.alertmanager-auth:
//! none` on a loopback listener. Reads need a viewer; posting alerts and changing
//! silences a responder, and each write leaves an audit row.

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use vigil_core::auth::Role;
use vigil_core::Timestamp;
use vigil_store::{AuditEntry, StoredMatcher};

use super::api::{authorize, flag_or, params, ApiError};
use super::intake::read_body;
use super::AppState;
use crate::alerts::inbound::{InboundError, PostableAlert, MAX_BODY_BYTES};
use crate::alerts::view::{self, AlertFilter};

/// The caller's name, if it may act with `role`.
async fn caller(state: &AppState, headers: &HeaderMap, role: Role) -> Result<String, ApiError> {
    if state.alertmanager_open {
        return Ok("anonymous".to_owned());
    }
    Ok(authorize(state, headers, role).await?.name)
}

pub(super) async fn audit(state: &AppState, who: &str, target: &str, event: &str, detail: String) {
    let entry = AuditEntry {
        at: state.clock.now(),
        execution_id: None,
        action: "api".to_owned(),
        target: target.to_owned(),
        event: event.to_owned(),
        detail: format!("by {who}: {detail}"),
        node: String::new(),
    };
    if let Err(error) = state.store.record_audit(&[entry]).await {
        tracing::warn!(%error, "writing an audit row failed");
    }
}

fn flag(params: &HashMap<String, Vec<String>>, name: &str) -> Result<bool, ApiError> {
    flag_or(params, name, true)
}

fn filter_matchers(params: &HashMap<String, Vec<String>>) -> Result<Vec<vigil_alerts::Matcher>, ApiError> {
    let mut matchers = Vec::new();
    for text in params.get("filter").into_iter().flatten() {
        matchers.extend(vigil_alerts::matcher::parse(text).map_err(|error| ApiError::BadRequest(format!("bad filter `{text}`: {error}")))?);
    }
    Ok(matchers)
}

fn alert_filter(query: Option<String>) -> Result<AlertFilter, ApiError> {
    let params = params(query)?;
    let receiver = match params.get("receiver").and_then(|values| values.last()) {
        Some(pattern) => Some(
            vigil_alerts::Matcher::new(vigil_alerts::MatchType::Regexp, "receiver", pattern)
                .map_err(|error| ApiError::BadRequest(format!("bad receiver regex: {error}")))?,
        ),
        None => None,
    };
    Ok(AlertFilter {
        matchers: filter_matchers(&params)?,
        active: flag(&params, "active")?,
        silenced: flag(&params, "silenced")?,
        inhibited: flag(&params, "inhibited")?,
        receiver,
    })
}

/// `GET /api/v2/alerts`.
pub async fn get_alerts(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    caller(&state, &headers, Role::Viewer).await?;
    let filter = alert_filter(query)?;
    let alerts = view::alerts(&state.store, &state.episodes, &state.inbound.effects.routing, &filter, state.clock.now()).await?;
    Ok(Json(alerts).into_response())
}

/// `GET /api/v2/alerts/groups`.
pub async fn get_groups(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    caller(&state, &headers, Role::Viewer).await?;
    let filter = alert_filter(query)?;
    let groups = view::groups(&state.store, &state.episodes, &state.inbound.effects.routing, &filter, state.clock.now()).await?;
    Ok(Json(groups).into_response())
}

/// `POST /api/v2/alerts`: a JSON array of alerts; all are stored or, if one is bad, none.
pub async fn post_alerts(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let who = caller(&state, request.headers(), Role::Responder).await?;
    let (_, body) = read_body(request, MAX_BODY_BYTES).await?;
    let alerts: Vec<PostableAlert> =
        serde_json::from_slice(&body).map_err(|error| ApiError::BadRequest(format!("invalid alerts body: {error}")))?;
    match state.inbound.post_alerts(alerts, Some(&who)).await {
        Ok(_) => Ok(StatusCode::OK.into_response()),
        Err(InboundError::Invalid(why)) => Err(ApiError::BadRequest(why)),
        Err(InboundError::Store(error)) => Err(error.into()),
    }
}

/// `GET /api/v2/silences`.
pub async fn get_silences(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    caller(&state, &headers, Role::Viewer).await?;
    let matchers = filter_matchers(&params(query)?)?;
    Ok(Json(view::silences(&state.store, &matchers, state.clock.now()).await?).into_response())
}

/// Alertmanager's `postableSilence`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PostableSilence {
    #[serde(default)]
    id: Option<String>,
    matchers: Vec<StoredMatcher>,
    starts_at: String,
    ends_at: String,
    created_by: String,
    comment: String,
}

fn time(text: &str, field: &str) -> Result<Timestamp, ApiError> {
    Timestamp::parse_rfc3339(text).ok_or_else(|| ApiError::BadRequest(format!("`{field}`: invalid time `{text}`, expected RFC 3339")))
}

/// `POST /api/v2/silences`: creates a silence, or changes the one named by `id`.
pub async fn post_silence(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let who = caller(&state, request.headers(), Role::Responder).await?;
    let (_, body) = read_body(request, 64 * 1024).await?;
    let silence: PostableSilence =
        serde_json::from_slice(&body).map_err(|error| ApiError::BadRequest(format!("invalid silence body: {error}")))?;
    let now = state.clock.now();
    let starts_at = time(&silence.starts_at, "startsAt")?;
    let ends_at = time(&silence.ends_at, "endsAt")?;
    let id = silence.id.filter(|id| !id.is_empty());
    let result = crate::alerts::silences::set(
        &state.store,
        id.as_deref(),
        silence.matchers,
        starts_at,
        ends_at,
        &silence.created_by,
        &silence.comment,
        now,
    )
    .await?;
    match result {
        Ok(record) => {
            let event = if id.as_deref() == Some(record.id.as_str()) { "updated" } else { "created" };
            audit(&state, &who, &format!("silence {}", record.id), event, format!("{} until {}", record.matcher_text(), record.ends_at))
                .await;
            state.inbound.effects.episodes_stored();
            Ok(Json(serde_json::json!({ "silenceID": record.id })).into_response())
        }
        Err(why) if why.ends_with("not found") => Err(ApiError::NotFound(why)),
        Err(why) => Err(ApiError::BadRequest(why)),
    }
}

/// `GET /api/v2/silence/{id}`.
pub async fn get_silence(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, ApiError> {
    caller(&state, &headers, Role::Viewer).await?;
    match state.store.silence(&id).await? {
        Some(record) if record.id == id => Ok(Json(view::silence_view(&record, state.clock.now())).into_response()),
        _ => Err(ApiError::NotFound(format!("silence {id} not found"))),
    }
}

/// `DELETE /api/v2/silence/{id}`: expires it (kept as history).
pub async fn delete_silence(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, ApiError> {
    let who = caller(&state, &headers, Role::Responder).await?;
    let now = state.clock.now();
    match state.store.silence(&id).await? {
        Some(record) if record.id == id => {
            state.store.expire_silence(&id, now).await?;
            audit(&state, &who, &format!("silence {id}"), "expired", record.matcher_text()).await;
            state.inbound.effects.episodes_stored();
            Ok(StatusCode::OK.into_response())
        }
        _ => Err(ApiError::NotFound(format!("silence {id} not found"))),
    }
}

/// `GET /api/v2/receivers`.
pub async fn get_receivers(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    caller(&state, &headers, Role::Viewer).await?;
    let names: Vec<serde_json::Value> =
        state.inbound.effects.routing.receivers.keys().map(|name| serde_json::json!({ "name": name })).collect();
    Ok(Json(names).into_response())
}

/// `GET /api/v2/status`: Alertmanager's shape; a single "cluster" of this node.
pub async fn get_status(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    caller(&state, &headers, Role::Viewer).await?;
    Ok(Json(serde_json::json!({
        "cluster": { "name": state.node, "status": "ready", "peers": [] },
        "config": { "original": "" },
        "uptime": state.started.to_rfc3339(),
        "versionInfo": {
            "branch": "",
            "buildDate": "",
            "buildUser": "",
            "goVersion": "",
            "revision": "",
            "version": env!("CARGO_PKG_VERSION"),
        },
    }))
    .into_response())
}

/// Any other path under `/api/v2`.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such Alertmanager API route".to_owned())
}
