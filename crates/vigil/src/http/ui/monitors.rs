//! The overview (every monitor: state, 90 days of uptime, a day of response times, the
//! latest failure; filtered by state, kind and text) and a monitor's own page
//! (uptime over 24 hours to 90 days, hourly uptime, recent checks by phase, transitions).

use std::io::Write;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use maud::{html, Markup};
use vigil_core::hysteresis::Health;
use vigil_core::statuspage::daily_uptime;
use vigil_core::Timestamp;

use super::svg::{compact_bar, percent, sparkline, uptime_bar};
use super::{ago, live_layout, param, query, signed_in, state_badge, when, UiError, UiResult};
use crate::http::api::ApiError;
use crate::http::AppState;

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;
use super::DAYS;

/// A row of the overview.
struct Row {
    name: String,
    labels: std::collections::BTreeMap<String, String>,
    target: String,
    kind: &'static str,
    state: Health,
    since: Option<Timestamp>,
    days: Vec<Option<f64>>,
    means: Vec<Option<f64>>,
    failure: Option<(Timestamp, Option<&'static str>, String)>,
}

fn kind_of(monitor: &vigil_config::MonitorConfig) -> &'static str {
    match (&monitor.target, monitor.health_check) {
        (_, Some(_)) => "health-check",
        (vigil_config::Target::Http(_), None) => "http",
        (vigil_config::Target::Tcp { .. }, None) => "tcp",
    }
}

/// Every monitor's row, as of `now`.
async fn rows(state: &AppState, now: Timestamp) -> Result<Vec<Row>, ApiError> {
    let mut bars = state.bars.bars(now).await?;
    let summaries = state.history.summaries(24, now);
    Ok(state
        .monitors
        .iter()
        .enumerate()
        .map(|(index, monitor)| {
            let name = monitor.config.name.as_str();
            let bar = bars.remove(name).unwrap_or_default();
            let (means, failure) = summaries.get(index).cloned().unwrap_or_default();
            let failure = failure
                .map(|check| (check.at, check.code, check.failure.unwrap_or_default()))
                .or_else(|| (bar.state == Health::Down).then(|| (bar.since.unwrap_or(now), None, bar.reason.clone().unwrap_or_default())));
            Row {
                days: bar.days,
                kind: kind_of(&monitor.config),
                labels: monitor.config.labels.clone(),
                name: name.to_owned(),
                target: monitor.config.target.url(),
                state: bar.state,
                since: bar.since,
                means,
                failure,
            }
        })
        .collect())
}

/// `GET /ui`: the overview.
pub async fn overview(State(state): State<AppState>, headers: HeaderMap, raw: RawQuery) -> UiResult {
    let session = signed_in(&state, &headers, "/ui").await?;
    let params = query(raw);
    let wanted_state = param(&params, "state").filter(|state| ["up", "down", "unknown"].contains(state));
    let wanted_kind = param(&params, "kind").filter(|kind| ["http", "tcp", "health-check"].contains(kind));
    // `label=name=value`: monitors whose `labels:` have it.
    let wanted_label = param(&params, "label")
        .map(|label| label.split_once('=').map_or((label.trim(), None), |(name, value)| (name.trim(), Some(value.trim()))));
    let text = param(&params, "q").map(str::to_lowercase);
    let now = state.clock.now();
    let all = rows(&state, now).await?;
    let count = |health: Health| all.iter().filter(|row| row.state == health).count();
    let (up, down, unknown) = (count(Health::Up), count(Health::Down), count(Health::Unknown));
    let mut shown: Vec<&Row> = all
        .iter()
        .filter(|row| wanted_state.is_none_or(|wanted| row.state.as_str() == wanted))
        .filter(|row| wanted_kind.is_none_or(|wanted| row.kind == wanted))
        .filter(|row| {
            wanted_label.is_none_or(|(name, value)| row.labels.get(name).is_some_and(|have| value.is_none_or(|value| have == value)))
        })
        .filter(|row| text.as_deref().is_none_or(|text| row.name.to_lowercase().contains(text) || row.target.to_lowercase().contains(text)))
        .collect();
    // Down first, then unknown, then up; by name within each.
    shown.sort_by_key(|row| (row.state != Health::Down, row.state != Health::Unknown));
    let started = std::time::Instant::now();
    let content = html! {
        p class="counts" aria-live="polite" {
            a href="/ui?state=down" class="count down" { (down) " down" }
            a href="/ui?state=unknown" class="count unknown" { (unknown) " unknown" }
            a href="/ui?state=up" class="count up" { (up) " up" }
            span { (all.len()) " monitors" }
        }
        form method="get" action="/ui" class="filters" role="search" {
            label for="q" { "Search" }
            input id="q" name="q" type="search" value=[param(&params, "q")] placeholder="name or address";
            label for="state" { "State" }
            select id="state" name="state" {
                option value="" { "any" }
                @for option in ["down", "unknown", "up"] { option value=(option) selected[wanted_state == Some(option)] { (option) } }
            }
            label for="kind" { "Kind" }
            select id="kind" name="kind" {
                option value="" { "any" }
                @for option in ["http", "tcp", "health-check"] { option value=(option) selected[wanted_kind == Some(option)] { (option) } }
            }
            label for="label" { "Label" }
            input id="label" name="label" value=[param(&params, "label")] placeholder="team=payments" size="14";
            button type="submit" { "Filter" }
        }
        @if shown.is_empty() {
            p class="empty" { "No monitor matches." }
        } @else {
            table class="monitors" {
                caption { (shown.len()) " of " (all.len()) " monitors; uptime per UTC day over " (DAYS) " days, mean response time per hour over a day" }
                thead { tr {
                    th scope="col" { "State" } th scope="col" { "Monitor" } th scope="col" class="wide" { (DAYS) " days" }
                    th scope="col" { "24 h" } th scope="col" { "Latest failure" }
                } }
                tbody {
                    @for row in &shown { (overview_row(row, now)) }
                }
            }
        }
    };
    state.metrics.observe_render("overview", started.elapsed());
    let here = match form_urlencoded::Serializer::new(String::new()).extend_pairs(&params).finish() {
        query if query.is_empty() => "/ui".to_owned(),
        query => format!("/ui?{query}"),
    };
    Ok(compressed(&headers, super::live_document(&session, "/ui", &here, "Overview", content).into_string()))
}

fn overview_row(row: &Row, now: Timestamp) -> Markup {
    html! {
        tr class=(row.state.as_str()) {
            td { (state_badge(row.state.as_str())) @if let Some(since) = row.since { br; small { (ago(since, now)) } } }
            td class="name" {
                a href=(format!("/ui/monitors/{}", urlencode(&row.name))) { (row.name) } br; small class="target" { (row.target) }
                @for (name, value) in &row.labels { " " small class="label" { (name) "=" (value) } }
            }
            td class="wide" { (compact_bar(&row.days, now)) }
            td { (sparkline(&row.means, "response time")) }
            td class="failure" {
                @if let Some((at, code, text)) = &row.failure {
                    @if let Some(code) = code { code { (code) } " " }
                    (truncate(strip_code(text, *code), 120)) br; small { (ago(*at, now)) }
                }
            }
        }
    }
}

/// A failure's text without the code it starts with (the code is shown beside it).
fn strip_code<'a>(text: &'a str, code: Option<&str>) -> &'a str {
    code.and_then(|code| text.strip_prefix(code)).and_then(|rest| rest.strip_prefix(": ")).unwrap_or(text)
}

pub fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

pub fn truncate(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(chars).collect();
        out.push('…');
        out
    }
}

/// The page, gzipped when the browser takes it: the overview of 10,000 monitors is
/// mostly repetition.
fn compressed(headers: &HeaderMap, body: String) -> Response {
    let accepts = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|coding| coding.trim().split(';').next() == Some("gzip")));
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 8), flate2::Compression::fast());
    let gzipped = if accepts { encoder.write_all(body.as_bytes()).ok().and_then(|()| encoder.finish().ok()) } else { None };
    let Some(gzipped) = gzipped else { return super::page(maud::PreEscaped(body)) };
    let mut response = super::page(maud::PreEscaped(String::new()));
    *response.body_mut() = axum::body::Body::from(gzipped);
    response.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    response.headers_mut().insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

/// `GET /ui/monitors/{name}`.
pub async fn monitor(State(state): State<AppState>, headers: HeaderMap, Path(name): Path<String>) -> UiResult {
    let path = format!("/ui/monitors/{}", urlencode(&name));
    let session = signed_in(&state, &headers, &path).await?;
    let Some(index) = state.monitors.iter().position(|monitor| monitor.config.name.as_str() == name) else {
        return Err(UiError::Api(ApiError::NotFound(format!("no monitor `{name}`"))));
    };
    let config = &state.monitors[index].config;
    let now = state.clock.now();
    let from = Timestamp(now.0.div_euclid(DAY) * DAY - i64::from(DAYS - 1) * DAY);
    let changes = state.store.state_changes(&name, from, now).await?;
    let coverage = state.store.coverage(from, now).await?;
    let uptime = |span: i64| vigil_core::uptime::compute(&changes, &coverage, Timestamp(now.0 - span), now).uptime_percent;
    let days = daily_uptime(&changes, &coverage, DAYS, now);
    let current_hour = now.0.div_euclid(HOUR) * HOUR;
    let hours: Vec<Option<f64>> = (0..48)
        .rev()
        .map(|back| {
            let start = current_hour - back * HOUR;
            let end = (start + HOUR).min(now.0);
            vigil_core::uptime::compute(&changes, &coverage, Timestamp(start), Timestamp(end)).uptime_percent
        })
        .collect();
    let history = state.history.of(index);
    let means: Vec<Option<f64>> = {
        let first = current_hour - 47 * HOUR;
        let mut means = vec![None; 48];
        for hour in history.hours.iter().filter(|hour| hour.hour >= first) {
            means[((hour.hour - first) / HOUR) as usize] = hour.mean_ms();
        }
        means
    };
    let transitions = state.store.transitions(&name, 50).await?;
    let current = transitions.first().map_or(Health::Unknown, |transition| transition.to);
    let millis = |duration: Option<std::time::Duration>| duration.map(|duration| format!("{:.1}", duration.as_secs_f64() * 1000.0));
    let content = html! {
        p class="lead" {
            (state_badge(current.as_str()))
            @if let Some(last) = transitions.first() { " since " (when(last.at)) " (" (ago(last.at, now)) ")" }
        }
        dl class="facts" {
            dt { "Target" } dd { code { (config.target.url()) } }
            dt { "Every" } dd { (vigil_core::time::format_duration(config.interval)) ", timeout " (vigil_core::time::format_duration(config.timeout)) }
            dt { "Kind" } dd { (kind_of(config)) }
            @if !config.labels.is_empty() { dt { "Labels" } dd { @for (name, value) in &config.labels { code { (name) "=" (value) } " " } } }
            @if !config.notify.is_empty() { dt { "Notifies" } dd { (config.notify.join(", ")) } }
            @if !config.actions.is_empty() { dt { "Actions" } dd { (config.actions.join(", ")) } }
        }
        section aria-labelledby="uptime" {
            h2 id="uptime" { "Uptime" }
            ul class="uptimes" {
                @for (label, span) in [("24 hours", DAY), ("7 days", 7 * DAY), ("30 days", 30 * DAY), ("90 days", 90 * DAY)] {
                    li { strong { (percent(uptime(span))) } " " (label) }
                }
            }
            h3 { "Per day, " (DAYS) " days" }
            (uptime_bar(&days, DAY, now, "uptime per day"))
            h3 { "Per hour, 48 hours" }
            (uptime_bar(&hours, HOUR, now, "uptime per hour"))
            h3 { "Mean response time per hour, 48 hours" }
            div class="spark-large" { (sparkline(&means, "response time")) }
        }
        section aria-labelledby="checks" {
            h2 id="checks" { "Recent checks" }
            @if history.recent.is_empty() {
                p class="empty" { "No checks since Vigil started." }
            } @else {
                div class="scroll" { table {
                    thead { tr {
                        th scope="col" { "At" } th scope="col" { "Result" } th scope="col" { "Status" }
                        th scope="col" class="num" { "DNS ms" } th scope="col" class="num" { "Connect ms" } th scope="col" class="num" { "TLS ms" }
                        th scope="col" class="num" { "First byte ms" } th scope="col" class="num" { "Total ms" } th scope="col" { "Failure" }
                    } }
                    tbody {
                        @for check in history.recent.iter().rev() {
                            tr {
                                td { (when(check.at)) }
                                td { (state_badge(if check.healthy { "up" } else { "down" })) }
                                td { @if let Some(status) = check.status { (status) } }
                                td class="num" { (millis(check.timings.dns).unwrap_or_default()) }
                                td class="num" { (millis(check.timings.connect).unwrap_or_default()) }
                                td class="num" { (millis(check.timings.tls).unwrap_or_default()) }
                                td class="num" { (millis(check.timings.first_byte).unwrap_or_default()) }
                                td class="num" { (format!("{:.1}", check.response_ms)) }
                                td class="failure" {
                                    @if let Some(code) = check.code { code { (code) } " " }
                                    @if let Some(failure) = &check.failure { (strip_code(failure, check.code)) }
                                }
                            }
                        }
                    }
                } }
            }
        }
        section aria-labelledby="transitions" {
            h2 id="transitions" { "Transitions" }
            @if transitions.is_empty() {
                p class="empty" { "No transitions recorded yet." }
            } @else {
                table {
                    thead { tr { th scope="col" { "At" } th scope="col" { "From" } th scope="col" { "To" } th scope="col" { "Reason" } } }
                    tbody {
                        @for transition in &transitions {
                            tr {
                                td { (when(transition.at)) }
                                td { (state_badge(transition.from.as_str())) }
                                td { (state_badge(transition.to.as_str())) }
                                td class="failure" { (transition.reason) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(live_layout(&session, "/ui", &path, &name, content))
}
