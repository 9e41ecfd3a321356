//! Stored state transitions, written in one transaction with the notifications they cause
//! and the monitor's alert episode.

use std::time::Duration;

use sqlx::any::AnyRow;
use sqlx::Row;
use vigil_core::uptime::StateChange;
use vigil_core::{Health, Timestamp};

use crate::executions::{insert_executions, NewExecution, Trigger};
use crate::outbox::{insert_notification, NewNotification};
use crate::{millis, Store, StoreError};

/// A transition about to be stored.
#[derive(Debug, Clone)]
pub struct NewTransition {
    pub monitor: String,
    pub at: Timestamp,
    pub from: Health,
    pub to: Health,
    /// Why: the failing conditions, or the error, or `recovered`.
    pub reason: String,
    pub previous_period: Option<Duration>,
}

/// A stored transition.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TransitionRecord {
    pub id: i64,
    pub monitor: String,
    pub at: Timestamp,
    pub from: Health,
    pub to: Health,
    pub healthy: bool,
    pub reason: String,
    pub previous_period_ms: Option<i64>,
}

// `healthy` is stored for readers of the table but derived on the way out: sqlx's Any
// driver cannot decode SQLite booleans.
const COLUMNS: &str = "id, monitor, at, from_state, state, reason, previous_period_ms";

fn health(row: &AnyRow, column: &str) -> Result<Health, StoreError> {
    let text: String = row.try_get(column)?;
    Health::parse(&text).ok_or_else(|| StoreError::Corrupt(format!("unknown state `{text}`")))
}

fn from_row(row: &AnyRow) -> Result<TransitionRecord, StoreError> {
    let to = health(row, "state")?;
    Ok(TransitionRecord {
        id: row.try_get("id")?,
        monitor: row.try_get("monitor")?,
        at: Timestamp(row.try_get("at")?),
        from: health(row, "from_state")?,
        to,
        healthy: to == Health::Up,
        reason: row.try_get("reason")?,
        previous_period_ms: row.try_get("previous_period_ms")?,
    })
}

/// A transition with what it causes, stored together.
#[derive(Debug, Clone)]
pub struct TransitionWrite {
    pub transition: NewTransition,
    pub notifications: Vec<NewNotification>,
    /// Remediation to queue; their trigger is this transition.
    pub executions: Vec<NewExecution>,
    /// The monitor's alert starting (DOWN) or ending, stored with the transition.
    pub episode: Option<crate::EpisodeChange>,
}

impl Store {
    /// Stores `transition` and queues `notifications` in the same transaction, so either
    /// both are recorded or neither is. Each notification's idempotency key is
    /// `transition:ID:NOTIFIER`: one transition is one episode. `None` when the monitor's
    /// recorded state already is the new one (another node recorded it).
    pub async fn record_transition(
        &self,
        transition: &NewTransition,
        notifications: &[NewNotification],
        give_up_after: Duration,
    ) -> Result<Option<TransitionRecord>, StoreError> {
        let write = TransitionWrite {
            transition: transition.clone(),
            notifications: notifications.to_vec(),
            executions: Vec::new(),
            episode: None,
        };
        let mut records = self.record_transitions(&[write], give_up_after).await?;
        records.pop().ok_or_else(|| StoreError::Corrupt("no transition returned".to_owned()))
    }

    /// Stores many transitions with their notifications and executions in one
    /// transaction (group commit): all of them or none. A transition to the state the
    /// monitor is already recorded in is skipped (`None`): when several nodes watch one
    /// monitor, the first to record a change records it, once.
    pub async fn record_transitions(
        &self,
        batch: &[TransitionWrite],
        give_up_after: Duration,
    ) -> Result<Vec<Option<TransitionRecord>>, StoreError> {
        let mut db = self.begin_write().await?;
        let sql = format!(
            "INSERT INTO transitions (monitor, at, from_state, state, healthy, reason, previous_period_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
        );
        let mut records = Vec::with_capacity(batch.len());
        for TransitionWrite { transition, notifications, executions, episode } in batch {
            // The row lock this takes (or the insert) serializes nodes recording the same
            // monitor; the loser sees the new state and records nothing.
            let changed: Option<String> = sqlx::query_scalar(
                "INSERT INTO monitor_states (monitor, state, since, transition_id) VALUES ($1, $2, $3, 0)
                 ON CONFLICT (monitor) DO UPDATE SET state = $2, since = $3 WHERE monitor_states.state <> $2
                 RETURNING monitor",
            )
            .bind(&transition.monitor)
            .bind(transition.to.as_str())
            .bind(transition.at.0)
            .fetch_optional(&mut **db)
            .await?;
            if changed.is_none() {
                records.push(None);
                continue;
            }
            let row = sqlx::query(&sql)
                .bind(&transition.monitor)
                .bind(transition.at.0)
                .bind(transition.from.as_str())
                .bind(transition.to.as_str())
                .bind(transition.to == Health::Up)
                .bind(&transition.reason)
                .bind(transition.previous_period.map(millis))
                .fetch_one(&mut **db)
                .await?;
            let record = from_row(&row)?;
            sqlx::query("UPDATE monitor_states SET transition_id = $2 WHERE monitor = $1")
                .bind(&record.monitor)
                .bind(record.id)
                .execute(&mut **db)
                .await?;
            for notification in notifications {
                let key = format!("transition:{}:{}", record.id, notification.notifier);
                insert_notification(&mut db, &key, &format!("monitor:{}", record.monitor), notification, transition.at, give_up_after)
                    .await?;
            }
            let trigger = Trigger { kind: "transition".to_owned(), name: record.monitor.clone(), id: record.id };
            insert_executions(&mut db, executions, &trigger, transition.at).await?;
            if let Some(change) = episode {
                crate::episodes::apply_change(&mut db, change, transition.at, give_up_after).await?;
            }
            records.push(Some(record));
        }
        db.commit().await?;
        Ok(records)
    }

    /// The newest transition of every monitor, to restore state on start.
    pub async fn latest_transitions(&self) -> Result<Vec<TransitionRecord>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM transitions WHERE id IN (SELECT MAX(id) FROM transitions GROUP BY monitor) ORDER BY monitor");
        sqlx::query(&sql).fetch_all(&self.pool).await?.iter().map(from_row).collect()
    }

    /// Each monitor's latest transition before `at`.
    pub async fn latest_transitions_before(&self, at: Timestamp) -> Result<Vec<TransitionRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM transitions WHERE id IN (SELECT MAX(id) FROM transitions WHERE at < $1 GROUP BY monitor) ORDER BY monitor"
        );
        sqlx::query(&sql).bind(at.0).fetch_all(&self.pool).await?.iter().map(from_row).collect()
    }

    /// A monitor's transitions, newest first.
    pub async fn transitions(&self, monitor: &str, limit: i64) -> Result<Vec<TransitionRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM transitions WHERE monitor = $1 ORDER BY at DESC, id DESC LIMIT $2");
        sqlx::query(&sql).bind(monitor).bind(limit).fetch_all(&self.pool).await?.iter().map(from_row).collect()
    }

    /// Names of every monitor that has a stored transition.
    pub async fn monitors_with_history(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT DISTINCT monitor FROM transitions ORDER BY monitor").fetch_all(&self.pool).await?)
    }

    /// [`Store::state_changes`] of several monitors in two queries, by monitor.
    pub async fn state_changes_of(
        &self,
        monitors: &[String],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<std::collections::BTreeMap<String, Vec<StateChange>>, StoreError> {
        let mut changes: std::collections::BTreeMap<String, Vec<StateChange>> =
            monitors.iter().map(|monitor| (monitor.clone(), Vec::new())).collect();
        if monitors.is_empty() {
            return Ok(changes);
        }
        let list = |first: usize| (first..first + monitors.len()).map(|index| format!("${index}")).collect::<Vec<_>>().join(", ");
        let before = format!(
            "SELECT {COLUMNS} FROM transitions WHERE id IN (SELECT MAX(id) FROM transitions WHERE monitor IN ({}) AND at < $1 GROUP BY monitor)",
            list(2)
        );
        let within = format!("SELECT {COLUMNS} FROM transitions WHERE monitor IN ({}) AND at >= $1 AND at < $2 ORDER BY at, id", list(3));
        for (sql, bounds) in [(before, vec![from.0]), (within, vec![from.0, to.0])] {
            let mut query = sqlx::query(&sql);
            for bound in bounds {
                query = query.bind(bound);
            }
            for monitor in monitors {
                query = query.bind(monitor);
            }
            for row in query.fetch_all(&self.pool).await? {
                let record = from_row(&row)?;
                if let Some(list) = changes.get_mut(&record.monitor) {
                    list.push(StateChange { at: record.at, health: record.to });
                }
            }
        }
        Ok(changes)
    }

    /// Every monitor's transitions in `[from, to)`, oldest first: a day's worth for the
    /// overview, read without naming the monitors.
    pub async fn transitions_between(&self, from: Timestamp, to: Timestamp) -> Result<Vec<TransitionRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM transitions WHERE at >= $1 AND at < $2 ORDER BY at, id");
        let rows = sqlx::query(&sql).bind(from.0).bind(to.0).fetch_all(&self.pool).await?;
        rows.iter().map(from_row).collect()
    }

    /// State changes of `monitor` in `[from, to)`, oldest first, preceded by the last
    /// change before `from` so the state at the start of the window is known.
    pub async fn state_changes(&self, monitor: &str, from: Timestamp, to: Timestamp) -> Result<Vec<StateChange>, StoreError> {
        // Two index range reads on (monitor, at); an `OR` of the two made SQLite scan
        // every row of the monitor.
        let sql = format!(
            "SELECT * FROM (SELECT {COLUMNS} FROM transitions WHERE monitor = $1 AND at < $2 ORDER BY at DESC, id DESC LIMIT 1) AS before
             UNION ALL
             SELECT {COLUMNS} FROM transitions WHERE monitor = $1 AND at >= $2 AND at < $3
             ORDER BY at, id"
        );
        let rows = sqlx::query(&sql).bind(monitor).bind(from.0).bind(to.0).fetch_all(&self.pool).await?;
        rows.iter().map(|row| from_row(row).map(|record| StateChange { at: record.at, health: record.to })).collect()
    }
}
