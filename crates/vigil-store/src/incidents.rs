//! Incidents: the alerts that joined each, its append-only timeline, roles, escalation
//! progress, stakeholder updates, action items, on-call overrides and acknowledgement
//! links.
//!
//! An alert whose route opens incidents joins the open incident of its service, or opens
//! one, in the transaction that records the alert ([`join_or_open`], called by
//! `apply_change`); its resolution is noted the same way. At most one incident per
//! service is open at a time (a partial unique index), so two nodes recording the same
//! outage open one. Pages are written with the escalation's progress in one transaction
//! that only succeeds if the progress is still what the caller read
//! ([`Store::record_pages`]), so a restart or a second node neither repeats nor skips a
//! step.

use std::time::Duration;

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use vigil_core::incident::{Role, Severity, Status};
use vigil_core::Timestamp;

use crate::outbox::{insert_incident_notification, NewNotification};
use crate::{EpisodeRecord, Store, StoreError};

/// How an alert opens (or joins) an incident: decided by its route, stored with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentPlan {
    pub severity: Severity,
    /// Alerts of one service join one open incident.
    pub service: String,
    /// The escalation policy that pages for it, if any.
    pub escalation: Option<String>,
    /// The incident's title when this alert opens it.
    pub title: String,
    /// The first sign of the problem (the first failed check, the first matching
    /// line), when the detector knows it; the alert's start otherwise.
    pub signal_at: Option<Timestamp>,
}

/// A stored incident.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IncidentRecord {
    pub id: i64,
    pub title: String,
    pub severity: Severity,
    pub status: Status,
    pub service: Option<String>,
    pub escalation: Option<String>,
    pub opened_at: Timestamp,
    /// `alert:NAME` or the person who opened it.
    pub opened_by: String,
    /// What MTTA and MTTR count from: the first alert's start, or the opening.
    pub triggered_at: Timestamp,
    /// The first sign of trouble, for MTTD.
    pub first_signal_at: Option<Timestamp>,
    pub acknowledged_at: Option<Timestamp>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<Timestamp>,
    pub resolved_by: Option<String>,
    /// Alerts of the incident still firing.
    pub alerts_firing: i64,
    /// When the last of its alerts resolved (cleared when another joins).
    pub alerts_resolved_at: Option<Timestamp>,
    pub last_update_at: Option<Timestamp>,
    pub update_reminded_at: Option<Timestamp>,
    pub confirm_reminded_at: Option<Timestamp>,
    /// The last thing that happened to it (acknowledgement, note, role, update).
    pub last_activity_at: Timestamp,
}

impl IncidentRecord {
    pub fn is_open(&self) -> bool {
        self.resolved_at.is_none()
    }
}

/// One timeline entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TimelineEntry {
    pub id: i64,
    pub incident_id: i64,
    pub at: Timestamp,
    /// `opened`, `alert-joined`, `alert-resolved`, `page`, `delivered`, `failed`,
    /// `escalation`, `fallback`, `acknowledged`, `role`, `severity`, `status`, `update`,
    /// `note`, `reminder`, `resolved`, `remediation`, `action-item`.
    pub kind: String,
    /// Who did it: a person, `vigil`, or `alert:NAME`.
    pub actor: String,
    pub text: String,
    pub data: serde_json::Value,
}

/// A timeline entry to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub kind: String,
    pub actor: String,
    pub text: String,
    pub data: serde_json::Value,
}

impl NewEntry {
    pub fn new(kind: &str, actor: &str, text: impl Into<String>) -> NewEntry {
        NewEntry { kind: kind.to_owned(), actor: actor.to_owned(), text: text.into(), data: serde_json::Value::Null }
    }

    pub fn with(mut self, data: serde_json::Value) -> NewEntry {
        self.data = data;
        self
    }
}

/// An alert that joined an incident.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IncidentAlert {
    pub episode_id: i64,
    pub name: String,
    pub fingerprint: String,
    pub joined_at: Timestamp,
    pub started_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
}

/// Someone in a role.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RoleRecord {
    pub role: Role,
    pub person: String,
    pub assigned_at: Timestamp,
}

/// Where an escalation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EscalationState {
    /// Paging on.
    Active,
    /// Acknowledged or resolved.
    Stopped,
    /// Every page went out without an acknowledgement.
    Exhausted,
}

impl EscalationState {
    fn as_str(self) -> &'static str {
        match self {
            EscalationState::Active => "active",
            EscalationState::Stopped => "stopped",
            EscalationState::Exhausted => "exhausted",
        }
    }

    fn parse(text: &str) -> Option<EscalationState> {
        [EscalationState::Active, EscalationState::Stopped, EscalationState::Exhausted].into_iter().find(|state| state.as_str() == text)
    }
}

/// An incident's escalation: which policy, when it (last) started, how many pages went.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EscalationRecord {
    pub incident_id: i64,
    pub policy: String,
    pub started_at: Timestamp,
    pub sent: u32,
    pub next_due: Option<Timestamp>,
    pub state: EscalationState,
}

/// What an escalation's pages change: read by the caller, checked by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagesWrite {
    pub incident_id: i64,
    /// The escalation as the caller read it.
    pub started_at: Timestamp,
    pub sent_before: u32,
    pub sent_after: u32,
    pub next_due: Option<Timestamp>,
    pub exhausted: bool,
    /// Each notification: its idempotency key, what to send, and the line the timeline
    /// gets when it is delivered or fails.
    pub notifications: Vec<(String, NewNotification, String)>,
    pub entries: Vec<NewEntry>,
}

/// A stakeholder update.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UpdateRecord {
    pub id: i64,
    pub incident_id: i64,
    pub at: Timestamp,
    pub status: Status,
    pub text: String,
    pub public: bool,
    pub author: String,
}

/// A postmortem action item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ActionItem {
    pub id: i64,
    pub incident_id: i64,
    pub text: String,
    pub owner: String,
    pub due_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub created_by: String,
    pub done_at: Option<Timestamp>,
    pub done_by: Option<String>,
    pub reminded_at: Option<Timestamp>,
}

/// An on-call override made at run time (`vigil oncall override`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OverrideRecord {
    pub id: i64,
    pub schedule: String,
    pub person: String,
    pub from: Timestamp,
    pub to: Timestamp,
    pub created_by: String,
    pub created_at: Timestamp,
}

/// What an acknowledgement or resolution did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acknowledged {
    Done(Box<IncidentRecord>),
    /// Someone acknowledged it before.
    Already {
        by: String,
        at: Timestamp,
    },
    Resolved,
    NotFound,
}

/// Why an acknowledgement link is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// No such link (forged, or mistyped).
    Unknown,
    Expired,
    Used,
}

/// An acknowledgement (or resolution) link, by the SHA-256 of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRecord {
    pub incident_id: i64,
    pub person: String,
    /// `ack` or `resolve`.
    pub action: String,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
}

/// An incident with what the statistics need besides its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentFacts {
    pub record: IncidentRecord,
    /// Its escalation paged everyone, the fallback included, without an acknowledgement.
    pub exhausted: bool,
    /// A remediation of one of its alerts ran successfully before its alerts resolved.
    pub remediated: bool,
}

/// A remediation of one of an incident's alerts, with its audit trail.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Remediation {
    pub execution_id: i64,
    pub action: String,
    pub target: String,
    pub state: String,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub result: Option<String>,
    pub audit: Vec<crate::AuditEntry>,
}

const COLUMNS: &str = "id, title, severity, status, service, escalation, opened_at, opened_by, triggered_at, first_signal_at,
    acknowledged_at, acknowledged_by, resolved_at, resolved_by, alerts_firing, alerts_resolved_at, last_update_at,
    update_reminded_at, confirm_reminded_at, last_activity_at";

fn at(row: &AnyRow, column: &str) -> Result<Option<Timestamp>, StoreError> {
    Ok(row.try_get::<Option<i64>, _>(column)?.map(Timestamp))
}

fn from_row(row: &AnyRow) -> Result<IncidentRecord, StoreError> {
    let severity: String = row.try_get("severity")?;
    let status: String = row.try_get("status")?;
    Ok(IncidentRecord {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        severity: Severity::parse(&severity).ok_or_else(|| StoreError::Corrupt(format!("incident severity `{severity}`")))?,
        status: Status::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("incident status `{status}`")))?,
        service: row.try_get("service")?,
        escalation: row.try_get("escalation")?,
        opened_at: Timestamp(row.try_get("opened_at")?),
        opened_by: row.try_get("opened_by")?,
        triggered_at: Timestamp(row.try_get("triggered_at")?),
        first_signal_at: at(row, "first_signal_at")?,
        acknowledged_at: at(row, "acknowledged_at")?,
        acknowledged_by: row.try_get("acknowledged_by")?,
        resolved_at: at(row, "resolved_at")?,
        resolved_by: row.try_get("resolved_by")?,
        alerts_firing: row.try_get("alerts_firing")?,
        alerts_resolved_at: at(row, "alerts_resolved_at")?,
        last_update_at: at(row, "last_update_at")?,
        update_reminded_at: at(row, "update_reminded_at")?,
        confirm_reminded_at: at(row, "confirm_reminded_at")?,
        last_activity_at: Timestamp(row.try_get("last_activity_at")?),
    })
}

fn entry_from_row(row: &AnyRow) -> Result<TimelineEntry, StoreError> {
    let data: Option<String> = row.try_get("data")?;
    Ok(TimelineEntry {
        id: row.try_get("id")?,
        incident_id: row.try_get("incident_id")?,
        at: Timestamp(row.try_get("at")?),
        kind: row.try_get("kind")?,
        actor: row.try_get("actor")?,
        text: row.try_get("text")?,
        data: data.and_then(|text| serde_json::from_str(&text).ok()).unwrap_or(serde_json::Value::Null),
    })
}

const ESCALATION_COLUMNS: &str = "incident_id, policy, started_at, sent, next_due, state";

fn escalation_from_row(row: &AnyRow) -> Result<EscalationRecord, StoreError> {
    let state: String = row.try_get("state")?;
    Ok(EscalationRecord {
        incident_id: row.try_get("incident_id")?,
        policy: row.try_get("policy")?,
        started_at: Timestamp(row.try_get("started_at")?),
        sent: u32::try_from(row.try_get::<i64, _>("sent")?).unwrap_or(0),
        next_due: at(row, "next_due")?,
        state: EscalationState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("escalation state `{state}`")))?,
    })
}

const ITEM_COLUMNS: &str = "id, incident_id, text, owner, due_at, created_at, created_by, done_at, done_by, reminded_at";

fn item_from_row(row: &AnyRow) -> Result<ActionItem, StoreError> {
    Ok(ActionItem {
        id: row.try_get("id")?,
        incident_id: row.try_get("incident_id")?,
        text: row.try_get("text")?,
        owner: row.try_get("owner")?,
        due_at: at(row, "due_at")?,
        created_at: Timestamp(row.try_get("created_at")?),
        created_by: row.try_get("created_by")?,
        done_at: at(row, "done_at")?,
        done_by: row.try_get("done_by")?,
        reminded_at: at(row, "reminded_at")?,
    })
}

/// The ids of the executions an incident's alerts caused (SQL): those its episodes
/// triggered, and for a monitor's alert those its DOWN transition triggered while it was
/// down. `incident` is the SQL giving the incident's id.
fn executions_of(incident: &str) -> String {
    format!(
        "SELECT x.id FROM executions x JOIN incident_alerts a ON a.incident_id = {incident} JOIN alert_episodes e ON e.id = a.episode_id
         WHERE (x.trigger_kind = 'episode' AND x.trigger_id = e.id)
            OR (x.trigger_kind = 'transition' AND e.source = 'monitor' AND x.trigger_name = e.source_key
                AND x.created_at >= e.starts_at AND (e.state = 'firing' OR x.created_at <= e.ends_at))"
    )
}

/// Appends entries to an incident's timeline inside `db`.
pub(crate) async fn append(db: &mut Transaction<'_, Any>, incident: i64, at: Timestamp, entries: &[NewEntry]) -> Result<(), StoreError> {
    for entry in entries {
        let data = (!entry.data.is_null()).then(|| entry.data.to_string());
        sqlx::query("INSERT INTO incident_timeline (incident_id, at, kind, actor, text, data) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(incident)
            .bind(at.0)
            .bind(&entry.kind)
            .bind(&entry.actor)
            .bind(&entry.text)
            .bind(data)
            .execute(&mut **db)
            .await?;
    }
    Ok(())
}

async fn open_incident_of(db: &mut Transaction<'_, Any>, service: &str) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar("SELECT id FROM incidents WHERE service = $1 AND resolved_at IS NULL")
        .bind(service)
        .fetch_optional(&mut **db)
        .await?)
}

/// The fields of a new incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIncident {
    pub title: String,
    pub severity: Severity,
    pub service: Option<String>,
    pub escalation: Option<String>,
    pub opened_by: String,
    pub triggered_at: Timestamp,
    pub first_signal_at: Option<Timestamp>,
}

/// Inserts an incident (and its escalation) unless its service has an open one; returns
/// the new id, or `None`.
async fn insert_incident(db: &mut Transaction<'_, Any>, new: &NewIncident, now: Timestamp) -> Result<Option<i64>, StoreError> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO incidents (title, severity, status, service, escalation, opened_at, opened_by, triggered_at, first_signal_at,
            alerts_firing, last_activity_at)
         VALUES ($1, $2, 'investigating', $3, $4, $5, $6, $7, $8, 0, $5)
         ON CONFLICT (service) WHERE resolved_at IS NULL DO NOTHING RETURNING id",
    )
    .bind(&new.title)
    .bind(new.severity.as_str())
    .bind(&new.service)
    .bind(&new.escalation)
    .bind(now.0)
    .bind(&new.opened_by)
    .bind(new.triggered_at.0)
    .bind(new.first_signal_at.map(|at| at.0))
    .fetch_optional(&mut **db)
    .await?;
    let Some(id) = id else { return Ok(None) };
    let service = new.service.as_deref().map(|service| format!(", service {service}")).unwrap_or_default();
    let entry = NewEntry::new("opened", &new.opened_by, format!("opened: {} ({}{service})", new.title, new.severity))
        .with(serde_json::json!({"severity": new.severity, "service": new.service, "escalation": new.escalation}));
    append(db, id, now, &[entry]).await?;
    if let Some(policy) = &new.escalation {
        sqlx::query(
            "INSERT INTO incident_escalations (incident_id, policy, started_at, sent, next_due, state) VALUES ($1, $2, $3, 0, $3, 'active')",
        )
        .bind(id)
        .bind(policy)
        .bind(now.0)
        .execute(&mut **db)
        .await?;
    }
    Ok(Some(id))
}

/// A new episode whose route opens incidents: joins its service's open incident, or
/// opens one. Returns the incident's id.
pub(crate) async fn join_or_open(
    db: &mut Transaction<'_, Any>,
    episode: &EpisodeRecord,
    plan: &IncidentPlan,
    now: Timestamp,
) -> Result<i64, StoreError> {
    let actor = format!("alert:{}", episode.name);
    let signal = plan.signal_at.unwrap_or(episode.starts_at).min(episode.starts_at);
    let id = match open_incident_of(db, &plan.service).await? {
        Some(id) => id,
        None => {
            let new = NewIncident {
                title: plan.title.clone(),
                severity: plan.severity,
                service: Some(plan.service.clone()),
                escalation: plan.escalation.clone(),
                opened_by: actor.clone(),
                triggered_at: episode.starts_at,
                first_signal_at: Some(signal),
            };
            match insert_incident(db, &new, now).await? {
                Some(id) => id,
                // Another writer opened it between the look and the insert.
                None => {
                    open_incident_of(db, &plan.service).await?.ok_or_else(|| StoreError::Corrupt("open incident vanished".to_owned()))?
                }
            }
        }
    };
    let joined = sqlx::query(
        "INSERT INTO incident_alerts (incident_id, episode_id, name, fingerprint, joined_at, started_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (incident_id, episode_id) DO NOTHING",
    )
    .bind(id)
    .bind(episode.id)
    .bind(&episode.name)
    .bind(&episode.fingerprint)
    .bind(now.0)
    .bind(episode.starts_at.0)
    .execute(&mut **db)
    .await?
    .rows_affected();
    if joined == 0 {
        return Ok(id);
    }
    sqlx::query(
        "UPDATE incidents SET alerts_firing = alerts_firing + 1, alerts_resolved_at = NULL, confirm_reminded_at = NULL,
            triggered_at = CASE WHEN triggered_at > $2 THEN $2 ELSE triggered_at END,
            first_signal_at = CASE WHEN first_signal_at IS NULL OR first_signal_at > $3 THEN $3 ELSE first_signal_at END
         WHERE id = $1",
    )
    .bind(id)
    .bind(episode.starts_at.0)
    .bind(signal.0)
    .execute(&mut **db)
    .await?;
    let summary = episode.annotations.get("summary").map(|text| format!(": {text}")).unwrap_or_default();
    let entry = NewEntry::new("alert-joined", &actor, format!("alert {} fired{summary}", episode.name))
        .with(serde_json::json!({"episode": episode.id, "labels": episode.labels, "evidence": episode.evidence}));
    append(db, id, now, &[entry]).await?;
    Ok(id)
}

/// Episodes that ended: their incidents note it, and count down their firing alerts.
pub(crate) async fn alerts_resolved(db: &mut Transaction<'_, Any>, episodes: &[&EpisodeRecord], now: Timestamp) -> Result<(), StoreError> {
    for episode in episodes {
        let at = episode.ends_at.unwrap_or(now);
        let incidents: Vec<i64> = sqlx::query_scalar(
            "UPDATE incident_alerts SET resolved_at = $2 WHERE episode_id = $1 AND resolved_at IS NULL RETURNING incident_id",
        )
        .bind(episode.id)
        .bind(at.0)
        .fetch_all(&mut **db)
        .await?;
        for id in incidents {
            sqlx::query(
                "UPDATE incidents SET alerts_firing = CASE WHEN alerts_firing > 0 THEN alerts_firing - 1 ELSE 0 END,
                    alerts_resolved_at = CASE WHEN alerts_firing <= 1 THEN $2 ELSE NULL END
                 WHERE id = $1",
            )
            .bind(id)
            .bind(at.0)
            .execute(&mut **db)
            .await?;
            let entry = NewEntry::new("alert-resolved", &format!("alert:{}", episode.name), format!("alert {} resolved", episode.name))
                .with(serde_json::json!({"episode": episode.id}));
            append(db, id, now, &[entry]).await?;
        }
    }
    Ok(())
}

/// Stops an incident's escalation inside `db`; true if one was running.
async fn stop_escalation(db: &mut Transaction<'_, Any>, id: i64) -> Result<bool, StoreError> {
    Ok(sqlx::query("UPDATE incident_escalations SET state = 'stopped', next_due = NULL WHERE incident_id = $1 AND state = 'active'")
        .bind(id)
        .execute(&mut **db)
        .await?
        .rows_affected()
        > 0)
}

async fn incident_in(db: &mut Transaction<'_, Any>, id: i64) -> Result<Option<IncidentRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM incidents WHERE id = $1");
    sqlx::query(&sql).bind(id).fetch_optional(&mut **db).await?.as_ref().map(from_row).transpose()
}

async fn touch(db: &mut Transaction<'_, Any>, id: i64, now: Timestamp) -> Result<(), StoreError> {
    sqlx::query("UPDATE incidents SET last_activity_at = $2 WHERE id = $1").bind(id).bind(now.0).execute(&mut **db).await?;
    Ok(())
}

/// A stakeholder update to record, with the notifications that send it (idempotency
/// key, notification, timeline line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUpdate {
    /// The status it moves the incident to, if any.
    pub status: Option<Status>,
    pub text: String,
    pub public: bool,
    pub author: String,
    pub notifications: Vec<(String, NewNotification, String)>,
}

/// A reminder to record, if its column still holds `previous`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    pub kind: ReminderKind,
    pub previous: Option<Timestamp>,
    pub notifications: Vec<(String, NewNotification, String)>,
    pub entry: NewEntry,
}

/// Which reminder column a reminder moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderKind {
    /// A stakeholder update is due.
    Update,
    /// The alerts resolved; someone should confirm the incident is over.
    Confirm,
}

impl ReminderKind {
    fn column(self) -> &'static str {
        match self {
            ReminderKind::Update => "update_reminded_at",
            ReminderKind::Confirm => "confirm_reminded_at",
        }
    }
}

impl Store {
    /// Opens an incident by hand. `Err(id)` when its service already has an open one.
    pub async fn open_incident(&self, new: &NewIncident, now: Timestamp) -> Result<Result<IncidentRecord, i64>, StoreError> {
        let mut db = self.begin_write().await?;
        let Some(id) = insert_incident(&mut db, new, now).await? else {
            let service = new.service.as_deref().unwrap_or_default();
            let open = open_incident_of(&mut db, service).await?.unwrap_or(0);
            return Ok(Err(open));
        };
        let record = incident_in(&mut db, id).await?.ok_or_else(|| StoreError::Corrupt("new incident not found".to_owned()))?;
        db.commit().await?;
        Ok(Ok(record))
    }

    pub async fn incident(&self, id: i64) -> Result<Option<IncidentRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM incidents WHERE id = $1");
        sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await?.as_ref().map(from_row).transpose()
    }

    /// Incidents opened at or after `since` (every open one too), newest first.
    pub async fn incidents(&self, since: Timestamp, open_only: bool, limit: i64) -> Result<Vec<IncidentRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM incidents WHERE (resolved_at IS NULL OR ($2 = 0 AND opened_at >= $1)) ORDER BY id DESC LIMIT $3"
        );
        let open_only = i64::from(open_only);
        sqlx::query(&sql).bind(since.0).bind(open_only).bind(limit).fetch_all(&self.pool).await?.iter().map(from_row).collect()
    }

    pub async fn open_incidents(&self) -> Result<Vec<IncidentRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM incidents WHERE resolved_at IS NULL ORDER BY id");
        sqlx::query(&sql).fetch_all(&self.pool).await?.iter().map(from_row).collect()
    }

    pub async fn timeline(&self, id: i64) -> Result<Vec<TimelineEntry>, StoreError> {
        sqlx::query("SELECT id, incident_id, at, kind, actor, text, data FROM incident_timeline WHERE incident_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(entry_from_row)
            .collect()
    }

    pub async fn incident_alerts(&self, id: i64) -> Result<Vec<IncidentAlert>, StoreError> {
        let rows = sqlx::query(
            "SELECT episode_id, name, fingerprint, joined_at, started_at, resolved_at FROM incident_alerts
             WHERE incident_id = $1 ORDER BY joined_at, episode_id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(IncidentAlert {
                    episode_id: row.try_get("episode_id")?,
                    name: row.try_get("name")?,
                    fingerprint: row.try_get("fingerprint")?,
                    joined_at: Timestamp(row.try_get("joined_at")?),
                    started_at: Timestamp(row.try_get("started_at")?),
                    resolved_at: at(row, "resolved_at")?,
                })
            })
            .collect()
    }

    pub async fn incident_roles(&self, id: i64) -> Result<Vec<RoleRecord>, StoreError> {
        let rows = sqlx::query("SELECT role, person, assigned_at FROM incident_roles WHERE incident_id = $1 ORDER BY assigned_at, role")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let role: String = row.try_get("role")?;
                Ok(RoleRecord {
                    role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("incident role `{role}`")))?,
                    person: row.try_get("person")?,
                    assigned_at: Timestamp(row.try_get("assigned_at")?),
                })
            })
            .collect()
    }

    /// Acknowledges an open incident: stops its escalation, and makes `by` its commander
    /// if it has none.
    pub async fn acknowledge(&self, id: i64, by: &str, via: &str, now: Timestamp) -> Result<Acknowledged, StoreError> {
        let mut db = self.begin_write().await?;
        let outcome = acknowledge_in(&mut db, id, by, via, now).await?;
        db.commit().await?;
        Ok(outcome)
    }

    /// Resolves an open incident; `how` goes on the timeline.
    pub async fn resolve_incident(&self, id: i64, by: &str, how: &str, now: Timestamp) -> Result<Acknowledged, StoreError> {
        let mut db = self.begin_write().await?;
        let outcome = resolve_in(&mut db, id, by, how, now).await?;
        db.commit().await?;
        Ok(outcome)
    }

    /// Uses an acknowledgement link: acknowledges (or resolves) its incident as its
    /// person and marks it used, in one transaction. A link works once.
    pub async fn use_link(
        &self,
        token_sha256: &str,
        now: Timestamp,
    ) -> Result<Result<(LinkRecord, Acknowledged), LinkRefusal>, StoreError> {
        let mut db = self.begin_write().await?;
        let Some(link) = link_in(&mut db, token_sha256).await? else { return Ok(Err(LinkRefusal::Unknown)) };
        if link.used_at.is_some() {
            return Ok(Err(LinkRefusal::Used));
        }
        if link.expires_at <= now {
            return Ok(Err(LinkRefusal::Expired));
        }
        let used = sqlx::query("UPDATE incident_links SET used_at = $2 WHERE token_sha256 = $1 AND used_at IS NULL")
            .bind(token_sha256)
            .bind(now.0)
            .execute(&mut **db)
            .await?
            .rows_affected();
        if used == 0 {
            return Ok(Err(LinkRefusal::Used));
        }
        let outcome = if link.action == "resolve" {
            resolve_in(&mut db, link.incident_id, &link.person, "resolved through the link in a page", now).await?
        } else {
            acknowledge_in(&mut db, link.incident_id, &link.person, "the link in a page", now).await?
        };
        db.commit().await?;
        Ok(Ok((link, outcome)))
    }

    /// Reads a link without using it (the confirmation page).
    pub async fn link(&self, token_sha256: &str) -> Result<Option<LinkRecord>, StoreError> {
        let mut db = self.pool.begin().await?;
        let link = link_in(&mut db, token_sha256).await?;
        db.commit().await?;
        Ok(link)
    }

    /// Stores a link's token hash.
    pub async fn insert_link(&self, token_sha256: &str, link: &LinkRecord, now: Timestamp) -> Result<(), StoreError> {
        let _turn = self.turn().await;
        sqlx::query(
            "INSERT INTO incident_links (token_sha256, incident_id, person, action, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_sha256)
        .bind(link.incident_id)
        .bind(&link.person)
        .bind(&link.action)
        .bind(now.0)
        .bind(link.expires_at.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Puts someone in a role. A responder is added to the others; the other roles
    /// have one holder, replaced.
    pub async fn assign_role(
        &self,
        id: i64,
        role: Role,
        person: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<Option<IncidentRecord>, StoreError> {
        let mut db = self.begin_write().await?;
        let Some(record) = incident_in(&mut db, id).await? else { return Ok(None) };
        assign_in(&mut db, id, role, person, by, now).await?;
        touch(&mut db, id, now).await?;
        db.commit().await?;
        Ok(Some(record))
    }

    /// Changes an incident's severity; the change goes on the timeline.
    pub async fn set_severity(&self, id: i64, severity: Severity, by: &str, now: Timestamp) -> Result<Option<IncidentRecord>, StoreError> {
        let mut db = self.begin_write().await?;
        let Some(record) = incident_in(&mut db, id).await? else { return Ok(None) };
        if record.severity != severity {
            sqlx::query("UPDATE incidents SET severity = $2, last_activity_at = $3 WHERE id = $1")
                .bind(id)
                .bind(severity.as_str())
                .bind(now.0)
                .execute(&mut **db)
                .await?;
            let entry = NewEntry::new("severity", by, format!("severity {} → {severity}", record.severity))
                .with(serde_json::json!({"from": record.severity, "to": severity}));
            append(&mut db, id, now, &[entry]).await?;
        }
        let record = incident_in(&mut db, id).await?;
        db.commit().await?;
        Ok(record)
    }

    /// Adds a note to the timeline.
    pub async fn note(&self, id: i64, by: &str, text: &str, now: Timestamp) -> Result<bool, StoreError> {
        let mut db = self.begin_write().await?;
        if incident_in(&mut db, id).await?.is_none() {
            return Ok(false);
        }
        append(&mut db, id, now, &[NewEntry::new("note", by, text)]).await?;
        touch(&mut db, id, now).await?;
        db.commit().await?;
        Ok(true)
    }

    /// Records a stakeholder update (and a status change it carries) with the
    /// notifications that send it.
    pub async fn record_update(
        &self,
        id: i64,
        update: &NewUpdate,
        now: Timestamp,
        give_up_after: Duration,
    ) -> Result<Option<UpdateRecord>, StoreError> {
        let NewUpdate { status, text, public, author: by, notifications } = update;
        let (status, public, by) = (*status, *public, by.as_str());
        let mut db = self.begin_write().await?;
        let Some(record) = incident_in(&mut db, id).await? else { return Ok(None) };
        let status = status.unwrap_or(record.status);
        if status == Status::Resolved && record.is_open() {
            resolve_in(&mut db, id, by, "resolved with a stakeholder update", now).await?;
        } else if status != record.status {
            set_status_in(&mut db, &record, status, by, now).await?;
        }
        let update_id: i64 = sqlx::query_scalar(
            "INSERT INTO incident_updates (incident_id, at, status, text, public, author) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(id)
        .bind(now.0)
        .bind(status.as_str())
        .bind(text)
        .bind(public)
        .bind(by)
        .fetch_one(&mut **db)
        .await?;
        sqlx::query("UPDATE incidents SET last_update_at = $2, last_activity_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now.0)
            .execute(&mut **db)
            .await?;
        let audience = if public { "public update" } else { "stakeholder update" };
        let entry = NewEntry::new("update", by, format!("{audience} ({status}): {text}"))
            .with(serde_json::json!({"update": update_id, "status": status, "public": public}));
        append(&mut db, id, now, &[entry]).await?;
        let ordering = format!("incident:{id}");
        for (key, notification, note) in notifications {
            insert_incident_notification(&mut db, key, &ordering, notification, Some((id, note)), now, give_up_after).await?;
        }
        db.commit().await?;
        Ok(Some(UpdateRecord { id: update_id, incident_id: id, at: now, status, text: text.to_owned(), public, author: by.to_owned() }))
    }

    /// Changes an incident's status (resolving goes through [`Store::resolve_incident`]).
    pub async fn set_status(&self, id: i64, status: Status, by: &str, now: Timestamp) -> Result<Option<IncidentRecord>, StoreError> {
        let mut db = self.begin_write().await?;
        let Some(record) = incident_in(&mut db, id).await? else { return Ok(None) };
        if status == Status::Resolved {
            resolve_in(&mut db, id, by, "status set to resolved", now).await?;
        } else {
            set_status_in(&mut db, &record, status, by, now).await?;
        }
        let record = incident_in(&mut db, id).await?;
        db.commit().await?;
        Ok(record)
    }

    /// Stakeholder updates of one incident (all of them), oldest first; with `public`,
    /// only public ones, of every incident, newest first.
    pub async fn incident_updates(&self, id: Option<i64>, limit: i64) -> Result<Vec<UpdateRecord>, StoreError> {
        let sql = match id {
            Some(_) => "SELECT id, incident_id, at, status, text, CAST(CASE WHEN public THEN 1 ELSE 0 END AS BIGINT) AS public, author FROM incident_updates WHERE incident_id = $1 ORDER BY id LIMIT $2",
            None => "SELECT id, incident_id, at, status, text, CAST(CASE WHEN public THEN 1 ELSE 0 END AS BIGINT) AS public, author FROM incident_updates WHERE public AND $1 = 0 ORDER BY id DESC LIMIT $2",
        };
        let rows = sqlx::query(sql).bind(id.unwrap_or(0)).bind(limit).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let status: String = row.try_get("status")?;
                Ok(UpdateRecord {
                    id: row.try_get("id")?,
                    incident_id: row.try_get("incident_id")?,
                    at: Timestamp(row.try_get("at")?),
                    status: Status::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("update status `{status}`")))?,
                    text: row.try_get("text")?,
                    public: row.try_get::<i64, _>("public")? != 0,
                    author: row.try_get("author")?,
                })
            })
            .collect()
    }

    /// Escalations by state (`active`, `stopped`, `exhausted`): how many, and the pages
    /// they have sent.
    pub async fn escalation_counts(&self) -> Result<Vec<(String, i64, i64)>, StoreError> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS count, COALESCE(SUM(sent), 0) AS pages FROM incident_escalations GROUP BY state")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|row| Ok((row.try_get("state")?, row.try_get("count")?, row.try_get("pages")?))).collect()
    }

    pub async fn escalation(&self, id: i64) -> Result<Option<EscalationRecord>, StoreError> {
        let sql = format!("SELECT {ESCALATION_COLUMNS} FROM incident_escalations WHERE incident_id = $1");
        sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await?.as_ref().map(escalation_from_row).transpose()
    }

    /// Active escalations with a page due at `now`, most overdue first.
    pub async fn escalations_due(&self, now: Timestamp, limit: i64) -> Result<Vec<EscalationRecord>, StoreError> {
        let sql = format!(
            "SELECT {ESCALATION_COLUMNS} FROM incident_escalations WHERE state = 'active' AND next_due <= $1 ORDER BY next_due LIMIT $2"
        );
        sqlx::query(&sql).bind(now.0).bind(limit).fetch_all(&self.pool).await?.iter().map(escalation_from_row).collect()
    }

    /// When the next page of any escalation is due.
    pub async fn next_page_due(&self) -> Result<Option<Timestamp>, StoreError> {
        let next: Option<i64> =
            sqlx::query_scalar("SELECT MIN(next_due) FROM incident_escalations WHERE state = 'active'").fetch_one(&self.pool).await?;
        Ok(next.map(Timestamp))
    }

    /// Writes pages with the escalation's progress, if the escalation is still where the
    /// caller read it (same start, same pages sent, active). False, writing nothing,
    /// when another node or an acknowledgement got there first.
    pub async fn record_pages(&self, write: &PagesWrite, now: Timestamp, give_up_after: Duration) -> Result<bool, StoreError> {
        Ok(self.record_pages_batch(std::slice::from_ref(write), now, give_up_after).await?.first().copied().unwrap_or(false))
    }

    /// [`Store::record_pages`] for many escalations in one transaction (one commit for a
    /// burst of pages); says for each whether it was written.
    pub async fn record_pages_batch(
        &self,
        writes: &[PagesWrite],
        now: Timestamp,
        give_up_after: Duration,
    ) -> Result<Vec<bool>, StoreError> {
        let mut db = self.begin_write().await?;
        let mut written = Vec::with_capacity(writes.len());
        for write in writes {
            let state = if write.exhausted { EscalationState::Exhausted } else { EscalationState::Active };
            let moved = sqlx::query(
                "UPDATE incident_escalations SET sent = $4, next_due = $5, state = $6
                 WHERE incident_id = $1 AND started_at = $2 AND sent = $3 AND state = 'active'",
            )
            .bind(write.incident_id)
            .bind(write.started_at.0)
            .bind(i64::from(write.sent_before))
            .bind(i64::from(write.sent_after))
            .bind(write.next_due.map(|at| at.0))
            .bind(state.as_str())
            .execute(&mut **db)
            .await?
            .rows_affected();
            written.push(moved > 0);
            if moved == 0 {
                continue;
            }
            let ordering = format!("incident:{}", write.incident_id);
            for (key, notification, note) in &write.notifications {
                insert_incident_notification(&mut db, key, &ordering, notification, Some((write.incident_id, note)), now, give_up_after)
                    .await?;
            }
            append(&mut db, write.incident_id, now, &write.entries).await?;
        }
        db.commit().await?;
        Ok(written)
    }

    /// The notifiers an escalation paged (a pager service, a team channel) for incidents
    /// resolved at or after `since` that have not been told of the resolution, as
    /// (incident, notifier). A page to a notifier has a key with `:notifier:`, its
    /// resolution one with `:resolved:`.
    pub async fn notifiers_awaiting_resolution(&self, since: Timestamp) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT o.incident_id, o.notifier FROM incidents i JOIN outbox o ON o.incident_id = i.id
             WHERE i.resolved_at IS NOT NULL AND i.resolved_at >= $1 AND o.idempotency_key LIKE 'incident:%:notifier:%'
               AND NOT EXISTS (SELECT 1 FROM outbox r WHERE r.incident_id = o.incident_id AND r.notifier = o.notifier
                               AND r.idempotency_key LIKE 'incident:%:resolved:%')
             ORDER BY o.incident_id, o.notifier",
        )
        .bind(since.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| Ok((row.try_get("incident_id")?, row.try_get("notifier")?))).collect()
    }

    /// Queues notifications about an incident (each once, by its key).
    pub async fn queue_incident_notifications(
        &self,
        id: i64,
        notifications: &[(String, NewNotification, String)],
        now: Timestamp,
        give_up_after: Duration,
    ) -> Result<(), StoreError> {
        let mut db = self.begin_write().await?;
        let ordering = format!("incident:{id}");
        for (key, notification, note) in notifications {
            insert_incident_notification(&mut db, key, &ordering, notification, Some((id, note)), now, give_up_after).await?;
        }
        db.commit().await?;
        Ok(())
    }

    /// Starts an acknowledged incident's escalation again (re-notify after silence), if
    /// it is still stopped and the incident open and untouched since `quiet_since`.
    pub async fn restart_escalation(&self, id: i64, quiet_since: Timestamp, entry: &NewEntry, now: Timestamp) -> Result<bool, StoreError> {
        let mut db = self.begin_write().await?;
        let restarted = sqlx::query(
            "UPDATE incident_escalations SET started_at = $2, sent = 0, next_due = $2, state = 'active'
             WHERE incident_id = $1 AND state = 'stopped'
               AND EXISTS (SELECT 1 FROM incidents i WHERE i.id = $1 AND i.resolved_at IS NULL AND i.last_activity_at <= $3)",
        )
        .bind(id)
        .bind(now.0)
        .bind(quiet_since.0)
        .execute(&mut **db)
        .await?
        .rows_affected();
        if restarted == 0 {
            return Ok(false);
        }
        sqlx::query("UPDATE incidents SET last_activity_at = $2 WHERE id = $1").bind(id).bind(now.0).execute(&mut **db).await?;
        append(&mut db, id, now, std::slice::from_ref(entry)).await?;
        db.commit().await?;
        Ok(true)
    }

    /// Writes a reminder (its notifications and timeline entry) if the reminder column
    /// still holds `previous`: one node, once.
    pub async fn record_reminder(&self, id: i64, reminder: &Reminder, now: Timestamp, give_up_after: Duration) -> Result<bool, StoreError> {
        let Reminder { kind, previous, notifications, entry } = reminder;
        let (kind, previous) = (*kind, *previous);
        let mut db = self.begin_write().await?;
        let column = kind.column();
        let sql = format!(
            "UPDATE incidents SET {column} = $2 WHERE id = $1 AND resolved_at IS NULL
               AND (({column} IS NULL AND $3 = -1) OR {column} = $3)"
        );
        let moved = sqlx::query(&sql).bind(id).bind(now.0).bind(previous.map_or(-1, |at| at.0)).execute(&mut **db).await?.rows_affected();
        if moved == 0 {
            return Ok(false);
        }
        let ordering = format!("incident:{id}");
        for (key, notification, note) in notifications {
            insert_incident_notification(&mut db, key, &ordering, notification, Some((id, note)), now, give_up_after).await?;
        }
        append(&mut db, id, now, std::slice::from_ref(entry)).await?;
        db.commit().await?;
        Ok(true)
    }

    /// Remediations of the incident's alerts, with their audit trails, oldest first.
    pub async fn incident_remediations(&self, id: i64) -> Result<Vec<Remediation>, StoreError> {
        let sql = format!(
            "SELECT id, action, target, state, created_at, finished_at, result FROM executions
             WHERE id IN ({}) ORDER BY id",
            executions_of("$1")
        );
        let rows = sqlx::query(&sql).bind(id).fetch_all(&self.pool).await?;
        let mut remediations = Vec::with_capacity(rows.len());
        for row in rows {
            let execution_id: i64 = row.try_get("id")?;
            remediations.push(Remediation {
                execution_id,
                action: row.try_get("action")?,
                target: row.try_get("target")?,
                state: row.try_get("state")?,
                created_at: Timestamp(row.try_get("created_at")?),
                finished_at: at(&row, "finished_at")?,
                result: row.try_get("result")?,
                audit: self.audit(Some(execution_id), 1_000).await?,
            });
        }
        Ok(remediations)
    }

    /// Incidents opened at or after `since`, with what the statistics need.
    pub async fn incident_facts(&self, since: Timestamp) -> Result<Vec<IncidentFacts>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS},
                CAST((SELECT COUNT(*) FROM incident_escalations e WHERE e.incident_id = incidents.id AND e.state = 'exhausted') AS BIGINT)
                    AS exhausted,
                CAST((SELECT COUNT(*) FROM executions r WHERE r.id IN ({}) AND r.state IN ('executed', 'verified')
                       AND (incidents.alerts_resolved_at IS NULL OR r.finished_at <= incidents.alerts_resolved_at)) AS BIGINT) AS remediated
             FROM incidents WHERE opened_at >= $1 ORDER BY id",
            executions_of("incidents.id")
        );
        let rows = sqlx::query(&sql).bind(since.0).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(IncidentFacts {
                    record: from_row(row)?,
                    exhausted: row.try_get::<i64, _>("exhausted")? > 0,
                    remediated: row.try_get::<i64, _>("remediated")? > 0,
                })
            })
            .collect()
    }

    /// Adds an action item to an incident's postmortem.
    pub async fn add_action_item(
        &self,
        id: i64,
        text: &str,
        owner: &str,
        due_at: Option<Timestamp>,
        by: &str,
        now: Timestamp,
    ) -> Result<Option<ActionItem>, StoreError> {
        let mut db = self.begin_write().await?;
        if incident_in(&mut db, id).await?.is_none() {
            return Ok(None);
        }
        let sql = format!(
            "INSERT INTO action_items (incident_id, text, owner, due_at, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)
             RETURNING {ITEM_COLUMNS}"
        );
        let row =
            sqlx::query(&sql).bind(id).bind(text).bind(owner).bind(due_at.map(|at| at.0)).bind(now.0).bind(by).fetch_one(&mut **db).await?;
        let item = item_from_row(&row)?;
        let due = due_at.map(|at| format!(", due {}", at.to_rfc3339())).unwrap_or_default();
        let entry = NewEntry::new("action-item", by, format!("action item #{}: {text} (owner {owner}{due})", item.id))
            .with(serde_json::json!({"item": item.id}));
        append(&mut db, id, now, &[entry]).await?;
        db.commit().await?;
        Ok(Some(item))
    }

    /// Action items, of one incident when given, open ones only with `open_only`.
    pub async fn action_items(&self, incident: Option<i64>, open_only: bool) -> Result<Vec<ActionItem>, StoreError> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM action_items WHERE ($1 = 0 OR incident_id = $1) AND ($2 = 0 OR done_at IS NULL) ORDER BY id"
        );
        sqlx::query(&sql)
            .bind(incident.unwrap_or(0))
            .bind(i64::from(open_only))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(item_from_row)
            .collect()
    }

    /// Marks an action item done; `None` when there is no such item, the item as it was
    /// when it was already done.
    pub async fn complete_action_item(&self, item: i64, by: &str, now: Timestamp) -> Result<Option<ActionItem>, StoreError> {
        let mut db = self.begin_write().await?;
        let sql = format!("SELECT {ITEM_COLUMNS} FROM action_items WHERE id = $1");
        let Some(row) = sqlx::query(&sql).bind(item).fetch_optional(&mut **db).await? else { return Ok(None) };
        let before = item_from_row(&row)?;
        if before.done_at.is_some() {
            return Ok(Some(before));
        }
        sqlx::query("UPDATE action_items SET done_at = $2, done_by = $3 WHERE id = $1")
            .bind(item)
            .bind(now.0)
            .bind(by)
            .execute(&mut **db)
            .await?;
        let entry =
            NewEntry::new("action-item", by, format!("action item #{item} done: {}", before.text)).with(serde_json::json!({"item": item}));
        append(&mut db, before.incident_id, now, &[entry]).await?;
        db.commit().await?;
        Ok(Some(ActionItem { done_at: Some(now), done_by: Some(by.to_owned()), ..before }))
    }

    /// Open action items past their due time not reminded since `reminded_before`.
    pub async fn overdue_action_items(&self, now: Timestamp, reminded_before: Timestamp) -> Result<Vec<ActionItem>, StoreError> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM action_items WHERE done_at IS NULL AND due_at IS NOT NULL AND due_at <= $1
               AND (reminded_at IS NULL OR reminded_at <= $2) ORDER BY id"
        );
        sqlx::query(&sql).bind(now.0).bind(reminded_before.0).fetch_all(&self.pool).await?.iter().map(item_from_row).collect()
    }

    /// Writes an overdue item's reminder if it still was last reminded at `previous`.
    pub async fn remind_action_item(
        &self,
        item: &ActionItem,
        notifications: &[(String, NewNotification, String)],
        now: Timestamp,
        give_up_after: Duration,
    ) -> Result<bool, StoreError> {
        let mut db = self.begin_write().await?;
        let moved = sqlx::query(
            "UPDATE action_items SET reminded_at = $2 WHERE id = $1 AND done_at IS NULL
               AND ((reminded_at IS NULL AND $3 = -1) OR reminded_at = $3)",
        )
        .bind(item.id)
        .bind(now.0)
        .bind(item.reminded_at.map_or(-1, |at| at.0))
        .execute(&mut **db)
        .await?
        .rows_affected();
        if moved == 0 {
            return Ok(false);
        }
        let ordering = format!("action-item:{}", item.id);
        for (key, notification, note) in notifications {
            insert_incident_notification(&mut db, key, &ordering, notification, Some((item.incident_id, note)), now, give_up_after).await?;
        }
        db.commit().await?;
        Ok(true)
    }

    /// Adds an on-call override.
    pub async fn add_override(
        &self,
        schedule: &str,
        person: &str,
        from: Timestamp,
        to: Timestamp,
        by: &str,
        now: Timestamp,
    ) -> Result<OverrideRecord, StoreError> {
        let mut db = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO oncall_overrides (schedule, person, from_at, to_at, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(schedule)
        .bind(person)
        .bind(from.0)
        .bind(to.0)
        .bind(by)
        .bind(now.0)
        .fetch_one(&mut **db)
        .await?;
        db.commit().await?;
        Ok(OverrideRecord {
            id,
            schedule: schedule.to_owned(),
            person: person.to_owned(),
            from,
            to,
            created_by: by.to_owned(),
            created_at: now,
        })
    }

    /// Removes an override; false when there is none with that id.
    pub async fn remove_override(&self, id: i64) -> Result<bool, StoreError> {
        let _turn = self.turn().await;
        Ok(sqlx::query("DELETE FROM oncall_overrides WHERE id = $1").bind(id).execute(&self.pool).await?.rows_affected() > 0)
    }

    /// Overrides of a schedule (every schedule's when `None`) that end after `after`.
    pub async fn overrides(&self, schedule: Option<&str>, after: Timestamp) -> Result<Vec<OverrideRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, schedule, person, from_at, to_at, created_by, created_at FROM oncall_overrides
             WHERE ($1 = '' OR schedule = $1) AND to_at > $2 ORDER BY from_at, id",
        )
        .bind(schedule.unwrap_or(""))
        .bind(after.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(OverrideRecord {
                    id: row.try_get("id")?,
                    schedule: row.try_get("schedule")?,
                    person: row.try_get("person")?,
                    from: Timestamp(row.try_get("from_at")?),
                    to: Timestamp(row.try_get("to_at")?),
                    created_by: row.try_get("created_by")?,
                    created_at: Timestamp(row.try_get("created_at")?),
                })
            })
            .collect()
    }
}

async fn link_in(db: &mut Transaction<'_, Any>, token_sha256: &str) -> Result<Option<LinkRecord>, StoreError> {
    let row = sqlx::query("SELECT incident_id, person, action, expires_at, used_at FROM incident_links WHERE token_sha256 = $1")
        .bind(token_sha256)
        .fetch_optional(&mut **db)
        .await?;
    row.map(|row| {
        Ok(LinkRecord {
            incident_id: row.try_get("incident_id")?,
            person: row.try_get("person")?,
            action: row.try_get("action")?,
            expires_at: Timestamp(row.try_get("expires_at")?),
            used_at: at(&row, "used_at")?,
        })
    })
    .transpose()
}

async fn assign_in(db: &mut Transaction<'_, Any>, id: i64, role: Role, person: &str, by: &str, now: Timestamp) -> Result<(), StoreError> {
    let mut previous = Vec::new();
    if role != Role::Responder {
        previous = sqlx::query_scalar("DELETE FROM incident_roles WHERE incident_id = $1 AND role = $2 RETURNING person")
            .bind(id)
            .bind(role.as_str())
            .fetch_all(&mut **db)
            .await?;
    }
    sqlx::query(
        "INSERT INTO incident_roles (incident_id, role, person, assigned_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (incident_id, role, person) DO NOTHING",
    )
    .bind(id)
    .bind(role.as_str())
    .bind(person)
    .bind(now.0)
    .execute(&mut **db)
    .await?;
    let text = match previous.iter().find(|name: &&String| name.as_str() != person) {
        Some(before) => format!("{person} is {role} (was {before})"),
        None => format!("{person} is {role}"),
    };
    let entry = NewEntry::new("role", by, text).with(serde_json::json!({"role": role, "person": person}));
    append(db, id, now, &[entry]).await
}

async fn acknowledge_in(db: &mut Transaction<'_, Any>, id: i64, by: &str, via: &str, now: Timestamp) -> Result<Acknowledged, StoreError> {
    let Some(record) = incident_in(db, id).await? else { return Ok(Acknowledged::NotFound) };
    if !record.is_open() {
        return Ok(Acknowledged::Resolved);
    }
    if let (Some(who), Some(when)) = (&record.acknowledged_by, record.acknowledged_at) {
        return Ok(Acknowledged::Already { by: who.clone(), at: when });
    }
    sqlx::query("UPDATE incidents SET acknowledged_at = $2, acknowledged_by = $3, last_activity_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now.0)
        .bind(by)
        .execute(&mut **db)
        .await?;
    let stopped = stop_escalation(db, id).await?;
    let text = if stopped {
        format!("acknowledged by {by} through {via}; escalation stopped")
    } else {
        format!("acknowledged by {by} through {via}")
    };
    append(db, id, now, &[NewEntry::new("acknowledged", by, text).with(serde_json::json!({"via": via}))]).await?;
    let commander: Option<String> = sqlx::query_scalar("SELECT person FROM incident_roles WHERE incident_id = $1 AND role = 'commander'")
        .bind(id)
        .fetch_optional(&mut **db)
        .await?;
    if commander.is_none() {
        assign_in(db, id, Role::Commander, by, "vigil", now).await?;
    }
    Ok(Acknowledged::Done(Box::new(incident_in(db, id).await?.ok_or_else(|| StoreError::Corrupt("incident vanished".to_owned()))?)))
}

async fn resolve_in(db: &mut Transaction<'_, Any>, id: i64, by: &str, how: &str, now: Timestamp) -> Result<Acknowledged, StoreError> {
    let Some(record) = incident_in(db, id).await? else { return Ok(Acknowledged::NotFound) };
    if !record.is_open() {
        return Ok(Acknowledged::Resolved);
    }
    sqlx::query("UPDATE incidents SET status = 'resolved', resolved_at = $2, resolved_by = $3, last_activity_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now.0)
        .bind(by)
        .execute(&mut **db)
        .await?;
    stop_escalation(db, id).await?;
    let firing = if record.alerts_firing > 0 { format!(" ({} alerts still firing)", record.alerts_firing) } else { String::new() };
    append(db, id, now, &[NewEntry::new("resolved", by, format!("resolved by {by}: {how}{firing}"))]).await?;
    Ok(Acknowledged::Done(Box::new(incident_in(db, id).await?.ok_or_else(|| StoreError::Corrupt("incident vanished".to_owned()))?)))
}

async fn set_status_in(
    db: &mut Transaction<'_, Any>,
    record: &IncidentRecord,
    status: Status,
    by: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    if record.status == status || !record.is_open() {
        return Ok(());
    }
    sqlx::query("UPDATE incidents SET status = $2, last_activity_at = $3 WHERE id = $1")
        .bind(record.id)
        .bind(status.as_str())
        .bind(now.0)
        .execute(&mut **db)
        .await?;
    let entry = NewEntry::new("status", by, format!("status {} → {status}", record.status))
        .with(serde_json::json!({"from": record.status, "to": status}));
    append(db, record.id, now, &[entry]).await
}
