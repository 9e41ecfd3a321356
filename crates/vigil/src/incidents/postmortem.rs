//! `vigil postmortem ID`: a blameless postmortem drafted from the record, with the
//! sections of the common templates (Google's SRE book): the facts are filled in (dates,
//! duration, impact, detection, response, timeline, remediation, action items) and the
//! judgement is left as headings to write (summary, root cause and trigger, what went
//! well, what went badly, where we got lucky).

use std::collections::BTreeMap;
use std::time::Duration;

use vigil_core::time::format_duration;
use vigil_core::Timestamp;
use vigil_store::{
    ActionItem, AlertSource, EpisodeRecord, IncidentAlert, IncidentRecord, Remediation, RoleRecord, Store, StoreError, TimelineEntry,
    UpdateRecord,
};

/// Everything the draft is made from.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Postmortem {
    pub incident: IncidentRecord,
    /// How long it lasted (to now while open), milliseconds.
    pub duration_ms: i64,
    pub alerts: Vec<AlertFacts>,
    /// Downtime of each affected monitor within the incident, milliseconds.
    pub downtime_ms: BTreeMap<String, i64>,
    pub services: Vec<String>,
    /// Error budget consumed per SLO over the incident, in percent of the budget, from
    /// the hourly samples around it.
    pub slo_budget_consumed: BTreeMap<String, f64>,
    pub mttd_ms: Option<i64>,
    pub mtta_ms: Option<i64>,
    pub mttr_ms: Option<i64>,
    pub roles: Vec<RoleRecord>,
    /// Pages and their deliveries, from the timeline.
    pub pages: Vec<TimelineEntry>,
    pub timeline: Vec<TimelineEntry>,
    pub remediations: Vec<Remediation>,
    pub updates: Vec<UpdateRecord>,
    pub action_items: Vec<ActionItem>,
}

/// An alert of the incident with its episode.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AlertFacts {
    #[serde(flatten)]
    pub alert: IncidentAlert,
    pub source: Option<AlertSource>,
    pub labels: BTreeMap<String, String>,
    pub summary: Option<String>,
    pub evidence: serde_json::Value,
    pub ended_at: Option<Timestamp>,
}

/// Reads the record of incident `id`; `slos` are the configured SLOs' names.
pub async fn gather(store: &Store, id: i64, slos: &[String], now: Timestamp) -> Result<Option<Postmortem>, StoreError> {
    let Some(incident) = store.incident(id).await? else { return Ok(None) };
    let end = incident.resolved_at.unwrap_or(now);
    let mut alerts = Vec::new();
    let mut downtime_ms: BTreeMap<String, i64> = BTreeMap::new();
    for alert in store.incident_alerts(id).await? {
        let episode: Option<EpisodeRecord> = store.episode(alert.episode_id).await?;
        let ended_at = episode
            .as_ref()
            .and_then(|episode| (episode.state == vigil_store::EpisodeState::Resolved).then_some(episode.ends_at).flatten());
        if let Some(episode) = episode.as_ref().filter(|episode| episode.source == AlertSource::Monitor) {
            let down = ended_at.unwrap_or(end).0.min(end.0) - episode.starts_at.0;
            *downtime_ms.entry(episode.source_key.clone()).or_default() += down.max(0);
        }
        alerts.push(AlertFacts {
            source: episode.as_ref().map(|episode| episode.source),
            labels: episode.as_ref().map(|episode| episode.labels.clone()).unwrap_or_default(),
            summary: episode.as_ref().and_then(|episode| episode.annotations.get("summary").cloned()),
            evidence: episode.as_ref().map(|episode| episode.evidence.clone()).unwrap_or(serde_json::Value::Null),
            ended_at,
            alert,
        });
    }
    let mut services: Vec<String> = incident.service.iter().cloned().collect();
    for alert in &alerts {
        if let Some(service) = alert.labels.get("service").or_else(|| alert.labels.get("monitor")) {
            if !services.contains(service) {
                services.push(service.clone());
            }
        }
    }
    let mut slo_budget_consumed = BTreeMap::new();
    for slo in slos {
        let samples = store.slo_history(slo, incident.triggered_at.0 - 3_600_000).await?;
        let budget = |sample: &vigil_store::SloSample| {
            let allowed = sample.total as f64 * (1.0 - sample.objective_ppb as f64 / 1e9);
            if allowed > 0.0 {
                1.0 - sample.bad as f64 / allowed
            } else {
                1.0
            }
        };
        let before = samples.iter().rfind(|sample| sample.at <= incident.triggered_at.0);
        let after = samples.iter().find(|sample| sample.at >= end.0).or(samples.last());
        if let (Some(before), Some(after)) = (before, after) {
            let consumed = (budget(before) - budget(after)) * 100.0;
            if consumed > 0.0 {
                slo_budget_consumed.insert(slo.clone(), (consumed * 100.0).round() / 100.0);
            }
        }
    }
    let timeline = store.timeline(id).await?;
    let pages =
        timeline.iter().filter(|entry| matches!(entry.kind.as_str(), "page" | "fallback" | "delivered" | "failed")).cloned().collect();
    Ok(Some(Postmortem {
        duration_ms: end.0 - incident.triggered_at.0,
        mttd_ms: incident.first_signal_at.map(|at| incident.triggered_at.0 - at.0),
        mtta_ms: incident.acknowledged_at.map(|at| at.0 - incident.triggered_at.0),
        mttr_ms: incident.resolved_at.map(|at| at.0 - incident.triggered_at.0),
        roles: store.incident_roles(id).await?,
        remediations: store.incident_remediations(id).await?,
        updates: store.incident_updates(Some(id), 1_000).await?,
        action_items: store.action_items(Some(id), false).await?,
        incident,
        alerts,
        downtime_ms,
        services,
        slo_budget_consumed,
        pages,
        timeline,
    }))
}

fn took(millis: i64) -> String {
    format_duration(Duration::from_millis(millis.max(0) as u64))
}

fn time(at: Timestamp) -> String {
    at.to_rfc3339()
}

/// The draft in Markdown.
pub fn markdown(postmortem: &Postmortem) -> String {
    let incident = &postmortem.incident;
    let mut out = String::new();
    let line = |out: &mut String, text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(&mut out, format!("# Postmortem: {} (incident #{})\n", incident.title, incident.id));
    line(&mut out, "_Blameless: this describes what happened and how the system let it happen, not who is at fault._\n".to_owned());
    line(&mut out, format!("- **Severity:** {} ({})", incident.severity, incident.severity.definition()));
    line(&mut out, format!("- **Status:** {}", incident.status));
    line(&mut out, format!("- **Started:** {}", time(incident.triggered_at)));
    match incident.resolved_at {
        Some(at) => line(&mut out, format!("- **Resolved:** {} by {}", time(at), incident.resolved_by.as_deref().unwrap_or("?"))),
        None => line(&mut out, "- **Resolved:** not yet".to_owned()),
    }
    line(&mut out, format!("- **Duration:** {}", took(postmortem.duration_ms)));
    let roles: Vec<String> = postmortem.roles.iter().map(|role| format!("{} {}", role.role, role.person)).collect();
    if !roles.is_empty() {
        line(&mut out, format!("- **Roles:** {}", roles.join(", ")));
    }
    line(&mut out, "\n## Summary\n\n_To write: what happened, in two or three sentences._\n".to_owned());

    line(&mut out, "## Impact\n".to_owned());
    line(
        &mut out,
        format!("- Services: {}", if postmortem.services.is_empty() { "none recorded".to_owned() } else { postmortem.services.join(", ") }),
    );
    for (monitor, down) in &postmortem.downtime_ms {
        line(&mut out, format!("- Monitor {monitor} was DOWN for {}", took(*down)));
    }
    for (slo, consumed) in &postmortem.slo_budget_consumed {
        line(&mut out, format!("- SLO {slo}: {consumed:.2}% of its error budget consumed"));
    }
    line(&mut out, "- _To write: who was affected and how (users, requests, data)._\n".to_owned());

    line(&mut out, "## Detection\n".to_owned());
    if let Some(first) = postmortem.alerts.first() {
        let summary = first.summary.as_deref().map(|text| format!(": {text}")).unwrap_or_default();
        line(&mut out, format!("- First alert: **{}** at {}{summary}", first.alert.name, time(first.alert.started_at)));
        if let Some(evidence) = first.evidence.as_array().filter(|lines| !lines.is_empty()) {
            for item in evidence.iter().take(5) {
                line(&mut out, format!("  - evidence: `{}`", item.as_str().map_or_else(|| item.to_string(), str::to_owned)));
            }
        }
    } else {
        line(&mut out, format!("- Opened by hand by {}", incident.opened_by));
    }
    if let Some(mttd) = postmortem.mttd_ms {
        line(&mut out, format!("- Time to detect (first sign → alert): {}", took(mttd)));
    }
    for alert in postmortem.alerts.iter().skip(1) {
        line(&mut out, format!("- Then: {} at {}", alert.alert.name, time(alert.alert.started_at)));
    }

    line(&mut out, "\n## Response\n".to_owned());
    for entry in &postmortem.pages {
        line(&mut out, format!("- {} {}", time(entry.at), entry.text));
    }
    match (incident.acknowledged_at, &incident.acknowledged_by) {
        (Some(at), Some(by)) => {
            line(&mut out, format!("- Acknowledged by {by} at {} (after {})", time(at), took(postmortem.mtta_ms.unwrap_or(0))))
        }
        _ => line(&mut out, "- Not acknowledged".to_owned()),
    }
    if let Some(mttr) = postmortem.mttr_ms {
        line(&mut out, format!("- Time to resolve: {}", took(mttr)));
    }

    line(&mut out, "\n## Remediation\n".to_owned());
    if postmortem.remediations.is_empty() {
        line(&mut out, "- No automated remediation ran.".to_owned());
    }
    for remediation in &postmortem.remediations {
        let result = remediation.result.as_deref().map(|text| format!(": {text}")).unwrap_or_default();
        line(
            &mut out,
            format!(
                "- {} on {} (execution {}): **{}**{result}",
                remediation.action, remediation.target, remediation.execution_id, remediation.state
            ),
        );
        for entry in &remediation.audit {
            line(&mut out, format!("  - {} {}: {}", time(entry.at), entry.event, entry.detail));
        }
    }

    line(&mut out, "\n## Timeline\n".to_owned());
    for entry in &postmortem.timeline {
        line(&mut out, format!("- {} [{}] {} — {}", time(entry.at), entry.kind, entry.actor, entry.text));
    }

    for heading in ["Root cause and trigger", "What went well", "What went badly", "Where we got lucky"] {
        line(&mut out, format!("\n## {heading}\n\n_To write._"));
    }

    line(&mut out, "\n## Action items\n".to_owned());
    if postmortem.action_items.is_empty() {
        line(&mut out, "_None yet: vigil incident action-item add ID \"...\" --owner NAME --due YYYY-MM-DD_".to_owned());
    }
    for item in &postmortem.action_items {
        let due = item.due_at.map(|at| format!(", due {}", time(at))).unwrap_or_default();
        let done = if item.done_at.is_some() { "x" } else { " " };
        line(&mut out, format!("- [{done}] #{} {} (owner {}{due})", item.id, item.text, item.owner));
    }
    out
}
