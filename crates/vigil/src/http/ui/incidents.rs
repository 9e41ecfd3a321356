//! Incidents (the open ones and the last 30 days), one incident (alerts, roles,
//! escalation, the whole timeline, action items; acknowledge, resolve, notes, updates,
//! roles, severity), its postmortem draft (shown, and as Markdown to download), and who
//! is on call now and next.

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::IntoResponse;
use maud::html;
use vigil_core::auth::Role;
use vigil_core::Timestamp;

use super::monitors::urlencode;
use super::{button, csrf_field, form, layout, live_layout, redirect, signed_in, when, UiError, UiResult};
use crate::http::api::ApiError;
use crate::http::incidents::{incident_id, perform, ActionBody};
use crate::http::AppState;

const DAY: i64 = 86_400_000;

fn short(rfc3339: &str) -> String {
    rfc3339.get(..19).unwrap_or(rfc3339).replace('T', " ")
}

/// `GET /ui/incidents`.
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> UiResult {
    let session = signed_in(&state, &headers, "/ui/incidents").await?;
    let now = state.clock.now();
    let records = state.store.incidents(Timestamp(now.0 - 30 * DAY), false, 1_000).await?;
    let (open, closed): (Vec<_>, Vec<_>) = records.iter().partition(|record| record.is_open());
    let table = |rows: &[&vigil_store::IncidentRecord]| {
        html! {
            table {
                thead { tr { th scope="col" { "#" } th scope="col" { "Title" } th scope="col" { "Severity" } th scope="col" { "Status" } th scope="col" { "Service" } th scope="col" { "Opened" } th scope="col" { "Acknowledged" } } }
                tbody { @for record in rows {
                    tr {
                        td { a href=(format!("/ui/incidents/{}", record.id)) { "#" (record.id) } }
                        td { a href=(format!("/ui/incidents/{}", record.id)) { (record.title) } }
                        td { span class=(format!("badge sev{}", record.severity.as_str().trim_start_matches("SEV-"))) { (record.severity.as_str()) } }
                        td { (record.status.as_str()) }
                        td { (record.service.as_deref().unwrap_or("")) }
                        td { (when(record.opened_at)) }
                        td { @if let Some(by) = &record.acknowledged_by { (by) } @else { "—" } }
                    }
                } }
            }
        }
    };
    let content = html! {
        section aria-labelledby="open" {
            h2 id="open" { "Open (" (open.len()) ")" }
            @if open.is_empty() { p class="empty" { "No open incidents." } } @else { div class="scroll" { (table(&open)) } }
        }
        section aria-labelledby="closed" {
            h2 id="closed" { "Resolved in the last 30 days (" (closed.len()) ")" }
            @if closed.is_empty() { p class="empty" { "None." } } @else { div class="scroll" { (table(&closed)) } }
        }
    };
    Ok(live_layout(&session, "/ui/incidents", "/ui/incidents", "Incidents", content))
}

/// `GET /ui/incidents/{id}`.
pub async fn detail(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> UiResult {
    let session = signed_in(&state, &headers, &format!("/ui/incidents/{}", urlencode(&id))).await?;
    let id = incident_id(&id)?;
    let Some(detail) = crate::incidents::view::detail(&state.store, id).await? else {
        return Err(UiError::Api(ApiError::NotFound(format!("no incident #{id}"))));
    };
    let incident = &detail.incident;
    let open = incident.resolved_at.is_none();
    let responder = session.may(Role::Responder);
    let act = |action: &str| format!("/ui/incidents/{id}/{action}");
    let content = html! {
        p class="lead" {
            span class=(format!("badge sev{}", incident.severity.trim_start_matches("SEV-"))) { (incident.severity) } " "
            strong { (incident.status) }
            @if let Some(service) = &incident.service { " · service " (service) }
            " · opened " (short(&incident.opened_at)) " by " (incident.opened_by)
        }
        @if responder && open {
            div class="buttons" {
                @if incident.acknowledged_at.is_none() { (button(&session, &act("acknowledge"), "Acknowledge", "primary")) }
                (button(&session, &act("resolve"), "Resolve", "danger"))
            }
        }
        dl class="facts" {
            dt { "Acknowledged" } dd { @if let (Some(at), Some(by)) = (&incident.acknowledged_at, &incident.acknowledged_by) { (short(at)) " by " (by) } @else { "not yet" } }
            @if let (Some(at), Some(by)) = (&incident.resolved_at, &incident.resolved_by) { dt { "Resolved" } dd { (short(at)) " by " (by) } }
            @if let Some(escalation) = &detail.escalation {
                dt { "Escalation" } dd { (escalation.policy) ": " (escalation.state) ", " (escalation.sent) " page(s) sent"
                    @if let Some(next) = &escalation.next_due { ", next " (short(next)) } }
            }
            dt { "Roles" } dd { @if detail.roles.is_empty() { "none assigned" } @for role in &detail.roles { (role.role) ": " (role.person) "; " } }
        }
        @if !detail.alerts.is_empty() {
            h2 { "Alerts" }
            ul { @for alert in &detail.alerts {
                li { a href=(format!("/ui/alerts/{}", alert.episode)) { (alert.name) } " from " (short(&alert.started_at))
                    @if let Some(resolved) = &alert.resolved_at { " to " (short(resolved)) } @else { " (firing)" } }
            } }
        }
        @if responder && open {
            section aria-labelledby="respond" class="forms" {
                h2 id="respond" { "Respond" }
                form method="post" action=(act("notes")) class="stack" {
                    (csrf_field(&session))
                    label for="note" { "Note (internal)" }
                    textarea id="note" name="text" rows="2" required {}
                    button type="submit" { "Add note" }
                }
                form method="post" action=(act("updates")) class="stack" {
                    (csrf_field(&session))
                    label for="update" { "Stakeholder update" }
                    textarea id="update" name="text" rows="2" required {}
                    label for="update-status" { "Status" }
                    select id="update-status" name="status" {
                        option value="" { "unchanged" }
                        @for status in ["investigating", "identified", "monitoring", "resolved"] { option value=(status) { (status) } }
                    }
                    label class="check" { input type="checkbox" name="public" value="true"; " Public (shown on the status page)" }
                    button type="submit" { "Post update" }
                }
                form method="post" action=(act("roles")) class="stack" {
                    (csrf_field(&session))
                    label for="role" { "Role" }
                    select id="role" name="role" { @for role in ["commander", "communicator", "scribe", "responder"] { option value=(role) { (role) } } }
                    label for="person" { "Person" }
                    input id="person" name="person" required list="people";
                    datalist id="people" { @for person in state.incidents.on_call.people.keys() { option value=(person) {} } }
                    button type="submit" { "Assign" }
                }
                form method="post" action=(act("severity")) class="stack" {
                    (csrf_field(&session))
                    label for="severity" { "Severity" }
                    select id="severity" name="severity" { @for severity in ["SEV-1", "SEV-2", "SEV-3"] { option value=(severity) selected[severity == incident.severity] { (severity) } } }
                    button type="submit" { "Change severity" }
                }
            }
        }
        h2 { "Timeline" }
        ol class="timeline" {
            @for entry in &detail.timeline {
                li class=(format!("entry {}", entry.kind)) {
                    time datetime=(entry.at) { (short(&entry.at)) } " "
                    span class="kind" { (entry.kind) } " "
                    span class="actor" { (entry.actor) } ": "
                    (entry.text)
                }
            }
        }
        @if !detail.action_items.is_empty() {
            h2 { "Action items" }
            ul { @for item in &detail.action_items {
                li { @if item.done_at.is_some() { s { (item.text) } } @else { (item.text) } " — " (item.owner)
                    @if let Some(due) = &item.due { ", due " (short(due)) } }
            } }
        }
        p { a href=(format!("/ui/incidents/{id}/postmortem")) { "Postmortem draft" } " · "
            a href=(format!("/ui/incidents/{id}/postmortem.md")) download=(format!("incident-{id}-postmortem.md")) { "Download as Markdown" } }
    };
    Ok(layout(&session, "/ui/incidents", &format!("#{id} {}", incident.title), content))
}

/// `POST /ui/incidents/{id}/{action}`.
pub async fn act(State(state): State<AppState>, Path((id, action)): Path<(String, String)>, request: Request) -> UiResult {
    let back = format!("/ui/incidents/{}", urlencode(&id));
    let (session, fields) = form(&state, request, &back, Role::Responder).await?;
    let id = incident_id(&id)?;
    let text = |name: &str| fields.get(name).map(str::trim).filter(|value| !value.is_empty()).map(str::to_owned);
    let body = ActionBody {
        text: text("text"),
        role: text("role"),
        person: text("person"),
        status: text("status"),
        severity: text("severity"),
        public: fields.get("public") == Some("true"),
    };
    perform(&state, id, &action, &body, &session.principal.name, "the UI").await?;
    Ok(redirect(&format!("/ui/incidents/{id}")))
}

async fn draft(state: &AppState, id: i64) -> Result<String, UiError> {
    let postmortem = crate::incidents::postmortem::gather(&state.store, id, &state.incidents.slos, state.clock.now()).await?;
    let postmortem = postmortem.ok_or_else(|| ApiError::NotFound(format!("no incident #{id}")))?;
    Ok(crate::incidents::postmortem::markdown(&postmortem))
}

/// `GET /ui/incidents/{id}/postmortem`.
pub async fn postmortem(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> UiResult {
    let session = signed_in(&state, &headers, &format!("/ui/incidents/{}/postmortem", urlencode(&id))).await?;
    let id = incident_id(&id)?;
    let markdown = draft(&state, id).await?;
    let content = html! {
        p { a href=(format!("/ui/incidents/{id}")) { "Back to the incident" } " · "
            a href=(format!("/ui/incidents/{id}/postmortem.md")) download=(format!("incident-{id}-postmortem.md")) { "Download as Markdown" } }
        pre class="markdown" { (markdown) }
    };
    Ok(layout(&session, "/ui/incidents", &format!("Postmortem of #{id}"), content))
}

/// `GET /ui/incidents/{id}/postmortem.md`.
pub async fn postmortem_markdown(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> UiResult {
    signed_in(&state, &headers, &format!("/ui/incidents/{}/postmortem", urlencode(&id))).await?;
    let id = incident_id(&id)?;
    let markdown = draft(&state, id).await?;
    let mut response = markdown.into_response();
    super::secure(&mut response, "text/markdown; charset=utf-8");
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"incident-{id}-postmortem.md\"")) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// `GET /ui/oncall`: each schedule's person now and next.
pub async fn oncall(State(state): State<AppState>, headers: HeaderMap) -> UiResult {
    let session = signed_in(&state, &headers, "/ui/oncall").await?;
    let now = state.clock.now();
    let current = state.incidents.who(None, now).await?;
    let mut rows = Vec::new();
    for entry in current {
        let next = match entry.until {
            Some(until) => state.incidents.who(Some(&entry.schedule), until).await?.into_iter().next(),
            None => None,
        };
        rows.push((entry, next));
    }
    let content = html! {
        @if rows.is_empty() { p class="empty" { "No schedules are configured (on-call: in the config)." } } @else {
            table {
                thead { tr { th scope="col" { "Schedule" } th scope="col" { "On call now" } th scope="col" { "Until" } th scope="col" { "Next" } } }
                tbody { @for (entry, next) in &rows {
                    tr {
                        td { (entry.schedule) }
                        td { strong { (entry.person.as_deref().unwrap_or("nobody")) } @if entry.layer.is_none() && entry.person.is_some() { " (override)" } }
                        td { @if let Some(until) = entry.until { (when(until)) } @else { "—" } }
                        td { (next.as_ref().and_then(|next| next.person.as_deref()).unwrap_or("—")) }
                    }
                } }
            }
        }
    };
    Ok(live_layout(&session, "/ui/oncall", "/ui/oncall", "On-call", content))
}
