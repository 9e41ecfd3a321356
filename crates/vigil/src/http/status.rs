//! The public status page over HTTP, no token needed: `/status` (HTML, no script, its
//! stylesheet at `/status/style.css`), `/status/api/v2/summary.json` and `status.json`
//! in Atlassian Statuspage's shapes, `/status/history.atom` (the public updates), and
//! badges `/badge/{monitor}/uptime/{24h|7d|30d|90d}.svg`, `/badge/{monitor}/state.svg`
//! and `/badge/{monitor}/response-time.svg` for the monitors on the page. Without `status-page:` in the config they answer 404.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use maud::{html, Markup, DOCTYPE};
use serde_json::{json, Value};
use vigil_core::hysteresis::Health;
use vigil_core::statuspage::impact;
use vigil_core::Timestamp;

use super::api::ApiError;
use super::ui::svg::{percent, uptime_class};
use crate::statuspage::{capitalised, PublicIncident, StatusPage, Summary};
use crate::subscriptions::Purpose;

const STYLE: &str = include_str!("status.css");
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The routes, for `listen` and for the status page's own listener.
pub fn routes() -> Router<Option<Arc<StatusPage>>> {
    Router::new()
        .route("/status", get(page))
        .route("/status/", get(page))
        .route("/status/style.css", get(style))
        .route("/status/api/v2/summary.json", get(summary_json))
        .route("/status/api/v2/status.json", get(status_json))
        .route("/status/history.atom", get(atom))
        .route("/badge/{monitor}/uptime/{window}", get(uptime_badge))
        .route("/badge/{monitor}/state.svg", get(state_badge))
        .route("/badge/{monitor}/response-time.svg", get(response_time_badge))
        .route("/status/subscribe", axum::routing::post(subscribe))
        .route("/status/subscribe/confirm/{id}/{mac}", get(confirm_page).post(confirm))
        .route("/status/unsubscribe/{id}/{mac}", get(unsubscribe_page).post(unsubscribe))
        .route("/favicon.svg", get(icon))
        .route("/favicon.ico", get(icon))
}

/// Vigil's icon: an eye on a shield, for the status page and the UI.
const ICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\">\
<path d=\"M8 1 2 3v5c0 3.5 2.6 6.2 6 7 3.4-.8 6-3.5 6-7V3z\" fill=\"#1a7f37\"/>\
<circle cx=\"8\" cy=\"8\" r=\"2.5\" fill=\"#fff\"/></svg>";

async fn icon() -> Response {
    with_headers(ICON.into_response(), "image/svg+xml", 86_400)
}

fn with_headers(mut response: Response, content_type: &'static str, max_age: u32) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    response
}

fn configured(page: Option<Arc<StatusPage>>) -> Result<Arc<StatusPage>, ApiError> {
    page.ok_or_else(|| ApiError::NotFound("no status page is configured (status-page: in the config)".to_owned()))
}

fn time(at: Timestamp) -> String {
    at.to_rfc3339()
}

/// `/status/style.css`.
async fn style() -> Response {
    with_headers(STYLE.into_response(), "text/css; charset=utf-8", 3600)
}

/// A component's uptime per day as an SVG bar, a rectangle a day with its date and
/// uptime as a tooltip.
fn bars(summary: &Summary, days: &[Option<f64>]) -> Markup {
    let today = summary.generated_at.0.div_euclid(86_400_000) * 86_400_000;
    let count = days.len() as i64;
    let width = count * 4;
    html! {
        svg class="bars" viewBox=(format!("0 0 {width} 24")) preserveAspectRatio="none" role="img"
            aria-label=(format!("Uptime per day over the last {count} days")) {
            @for (index, uptime) in days.iter().enumerate() {
                @let day = Timestamp(today - (count - 1 - index as i64) * 86_400_000);
                rect class=(uptime_class(*uptime)) x=(index * 4) y="0" width="3" height="24" {
                    title { (day.to_rfc3339().get(..10).unwrap_or_default()) ": " (percent(*uptime)) }
                }
            }
        }
    }
}

fn incident_block(incident: &PublicIncident) -> Markup {
    html! {
        article class=(format!("incident {}", impact(incident.severity))) {
            h3 { (incident.name) }
            @for update in &incident.updates {
                p {
                    strong { (capitalised(update.status.as_str())) } " — " (update.body)
                    br;
                    small { time datetime=(time(update.at)) { (time(update.at)) } }
                }
            }
        }
    }
}

/// What every page of the status page has in its head.
fn head(title: &str) -> Markup {
    html! {
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        meta name="color-scheme" content="light dark";
        title { (title) }
        link rel="stylesheet" href="/status/style.css";
        link rel="icon" href="/favicon.svg" type="image/svg+xml";
    }
}

/// The page's HTML.
pub fn render(summary: &Summary) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                (head(&summary.title))
                link rel="alternate" type="application/atom+xml" title="Incident history" href="/status/history.atom";
            }
            body {
                header {
                    h1 { (summary.title) }
                    @if let Some(description) = &summary.description { p { (description) } }
                }
                main {
                    section class=(format!("headline {}", summary.indicator)) aria-live="polite" { h2 { (summary.headline) } }
                    @if !summary.active.is_empty() {
                        section aria-labelledby="active" {
                            h2 id="active" { "Active incidents" }
                            @for incident in &summary.active { (incident_block(incident)) }
                        }
                    }
                    @let windows: Vec<_> = summary.maintenances.iter().collect();
                    @if !windows.is_empty() {
                        section aria-labelledby="maintenance" {
                            h2 id="maintenance" { "Scheduled maintenance" }
                            @for window in windows {
                                article class="maintenance" {
                                    h3 { (window.name) @if window.in_progress { " (in progress)" } }
                                    p { time datetime=(time(window.starts_at)) { (time(window.starts_at)) } " to "
                                        time datetime=(time(window.ends_at)) { (time(window.ends_at)) } }
                                }
                            }
                        }
                    }
                    section aria-labelledby="components" {
                        h2 id="components" { "Components" }
                        ul class="components" {
                            @for component in &summary.components {
                                li class=(format!("component {}", component.status.as_str())) {
                                    div class="row" {
                                        span class="name" { (component.name) }
                                        span class="state" { (component.status.label()) }
                                    }
                                    @if let Some(description) = &component.description { p class="description" { (description) } }
                                    (bars(summary, &component.days))
                                    div class="row small" {
                                        span { (summary.history_days) " days ago" }
                                        span { (percent(component.uptime)) " uptime" }
                                        span { "today" }
                                    }
                                }
                            }
                        }
                    }
                    @if !summary.past.is_empty() {
                        section aria-labelledby="past" {
                            h2 id="past" { "Past incidents" }
                            @for incident in &summary.past { (incident_block(incident)) }
                        }
                    }
                }
                @if summary.subscriptions {
                    section aria-labelledby="subscribe" class="subscribe" {
                        h2 id="subscribe" { "Get updates by e-mail" }
                        form method="post" action="/status/subscribe" {
                            label for="email" { "E-mail address" }
                            input id="email" name="email" type="email" required autocomplete="email" maxlength="254";
                            button type="submit" { "Subscribe" }
                        }
                        p class="small" { "We mail you a link to confirm; every mail has a link to stop them." }
                    }
                }
                footer {
                    p {
                        "Uptime is the share of time a component's monitors answered as expected while they were watched, \
                         averaged over its monitors; time they were not watched counts as neither up nor down. Days are UTC."
                    }
                    p { a href="/status/api/v2/summary.json" { "JSON" } " · " a href="/status/history.atom" { "Atom feed" }
                        " · updated " time datetime=(time(summary.generated_at)) { (time(summary.generated_at)) } }
                }
            }
        }
    }
}

/// `GET /status`.
async fn page(State(page): State<Option<Arc<StatusPage>>>) -> Result<Response, ApiError> {
    let summary = configured(page)?.summary().await?;
    Ok(with_headers(render(&summary).into_string().into_response(), "text/html; charset=utf-8", 10))
}

fn page_json(summary: &Summary) -> Value {
    json!({
        "id": "vigil",
        "name": summary.title,
        "url": summary.url,
        "time_zone": "Etc/UTC",
        "updated_at": time(summary.generated_at),
    })
}

fn component_json(summary: &Summary, component: &crate::statuspage::Component) -> Value {
    json!({
        "id": component.id,
        "name": component.name,
        "status": component.status.as_str(),
        "created_at": Value::Null,
        "updated_at": component.updated_at.map(time),
        "position": component.position,
        "description": component.description,
        "showcase": true,
        "start_date": Value::Null,
        "group_id": Value::Null,
        "page_id": "vigil",
        "group": false,
        "only_show_if_degraded": false,
        "uptime_percent": component.uptime,
        "uptime_days": summary.history_days,
    })
}

fn incident_json(summary: &Summary, incident: &PublicIncident) -> Value {
    let components: Vec<Value> = summary
        .components
        .iter()
        .filter(|component| incident.components.contains(&component.id))
        .map(|component| component_json(summary, component))
        .collect();
    let monitoring_at =
        incident.updates.iter().filter(|update| update.status == vigil_core::incident::Status::Monitoring).map(|update| update.at).min();
    json!({
        "id": incident.id.to_string(),
        "name": incident.name,
        "status": incident.status.as_str(),
        "created_at": time(incident.created_at),
        "updated_at": time(incident.updated_at),
        "monitoring_at": monitoring_at.map(time),
        "resolved_at": incident.resolved_at.map(time),
        "impact": impact(incident.severity),
        "shortlink": summary.url.as_ref().map(|url| format!("{url}#incident-{}", incident.id)),
        "started_at": time(incident.created_at),
        "page_id": "vigil",
        "incident_updates": incident.updates.iter().map(|update| json!({
            "id": update.id.to_string(),
            "status": update.status.as_str(),
            "body": update.body,
            "incident_id": incident.id.to_string(),
            "created_at": time(update.at),
            "updated_at": time(update.at),
            "display_at": time(update.at),
            "affected_components": Value::Null,
            "deliver_notifications": true,
            "custom_tweet": Value::Null,
            "tweet_id": Value::Null,
        })).collect::<Vec<_>>(),
        "components": components,
    })
}

/// Statuspage's summary document.
pub fn summary_document(summary: &Summary) -> Value {
    let maintenances: Vec<Value> = summary
        .maintenances
        .iter()
        .map(|window| {
            json!({
                "id": window.id,
                "name": window.name,
                "status": if window.in_progress { "in_progress" } else { "scheduled" },
                "created_at": time(window.starts_at),
                "updated_at": time(window.starts_at),
                "monitoring_at": Value::Null,
                "resolved_at": Value::Null,
                "impact": "maintenance",
                "shortlink": Value::Null,
                "started_at": time(window.starts_at),
                "page_id": "vigil",
                "scheduled_for": time(window.starts_at),
                "scheduled_until": time(window.ends_at),
                "incident_updates": [],
                "components": summary.components.iter().filter(|component| window.components.contains(&component.id))
                    .map(|component| component_json(summary, component)).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "page": page_json(summary),
        "components": summary.components.iter().map(|component| component_json(summary, component)).collect::<Vec<_>>(),
        "incidents": summary.active.iter().map(|incident| incident_json(summary, incident)).collect::<Vec<_>>(),
        "scheduled_maintenances": maintenances,
        "status": {"indicator": summary.indicator, "description": summary.headline},
    })
}

/// `GET /status/api/v2/summary.json`: Statuspage's summary.
async fn summary_json(State(page): State<Option<Arc<StatusPage>>>) -> Result<Response, ApiError> {
    let summary = configured(page)?.summary().await?;
    Ok(with_headers(Json(summary_document(&summary)).into_response(), "application/json", 10))
}

/// `GET /status/api/v2/status.json`: the page and its overall status.
async fn status_json(State(page): State<Option<Arc<StatusPage>>>) -> Result<Response, ApiError> {
    let summary = configured(page)?.summary().await?;
    let body = json!({"page": page_json(&summary), "status": {"indicator": summary.indicator, "description": summary.headline}});
    Ok(with_headers(Json(body).into_response(), "application/json", 10))
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `GET /status/history.atom`: each public update, newest first.
async fn atom(State(page): State<Option<Arc<StatusPage>>>) -> Result<Response, ApiError> {
    let page = configured(page)?;
    let summary = page.summary().await?;
    let base = summary.url.clone().unwrap_or_else(|| "/status".to_owned());
    let mut entries: Vec<(&PublicIncident, &crate::statuspage::PublicUpdate)> = summary
        .active
        .iter()
        .chain(&summary.past)
        .flat_map(|incident| incident.updates.iter().map(move |update| (incident, update)))
        .collect();
    entries.sort_by_key(|(_, update)| std::cmp::Reverse(update.at));
    let updated = entries.first().map_or(summary.generated_at, |(_, update)| update.at);
    let mut feed = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n<title>{} — incident history</title>\n\
         <id>{}</id>\n<link href=\"{}\"/>\n<updated>{}</updated>\n",
        xml(&summary.title),
        xml(&format!("{base}/history")),
        xml(&base),
        time(updated)
    );
    for (incident, update) in entries.iter().take(100) {
        feed.push_str(&format!(
            "<entry>\n<title>{}: {}</title>\n<id>{}</id>\n<link href=\"{}\"/>\n<updated>{}</updated>\n<content type=\"text\">{}</content>\n<author><name>{}</name></author>\n</entry>\n",
            xml(&incident.name),
            xml(update.status.as_str()),
            xml(&format!("{base}/incidents/{}/updates/{}", incident.id, update.id)),
            xml(&format!("{base}#incident-{}", incident.id)),
            time(update.at),
            xml(&update.body),
            xml(&summary.title),
        ));
    }
    feed.push_str("</feed>\n");
    Ok(with_headers(feed.into_response(), "application/atom+xml; charset=utf-8", 60))
}

/// A two-part badge, as shields.io draws them.
fn badge(label: &str, value: &str, colour: &str) -> String {
    let width = |text: &str| 10 + text.chars().count() * 7;
    let (left, right) = (width(label), width(value));
    let total = left + right;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{total}\" height=\"20\" role=\"img\" aria-label=\"{label}: {value}\">\
         <title>{label}: {value}</title><rect width=\"{left}\" height=\"20\" fill=\"#555\"/>\
         <rect x=\"{left}\" width=\"{right}\" height=\"20\" fill=\"{colour}\"/>\
         <g fill=\"#fff\" text-anchor=\"middle\" font-family=\"Verdana,DejaVu Sans,sans-serif\" font-size=\"11\">\
         <text x=\"{}\" y=\"14\">{label}</text><text x=\"{}\" y=\"14\">{value}</text></g></svg>",
        left / 2,
        left + right / 2,
        label = xml(label),
        value = xml(value),
    )
}

fn public_monitor(page: &StatusPage, monitor: &str) -> Result<(), ApiError> {
    if page.is_public(monitor) {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!("no monitor `{monitor}` on the status page")))
    }
}

/// `GET /badge/{monitor}/uptime/{24h|7d|30d|90d}.svg`.
async fn uptime_badge(
    State(page): State<Option<Arc<StatusPage>>>,
    Path((monitor, window)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let page = configured(page)?;
    public_monitor(&page, &monitor)?;
    let (label, length) = match window.strip_suffix(".svg") {
        Some("24h") => ("24h", Duration::from_secs(86_400)),
        Some("7d") => ("7d", Duration::from_secs(7 * 86_400)),
        Some("30d") => ("30d", Duration::from_secs(30 * 86_400)),
        Some("90d") => ("90d", Duration::from_secs(90 * 86_400)),
        _ => return Err(ApiError::BadRequest(format!("unknown badge window `{window}`, expected 24h.svg, 7d.svg, 30d.svg or 90d.svg"))),
    };
    let uptime = page.uptime(&monitor, length).await?;
    let colour = match uptime {
        None => "#9f9f9f",
        Some(value) if value >= 99.9 => "#2e9e4f",
        Some(value) if value >= 99.0 => "#8fb935",
        Some(value) if value >= 95.0 => "#dfb317",
        Some(_) => "#e05d44",
    };
    let svg = badge(&format!("uptime {label}"), &percent(uptime), colour);
    Ok(with_headers(svg.into_response(), "image/svg+xml", 60))
}

/// `GET /badge/{monitor}/response-time.svg`: the mean over the last 24 hours.
async fn response_time_badge(State(page): State<Option<Arc<StatusPage>>>, Path(monitor): Path<String>) -> Result<Response, ApiError> {
    let page = configured(page)?;
    public_monitor(&page, &monitor)?;
    let mean = page.response_time(&monitor).await?;
    let (value, colour) = match mean {
        None => ("no data".to_owned(), "#9f9f9f"),
        Some(ms) if ms < 300.0 => (format!("{ms:.0} ms"), "#2e9e4f"),
        Some(ms) if ms < 1_000.0 => (format!("{ms:.0} ms"), "#dfb317"),
        Some(ms) => (format!("{ms:.0} ms"), "#e05d44"),
    };
    Ok(with_headers(badge("response time 24h", &value, colour).into_response(), "image/svg+xml", 60))
}

/// `GET /badge/{monitor}/state.svg`.
async fn state_badge(State(page): State<Option<Arc<StatusPage>>>, Path(monitor): Path<String>) -> Result<Response, ApiError> {
    let page = configured(page)?;
    public_monitor(&page, &monitor)?;
    let (value, colour) = match page.state(&monitor).await? {
        Health::Up => ("up", "#2e9e4f"),
        Health::Down => ("down", "#e05d44"),
        Health::Unknown => ("unknown", "#9f9f9f"),
    };
    Ok(with_headers(badge("state", value, colour).into_response(), "image/svg+xml", 30))
}

/// A short page of the status page's look: a heading, a line, maybe a form.
fn notice(title: &str, text: &str, form: Option<(&str, &str)>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                (head(title))
                meta name="robots" content="noindex";
            }
            body {
                main {
                    h1 { (title) }
                    p { (text) }
                    @if let Some((action, label)) = form {
                        form method="post" action=(action) { button type="submit" { (label) } }
                    }
                    p { a href="/status" { "Back to the status page" } }
                }
            }
        }
    }
}

fn notice_response(status: axum::http::StatusCode, markup: Markup) -> Response {
    let mut response = with_headers(markup.into_string().into_response(), "text/html; charset=utf-8", 0);
    *response.status_mut() = status;
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn subscriptions(page: Option<Arc<StatusPage>>) -> Result<Arc<crate::subscriptions::Subscriptions>, ApiError> {
    configured(page)?
        .subscriptions
        .clone()
        .ok_or_else(|| ApiError::NotFound("this status page takes no subscriptions (status-page.subscriptions)".to_owned()))
}

/// `POST /status/subscribe` (`email`): mails a confirmation link; the answer is the same
/// whether the address was subscribed before or not.
async fn subscribe(State(page): State<Option<Arc<StatusPage>>>, request: axum::extract::Request) -> Result<Response, ApiError> {
    let subscriptions = subscriptions(page)?;
    let client = client_address(&request, subscriptions.client_ip_header());
    let (_, body) = super::intake::read_body(request, 4 * 1024).await?;
    let email = form_urlencoded::parse(&body).find(|(name, _)| name == "email").map(|(_, value)| value.into_owned()).unwrap_or_default();
    match subscriptions.subscribe(&email, client).await {
        Ok(()) => Ok(notice_response(
            axum::http::StatusCode::OK,
            notice("Check your inbox", "If the address can take mail, a link to confirm the subscription is on its way.", None),
        )),
        Err(crate::subscriptions::SubscribeError::Invalid(why)) => {
            Ok(notice_response(axum::http::StatusCode::BAD_REQUEST, notice("Not subscribed", &why, None)))
        }
        Err(crate::subscriptions::SubscribeError::Limited(wait)) => {
            let minutes = wait.as_secs().div_ceil(60);
            let why = format!("Too many requests to subscribe; try again in {minutes} minute{}.", if minutes == 1 { "" } else { "s" });
            let mut response = notice_response(axum::http::StatusCode::TOO_MANY_REQUESTS, notice("Not subscribed", &why, None));
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait.as_secs()));
            Ok(response)
        }
        Err(crate::subscriptions::SubscribeError::Store(error)) => Err(error.into()),
    }
}

/// The client a request comes from: the last address in `header` when a proxy in front
/// sets it (the one the proxy itself added), else the connection's peer.
fn client_address(request: &axum::extract::Request, header: Option<&str>) -> Option<std::net::IpAddr> {
    let forwarded = header.and_then(|name| {
        let value = request.headers().get_all(name).iter().next_back()?.to_str().ok()?;
        value.rsplit(',').next()?.trim().parse::<std::net::IpAddr>().ok()
    });
    forwarded.or_else(|| request.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|info| info.0.ip()))
}

fn refused() -> Response {
    notice_response(axum::http::StatusCode::FORBIDDEN, notice("Link not valid", "This link is not one we sent, or it was cut short.", None))
}

/// A subscription link's page: its words, and where its button posts.
struct LinkWords {
    ask: (&'static str, &'static str, &'static str),
    done: (&'static str, &'static str),
    path: &'static str,
}

fn words(purpose: Purpose) -> LinkWords {
    match purpose {
        Purpose::Confirm => LinkWords {
            ask: ("Confirm your subscription", "Press Confirm to get incident updates by e-mail.", "Confirm"),
            done: ("Subscribed", "You will get an e-mail with each public incident update."),
            path: "/status/subscribe/confirm",
        },
        Purpose::Unsubscribe => LinkWords {
            ask: ("Unsubscribe", "Press Unsubscribe to stop the e-mails.", "Unsubscribe"),
            done: ("Unsubscribed", "You will get no more e-mails from this status page."),
            path: "/status/unsubscribe",
        },
    }
}

/// A GET of a link only asks (mail scanners fetch links); the button's POST acts.
async fn link_page(page: Option<Arc<StatusPage>>, purpose: Purpose, id: &str, mac: &str) -> Result<Response, ApiError> {
    if subscriptions(page)?.check(purpose, id, mac).await?.is_none() {
        return Ok(refused());
    }
    let LinkWords { ask: (title, text, button), path, .. } = words(purpose);
    let action = format!("{path}/{id}/{mac}");
    Ok(notice_response(axum::http::StatusCode::OK, notice(title, text, Some((&action, button)))))
}

async fn link_act(page: Option<Arc<StatusPage>>, purpose: Purpose, id: &str, mac: &str) -> Result<Response, ApiError> {
    let subscriptions = subscriptions(page)?;
    let held = match purpose {
        Purpose::Confirm => subscriptions.confirm(id, mac).await?,
        Purpose::Unsubscribe => subscriptions.unsubscribe(id, mac).await?,
    };
    if !held {
        return Ok(refused());
    }
    let (title, text) = words(purpose).done;
    Ok(notice_response(axum::http::StatusCode::OK, notice(title, text, None)))
}

/// `GET /status/subscribe/confirm/{id}/{mac}`.
async fn confirm_page(State(page): State<Option<Arc<StatusPage>>>, Path((id, mac)): Path<(String, String)>) -> Result<Response, ApiError> {
    link_page(page, Purpose::Confirm, &id, &mac).await
}

/// `POST /status/subscribe/confirm/{id}/{mac}`.
async fn confirm(State(page): State<Option<Arc<StatusPage>>>, Path((id, mac)): Path<(String, String)>) -> Result<Response, ApiError> {
    link_act(page, Purpose::Confirm, &id, &mac).await
}

/// `GET /status/unsubscribe/{id}/{mac}`.
async fn unsubscribe_page(
    State(page): State<Option<Arc<StatusPage>>>,
    Path((id, mac)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    link_page(page, Purpose::Unsubscribe, &id, &mac).await
}

/// `POST /status/unsubscribe/{id}/{mac}`: the button, or a mail client's one-click
/// `List-Unsubscribe-Post`.
async fn unsubscribe(State(page): State<Option<Arc<StatusPage>>>, Path((id, mac)): Path<(String, String)>) -> Result<Response, ApiError> {
    link_act(page, Purpose::Unsubscribe, &id, &mac).await
}
