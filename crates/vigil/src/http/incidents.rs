//! Incidents over HTTP: the API under `/api/v1/incidents` and `/api/v1/oncall` (reading
//! takes a viewer token, acting a responder's), and the one-click links of pages under
//! `/incidents/link/TOKEN`, where a GET only shows what the link would do and a POST
//! does it, so mail scanners that prefetch links change nothing.

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use vigil_core::auth::Role;
use vigil_core::incident::{Role as IncidentRole, Severity, Status};
use vigil_core::Timestamp;
use vigil_store::{Acknowledged, LinkRefusal};

use super::api::{authorize, params, ApiError};
use super::intake::read_body;
use super::AppState;
use crate::incidents::view::{self, IncidentDetail, IncidentList, IncidentView};
use crate::incidents::{links, IncidentError, OnCallNow};

/// Largest body an incident action takes.
const BODY_LIMIT: usize = 16 * 1024;

impl From<IncidentError> for ApiError {
    fn from(error: IncidentError) -> ApiError {
        match error {
            IncidentError::NotFound(id) => ApiError::NotFound(format!("no incident #{id}")),
            IncidentError::Invalid(reason) => ApiError::BadRequest(reason),
            IncidentError::Conflict(reason) => ApiError::Conflict(reason),
            IncidentError::Store(error) => ApiError::Internal(error.to_string()),
        }
    }
}

pub(super) fn incident_id(text: &str) -> Result<i64, ApiError> {
    text.trim_start_matches('#').parse().map_err(|_| ApiError::BadRequest(format!("`{text}` is not an incident id (a whole number)")))
}

async fn body<T: serde::de::DeserializeOwned>(request: Request) -> Result<T, ApiError> {
    let (_, bytes) = read_body(request, BODY_LIMIT).await?;
    serde_json::from_slice(&bytes).map_err(|error| ApiError::BadRequest(format!("invalid body: {error}")))
}

fn severity(text: &str) -> Result<Severity, ApiError> {
    Severity::parse(text).ok_or_else(|| ApiError::BadRequest(format!("unknown severity `{text}`, expected SEV-1, SEV-2 or SEV-3")))
}

fn status(text: &str) -> Result<Status, ApiError> {
    Status::parse(text)
        .ok_or_else(|| ApiError::BadRequest(format!("unknown status `{text}`, expected investigating, identified, monitoring or resolved")))
}

/// `GET /api/v1/incidents` (viewer): open ones, and with `days` those opened since.
pub async fn list(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Result<Json<IncidentList>, ApiError> {
    authorize(&state, &headers, Role::Viewer).await?;
    let params = params(query)?;
    let open_only = super::api::flag_or(&params, "open", false)?;
    let days = match params.get("days").and_then(|values| values.last()) {
        None => 30,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|days| (1..=3_650).contains(days))
            .ok_or_else(|| ApiError::BadRequest(format!("`days` must be a whole number from 1 to 3650, not `{text}`")))?,
    };
    let since = Timestamp(state.clock.now().0 - days * 86_400_000);
    let records = state.store.incidents(since, open_only, 10_000).await?;
    Ok(Json(IncidentList { incidents: records.iter().map(IncidentView::from).collect() }))
}

/// `POST /api/v1/incidents`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenBody {
    pub title: String,
    /// `SEV-1`, `SEV-2` or `SEV-3`.
    pub severity: String,
    pub service: Option<String>,
    /// An escalation policy; by default `incidents.default-escalation`.
    pub escalation: Option<String>,
}

/// `POST /api/v1/incidents` (responder): opens one by hand.
pub async fn open(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let who = authorize(&state, request.headers(), Role::Responder).await?.name;
    let open: OpenBody = body(request).await?;
    let severity = severity(&open.severity)?;
    let record = state.incidents.open(&open.title, severity, open.service.as_deref(), open.escalation.as_deref(), &who).await?;
    Ok((StatusCode::CREATED, Json(IncidentView::from(&record))).into_response())
}

/// `GET /api/v1/incidents/{id}` (viewer).
pub async fn show(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Result<Json<IncidentDetail>, ApiError> {
    authorize(&state, &headers, Role::Viewer).await?;
    let id = incident_id(&id)?;
    view::detail(&state.store, id).await?.map(Json).ok_or_else(|| ApiError::NotFound(format!("no incident #{id}")))
}

/// The body of the actions on an incident; each takes the fields it needs.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    pub text: Option<String>,
    pub role: Option<String>,
    pub person: Option<String>,
    pub status: Option<String>,
    pub severity: Option<String>,
    #[serde(default)]
    pub public: bool,
}

fn needs<'a>(field: &'a Option<String>, name: &str) -> Result<&'a str, ApiError> {
    field.as_deref().ok_or_else(|| ApiError::BadRequest(format!("the body needs `{name}`")))
}

/// `POST /api/v1/incidents/{id}/{action}` (responder): `acknowledge`, `resolve`,
/// `notes` (`text`), `roles` (`role`, `person`), `updates` (`text`, `status`, `public`),
/// `severity` (`severity`), `status` (`status`).
pub async fn act(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    request: Request,
) -> Result<Json<IncidentView>, ApiError> {
    let who = authorize(&state, request.headers(), Role::Responder).await?.name;
    let id = incident_id(&id)?;
    let empty = request.headers().get(header::CONTENT_LENGTH).is_some_and(|length| length == "0");
    let action_body: ActionBody = if empty {
        ActionBody::default()
    } else {
        body(request).await.or_else(|error| match error {
            ApiError::BadRequest(reason) if reason.contains("EOF while parsing") => Ok(ActionBody::default()),
            other => Err(other),
        })?
    };
    let record = perform(&state, id, &action, &action_body, &who, "the API").await?;
    Ok(Json(IncidentView::from(&record)))
}

/// Does `action` to incident `id` as `who`, `via` the API or the UI.
pub(super) async fn perform(
    state: &AppState,
    id: i64,
    action: &str,
    body: &ActionBody,
    who: &str,
    via: &str,
) -> Result<vigil_store::IncidentRecord, ApiError> {
    let incidents = &state.incidents;
    let record = match action {
        "acknowledge" => incidents.acknowledge(id, who, via).await?,
        "resolve" => incidents.resolve(id, who, &format!("resolved through {via}")).await?,
        "notes" => {
            incidents.note(id, needs(&body.text, "text")?, who).await?;
            state.store.incident(id).await?.ok_or_else(|| ApiError::NotFound(format!("no incident #{id}")))?
        }
        "roles" => {
            let role = needs(&body.role, "role")?;
            let role = IncidentRole::parse(role).ok_or_else(|| {
                ApiError::BadRequest(format!("unknown role `{role}`, expected commander, communicator, scribe or responder"))
            })?;
            incidents.assign(id, role, needs(&body.person, "person")?, who).await?;
            state.store.incident(id).await?.ok_or_else(|| ApiError::NotFound(format!("no incident #{id}")))?
        }
        "updates" => {
            let status = body.status.as_deref().map(status).transpose()?;
            incidents.update(id, status, needs(&body.text, "text")?, body.public, who).await?;
            state.store.incident(id).await?.ok_or_else(|| ApiError::NotFound(format!("no incident #{id}")))?
        }
        "severity" => incidents.set_severity(id, severity(needs(&body.severity, "severity")?)?, who).await?,
        "status" => incidents.set_status(id, status(needs(&body.status, "status")?)?, who).await?,
        other => return Err(ApiError::NotFound(format!("no incident action `{other}`"))),
    };
    Ok(record)
}

/// `GET /api/v1/incidents/{id}/postmortem` (viewer): the draft's facts as JSON.
pub async fn postmortem(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorize(&state, &headers, Role::Viewer).await?;
    let id = incident_id(&id)?;
    let draft = crate::incidents::postmortem::gather(&state.store, id, &state.incidents.slos, state.clock.now()).await?;
    let draft = draft.ok_or_else(|| ApiError::NotFound(format!("no incident #{id}")))?;
    serde_json::to_value(&draft).map(Json).map_err(|error| ApiError::Internal(error.to_string()))
}

/// `GET /api/v1/incidents/stats` (viewer).
pub async fn stats(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<crate::incidents::stats::Stats>, ApiError> {
    authorize(&state, &headers, Role::Viewer).await?;
    let params = params(query)?;
    let days = match params.get("days").and_then(|values| values.last()) {
        None => 30,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|days| (1..=3_650).contains(days))
            .ok_or_else(|| ApiError::BadRequest(format!("`days` must be a whole number from 1 to 3650, not `{text}`")))?,
    };
    let facts = state.store.incident_facts(Timestamp(state.clock.now().0 - days * 86_400_000)).await?;
    Ok(Json(crate::incidents::stats::compute(&facts)))
}

/// `GET /api/v1/oncall`.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct OnCallList {
    pub at: String,
    pub on_call: Vec<OnCallView>,
}

/// Who a schedule has on call.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct OnCallView {
    pub schedule: String,
    pub person: Option<String>,
    /// The layer (from 0) that puts them there; none for an override.
    pub layer: Option<usize>,
    /// When the answer next changes.
    pub until: Option<String>,
}

impl From<OnCallNow> for OnCallView {
    fn from(now: OnCallNow) -> OnCallView {
        OnCallView { schedule: now.schedule, person: now.person, layer: now.layer, until: now.until.map(Timestamp::to_rfc3339) }
    }
}

/// `GET /api/v1/oncall` (viewer): who is on call, now or `at` (RFC 3339).
pub async fn oncall(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Result<Json<OnCallList>, ApiError> {
    authorize(&state, &headers, Role::Viewer).await?;
    let params = params(query)?;
    let at = match params.get("at").and_then(|values| values.last()) {
        None => state.clock.now(),
        Some(text) => {
            Timestamp::parse_rfc3339(text).ok_or_else(|| ApiError::BadRequest(format!("`at` must be an RFC 3339 time, not `{text}`")))?
        }
    };
    let schedule = params.get("schedule").and_then(|values| values.last()).map(String::as_str);
    let on_call = state.incidents.who(schedule, at).await?;
    Ok(Json(OnCallList { at: at.to_rfc3339(), on_call: on_call.into_iter().map(OnCallView::from).collect() }))
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"robots\" content=\"noindex\"><title>{title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}}\
         button{{font-size:1.1rem;padding:.5rem 1.5rem}}</style></head><body><h1>{title}</h1>{body}</body></html>"
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, header::HeaderValue::from_static("no-referrer"));
    headers.insert("x-frame-options", header::HeaderValue::from_static("DENY"));
    response
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

fn refused(why: LinkRefusal) -> Response {
    let reason = match why {
        LinkRefusal::Unknown => "This link is not valid.",
        LinkRefusal::Expired => "This link has expired. Acknowledge with `vigil incident ack ID` or the API.",
        LinkRefusal::Used => "This link was already used; it works once.",
    };
    page(StatusCode::FORBIDDEN, "Link refused", &format!("<p>{reason}</p>"))
}

/// `GET /incidents/link/TOKEN`: says what the link does and asks to confirm; changes
/// nothing.
pub async fn link_page(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, ApiError> {
    if !links::well_formed(&token) {
        return Ok(refused(LinkRefusal::Unknown));
    }
    let Some(link) = state.store.link(&links::token_hash(&token)).await? else { return Ok(refused(LinkRefusal::Unknown)) };
    if link.used_at.is_some() {
        return Ok(refused(LinkRefusal::Used));
    }
    if link.expires_at <= state.clock.now() {
        return Ok(refused(LinkRefusal::Expired));
    }
    let incident = state.store.incident(link.incident_id).await?;
    let title = incident.as_ref().map(|incident| format!("{} {}", incident.severity, incident.title)).unwrap_or_default();
    let verb = if link.action == "resolve" { "Resolve" } else { "Acknowledge" };
    let body = format!(
        "<p>Incident #{}: <strong>{}</strong></p><p>{verb} it as <strong>{}</strong>?</p>\
         <form method=\"post\"><button type=\"submit\">{verb}</button></form>",
        link.incident_id,
        escape(&title),
        escape(&link.person)
    );
    Ok(page(StatusCode::OK, &format!("{verb} incident #{}", link.incident_id), &body))
}

/// `POST /incidents/link/TOKEN`: acknowledges (or resolves); the link is used up.
pub async fn link_act(State(state): State<AppState>, Path(token): Path<String>, request: Request) -> Result<Response, ApiError> {
    // A form post has no body worth reading; anything large is refused.
    read_body(request, BODY_LIMIT).await?;
    if !links::well_formed(&token) {
        return Ok(refused(LinkRefusal::Unknown));
    }
    let used = state.store.use_link(&links::token_hash(&token), state.clock.now()).await?;
    let (link, outcome) = match used {
        Ok(used) => used,
        Err(why) => return Ok(refused(why)),
    };
    state.incidents.wake.notify_one();
    let id = link.incident_id;
    let (title, text) = match (link.action.as_str(), outcome) {
        ("resolve", Acknowledged::Done(_)) => (format!("Incident #{id} resolved"), format!("Resolved as {}.", escape(&link.person))),
        (_, Acknowledged::Done(_)) => {
            (format!("Incident #{id} acknowledged"), format!("Acknowledged as {}; the escalation has stopped.", escape(&link.person)))
        }
        (_, Acknowledged::Already { by, at }) => {
            (format!("Incident #{id} was already acknowledged"), format!("{} acknowledged it at {}.", escape(&by), at.to_rfc3339()))
        }
        (_, Acknowledged::Resolved) => (format!("Incident #{id} is resolved"), "Nothing to do.".to_owned()),
        (_, Acknowledged::NotFound) => (format!("No incident #{id}"), "It no longer exists.".to_owned()),
    };
    Ok(page(StatusCode::OK, &title, &format!("<p>{text}</p>")))
}
