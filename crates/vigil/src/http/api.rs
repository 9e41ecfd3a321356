//! Vigil's own API under `/api/v1`: bearer tokens, a role per route, and one error
//! type whose responses say why (400, 401, 403, 404) without leaking internals.
//!
//! [`ROUTES`] lists every route with its role, parameters and response type; the
//! router serves exactly these, and [`super::openapi`] documents them from the same
//! list (the committed `docs/openapi.json` is checked against it by the tests).

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use vigil_core::auth::Role;

use super::AppState;
use crate::alerts::view::{self, EpisodeDetail, EpisodeView};
use crate::auth::{authenticate, Principal, Refused};
use crate::monitor::overview::MonitorView;

/// A query parameter of a route.
pub struct Param {
    pub name: &'static str,
    /// `boolean`, `integer` or `string`.
    pub kind: &'static str,
    pub description: &'static str,
}

/// One route of `/api/v1`, for the router's tests and the OpenAPI document.
pub struct ApiRoute {
    pub method: &'static str,
    /// With `{name}` for path parameters.
    pub path: &'static str,
    pub role: Role,
    pub summary: &'static str,
    pub params: &'static [Param],
    /// The 200 response body's schema.
    pub response: fn(&mut schemars::SchemaGenerator) -> schemars::Schema,
    /// The statuses besides 200 it may answer.
    pub errors: &'static [u16],
    /// The JSON body it takes, if any.
    pub body: Option<fn(&mut schemars::SchemaGenerator) -> schemars::Schema>,
}

/// `GET /api/v1/monitors`.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct MonitorList {
    pub monitors: Vec<MonitorView>,
}

/// `GET /api/v1/alerts`.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct AlertList {
    pub alerts: Vec<EpisodeView>,
}

/// Every error's body.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct ErrorBody {
    /// Why, in words.
    pub error: String,
}

/// Most episodes one `GET /api/v1/alerts` returns.
const MAX_LIMIT: i64 = 10_000;

pub const ROUTES: &[ApiRoute] = &[
    ApiRoute {
        method: "get",
        path: "/api/v1/monitors",
        role: Role::Viewer,
        summary: "Every monitor's state and since when, with a load balancer's words for health-check monitors",
        params: &[],
        response: |generator| generator.subschema_for::<MonitorList>(),
        errors: &[401, 403],
        body: None,
    },
    ApiRoute {
        method: "get",
        path: "/api/v1/alerts",
        role: Role::Viewer,
        summary: "Alert episodes, newest first: the firing ones (with what mutes each now), or with all=true every state",
        params: &[
            Param { name: "all", kind: "boolean", description: "Resolved episodes too (default false)" },
            Param { name: "name", kind: "string", description: "Only this alert name (alertname)" },
            Param { name: "limit", kind: "integer", description: "At most this many (default 100, at most 10000)" },
        ],
        response: |generator| generator.subschema_for::<AlertList>(),
        errors: &[400, 401, 403],
        body: None,
    },
    ApiRoute {
        method: "get",
        path: "/api/v1/alerts/{id}",
        role: Role::Viewer,
        summary: "One alert episode with its groups and every decision stored about it (notified, silenced, inhibited, flapping)",
        params: &[],
        response: |generator| generator.subschema_for::<EpisodeDetail>(),
        errors: &[400, 401, 403, 404],
        body: None,
    },
    ApiRoute {
        method: "get",
        path: "/api/v1/incidents",
        role: Role::Viewer,
        summary: "Incidents, newest first: the open ones and those opened in the last `days`",
        params: &[
            Param { name: "open", kind: "boolean", description: "Only open ones (default false)" },
            Param { name: "days", kind: "integer", description: "Opened in the last this many days (default 30)" },
        ],
        response: |generator| generator.subschema_for::<crate::incidents::view::IncidentList>(),
        errors: &[400, 401, 403],
        body: None,
    },
    ApiRoute {
        method: "post",
        path: "/api/v1/incidents",
        role: Role::Responder,
        summary: "Opens an incident by hand; its escalation starts paging at once (answers 201)",
        params: &[],
        response: |generator| generator.subschema_for::<crate::incidents::view::IncidentView>(),
        errors: &[400, 401, 403, 409, 413],
        body: Some(|generator| generator.subschema_for::<super::incidents::OpenBody>()),
    },
    ApiRoute {
        method: "get",
        path: "/api/v1/incidents/stats",
        role: Role::Viewer,
        summary: "Counts by severity and service; MTTA, MTTR and MTTD as median and p90; resolved by remediation, a human or on their own",
        params: &[Param { name: "days", kind: "integer", description: "Incidents opened in the last this many days (default 30)" }],
        response: |generator| generator.subschema_for::<crate::incidents::stats::Stats>(),
        errors: &[400, 401, 403],
        body: None,
    },
    ApiRoute {
        method: "get",
        path: "/api/v1/incidents/{id}",
        role: Role::Viewer,
        summary: "One incident: its alerts, roles, escalation, action items and the whole timeline (remediation included)",
        params: &[],
        response: |generator| generator.subschema_for::<crate::incidents::view::IncidentDetail>(),
        errors: &[400, 401, 403, 404],
        body: None,
    },
    ApiRoute {
        method: "post",
        path: "/api/v1/incidents/{id}/{action}",
        role: Role::Responder,
        summary: "Acts on an incident: acknowledge, resolve, notes (text), roles (role, person), updates (text, status, public), \
                  severity (severity), status (status)",
        params: &[],
        response: |generator| generator.subschema_for::<crate::incidents::view::IncidentView>(),
        errors: &[400, 401, 403, 404, 409, 413],
        body: Some(|generator| generator.subschema_for::<super::incidents::ActionBody>()),
    },
    ApiRoute {
        method: "get",
        path: "/api/v1/incidents/{id}/postmortem",
        role: Role::Viewer,
        summary: "The facts of an incident's postmortem draft (impact, detection, response, timeline, remediation, action items)",
        params: &[],
        response: |generator| generator.subschema_for::<serde_json::Value>(),
        errors: &[400, 401, 403, 404],
        body: None,
    },
    ApiRoute {
        method: "get",
        path: "/api/v1/oncall",
        role: Role::Viewer,
        summary: "Who each schedule (or one) has on call, now or at a given time",
        params: &[
            Param { name: "schedule", kind: "string", description: "Only this schedule" },
            Param { name: "at", kind: "string", description: "An RFC 3339 time (default now)" },
        ],
        response: |generator| generator.subschema_for::<super::incidents::OnCallList>(),
        errors: &[400, 401, 403],
        body: None,
    },
];

/// Query parameters, repeated ones (`filter`) kept.
pub(super) fn params(query: Option<String>) -> Result<HashMap<String, Vec<String>>, ApiError> {
    let mut params: HashMap<String, Vec<String>> = HashMap::new();
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        params.entry(name.into_owned()).or_default().push(value.into_owned());
    }
    Ok(params)
}

/// A `true`/`false` parameter; `default` when absent.
pub(super) fn flag_or(params: &HashMap<String, Vec<String>>, name: &str, default: bool) -> Result<bool, ApiError> {
    match params.get(name).and_then(|values| values.last()).map(String::as_str) {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(ApiError::BadRequest(format!("`{name}` must be true or false, not `{other}`"))),
    }
}

/// Every way an API request fails.
#[derive(Debug)]
pub enum ApiError {
    BadRequest(String),
    TooLarge(String),
    Unauthorized(String),
    Forbidden(String),
    NotFound(String),
    /// The request conflicts with the record (409).
    Conflict(String),
    /// Logged in full; the caller sees only that it failed.
    Internal(String),
}

impl ApiError {
    /// The status it answers with and the reason it gives (internal details are logged,
    /// not given).
    pub fn status_and_reason(self) -> (StatusCode, String) {
        match self {
            ApiError::BadRequest(reason) => (StatusCode::BAD_REQUEST, reason),
            ApiError::TooLarge(reason) => (StatusCode::PAYLOAD_TOO_LARGE, reason),
            ApiError::Unauthorized(reason) => (StatusCode::UNAUTHORIZED, reason),
            ApiError::Forbidden(reason) => (StatusCode::FORBIDDEN, reason),
            ApiError::NotFound(reason) => (StatusCode::NOT_FOUND, reason),
            ApiError::Conflict(reason) => (StatusCode::CONFLICT, reason),
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "API request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error; see Vigil's log".to_owned())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, reason) = self.status_and_reason();
        let body = Json(serde_json::json!({ "error": reason }));
        if status == StatusCode::UNAUTHORIZED {
            (status, [(header::WWW_AUTHENTICATE, "Bearer realm=\"vigil\"")], body).into_response()
        } else {
            (status, body).into_response()
        }
    }
}

impl From<super::intake::Refusal> for ApiError {
    fn from(refusal: super::intake::Refusal) -> ApiError {
        match refusal.status {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(refusal.reason),
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized(refusal.reason),
            _ => ApiError::BadRequest(refusal.reason),
        }
    }
}

impl From<vigil_store::StoreError> for ApiError {
    fn from(error: vigil_store::StoreError) -> ApiError {
        ApiError::Internal(error.to_string())
    }
}

/// The caller, if its token is good and its role is at least `needed`.
pub async fn authorize(state: &AppState, headers: &HeaderMap, needed: Role) -> Result<Principal, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::Unauthorized("missing `Authorization: Bearer TOKEN` (see `vigil token create`)".to_owned()));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
        .map(str::trim)
        .ok_or_else(|| ApiError::Unauthorized("expected `Authorization: Bearer TOKEN`".to_owned()))?;
    let principal = match authenticate(&state.store, token, state.clock.now()).await? {
        Ok(principal) => principal,
        Err(Refused::Malformed) => return Err(ApiError::Unauthorized("not a Vigil token (vgl_...)".to_owned())),
        Err(Refused::Unknown) => return Err(ApiError::Unauthorized("unknown token".to_owned())),
        Err(Refused::Revoked) => return Err(ApiError::Unauthorized("the token was revoked".to_owned())),
    };
    if !principal.role.allows(needed) {
        return Err(ApiError::Forbidden(format!("token `{}` has role {}; this needs {needed}", principal.name, principal.role)));
    }
    Ok(principal)
}

/// `GET /api/v1/monitors` (viewer): every monitor's state, with a load balancer's
/// vocabulary for `health-check:` monitors.
pub async fn monitors(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<MonitorList>, ApiError> {
    authorize(&state, &headers, Role::Viewer).await?;
    let monitors = crate::monitor::overview::overview(&state.store, &state.monitors).await?;
    Ok(Json(MonitorList { monitors }))
}

/// `GET /api/v1/alerts` (viewer).
pub async fn alerts(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Result<Json<AlertList>, ApiError> {
    authorize(&state, &headers, Role::Viewer).await?;
    let params = params(query)?;
    let all = flag_or(&params, "all", false)?;
    let name = params.get("name").and_then(|values| values.last()).map(String::as_str);
    let limit = match params.get("limit").and_then(|values| values.last()) {
        None => 100,
        Some(text) => match text.parse::<i64>() {
            Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => limit,
            _ => return Err(ApiError::BadRequest(format!("`limit` must be a whole number from 1 to {MAX_LIMIT}, not `{text}`"))),
        },
    };
    let alerts = view::episodes(&state.store, &state.inbound.effects.routing, all, name, limit, state.clock.now()).await?;
    Ok(Json(AlertList { alerts }))
}

/// `GET /api/v1/alerts/{id}` (viewer).
pub async fn alert(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Result<Json<EpisodeDetail>, ApiError> {
    authorize(&state, &headers, Role::Viewer).await?;
    let id: i64 = id.parse().map_err(|_| ApiError::BadRequest(format!("`{id}` is not an episode id (a whole number)")))?;
    match view::episode(&state.store, &state.inbound.effects.routing, id, state.clock.now()).await? {
        Some(detail) => Ok(Json(detail)),
        None => Err(ApiError::NotFound(format!("no alert episode {id}"))),
    }
}

/// `GET /api/v1/openapi.json` (no token: it documents, it reveals nothing).
pub async fn openapi() -> Json<serde_json::Value> {
    Json(super::openapi::document())
}

/// Any other path under `/api/v1`.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such API route".to_owned())
}
