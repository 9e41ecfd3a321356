//! Incidents as the API and the CLI show them. An incident's timeline is its stored
//! entries merged, by time, with the audit trail of the remediations its alerts caused
//! (every guard decision and outcome), which the action worker records on its own.

use serde::Serialize;
use vigil_core::Timestamp;
use vigil_store::{IncidentRecord, Store, StoreError, TimelineEntry};

fn time(at: Timestamp) -> String {
    at.to_rfc3339()
}

/// One incident.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct IncidentView {
    pub id: i64,
    pub title: String,
    /// `SEV-1`, `SEV-2` or `SEV-3`.
    pub severity: String,
    /// `investigating`, `identified`, `monitoring` or `resolved`.
    pub status: String,
    pub service: Option<String>,
    /// The escalation policy paging for it.
    pub escalation: Option<String>,
    pub opened_at: String,
    pub opened_by: String,
    /// What MTTA and MTTR count from: its first alert's start, or its opening.
    pub triggered_at: String,
    pub first_signal_at: Option<String>,
    pub acknowledged_at: Option<String>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<String>,
    pub resolved_by: Option<String>,
    /// Its alerts still firing.
    pub alerts_firing: i64,
}

impl From<&IncidentRecord> for IncidentView {
    fn from(record: &IncidentRecord) -> IncidentView {
        IncidentView {
            id: record.id,
            title: record.title.clone(),
            severity: record.severity.as_str().to_owned(),
            status: record.status.as_str().to_owned(),
            service: record.service.clone(),
            escalation: record.escalation.clone(),
            opened_at: time(record.opened_at),
            opened_by: record.opened_by.clone(),
            triggered_at: time(record.triggered_at),
            first_signal_at: record.first_signal_at.map(time),
            acknowledged_at: record.acknowledged_at.map(time),
            acknowledged_by: record.acknowledged_by.clone(),
            resolved_at: record.resolved_at.map(time),
            resolved_by: record.resolved_by.clone(),
            alerts_firing: record.alerts_firing,
        }
    }
}

/// `GET /api/v1/incidents`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct IncidentList {
    pub incidents: Vec<IncidentView>,
}

/// A timeline entry.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct EntryView {
    pub at: String,
    /// `opened`, `alert-joined`, `page`, `delivered`, `acknowledged`, `remediation`, ...
    pub kind: String,
    /// A person, `vigil`, or `alert:NAME`.
    pub actor: String,
    pub text: String,
    pub data: serde_json::Value,
    #[serde(skip)]
    pub millis: i64,
}

impl From<&TimelineEntry> for EntryView {
    fn from(entry: &TimelineEntry) -> EntryView {
        EntryView {
            at: time(entry.at),
            kind: entry.kind.clone(),
            actor: entry.actor.clone(),
            text: entry.text.clone(),
            data: entry.data.clone(),
            millis: entry.at.0,
        }
    }
}

/// An alert of the incident.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AlertRef {
    /// The alert episode (`GET /api/v1/alerts/{id}`).
    pub episode: i64,
    pub name: String,
    pub started_at: String,
    pub resolved_at: Option<String>,
}

/// Someone in a role.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RoleView {
    /// `commander`, `communicator`, `scribe` or `responder`.
    pub role: String,
    pub person: String,
    pub since: String,
}

/// An action item.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ItemView {
    pub id: i64,
    pub incident: i64,
    pub text: String,
    pub owner: String,
    pub due: Option<String>,
    pub done_at: Option<String>,
    pub done_by: Option<String>,
}

impl From<&vigil_store::ActionItem> for ItemView {
    fn from(item: &vigil_store::ActionItem) -> ItemView {
        ItemView {
            id: item.id,
            incident: item.incident_id,
            text: item.text.clone(),
            owner: item.owner.clone(),
            due: item.due_at.map(time),
            done_at: item.done_at.map(time),
            done_by: item.done_by.clone(),
        }
    }
}

/// The escalation's progress.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct EscalationView {
    pub policy: String,
    pub started_at: String,
    /// Pages sent.
    pub sent: u32,
    pub next_due: Option<String>,
    /// `active`, `stopped` or `exhausted`.
    pub state: String,
}

/// `GET /api/v1/incidents/{id}`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct IncidentDetail {
    pub incident: IncidentView,
    pub alerts: Vec<AlertRef>,
    pub roles: Vec<RoleView>,
    pub escalation: Option<EscalationView>,
    pub timeline: Vec<EntryView>,
    pub action_items: Vec<ItemView>,
}

/// An incident with everything recorded about it.
pub async fn detail(store: &Store, id: i64) -> Result<Option<IncidentDetail>, StoreError> {
    let Some(record) = store.incident(id).await? else { return Ok(None) };
    let mut timeline: Vec<EntryView> = store.timeline(id).await?.iter().map(EntryView::from).collect();
    for remediation in store.incident_remediations(id).await? {
        for entry in &remediation.audit {
            timeline.push(EntryView {
                at: time(entry.at),
                kind: "remediation".to_owned(),
                actor: if entry.node.is_empty() { "vigil".to_owned() } else { format!("vigil@{}", entry.node) },
                text: format!(
                    "{} on {} (execution {}): {}: {}",
                    remediation.action, remediation.target, remediation.execution_id, entry.event, entry.detail
                ),
                data: serde_json::json!({"execution": remediation.execution_id, "event": entry.event}),
                millis: entry.at.0,
            });
        }
    }
    timeline.sort_by_key(|entry| entry.millis);
    let escalation = store.escalation(id).await?.map(|escalation| EscalationView {
        policy: escalation.policy,
        started_at: time(escalation.started_at),
        sent: escalation.sent,
        next_due: escalation.next_due.map(time),
        state: serde_json::to_value(escalation.state).ok().and_then(|value| value.as_str().map(str::to_owned)).unwrap_or_default(),
    });
    Ok(Some(IncidentDetail {
        incident: IncidentView::from(&record),
        alerts: store
            .incident_alerts(id)
            .await?
            .iter()
            .map(|alert| AlertRef {
                episode: alert.episode_id,
                name: alert.name.clone(),
                started_at: time(alert.started_at),
                resolved_at: alert.resolved_at.map(time),
            })
            .collect(),
        roles: store
            .incident_roles(id)
            .await?
            .iter()
            .map(|role| RoleView { role: role.role.as_str().to_owned(), person: role.person.clone(), since: time(role.assigned_at) })
            .collect(),
        escalation,
        timeline,
        action_items: store.action_items(Some(id), false).await?.iter().map(ItemView::from).collect(),
    }))
}
