//! The signed-in web UI under `/ui`: server-rendered HTML (maud), one embedded
//! stylesheet, no script, so every page works without JavaScript.
//!
//! Signing in takes an API token once and sets a session cookie (HttpOnly,
//! SameSite=Strict, Secure when the external URL is https); the session acts with the
//! token's role, ends when the token is revoked, and survives a restart. Every form
//! carries a CSRF token derived from the session's secret, and a POST from another
//! origin is refused. What a role may not do is neither shown nor allowed.

use axum::extract::{RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use vigil_core::auth::Role;
use vigil_core::Timestamp;
use vigil_store::SessionRecord;

use super::api::ApiError;
use super::AppState;
use crate::auth::{authenticate, random_hex, sha256_hex, Principal, Refused};

mod actions;
mod alerts;
mod incidents;
mod monitors;
mod slos;
pub mod svg;
#[cfg(test)]
mod tests;

const STYLE: &str = include_str!("ui.css");
/// Days of history on the overview's bars.
pub const DAYS: u32 = 90;
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const COOKIE: &str = "vigil_session";
/// The auto-refresh a visitor chose for the pages that watch (seconds; none: off).
const REFRESH_COOKIE: &str = "vigil_refresh";
/// The auto-refresh choices: (seconds, label); 0 is off.
const REFRESH_CHOICES: &[(u32, &str)] = &[(0, "off"), (10, "10 s"), (30, "30 s"), (60, "1 min"), (300, "5 min")];
/// How long a session lasts after signing in.
const SESSION_MS: i64 = 12 * 3_600_000;
/// Largest form the UI takes.
pub(super) const FORM_LIMIT: usize = 16 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { redirect("/ui") }))
        .route("/ui", get(monitors::overview))
        .route("/ui/", get(monitors::overview))
        .route("/ui/style.css", get(style))
        .route("/ui/login", get(login_page).post(login))
        .route("/ui/logout", post(logout))
        .route("/ui/refresh", get(set_refresh))
        .route("/ui/monitors/{name}", get(monitors::monitor))
        .route("/ui/alerts", get(alerts::alerts))
        .route("/ui/alerts/{id}", get(alerts::alert))
        .route("/ui/silences", get(alerts::silences).post(alerts::create_silence))
        .route("/ui/silences/new", get(alerts::new_silence))
        .route("/ui/silences/{id}/expire", post(alerts::expire_silence))
        .route("/ui/slos", get(slos::slos))
        .route("/ui/incidents", get(incidents::list))
        .route("/ui/incidents/{id}", get(incidents::detail))
        .route("/ui/incidents/{id}/postmortem", get(incidents::postmortem))
        .route("/ui/incidents/{id}/postmortem.md", get(incidents::postmortem_markdown))
        .route("/ui/incidents/{id}/{action}", post(incidents::act))
        .route("/ui/oncall", get(incidents::oncall))
        .route("/ui/actions", get(actions::actions))
        .route("/ui/actions/{what}", post(actions::act))
}

/// A signed-in visitor.
pub struct Session {
    pub principal: Principal,
    pub csrf: String,
    id: String,
    /// Seconds between reloads of the pages that watch (the `vigil_refresh` cookie).
    refresh: Option<u32>,
}

impl Session {
    pub fn may(&self, role: Role) -> bool {
        self.principal.role.allows(role)
    }
}

/// What a UI handler answers when it cannot render its page.
pub enum UiError {
    /// Not signed in: to the sign-in form, then back to `next`.
    SignIn {
        next: String,
    },
    Api(ApiError),
}

impl From<ApiError> for UiError {
    fn from(error: ApiError) -> UiError {
        UiError::Api(error)
    }
}

impl From<vigil_store::StoreError> for UiError {
    fn from(error: vigil_store::StoreError) -> UiError {
        UiError::Api(error.into())
    }
}

impl From<crate::incidents::IncidentError> for UiError {
    fn from(error: crate::incidents::IncidentError) -> UiError {
        UiError::Api(error.into())
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        match self {
            UiError::SignIn { next } => {
                let query: String = form_urlencoded::Serializer::new(String::new()).append_pair("next", &next).finish();
                redirect(&format!("/ui/login?{query}"))
            }
            UiError::Api(error) => {
                let (status, reason) = error.status_and_reason();
                let title = status.canonical_reason().unwrap_or("Error");
                let body = html! {
                    (DOCTYPE)
                    html lang="en" {
                        head { (head(title)) }
                        body { main class="narrow" {
                            h1 { (status.as_u16()) " " (title) }
                            p role="alert" { (reason) }
                            p { a href="/ui" { "Back to the overview" } }
                        } }
                    }
                };
                let mut response = (status, body.into_string()).into_response();
                secure(&mut response, "text/html; charset=utf-8");
                response
            }
        }
    }
}

pub type UiResult = Result<Response, UiError>;

/// The security headers every UI response has.
fn secure(response: &mut Response, content_type: &'static str) {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

pub fn redirect(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    secure(&mut response, "text/plain; charset=utf-8");
    response
}

/// An HTML page with the security headers.
pub fn page(markup: Markup) -> Response {
    let mut response = markup.into_string().into_response();
    secure(&mut response, "text/html; charset=utf-8");
    response
}

fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    named_cookie(headers, COOKIE)
}

fn named_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(name)?.strip_prefix('='))
}

/// The auto-refresh in `headers`' cookie, if it is one of the choices (and not off).
fn refresh_of(headers: &HeaderMap) -> Option<u32> {
    let seconds = named_cookie(headers, REFRESH_COOKIE)?.parse::<u32>().ok()?;
    REFRESH_CHOICES.iter().any(|(choice, _)| *choice == seconds && seconds > 0).then_some(seconds)
}

fn csrf_of(secret: &str) -> String {
    sha256_hex(&format!("vigil-ui-csrf:{secret}"))
}

fn equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |difference, (x, y)| difference | (x ^ y)) == 0
}

/// The visitor's session, or to the sign-in form. `path` is where to come back to.
pub async fn signed_in(state: &AppState, headers: &HeaderMap, path: &str) -> Result<Session, UiError> {
    let sign_in = || UiError::SignIn { next: path.to_owned() };
    let (id, secret) = cookie_value(headers).and_then(|value| value.split_once('_')).ok_or_else(sign_in)?;
    let valid = |text: &str, length: usize| text.len() == length && text.bytes().all(|byte| byte.is_ascii_hexdigit());
    if !valid(id, 16) || !valid(secret, 64) {
        return Err(sign_in());
    }
    let Some((session, token)) = state.store.session(id).await? else { return Err(sign_in()) };
    let now = state.clock.now();
    if !equal(&sha256_hex(secret), &session.secret_sha256) || session.expires_at <= now || token.revoked_at.is_some() {
        return Err(sign_in());
    }
    Ok(Session {
        principal: Principal { name: token.name, role: token.role },
        csrf: csrf_of(secret),
        id: session.id,
        refresh: refresh_of(headers),
    })
}

/// A POSTed form: its fields, once the session, the origin and the CSRF token are
/// checked and the role allows `needed`.
pub async fn form(state: &AppState, request: Request, path: &str, needed: Role) -> Result<(Session, Form), UiError> {
    // A form sent without a session is refused, not redirected: what it carried is gone.
    let session = signed_in(state, request.headers(), path).await.map_err(|error| match error {
        UiError::SignIn { .. } => UiError::Api(ApiError::Unauthorized("not signed in, or the session ended: sign in again".to_owned())),
        other => other,
    })?;
    same_origin(request.headers())?;
    let (_, body) = super::intake::read_body(request, FORM_LIMIT).await.map_err(ApiError::from)?;
    let fields = Form(form_urlencoded::parse(&body).map(|(name, value)| (name.into_owned(), value.into_owned())).collect());
    if !fields.get("csrf").is_some_and(|token| equal(token, &session.csrf)) {
        return Err(ApiError::Forbidden("the form's CSRF token is missing or stale; reload the page and try again".to_owned()).into());
    }
    if !session.may(needed) {
        return Err(
            ApiError::Forbidden(format!("{} has role {}; this needs {needed}", session.principal.name, session.principal.role)).into()
        );
    }
    Ok((session, fields))
}

/// Refuses a request a browser says came from another site. Browsers that send
/// `Sec-Fetch-Site` are taken at their word (behind a proxy that rewrites `Host`, the
/// origin and the host differ for the page's own forms); for the others, the `Origin`
/// must name the host asked (`Host`, or the proxy's `X-Forwarded-Host`).
fn same_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    match text("sec-fetch-site") {
        Some("same-origin" | "none") => return Ok(()),
        Some(_) => return Err(ApiError::Forbidden("a form from another site was refused".to_owned())),
        None => {}
    }
    let Some(origin) = text("origin").filter(|origin| *origin != "null") else { return Ok(()) };
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    if [text("host"), text("x-forwarded-host")].into_iter().flatten().any(|host| host == origin_host) {
        return Ok(());
    }
    Err(ApiError::Forbidden(format!("a form from {origin} was refused")))
}

/// A form's fields.
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(field, _)| field == name).map(|(_, value)| value.as_str())
    }

    /// A field that must be there and not blank.
    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).map(str::trim).filter(|value| !value.is_empty()).ok_or_else(|| ApiError::BadRequest(format!("`{name}` is required")))
    }
}

/// A query string's parameters, the last of each name.
pub fn query(raw: RawQuery) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.0.unwrap_or_default().as_bytes()).map(|(name, value)| (name.into_owned(), value.into_owned())).collect()
}

pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().rev().find(|(field, _)| field == name).map(|(_, value)| value.as_str()).filter(|value| !value.is_empty())
}

/// The hidden field every form carries.
pub fn csrf_field(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// A one-button form that POSTs to `action`.
pub fn button(session: &Session, action: &str, label: &str, class: &str) -> Markup {
    html! {
        form method="post" action=(action) class="inline" {
            (csrf_field(session))
            button type="submit" class=(class) { (label) }
        }
    }
}

fn head(title: &str) -> Markup {
    html! {
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        meta name="color-scheme" content="light dark";
        meta name="referrer" content="no-referrer";
        title { (title) " · Vigil" }
        link rel="stylesheet" href="/ui/style.css";
        link rel="icon" href="/favicon.svg" type="image/svg+xml";
    }
}

const NAV: &[(&str, &str)] = &[
    ("/ui", "Overview"),
    ("/ui/alerts", "Alerts"),
    ("/ui/silences", "Silences"),
    ("/ui/slos", "SLOs"),
    ("/ui/incidents", "Incidents"),
    ("/ui/oncall", "On-call"),
    ("/ui/actions", "Actions"),
];

/// A signed-in page: navigation, who is signed in, and `content`.
pub fn layout(session: &Session, current: &str, title: &str, content: Markup) -> Response {
    page(document(session, current, title, content))
}

/// A signed-in page that watches (states, alerts, incidents): as [`layout`], with the
/// auto-refresh choices, and reloaded as chosen. `here` is its own path and query.
pub fn live_layout(session: &Session, current: &str, here: &str, title: &str, content: Markup) -> Response {
    page(live_document(session, current, here, title, content))
}

/// The HTML of a signed-in page.
pub fn document(session: &Session, current: &str, title: &str, content: Markup) -> Markup {
    signed_in_document(session, current, None, title, content)
}

/// The HTML of a signed-in page that watches; see [`live_layout`].
pub fn live_document(session: &Session, current: &str, here: &str, title: &str, content: Markup) -> Markup {
    signed_in_document(session, current, Some(here), title, content)
}

/// Reloading is a `<meta http-equiv="refresh">` (the UI runs no script), so pages with
/// forms to type into never get it.
fn refresh_choices(session: &Session, here: &str) -> Markup {
    let chosen = session.refresh.unwrap_or(0);
    html! {
        nav class="refresh" aria-label="Auto-refresh" {
            "Refresh: "
            @for (seconds, label) in REFRESH_CHOICES {
                " "
                a href=(format!("/ui/refresh?every={seconds}&back={}", monitors::urlencode(here)))
                    aria-current=[(*seconds == chosen).then_some("true")] { (label) }
            }
        }
    }
}

fn signed_in_document(session: &Session, current: &str, here: Option<&str>, title: &str, content: Markup) -> Markup {
    let refresh = here.and(session.refresh);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                (head(title))
                @if let Some(seconds) = refresh { meta http-equiv="refresh" content=(seconds); }
            }
            body {
                a class="skip" href="#main" { "Skip to content" }
                header class="top" {
                    a class="brand" href="/ui" { "Vigil" }
                    nav aria-label="Main" {
                        ul {
                            @for (href, label) in NAV {
                                li { a href=(href) aria-current=[(*href == current).then_some("page")] { (label) } }
                            }
                        }
                    }
                    div class="who" {
                        span { (session.principal.name) " (" (session.principal.role) ")" }
                        (button(session, "/ui/logout", "Sign out", "link"))
                    }
                }
                main id="main" tabindex="-1" {
                    h1 { (title) }
                    @if let Some(here) = here { (refresh_choices(session, here)) }
                    (content)
                }
            }
        }
    }
}

async fn style() -> Response {
    let mut response = STYLE.into_response();
    secure(&mut response, "text/css; charset=utf-8");
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}

/// Only paths inside the UI are followed after signing in.
fn safe_next(next: Option<&str>) -> &str {
    next.filter(|next| next.starts_with("/ui") && !next.contains("//") && !next.contains('\\')).unwrap_or("/ui")
}

fn login_form(next: &str, problem: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head { (head("Sign in")) }
            body {
                main class="narrow" id="main" {
                    h1 { "Sign in to Vigil" }
                    @if let Some(problem) = problem { p class="problem" role="alert" { (problem) } }
                    form method="post" action="/ui/login" {
                        input type="hidden" name="next" value=(next);
                        label for="token" { "API token" }
                        input id="token" name="token" type="password" autocomplete="off" required autofocus
                            placeholder="vgl_…" spellcheck="false";
                        p class="hint" { "A token from " code { "vigil token create NAME --role viewer|responder|admin" } "; the session acts with its role for 12 hours." }
                        button type="submit" { "Sign in" }
                    }
                }
            }
        }
    }
}

async fn login_page(State(state): State<AppState>, headers: HeaderMap, raw: RawQuery) -> Response {
    let params = query(raw);
    let next = safe_next(param(&params, "next")).to_owned();
    if signed_in(&state, &headers, &next).await.is_ok() {
        return redirect(&next);
    }
    page(login_form(&next, None))
}

async fn login(State(state): State<AppState>, request: Request) -> UiResult {
    same_origin(request.headers())?;
    let (_, body) = super::intake::read_body(request, FORM_LIMIT).await.map_err(ApiError::from)?;
    let fields: Vec<(String, String)> =
        form_urlencoded::parse(&body).map(|(name, value)| (name.into_owned(), value.into_owned())).collect();
    let next = safe_next(param(&fields, "next")).to_owned();
    let token = param(&fields, "token").unwrap_or_default().trim().to_owned();
    let refused = |why: &str| {
        let mut response = page(login_form(&next, Some(why)));
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        response
    };
    let now = state.clock.now();
    let principal = match authenticate(&state.store, &token, now).await? {
        Ok(principal) => principal,
        Err(Refused::Malformed) => return Ok(refused("That is not a Vigil token (they start with vgl_).")),
        Err(Refused::Unknown) => return Ok(refused("Unknown token.")),
        Err(Refused::Revoked) => return Ok(refused("That token was revoked.")),
    };
    let Some(token_id) = vigil_core::auth::TokenParts::parse(&token).map(|parts| parts.id.to_owned()) else {
        return Ok(refused("That is not a Vigil token."));
    };
    let failed = |_| ApiError::Internal("the system's random source failed".to_owned());
    let id = random_hex(8).map_err(failed)?;
    let secret = random_hex(32).map_err(failed)?;
    state
        .store
        .create_session(&SessionRecord {
            id: id.clone(),
            secret_sha256: sha256_hex(&secret),
            token_id,
            created_at: now,
            expires_at: Timestamp(now.0 + SESSION_MS),
        })
        .await?;
    tracing::info!(token = %principal.name, role = %principal.role, "signed in to the UI");
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let cookie = format!("{COOKIE}={id}_{secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}", SESSION_MS / 1000);
    let mut response = redirect(&next);
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `GET /ui/refresh?every=SECONDS&back=PATH`: keeps the auto-refresh choice in a cookie
/// (0: off) and goes back to the page it was made on.
async fn set_refresh(State(state): State<AppState>, headers: HeaderMap, raw: RawQuery) -> UiResult {
    let params = query(raw);
    let back = safe_next(param(&params, "back")).to_owned();
    signed_in(&state, &headers, &back).await?;
    let Some(seconds) = param(&params, "every")
        .and_then(|every| every.parse::<u32>().ok())
        .filter(|every| REFRESH_CHOICES.iter().any(|(choice, _)| choice == every))
    else {
        let choices: Vec<String> = REFRESH_CHOICES.iter().map(|(seconds, _)| seconds.to_string()).collect();
        return Err(ApiError::BadRequest(format!("`every` must be one of {} (seconds; 0 is off)", choices.join(", "))).into());
    };
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let cookie = match seconds {
        0 => format!("{REFRESH_COOKIE}=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
        _ => format!("{REFRESH_COOKIE}={seconds}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=31536000{secure}"),
    };
    let mut response = redirect(&back);
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

async fn logout(State(state): State<AppState>, request: Request) -> UiResult {
    let (session, _) = form(&state, request, "/ui", Role::Viewer).await?;
    state.store.delete_session(&session.id).await?;
    let mut response = redirect("/ui/login");
    response
        .headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_static("vigil_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"));
    Ok(response)
}

/// A time as the UI shows it: UTC to the second, with the machine-readable value.
pub fn when(at: Timestamp) -> Markup {
    let text = at.to_rfc3339();
    let shown = text.get(..19).unwrap_or(&text).replace('T', " ");
    html! { time datetime=(text) { (shown) } }
}

/// How long ago, roughly.
pub fn ago(at: Timestamp, now: Timestamp) -> String {
    let seconds = (now.0 - at.0).max(0) / 1000;
    match seconds {
        0..=59 => format!("{seconds}s ago"),
        60..=3_599 => format!("{}m ago", seconds / 60),
        3_600..=172_799 => format!("{}h ago", seconds / 3_600),
        _ => format!("{}d ago", seconds / 86_400),
    }
}

/// A health state as a labelled badge.
pub fn state_badge(state: &str) -> Markup {
    html! { span class=(format!("badge {state}")) { (state.to_uppercase()) } }
}

/// Markup that is already escaped (SVG built from numbers and escaped text).
pub fn raw(text: String) -> Markup {
    PreEscaped(text)
}
