//! SLOs: each one's SLI, error budget left (negative when overspent) and the burn rate
//! over every alert window, drawn against the rate that fires it.

use axum::extract::State;
use axum::http::HeaderMap;
use maud::html;

use super::svg::burn_chart;
use super::{live_layout, signed_in, UiResult};
use crate::http::AppState;

/// `GET /ui/slos`.
pub async fn slos(State(state): State<AppState>, headers: HeaderMap) -> UiResult {
    let session = signed_in(&state, &headers, "/ui/slos").await?;
    let started = std::time::Instant::now();
    let reports = crate::slos::report::reports(&state.store, &state.slos, state.clock.now()).await?;
    let content = html! {
        @if reports.is_empty() { p class="empty" { "No SLOs are configured (slos: in the config)." } }
        @for report in &reports {
            @let left = report.budget_remaining;
            @let status_class = match report.status { "ok" => "up", "no data" => "unknown", _ => "down" };
            section class="slo" aria-labelledby=(format!("slo-{}", report.name)) {
                h2 id=(format!("slo-{}", report.name)) { (report.name) " " span class=(format!("badge {status_class}")) { (report.status.to_uppercase()) } }
                p {
                    "Objective " strong { (report.objective) } " over " (report.window)
                    @if let Some(service) = &report.service { " · service " (service) }
                    " · SLI " strong { @match report.sli { Some(sli) => (format!("{:.4}%", 100.0 * sli)), None => "no events" } }
                    " (" (report.bad) " bad of " (report.events) ")"
                }
                p {
                    "Error budget left: " strong class=(if left < 0.0 { "negative" } else { "" }) { (format!("{:.2}%", 100.0 * left)) }
                    @if left < 0.0 { " (overspent)" }
                    @match report.exhausted_in_seconds {
                        Some(0) => " · budget spent",
                        Some(seconds) => { " · spent in " (vigil_core::time::format_duration(std::time::Duration::from_secs(seconds.unsigned_abs()))) " at the current rate" },
                        None => "",
                    }
                }
                meter min="0" max="1" low="0.25" high="0.5" optimum="1" value=(format!("{:.4}", left.clamp(0.0, 1.0))) aria-label="error budget left" {}
                @let rows: Vec<(String, f64, f64)> = report.alerts.iter().flat_map(|alert| {
                    let threshold: f64 = alert.above.parse().unwrap_or(0.0);
                    [(format!("{} {}", alert.severity, alert.long), alert.burn_rate_long, threshold),
                     (format!("{} {}", alert.severity, alert.short), alert.burn_rate_short, threshold)]
                }).collect();
                (burn_chart(&rows, &format!("{}: burn rate per alert window against its threshold", report.name)))
                ul class="alerts" {
                    @for alert in &report.alerts {
                        li { (alert.severity) ": fires above " (alert.above) " over " (alert.long) " and " (alert.short)
                            @if alert.firing { " — " strong class="negative" { "FIRING" } } }
                    }
                }
            }
        }
    };
    state.metrics.observe_render("slos", started.elapsed());
    Ok(live_layout(&session, "/ui/slos", "/ui/slos", "SLOs", content))
}
