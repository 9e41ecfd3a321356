//! Alerts (firing — active, silenced or inhibited, with why —, their groups and
//! receivers, and the recently resolved), one alert with every decision about it, and
//! silences: listed, created with a preview of what their matchers match now, expired.

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::HeaderMap;
use maud::{html, Markup};
use vigil_core::auth::Role;
use vigil_core::Timestamp;
use vigil_store::EpisodeState;

use super::monitors::{truncate, urlencode};
use super::{ago, button, csrf_field, form, layout, live_layout, param, query, redirect, signed_in, when, Session, UiError, UiResult};
use crate::alerts::view::{self, AlertFilter, AlertView};
use crate::http::api::ApiError;
use crate::http::AppState;

/// `{name="value", ...}` for these labels: a silence's matchers for exactly them.
fn matchers_for(labels: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = labels.iter().map(|(name, value)| format!("{name}={}", serde_json::Value::String(value.clone()))).collect();
    format!("{{{}}}", pairs.join(", "))
}

fn labels_list(labels: &BTreeMap<String, String>) -> Markup {
    html! {
        ul class="labels" {
            @for (name, value) in labels { li { code { (name) "=" (value) } } }
        }
    }
}

fn mute_reason(alert: &AlertView) -> Markup {
    html! {
        @if alert.status.state == "active" {
            span class="badge firing" { "ACTIVE" }
        } @else {
            span class="badge muted" { "SUPPRESSED" }
            @for id in &alert.status.silenced_by {
                br; small { "silenced by " a href=(format!("/ui/silences#s-{id}")) { (id.get(..8).unwrap_or(id)) } }
            }
            @if !alert.status.inhibited_by.is_empty() {
                br; small { "inhibited by " (alert.status.inhibited_by.len()) " alert(s) under rule " (alert.inhibit_rules.join(", ")) }
            }
        }
    }
}

/// `GET /ui/alerts`.
pub async fn alerts(State(state): State<AppState>, headers: HeaderMap) -> UiResult {
    let session = signed_in(&state, &headers, "/ui/alerts").await?;
    let started = std::time::Instant::now();
    let now = state.clock.now();
    let routing = &state.inbound.effects.routing;
    let filter = AlertFilter::default();
    let firing = view::alerts(&state.store, &state.episodes, routing, &filter, now).await?;
    let groups = view::groups(&state.store, &state.episodes, routing, &filter, now).await?;
    let recent = view::episodes(&state.store, routing, true, None, 200, now).await?;
    let resolved: Vec<_> = recent.iter().filter(|episode| episode.state == EpisodeState::Resolved).take(50).collect();
    let muted = firing.iter().filter(|alert| alert.status.state != "active").count();
    let content = html! {
        p class="counts" { span class="count down" { (firing.len() - muted) " active" } span class="count unknown" { (muted) " silenced or inhibited" } }
        section aria-labelledby="firing" {
            h2 id="firing" { "Firing" }
            @if firing.is_empty() {
                p class="empty" { "Nothing is firing." }
            } @else {
                div class="scroll" { table {
                    thead { tr { th scope="col" { "Alert" } th scope="col" { "Since" } th scope="col" { "State" } th scope="col" { "Receivers" } th scope="col" { "Labels" } th scope="col" {} } }
                    tbody {
                        @for alert in &firing {
                            tr {
                                td { a href=(format!("/ui/alerts/{}", alert.record.id)) { (alert.record.name) }
                                    @if let Some(summary) = alert.record.annotations.get("summary") { br; small { (truncate(summary, 160)) } } }
                                td { (when(alert.record.starts_at)) br; small { (ago(alert.record.starts_at, now)) } }
                                td { (mute_reason(alert)) }
                                td { (alert.receivers.join(", ")) }
                                td { (labels_list(&alert.record.labels)) }
                                td { @if session.may(Role::Responder) {
                                    a class="button" href=(format!("/ui/silences/new?matchers={}", urlencode(&matchers_for(&alert.record.labels)))) { "Silence…" }
                                } }
                            }
                        }
                    }
                } }
            }
        }
        section aria-labelledby="groups" {
            h2 id="groups" { "Groups" }
            @if groups.is_empty() { p class="empty" { "No groups: nothing is firing." } }
            ul class="groups" {
                @for group in &groups {
                    li {
                        strong { (group.receiver.name) } " "
                        @for (name, value) in &group.labels { code { (name) "=" (value) } " " }
                        " — " (group.alerts.len()) " alert(s)"
                    }
                }
            }
        }
        section aria-labelledby="resolved" {
            h2 id="resolved" { "Recently resolved" }
            @if resolved.is_empty() { p class="empty" { "None recorded." } } @else {
                table {
                    thead { tr { th scope="col" { "Alert" } th scope="col" { "Fired" } th scope="col" { "Resolved" } th scope="col" { "Receivers" } } }
                    tbody {
                        @for episode in &resolved {
                            tr {
                                td { a href=(format!("/ui/alerts/{}", episode.id)) { (episode.name) } }
                                td { (episode.starts_at.get(..19).unwrap_or_default().replace('T', " ")) }
                                td { (episode.ends_at.as_deref().and_then(|end| end.get(..19)).unwrap_or_default().replace('T', " ")) }
                                td { (episode.receivers.join(", ")) }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="receivers" {
            h2 id="receivers" { "Receivers" }
            p { @for (index, name) in routing.receivers.keys().enumerate() { @if index > 0 { ", " } code { (name) } } }
        }
    };
    state.metrics.observe_render("alerts", started.elapsed());
    Ok(live_layout(&session, "/ui/alerts", "/ui/alerts", "Alerts", content))
}

/// `GET /ui/alerts/{id}`.
pub async fn alert(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> UiResult {
    let session = signed_in(&state, &headers, &format!("/ui/alerts/{}", urlencode(&id))).await?;
    let id: i64 = id.parse().map_err(|_| ApiError::BadRequest(format!("`{id}` is not an alert episode id (a whole number)")))?;
    let now = state.clock.now();
    let Some(detail) = view::episode(&state.store, &state.inbound.effects.routing, id, now).await? else {
        return Err(UiError::Api(ApiError::NotFound(format!("no alert episode {id}"))));
    };
    let episode = &detail.episode;
    let evidence = serde_json::to_string_pretty(&detail.evidence).unwrap_or_default();
    let content = html! {
        p class="lead" {
            @if episode.state == EpisodeState::Firing { span class="badge firing" { "FIRING" } } @else { span class="badge up" { "RESOLVED" } }
            " since " (episode.starts_at.get(..19).unwrap_or_default().replace('T', " "))
            @if let Some(status) = &episode.status { @if status.state != "active" { " — suppressed" } }
        }
        @if episode.state == EpisodeState::Firing && session.may(Role::Responder) {
            p { a class="button" href=(format!("/ui/silences/new?matchers={}", urlencode(&matchers_for(&episode.labels)))) { "Silence…" } }
        }
        @if let Some(status) = &episode.status {
            @if !status.silenced_by.is_empty() { p { "Silenced by " @for id in &status.silenced_by { a href=(format!("/ui/silences#s-{id}")) { (id) } " " } } }
            @if !status.inhibited_by.is_empty() { p { "Inhibited by alerts " (status.inhibited_by.join(", ")) " under rule " (status.inhibit_rules.join(", ")) } }
        }
        h2 { "Labels" } (labels_list(&episode.labels))
        @if !episode.annotations.is_empty() {
            h2 { "Annotations" }
            dl class="facts" { @for (name, value) in &episode.annotations { dt { (name) } dd { (value) } } }
        }
        h2 { "Groups" }
        ul { @for group in &detail.groups {
            li { strong { (group.receiver) } " " code { (group.group_key) } " — wait " (group.group_wait) ", interval " (group.group_interval) ", repeat " (group.repeat_interval) }
        } }
        h2 { "Decisions" }
        @if detail.decisions.is_empty() { p class="empty" { "None yet." } } @else {
            table {
                thead { tr { th scope="col" { "At" } th scope="col" { "Receiver" } th scope="col" { "Decision" } th scope="col" { "Detail" } } }
                tbody { @for decision in &detail.decisions {
                    tr { td { (decision.at.get(..19).unwrap_or_default().replace('T', " ")) } td { (decision.receiver) } td { (decision.kind.as_str()) } td { (decision.detail) } }
                } }
            }
        }
        h2 { "Evidence" }
        pre class="evidence" { (evidence) }
    };
    Ok(live_layout(&session, "/ui/alerts", &format!("/ui/alerts/{id}"), &format!("Alert {}", episode.name), content))
}

/// `GET /ui/silences`.
pub async fn silences(State(state): State<AppState>, headers: HeaderMap) -> UiResult {
    let session = signed_in(&state, &headers, "/ui/silences").await?;
    let now = state.clock.now();
    let mut records = state.store.silences(now, true).await?;
    records.sort_by_key(|record| (record.state(now) as u8, std::cmp::Reverse(record.ends_at)));
    let content = html! {
        @if session.may(Role::Responder) { p { a class="button" href="/ui/silences/new" { "New silence" } } }
        @if records.is_empty() { p class="empty" { "No silences." } } @else {
            div class="scroll" { table {
                thead { tr { th scope="col" { "Matchers" } th scope="col" { "State" } th scope="col" { "From" } th scope="col" { "Until" } th scope="col" { "By" } th scope="col" { "Comment" } th scope="col" {} } }
                tbody {
                    @for record in &records {
                        @let silence_state = record.state(now).as_str();
                        tr id=(format!("s-{}", record.id)) {
                            td { code { (record.matcher_text()) } }
                            td { span class=(format!("badge {silence_state}")) { (silence_state.to_uppercase()) } }
                            td { (when(record.starts_at)) }
                            td { (when(record.ends_at)) }
                            td { (record.created_by) }
                            td { (record.comment) }
                            td { @if silence_state != "expired" && session.may(Role::Responder) {
                                (button(&session, &format!("/ui/silences/{}/expire", record.id), "Expire", "danger"))
                            } }
                        }
                    }
                }
            } }
        }
    };
    Ok(live_layout(&session, "/ui/silences", "/ui/silences", "Silences", content))
}

fn silence_form(session: &Session, matchers: &str, duration: &str, comment: &str) -> Markup {
    html! {
        form method="post" action="/ui/silences" class="stack" {
            (csrf_field(session))
            label for="matchers" { "Matchers" }
            input id="matchers" name="matchers" value=(matchers) required placeholder="{alertname=\"api\", severity=~\"page|ticket\"}" spellcheck="false";
            label for="duration" { "Duration" }
            input id="duration" name="duration" value=(duration) required placeholder="2h";
            label for="comment" { "Comment" }
            input id="comment" name="comment" value=(comment) required placeholder="why (starting with \"maintenance\" shows it on the status page)";
            div class="buttons" {
                button type="submit" formmethod="get" formaction="/ui/silences/new" class="secondary" { "Preview" }
                button type="submit" { "Create silence" }
            }
        }
    }
}

/// `GET /ui/silences/new?matchers=…`: the form, and which firing alerts it would silence.
pub async fn new_silence(State(state): State<AppState>, headers: HeaderMap, raw: RawQuery) -> UiResult {
    let session = signed_in(&state, &headers, "/ui/silences/new").await?;
    if !session.may(Role::Responder) {
        return Err(UiError::Api(ApiError::Forbidden(format!(
            "{} has role {}; silencing needs responder",
            session.principal.name, session.principal.role
        ))));
    }
    let params = query(raw);
    let matchers = param(&params, "matchers").unwrap_or_default();
    let duration = param(&params, "duration").unwrap_or("2h");
    let comment = param(&params, "comment").unwrap_or_default();
    let preview = if matchers.is_empty() {
        None
    } else {
        Some(match vigil_alerts::matcher::parse(matchers) {
            Err(error) => Err(error),
            Ok(parsed) => {
                let filter = AlertFilter { matchers: parsed, ..AlertFilter::default() };
                Ok(view::alerts(&state.store, &state.episodes, &state.inbound.effects.routing, &filter, state.clock.now()).await?)
            }
        })
    };
    let content = html! {
        (silence_form(&session, matchers, duration, comment))
        @match &preview {
            None => p class="hint" { "Preview shows which firing alerts the matchers match now." },
            Some(Err(error)) => p class="problem" role="alert" { "Bad matchers: " (error) },
            Some(Ok(matched)) => section aria-labelledby="preview" aria-live="polite" {
                h2 id="preview" { "Matches " (matched.len()) " firing alert(s) now" }
                ul { @for alert in matched { li { a href=(format!("/ui/alerts/{}", alert.record.id)) { (alert.record.name) } " " code { (matchers_for(&alert.record.labels)) } } } }
            },
        }
    };
    Ok(layout(&session, "/ui/silences", "New silence", content))
}

/// `POST /ui/silences`.
pub async fn create_silence(State(state): State<AppState>, request: Request) -> UiResult {
    let (session, fields) = form(&state, request, "/ui/silences/new", Role::Responder).await?;
    let matchers = fields.required("matchers")?;
    let comment = fields.required("comment")?;
    let duration = fields.required("duration")?;
    let length = humantime::parse_duration(duration)
        .map_err(|error| ApiError::BadRequest(format!("duration `{duration}`: {error} (e.g. 30m, 2h, 1d)")))?;
    let now = state.clock.now();
    let ends = Timestamp(now.0.saturating_add(i64::try_from(length.as_millis()).unwrap_or(i64::MAX)));
    let by = format!("{} (ui)", session.principal.name);
    match crate::alerts::silences::create(&state.store, matchers, now, ends, &by, comment, now).await? {
        Ok(record) => {
            let detail = format!("{} until {}", record.matcher_text(), record.ends_at);
            crate::http::alertmanager::audit(&state, &session.principal.name, &format!("silence {}", record.id), "created", detail).await;
            state.inbound.effects.episodes_stored();
            Ok(redirect(&format!("/ui/silences#s-{}", record.id)))
        }
        Err(why) => Err(UiError::Api(ApiError::BadRequest(why))),
    }
}

/// `POST /ui/silences/{id}/expire`.
pub async fn expire_silence(State(state): State<AppState>, Path(id): Path<String>, request: Request) -> UiResult {
    let (session, _) = form(&state, request, "/ui/silences", Role::Responder).await?;
    match state.store.silence(&id).await? {
        Some(record) if record.id == id => {
            state.store.expire_silence(&id, state.clock.now()).await?;
            crate::http::alertmanager::audit(&state, &session.principal.name, &format!("silence {id}"), "expired", record.matcher_text())
                .await;
            state.inbound.effects.episodes_stored();
            Ok(redirect("/ui/silences"))
        }
        _ => Err(UiError::Api(ApiError::NotFound(format!("silence {id} not found")))),
    }
}
