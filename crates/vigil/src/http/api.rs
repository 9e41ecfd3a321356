//! Vigil's own API under `/api/v1`: bearer tokens, a role per route, and one error
//! type whose responses say why (401, 403, 404) without leaking internals.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use vigil_core::auth::Role;

use super::AppState;
use crate::auth::{authenticate, Principal, Refused};

/// Every way an API request fails.
#[derive(Debug)]
pub enum ApiError {
    BadRequest(String),
    TooLarge(String),
    Unauthorized(String),
    Forbidden(String),
    NotFound(String),
    /// Logged in full; the caller sees only that it failed.
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, reason) = match self {
            ApiError::BadRequest(reason) => (StatusCode::BAD_REQUEST, reason),
            ApiError::TooLarge(reason) => (StatusCode::PAYLOAD_TOO_LARGE, reason),
            ApiError::Unauthorized(reason) => (StatusCode::UNAUTHORIZED, reason),
            ApiError::Forbidden(reason) => (StatusCode::FORBIDDEN, reason),
            ApiError::NotFound(reason) => (StatusCode::NOT_FOUND, reason),
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "API request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error; see Vigil's log".to_owned())
            }
        };
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
pub async fn monitors(State(state): State<AppState>, headers: HeaderMap) -> Result<impl IntoResponse, ApiError> {
    authorize(&state, &headers, Role::Viewer).await?;
    let views = crate::monitor::overview::overview(&state.store, &state.monitors).await?;
    Ok(Json(serde_json::json!({ "monitors": views })))
}

/// Any other path under `/api/v1`.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such API route".to_owned())
}
