//! Remediation in the store: executions (a durable queue, like the outbox), per-target
//! leases with fencing tokens, circuit breakers, the kill switch and the audit log.
//!
//! An execution is written in the same transaction as the transition, alert or inbound
//! alert that asks for it, then picked up by a node's action worker, which runs the
//! guards, takes the target's lease, acts, and verifies. Each change is conditional on
//! the state the worker read, so of two nodes looking at one execution one moves it on. Every state change is
//! one transaction with its outcome notifications and audit entries.

use std::time::Duration;

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use vigil_core::Timestamp;

use crate::outbox::{insert_notification, NewNotification};
use crate::{Store, StoreError};

/// Where an execution stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExecutionState {
    /// Waiting for the guards.
    Pending,
    /// Held by the cooldown until `not_before`; then the guards run again.
    Held,
    /// Waiting for `vigil actions approve`.
    AwaitingApproval,
    /// The action is being run.
    Running,
    /// Run; waiting for the trigger to clear.
    Verifying,
    /// Run, and nothing to verify.
    Executed,
    /// Run, and the trigger cleared within `verify`.
    Verified,
    /// The action failed, or the trigger did not clear in time.
    Failed,
    /// A guard stopped it.
    Suppressed,
    /// Approval refused or timed out.
    Denied,
    /// The trigger cleared before the action ran.
    Cancelled,
    /// Dry run: every guard ran, nothing was called.
    DryRun,
}

impl ExecutionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionState::Pending => "pending",
            ExecutionState::Held => "held",
            ExecutionState::AwaitingApproval => "awaiting-approval",
            ExecutionState::Running => "running",
            ExecutionState::Verifying => "verifying",
            ExecutionState::Executed => "executed",
            ExecutionState::Verified => "verified",
            ExecutionState::Failed => "failed",
            ExecutionState::Suppressed => "suppressed",
            ExecutionState::Denied => "denied",
            ExecutionState::Cancelled => "cancelled",
            ExecutionState::DryRun => "dry-run",
        }
    }

    pub fn parse(text: &str) -> Option<ExecutionState> {
        ALL_STATES.iter().copied().find(|state| state.as_str() == text)
    }

    /// Nothing more will happen to it.
    pub fn is_terminal(self) -> bool {
        !matches!(
            self,
            ExecutionState::Pending
                | ExecutionState::Held
                | ExecutionState::AwaitingApproval
                | ExecutionState::Running
                | ExecutionState::Verifying
        )
    }
}

const ALL_STATES: [ExecutionState; 12] = [
    ExecutionState::Pending,
    ExecutionState::Held,
    ExecutionState::AwaitingApproval,
    ExecutionState::Running,
    ExecutionState::Verifying,
    ExecutionState::Executed,
    ExecutionState::Verified,
    ExecutionState::Failed,
    ExecutionState::Suppressed,
    ExecutionState::Denied,
    ExecutionState::Cancelled,
    ExecutionState::DryRun,
];

const NON_TERMINAL: &str = "('pending', 'held', 'awaiting-approval', 'running', 'verifying')";

/// What asked for an execution; its clearing is what verification waits for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Trigger {
    /// `transition` (a monitor went DOWN) or `episode` (an alert episode: a rule fired,
    /// another system sent an alert, or the routing tree ran a receiver's actions).
    pub kind: String,
    /// The monitor, rule or inbound alert's name.
    pub name: String,
    /// The transition or episode row.
    pub id: i64,
}

impl Trigger {
    /// The episode: one outage, one firing. Executions are deduplicated per episode.
    pub fn episode(&self) -> String {
        format!("{}:{}", self.kind, self.id)
    }
}

/// An execution to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewExecution {
    pub action: String,
    /// The target, or why the action's target set was rejected (the target-sanity guard
    /// reports it).
    pub target: Result<String, String>,
    /// One line about the trigger, for people.
    pub summary: String,
    /// The trigger's labels as JSON.
    pub labels: String,
    /// Notifiers told about its outcomes.
    pub notify: Vec<String>,
    pub dry_run: bool,
    /// Which attempt for this episode, from 1.
    pub attempt: i64,
    /// Not before this time (a follow-up waits for the cooldown).
    pub not_before: Option<Timestamp>,
}

/// A stored execution.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExecutionRecord {
    pub id: i64,
    pub action: String,
    /// Empty when the target set was rejected.
    pub target: String,
    pub target_error: Option<String>,
    pub episode: String,
    pub attempt: i64,
    pub trigger: Trigger,
    pub summary: String,
    pub labels: String,
    pub notify: Vec<String>,
    pub dry_run: bool,
    pub state: ExecutionState,
    pub not_before: Timestamp,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub verify_deadline: Option<Timestamp>,
    pub approval_deadline: Option<Timestamp>,
    pub approved_by: Option<String>,
    pub fencing_token: Option<i64>,
    /// Each guard's decision, JSON.
    pub decisions: String,
    /// The action's error or output.
    pub result: Option<String>,
}

const COLUMNS: &str = "id, action, target, target_error, episode, attempt, trigger_kind, trigger_name, trigger_id, summary, labels, notify,
    dry_run, state, not_before, created_at, started_at, finished_at, verify_deadline, approval_deadline, approved_by, fencing_token,
    decisions, result";

/// Whether the trigger of row `t` (`trigger_kind`, `trigger_name`, `trigger_id`) has
/// cleared, as column `cleared` (1 or 0): one expression, so the worker's pass asks it
/// of every execution in the same query.
const CLEARED: &str = "CAST(CASE
        WHEN t.trigger_kind = 'transition' THEN (SELECT COUNT(*) FROM monitor_states m
            WHERE m.monitor = t.trigger_name AND m.state = 'up' AND m.transition_id > t.trigger_id)
        WHEN t.trigger_kind = 'episode' THEN (SELECT COUNT(*) FROM alert_episodes e WHERE e.id = t.trigger_id AND e.state = 'resolved')
        ELSE 0 END AS BIGINT) AS cleared";

fn from_row(row: &AnyRow) -> Result<ExecutionRecord, StoreError> {
    let state: String = row.try_get("state")?;
    let notify: String = row.try_get("notify")?;
    let dry_run: i64 = row.try_get("dry_run")?;
    let optional = |column: &str| row.try_get::<Option<i64>, _>(column).map(|value| value.map(Timestamp));
    Ok(ExecutionRecord {
        id: row.try_get("id")?,
        action: row.try_get("action")?,
        target: row.try_get("target")?,
        target_error: row.try_get("target_error")?,
        episode: row.try_get("episode")?,
        attempt: row.try_get("attempt")?,
        trigger: Trigger { kind: row.try_get("trigger_kind")?, name: row.try_get("trigger_name")?, id: row.try_get("trigger_id")? },
        summary: row.try_get("summary")?,
        labels: row.try_get("labels")?,
        notify: serde_json::from_str(&notify).map_err(|error| StoreError::Corrupt(format!("execution notify list: {error}")))?,
        dry_run: dry_run != 0,
        state: ExecutionState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("unknown execution state `{state}`")))?,
        not_before: Timestamp(row.try_get("not_before")?),
        created_at: Timestamp(row.try_get("created_at")?),
        started_at: optional("started_at")?,
        finished_at: optional("finished_at")?,
        verify_deadline: optional("verify_deadline")?,
        approval_deadline: optional("approval_deadline")?,
        approved_by: row.try_get("approved_by")?,
        fencing_token: row.try_get("fencing_token")?,
        decisions: row.try_get("decisions")?,
        result: row.try_get("result")?,
    })
}

/// Queues executions inside the caller's transaction. One already queued and not
/// finished for the same episode, action and target is not queued again.
pub(crate) async fn insert_executions(
    db: &mut Transaction<'_, Any>,
    executions: &[NewExecution],
    trigger: &Trigger,
    now: Timestamp,
) -> Result<Vec<i64>, StoreError> {
    let episode = trigger.episode();
    let mut ids = Vec::new();
    for execution in executions {
        let (target, target_error) = match &execution.target {
            Ok(target) => (target.as_str(), None),
            Err(error) => ("", Some(error.as_str())),
        };
        let sql = format!(
            "INSERT INTO executions (action, target, target_error, episode, attempt, trigger_kind, trigger_name, trigger_id, summary,
                labels, notify, dry_run, state, not_before, created_at, decisions)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', $13, $14, '[]'
             WHERE NOT EXISTS (SELECT 1 FROM executions WHERE episode = $4 AND action = $1 AND target = $2 AND state IN {NON_TERMINAL})
             RETURNING id"
        );
        let id: Option<i64> = sqlx::query_scalar(&sql)
            .bind(&execution.action)
            .bind(target)
            .bind(target_error)
            .bind(&episode)
            .bind(execution.attempt)
            .bind(&trigger.kind)
            .bind(&trigger.name)
            .bind(trigger.id)
            .bind(&execution.summary)
            .bind(&execution.labels)
            .bind(serde_json::to_string(&execution.notify).unwrap_or_else(|_| "[]".to_owned()))
            .bind(i64::from(execution.dry_run))
            .bind(execution.not_before.unwrap_or(now).0)
            .bind(now.0)
            .fetch_optional(&mut **db)
            .await?;
        ids.extend(id);
    }
    Ok(ids)
}

/// What the guards need to know about one (action, target) now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardFacts {
    pub paused: bool,
    /// Executions started (not dry runs) in the global budget window, by any action.
    pub global_used: u32,
    /// Executions of this action started in its budget window.
    pub action_used: u32,
    pub last_started: Option<Timestamp>,
    pub breaker_open: bool,
    /// Failed attempts of this action on this target in the breaker window, since the
    /// breaker was last reset.
    pub failures: u32,
}

/// Which windows the budget and breaker counts cover.
#[derive(Debug, Clone, Copy)]
pub struct FactWindows {
    pub global_budget: Duration,
    pub action_budget: Duration,
    pub breaker: Duration,
}

/// A change to one execution, written with its notifications and audit entries.
#[derive(Debug, Clone, Default)]
pub struct ExecutionUpdate {
    pub state: Option<ExecutionState>,
    pub decisions: Option<String>,
    pub not_before: Option<Timestamp>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub verify_deadline: Option<Timestamp>,
    pub approval_deadline: Option<Timestamp>,
    pub fencing_token: Option<i64>,
    pub result: Option<String>,
    /// Names this outcome in the notifications' idempotency keys
    /// (`execution:ID:OUTCOME:NOTIFIER`), so each outcome is told once.
    pub outcome: String,
    /// Queued with the change (key `execution:ID:OUTCOME:NOTIFIER`).
    pub notifications: Vec<NewNotification>,
    /// Written with the change.
    pub audit: Vec<AuditEntry>,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub execution_id: Option<i64>,
    pub action: String,
    pub target: String,
    /// `decision`, `executed`, `failed`, `verified`, `breaker-open`, `paused`, `approved`, ...
    pub event: String,
    pub detail: String,
    pub node: String,
}

/// Writes audit entries with one statement (a row per entry).
pub(crate) async fn insert_audit(db: &mut Transaction<'_, Any>, entries: &[AuditEntry]) -> Result<(), StoreError> {
    for chunk in entries.chunks(64) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|row| {
                let first = row * 7 + 1;
                format!("(${}, ${}, ${}, ${}, ${}, ${}, ${})", first, first + 1, first + 2, first + 3, first + 4, first + 5, first + 6)
            })
            .collect();
        let sql = format!("INSERT INTO audit (at, execution_id, action, target, event, detail, node) VALUES {}", rows.join(", "));
        let mut query = sqlx::query(&sql);
        for entry in chunk {
            query = query
                .bind(entry.at.0)
                .bind(entry.execution_id)
                .bind(&entry.action)
                .bind(&entry.target)
                .bind(&entry.event)
                .bind(&entry.detail)
                .bind(&entry.node);
        }
        query.execute(&mut **db).await?;
    }
    Ok(())
}

/// The update of [`Store::update_execution`] inside the caller's transaction.
async fn apply_update(
    db: &mut Transaction<'_, Any>,
    id: i64,
    expected: Option<ExecutionState>,
    update: &ExecutionUpdate,
    now: Timestamp,
    give_up_after: Duration,
) -> Result<bool, StoreError> {
    let updated = sqlx::query(
        "UPDATE executions SET state = COALESCE($3, state), decisions = COALESCE($4, decisions), not_before = COALESCE($5, not_before),
            started_at = COALESCE($6, started_at), finished_at = COALESCE($7, finished_at),
            verify_deadline = COALESCE($8, verify_deadline), approval_deadline = COALESCE($9, approval_deadline),
            fencing_token = COALESCE($10, fencing_token), result = COALESCE($11, result)
         WHERE id = $1 AND ($2 = '' OR state = $2)",
    )
    .bind(id)
    .bind(expected.map_or("", ExecutionState::as_str))
    .bind(update.state.map(ExecutionState::as_str))
    .bind(update.decisions.as_deref())
    .bind(update.not_before.map(|at| at.0))
    .bind(update.started_at.map(|at| at.0))
    .bind(update.finished_at.map(|at| at.0))
    .bind(update.verify_deadline.map(|at| at.0))
    .bind(update.approval_deadline.map(|at| at.0))
    .bind(update.fencing_token)
    .bind(update.result.as_deref())
    .execute(&mut **db)
    .await?
    .rows_affected();
    if updated == 0 {
        return Ok(false);
    }
    for notification in &update.notifications {
        let key = format!("execution:{id}:{}:{}", update.outcome, notification.notifier);
        insert_notification(db, &key, &format!("execution:{id}"), notification, now, give_up_after).await?;
    }
    insert_audit(db, &update.audit).await?;
    Ok(true)
}

/// Takes `target`'s lease inside the caller's transaction; see [`Store::acquire_target_lease`].
async fn acquire_lease(
    db: &mut Transaction<'_, Any>,
    target: &str,
    owner: &str,
    now: Timestamp,
    until: Timestamp,
) -> Result<Option<i64>, StoreError> {
    let token: Option<i64> = sqlx::query_scalar(
        "INSERT INTO target_leases (target, owner, token, expires_at) VALUES ($1, $2, 1, $3)
         ON CONFLICT (target) DO UPDATE SET owner = $2, token = target_leases.token + 1, expires_at = $3
         WHERE target_leases.expires_at <= $4 OR target_leases.owner = $2
         RETURNING token",
    )
    .bind(target)
    .bind(owner)
    .bind(until.0)
    .bind(now.0)
    .fetch_optional(&mut **db)
    .await?;
    Ok(token)
}

/// How an approval request was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalAnswer {
    Recorded(Box<ExecutionRecord>),
    NotFound,
    /// The execution is not waiting for approval (already approved, run, or denied).
    NotWaiting(ExecutionState),
}

impl Store {
    /// Writes audit entries on their own (API writes: silences, posted alerts).
    pub async fn record_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        let mut db = self.begin_write().await?;
        insert_audit(&mut db, entries).await?;
        db.commit().await?;
        Ok(())
    }

    /// Queues executions in their own transaction (inbound alerts, follow-up attempts).
    pub async fn enqueue_executions(&self, executions: &[NewExecution], trigger: &Trigger, now: Timestamp) -> Result<Vec<i64>, StoreError> {
        let mut db = self.begin_write().await?;
        let ids = insert_executions(&mut db, executions, trigger, now).await?;
        db.commit().await?;
        Ok(ids)
    }

    /// Up to `limit` executions due for the guards: pending, or held and due. Nothing is
    /// claimed: every change a worker makes is conditional on the state it read, so when
    /// two nodes look at one execution, one moves it on and the other changes nothing.
    pub async fn due_executions(&self, now: Timestamp, limit: i64) -> Result<Vec<ExecutionRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM executions WHERE state IN ('pending', 'held') AND not_before <= $1 ORDER BY not_before, id LIMIT $2"
        );
        sqlx::query(&sql).bind(now.0).bind(limit).fetch_all(&self.pool).await?.iter().map(from_row).collect()
    }

    /// What the guards need about `action` on `target` at `now`.
    pub async fn guard_facts(&self, action: &str, target: &str, now: Timestamp, windows: FactWindows) -> Result<GuardFacts, StoreError> {
        // One round trip: this is on the path from an alert to its action starting.
        let row = sqlx::query(
            "SELECT
                (SELECT value FROM settings WHERE name = 'actions-paused') AS paused,
                (SELECT COUNT(*) FROM executions WHERE started_at >= $1 AND dry_run = 0) AS global_used,
                (SELECT COUNT(*) FROM executions WHERE started_at >= $2 AND dry_run = 0 AND action = $3) AS action_used,
                (SELECT MAX(started_at) FROM executions WHERE action = $3 AND target = $4 AND dry_run = 0) AS last_started,
                (SELECT opened_at FROM breakers WHERE action = $3 AND target = $4) AS opened_at,
                (SELECT COUNT(*) FROM executions
                 WHERE started_at >= $5 AND dry_run = 0 AND action = $3 AND target = $4 AND state = 'failed'
                   AND started_at > COALESCE((SELECT reset_at FROM breakers WHERE action = $3 AND target = $4), -1)) AS failures",
        )
        .bind(now.saturating_sub(windows.global_budget).0)
        .bind(now.saturating_sub(windows.action_budget).0)
        .bind(action)
        .bind(target)
        .bind(now.saturating_sub(windows.breaker).0)
        .fetch_one(&self.pool)
        .await?;
        let paused = row.try_get::<Option<String>, _>("paused")?.is_some_and(|value| value == "true");
        let global_used: i64 = row.try_get("global_used")?;
        let action_used: i64 = row.try_get("action_used")?;
        let last_started: Option<i64> = row.try_get("last_started")?;
        let opened_at: Option<i64> = row.try_get("opened_at")?;
        let failures: i64 = row.try_get("failures")?;
        let to_u32 = |value: i64| u32::try_from(value).unwrap_or(u32::MAX);
        Ok(GuardFacts {
            paused,
            global_used: to_u32(global_used),
            action_used: to_u32(action_used),
            last_started: last_started.map(Timestamp),
            breaker_open: opened_at.is_some(),
            failures: to_u32(failures),
        })
    }

    /// Applies `update` to execution `id` with its notifications and audit entries, in
    /// one transaction. With `expected`, only while the execution is still in that state;
    /// returns false, changing nothing, when it is not (another node moved it on).
    pub async fn update_execution(
        &self,
        id: i64,
        expected: Option<ExecutionState>,
        update: &ExecutionUpdate,
        now: Timestamp,
        give_up_after: Duration,
    ) -> Result<bool, StoreError> {
        let mut db = self.begin_write().await?;
        if !apply_update(&mut db, id, expected, update, now, give_up_after).await? {
            return Ok(false);
        }
        db.commit().await?;
        Ok(true)
    }

    /// Starts execution `id`: takes its target's lease for `holder` until `lease_until`
    /// and applies `update(token)` (the move to running, with its audit entries) in the
    /// same transaction, so a run is recorded exactly when its lease is held. Returns the
    /// fencing token, or `None`, changing nothing, when another holder has the target or
    /// the execution is no longer in the `expected` state.
    #[allow(clippy::too_many_arguments, reason = "one transaction over an execution and its target's lease")]
    pub async fn start_execution(
        &self,
        id: i64,
        expected: ExecutionState,
        target: &str,
        holder: &str,
        lease_until: Timestamp,
        update: impl FnOnce(i64) -> ExecutionUpdate,
        now: Timestamp,
        give_up_after: Duration,
    ) -> Result<Option<i64>, StoreError> {
        let mut db = self.begin_write().await?;
        let Some(token) = acquire_lease(&mut db, target, holder, now, lease_until).await? else { return Ok(None) };
        let update = ExecutionUpdate { fencing_token: Some(token), ..update(token) };
        if !apply_update(&mut db, id, Some(expected), &update, now, give_up_after).await? {
            return Ok(None);
        }
        db.commit().await?;
        Ok(Some(token))
    }

    /// Takes `target`'s lease for `owner` until `until`, unless another owner holds it.
    /// Returns the fencing token: larger than every token handed out for the target
    /// before, so a late write by an earlier holder can be told apart and refused.
    pub async fn acquire_target_lease(
        &self,
        target: &str,
        owner: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<i64>, StoreError> {
        let mut db = self.begin_write().await?;
        let token = acquire_lease(&mut db, target, owner, now, until).await?;
        db.commit().await?;
        Ok(token)
    }

    /// Who holds `target`'s lease and until when, if anyone does at `now`.
    pub async fn target_lease_holder(&self, target: &str, now: Timestamp) -> Result<Option<(String, Timestamp)>, StoreError> {
        let row = sqlx::query("SELECT owner, expires_at FROM target_leases WHERE target = $1 AND expires_at > $2")
            .bind(target)
            .bind(now.0)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| Ok((row.try_get("owner")?, Timestamp(row.try_get("expires_at")?)))).transpose()
    }

    /// Lets go of `target`'s lease if `token` is still the current one.
    pub async fn release_target_lease(&self, target: &str, token: i64) -> Result<bool, StoreError> {
        let _turn = self.turn().await;
        let released = sqlx::query("UPDATE target_leases SET expires_at = 0 WHERE target = $1 AND token = $2")
            .bind(target)
            .bind(token)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(released > 0)
    }

    /// Executions waiting on something with a deadline: verifying ones whose trigger
    /// cleared or whose `verify` ran out, approvals that timed out, and runs started more
    /// than `running_for` ago (a node stopped while running them). Each comes with
    /// whether its trigger has cleared.
    pub async fn due_checks(&self, now: Timestamp, running_for: Duration) -> Result<Vec<(ExecutionRecord, bool)>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS}, {CLEARED} FROM executions t
             WHERE state = 'verifying' OR (state = 'awaiting-approval' AND approval_deadline <= $1) OR (state = 'running' AND started_at <= $2)
             ORDER BY id"
        );
        let mut due = Vec::new();
        let stale = now.saturating_sub(running_for);
        for row in sqlx::query(&sql).bind(now.0).bind(stale.0).fetch_all(&self.pool).await? {
            let record = from_row(&row)?;
            let cleared = row.try_get::<i64, _>("cleared")? != 0;
            let verify_due = record.verify_deadline.is_some_and(|deadline| deadline <= now);
            if record.state != ExecutionState::Verifying || cleared || verify_due {
                due.push((record, cleared));
            }
        }
        Ok(due)
    }

    /// Whether the trigger has cleared: the monitor is UP again after the transition,
    /// the rule's alert or the inbound alert resolved.
    pub async fn trigger_cleared(&self, trigger: &Trigger) -> Result<bool, StoreError> {
        let sql = format!(
            "SELECT {CLEARED} FROM (SELECT CAST($1 AS TEXT) AS trigger_kind, CAST($2 AS TEXT) AS trigger_name, CAST($3 AS BIGINT) AS trigger_id) t"
        );
        let cleared: i64 = sqlx::query_scalar(&sql).bind(&trigger.kind).bind(&trigger.name).bind(trigger.id).fetch_one(&self.pool).await?;
        Ok(cleared != 0)
    }

    /// The earliest time an execution needs looking at: a pending or held one falls due,
    /// a verification or an approval runs out.
    pub async fn next_execution_due(&self) -> Result<Option<Timestamp>, StoreError> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(at) FROM (
                SELECT MIN(not_before) AS at FROM executions WHERE state IN ('pending', 'held')
                UNION ALL SELECT MIN(verify_deadline) AS at FROM executions WHERE state = 'verifying'
                UNION ALL SELECT MIN(approval_deadline) AS at FROM executions WHERE state = 'awaiting-approval'
             ) due",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(next.map(Timestamp))
    }

    /// Opens the breaker of (`action`, `target`). Returns true when it was closed before,
    /// so the escalation goes out once per opening.
    pub async fn open_breaker(&self, action: &str, target: &str, now: Timestamp) -> Result<bool, StoreError> {
        let _turn = self.turn().await;
        let opened: Option<i64> = sqlx::query_scalar(
            "INSERT INTO breakers (action, target, opened_at) VALUES ($1, $2, $3)
             ON CONFLICT (action, target) DO UPDATE SET opened_at = $3 WHERE breakers.opened_at IS NULL
             RETURNING opened_at",
        )
        .bind(action)
        .bind(target)
        .bind(now.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(opened.is_some())
    }

    /// Closes every breaker of `action`; earlier failures no longer count. Returns how
    /// many were open.
    pub async fn reset_breakers(&self, action: &str, now: Timestamp) -> Result<u64, StoreError> {
        let mut db = self.begin_write().await?;
        let reset = sqlx::query("UPDATE breakers SET opened_at = NULL, reset_at = $2 WHERE action = $1 AND opened_at IS NOT NULL")
            .bind(action)
            .bind(now.0)
            .execute(&mut **db)
            .await?
            .rows_affected();
        // Failures before the reset stop counting even where the breaker never opened.
        sqlx::query(
            "INSERT INTO breakers (action, target, reset_at) SELECT DISTINCT action, target, $2 FROM executions WHERE action = $1
             ON CONFLICT (action, target) DO UPDATE SET reset_at = $2",
        )
        .bind(action)
        .bind(now.0)
        .execute(&mut **db)
        .await?;
        insert_audit(
            &mut db,
            &[AuditEntry {
                at: now,
                execution_id: None,
                action: action.to_owned(),
                target: String::new(),
                event: "breaker-reset".to_owned(),
                detail: format!("{reset} open breakers closed"),
                node: String::new(),
            }],
        )
        .await?;
        db.commit().await?;
        Ok(reset)
    }

    /// Open breakers: `(action, target, opened_at)`.
    pub async fn open_breakers(&self) -> Result<Vec<(String, String, Timestamp)>, StoreError> {
        let rows = sqlx::query("SELECT action, target, opened_at FROM breakers WHERE opened_at IS NOT NULL ORDER BY action, target")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|row| Ok((row.try_get("action")?, row.try_get("target")?, Timestamp(row.try_get("opened_at")?)))).collect()
    }

    /// Turns the kill switch on (`true`: no action runs) or off, with an audit entry.
    pub async fn set_paused(&self, paused: bool, by: &str, now: Timestamp) -> Result<(), StoreError> {
        let mut db = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO settings (name, value, updated_at) VALUES ('actions-paused', $1, $2)
             ON CONFLICT (name) DO UPDATE SET value = $1, updated_at = $2",
        )
        .bind(if paused { "true" } else { "false" })
        .bind(now.0)
        .execute(&mut **db)
        .await?;
        let event = if paused { "paused" } else { "resumed" };
        let entry = AuditEntry {
            at: now,
            execution_id: None,
            action: String::new(),
            target: String::new(),
            event: event.to_owned(),
            detail: format!("actions {event} by {by}"),
            node: String::new(),
        };
        insert_audit(&mut db, &[entry]).await?;
        db.commit().await?;
        Ok(())
    }

    pub async fn paused(&self) -> Result<bool, StoreError> {
        let value: Option<String> =
            sqlx::query_scalar("SELECT value FROM settings WHERE name = 'actions-paused'").fetch_optional(&self.pool).await?;
        Ok(value.is_some_and(|value| value == "true"))
    }

    /// Records `by`'s answer to an execution waiting for approval; an approved one goes
    /// back to the guards, a refused one is denied there.
    pub async fn answer_approval(&self, id: i64, approve: bool, by: &str, now: Timestamp) -> Result<ApprovalAnswer, StoreError> {
        let Some(record) = self.execution(id).await? else { return Ok(ApprovalAnswer::NotFound) };
        if record.state != ExecutionState::AwaitingApproval {
            return Ok(ApprovalAnswer::NotWaiting(record.state));
        }
        let mut db = self.begin_write().await?;
        let answer = if approve { by.to_owned() } else { format!("!{by}") };
        let updated = sqlx::query(
            "UPDATE executions SET state = 'pending', approved_by = $2, not_before = $3
             WHERE id = $1 AND state = 'awaiting-approval'",
        )
        .bind(id)
        .bind(&answer)
        .bind(now.0)
        .execute(&mut **db)
        .await?
        .rows_affected();
        if updated == 0 {
            return Ok(ApprovalAnswer::NotWaiting(record.state));
        }
        let event = if approve { "approved" } else { "refused" };
        let entry = AuditEntry {
            at: now,
            execution_id: Some(id),
            action: record.action.clone(),
            target: record.target.clone(),
            event: event.to_owned(),
            detail: format!("{event} by {by}"),
            node: String::new(),
        };
        insert_audit(&mut db, &[entry]).await?;
        db.commit().await?;
        let record = self.execution(id).await?.ok_or_else(|| StoreError::Corrupt("approved execution vanished".into()))?;
        Ok(ApprovalAnswer::Recorded(Box::new(record)))
    }

    pub async fn execution(&self, id: i64) -> Result<Option<ExecutionRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM executions WHERE id = $1");
        sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await?.as_ref().map(from_row).transpose()
    }

    /// Executions, newest first; only `action`'s when given.
    pub async fn executions(&self, action: Option<&str>, limit: i64) -> Result<Vec<ExecutionRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM executions WHERE ($1 = '' OR action = $1) ORDER BY id DESC LIMIT $2");
        sqlx::query(&sql).bind(action.unwrap_or("")).bind(limit).fetch_all(&self.pool).await?.iter().map(from_row).collect()
    }

    /// The audit log, oldest first; only one execution's when given.
    pub async fn audit(&self, execution_id: Option<i64>, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, execution_id, action, target, event, detail, node FROM audit
             WHERE ($1 = 0 OR execution_id = $1) ORDER BY id DESC LIMIT $2",
        )
        .bind(execution_id.unwrap_or(0))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut entries: Vec<AuditEntry> = rows
            .iter()
            .map(|row| {
                Ok(AuditEntry {
                    at: Timestamp(row.try_get("at")?),
                    execution_id: row.try_get("execution_id")?,
                    action: row.try_get("action")?,
                    target: row.try_get("target")?,
                    event: row.try_get("event")?,
                    detail: row.try_get("detail")?,
                    node: row.try_get("node")?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        entries.reverse();
        Ok(entries)
    }
}
