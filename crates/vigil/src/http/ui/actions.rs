//! Remediation: the kill switch, each action's open circuit breakers, and the latest
//! executions with every guard decision; responders approve or refuse waiting ones,
//! pause and resume all actions, and reset an action's breakers.

use axum::extract::{Path, Request, State};
use axum::http::HeaderMap;
use maud::html;
use vigil_core::auth::Role;
use vigil_store::{ApprovalAnswer, ExecutionState};

use super::{button, csrf_field, form, live_layout, redirect, signed_in, when, UiError, UiResult};
use crate::http::api::ApiError;
use crate::http::AppState;

/// `GET /ui/actions`.
pub async fn actions(State(state): State<AppState>, headers: HeaderMap) -> UiResult {
    let session = signed_in(&state, &headers, "/ui/actions").await?;
    let paused = state.store.paused().await?;
    let breakers = state.store.open_breakers().await?;
    let executions = state.store.executions(None, 100).await?;
    let responder = session.may(Role::Responder);
    let names: Vec<&String> = state.inbound.effects.planner.names().collect();
    let content = html! {
        p class="lead" {
            @if paused { span class="badge down" { "PAUSED" } " Every execution is suppressed by the kill switch." }
            @else { span class="badge up" { "ENABLED" } " Actions run when their guards pass." }
        }
        @if responder {
            div class="buttons" {
                @if paused { (button(&session, "/ui/actions/resume", "Resume actions", "primary")) }
                @else { (button(&session, "/ui/actions/pause", "Pause all actions", "danger")) }
            }
        }
        h2 { "Actions" }
        @if names.is_empty() { p class="empty" { "No actions are configured." } }
        ul {
            @for name in &names {
                @let open: Vec<_> = breakers.iter().filter(|(action, _, _)| action == *name).collect();
                li {
                    code { (name) }
                    @if open.is_empty() { " — breakers closed" } @else {
                        @for (_, target, since) in &open { " — breaker OPEN on " code { (target) } " since " (when(*since)) }
                        @if responder {
                            form method="post" action=(format!("/ui/actions/reset")) class="inline" {
                                (csrf_field(&session))
                                input type="hidden" name="action" value=(name);
                                button type="submit" { "Reset breakers" }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Executions" }
        @if executions.is_empty() { p class="empty" { "No executions yet." } } @else {
            div class="scroll" { table {
                thead { tr { th scope="col" { "#" } th scope="col" { "Action" } th scope="col" { "Target" } th scope="col" { "State" } th scope="col" { "Created" } th scope="col" { "Guards and result" } th scope="col" {} } }
                tbody { @for execution in &executions {
                    @let decisions: Vec<serde_json::Value> = serde_json::from_str(&execution.decisions).unwrap_or_default();
                    tr {
                        td { (execution.id) }
                        td { code { (execution.action) } @if execution.dry_run { " (dry run)" } }
                        td { (execution.target) @if let Some(error) = &execution.target_error { span class="problem" { (error) } } }
                        td { span class=(format!("badge {}", execution.state.as_str())) { (execution.state.as_str()) } }
                        td { (when(execution.created_at)) }
                        td {
                            details {
                                summary { (execution.summary) }
                                ul class="guards" { @for decision in &decisions {
                                    li {
                                        @if decision["passed"].as_bool() == Some(true) { "✓ " } @else { "✗ " }
                                        code { (decision["guard"].as_str().map(str::to_owned).unwrap_or_else(|| decision["guard"].to_string())) } " "
                                        (decision["reason"].as_str().unwrap_or_default())
                                    }
                                } }
                                @if let Some(result) = &execution.result { p { (result) } }
                            }
                        }
                        td { @if responder && execution.state == ExecutionState::AwaitingApproval {
                            (button(&session, &format!("/ui/actions/approve-{}", execution.id), "Approve", "primary"))
                            (button(&session, &format!("/ui/actions/refuse-{}", execution.id), "Refuse", "danger"))
                        } }
                    }
                } }
            } }
        }
    };
    Ok(live_layout(&session, "/ui/actions", "/ui/actions", "Actions", content))
}

/// `POST /ui/actions/{pause|resume|reset|approve-ID|refuse-ID}`.
pub async fn act(State(state): State<AppState>, Path(what): Path<String>, request: Request) -> UiResult {
    let (session, fields) = form(&state, request, "/ui/actions", Role::Responder).await?;
    let who = format!("{} (ui)", session.principal.name);
    let now = state.clock.now();
    match what.as_str() {
        "pause" => state.store.set_paused(true, &who, now).await?,
        "resume" => {
            state.store.set_paused(false, &who, now).await?;
            state.inbound.effects.wake_actions.notify_one();
        }
        "reset" => {
            let action = fields.required("action")?;
            if state.inbound.effects.planner.action(action).is_none() {
                return Err(UiError::Api(ApiError::NotFound(format!("no action `{action}`"))));
            }
            state.store.reset_breakers(action, now).await?;
        }
        other => {
            let (approve, id) = match other.split_once('-') {
                Some(("approve", id)) => (true, id),
                Some(("refuse", id)) => (false, id),
                _ => return Err(UiError::Api(ApiError::NotFound(format!("no action operation `{other}`")))),
            };
            let id: i64 = id.parse().map_err(|_| ApiError::BadRequest(format!("`{id}` is not an execution id")))?;
            match state.store.answer_approval(id, approve, &who, now).await? {
                ApprovalAnswer::Recorded(_) => state.inbound.effects.wake_actions.notify_one(),
                ApprovalAnswer::NotFound => return Err(UiError::Api(ApiError::NotFound(format!("no execution {id}")))),
                ApprovalAnswer::NotWaiting(current) => {
                    return Err(UiError::Api(ApiError::Conflict(format!(
                        "execution {id} is not waiting for approval (it is {})",
                        current.as_str()
                    ))))
                }
            }
        }
    }
    Ok(redirect("/ui/actions"))
}
