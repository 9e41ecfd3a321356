//! The durable outbox: every notification is a row written with the event that caused
//! it, then claimed under a lease, attempted, and marked delivered, retried or failed.
//! Every attempt is recorded.

use std::time::Duration;

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use vigil_core::Timestamp;

use crate::{millis, Store, StoreError};

/// A notification to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    /// Name of the notifier that will deliver it.
    pub notifier: String,
    /// What to say, as JSON; the store does not read it.
    pub payload: String,
}

/// A queued notification, claimed for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: i64,
    pub idempotency_key: String,
    pub notifier: String,
    pub payload: String,
    pub status: OutboxStatus,
    /// Attempts made before this one.
    pub attempts: i64,
    pub created_at: Timestamp,
    pub give_up_at: Timestamp,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboxStatus {
    Pending,
    Delivered,
    Failed,
}

impl OutboxStatus {
    fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Delivered => "delivered",
            OutboxStatus::Failed => "failed",
        }
    }
}

/// How one attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered,
    /// Failed; try again at `next_attempt_at`.
    Retry {
        next_attempt_at: Timestamp,
        error: String,
    },
    /// Failed for good: the error is permanent or the retry period is over.
    Failed {
        error: String,
    },
}

/// Counts by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutboxSummary {
    pub pending: i64,
    pub delivered: i64,
    pub failed: i64,
}

const COLUMNS: &str = "id, idempotency_key, notifier, payload, status, attempts, created_at, give_up_at, last_error";

fn from_row(row: &AnyRow) -> Result<OutboxItem, StoreError> {
    let status: String = row.try_get("status")?;
    let status = match status.as_str() {
        "pending" => OutboxStatus::Pending,
        "delivered" => OutboxStatus::Delivered,
        "failed" => OutboxStatus::Failed,
        other => return Err(StoreError::Corrupt(format!("unknown outbox status `{other}`"))),
    };
    Ok(OutboxItem {
        id: row.try_get("id")?,
        idempotency_key: row.try_get("idempotency_key")?,
        notifier: row.try_get("notifier")?,
        payload: row.try_get("payload")?,
        status,
        attempts: row.try_get("attempts")?,
        created_at: Timestamp(row.try_get("created_at")?),
        give_up_at: Timestamp(row.try_get("give_up_at")?),
        last_error: row.try_get("last_error")?,
    })
}

/// Queues a notification inside the caller's transaction. A second insert with the
/// same key is ignored: an episode is notified once per notifier. Notifications with the
/// same `ordering` (a monitor, an alert's labels, an execution) reach their notifier in
/// the order they were queued: a later one waits while an earlier one is pending.
pub(crate) async fn insert_notification(
    db: &mut Transaction<'_, Any>,
    key: &str,
    ordering: &str,
    notification: &NewNotification,
    now: Timestamp,
    give_up_after: Duration,
) -> Result<(), StoreError> {
    insert_incident_notification(db, key, ordering, notification, None, now, give_up_after).await
}

/// [`insert_notification`], for an incident: when it is delivered or fails for good,
/// the incident's timeline gets `note` with the outcome.
pub(crate) async fn insert_incident_notification(
    db: &mut Transaction<'_, Any>,
    key: &str,
    ordering: &str,
    notification: &NewNotification,
    incident: Option<(i64, &str)>,
    now: Timestamp,
    give_up_after: Duration,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO outbox (idempotency_key, notifier, payload, status, created_at, next_attempt_at, give_up_at, ordering_key,
            incident_id, incident_note)
         VALUES ($1, $2, $3, 'pending', $4, $4, $5, $6, $7, $8) ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(key)
    .bind(&notification.notifier)
    .bind(&notification.payload)
    .bind(now.0)
    .bind(now.0.saturating_add(millis(give_up_after)))
    .bind(ordering)
    .bind(incident.map(|(id, _)| id))
    .bind(incident.map(|(_, note)| note))
    .execute(&mut **db)
    .await?;
    Ok(())
}

impl Store {
    /// Claims up to `limit` due notifications for `owner` until `now + lease`: those
    /// without a live lease, and with `reclaim_own` (a restarted node's first claim)
    /// those `owner` held. A notification whose holder crashed becomes claimable by
    /// others when its lease ends. A notification waits while an earlier one with the
    /// same ordering key and notifier is pending, so one monitor's DOWN and UP reach a
    /// notifier in that order even after its outage.
    pub async fn claim_due(
        &self,
        owner: &str,
        now: Timestamp,
        lease: Duration,
        limit: i64,
        reclaim_own: bool,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let _turn = self.turn().await;
        let claimable = "status = 'pending' AND (lease_until IS NULL OR lease_until <= $3 OR (lease_owner = $1 AND $5))";
        let sql = format!(
            "UPDATE outbox SET lease_owner = $1, lease_until = $2
             WHERE id IN (
                SELECT id FROM outbox
                WHERE {claimable} AND next_attempt_at <= $3
                  AND NOT EXISTS (
                    SELECT 1 FROM outbox earlier
                    WHERE earlier.notifier = outbox.notifier AND earlier.ordering_key = outbox.ordering_key
                      AND earlier.status = 'pending' AND earlier.id < outbox.id
                  )
                ORDER BY next_attempt_at, id LIMIT $4
             ) AND {claimable}
             RETURNING {COLUMNS}"
        );
        let rows = sqlx::query(&sql)
            .bind(owner)
            .bind(now.0.saturating_add(millis(lease)))
            .bind(now.0)
            .bind(limit)
            .bind(reclaim_own)
            .fetch_all(&self.pool)
            .await?;
        let mut items: Vec<OutboxItem> = rows.iter().map(from_row).collect::<Result<_, _>>()?;
        items.sort_by_key(|item| item.id);
        Ok(items)
    }

    /// Records one attempt and its outcome. Returns false, recording nothing, when
    /// `owner` no longer holds the lease (another node took the notification over).
    pub async fn finish_attempt(&self, id: i64, owner: &str, at: Timestamp, outcome: &AttemptOutcome) -> Result<bool, StoreError> {
        let mut db = self.begin_write().await?;
        let (status, next_attempt_at, error, delivered_at) = match outcome {
            AttemptOutcome::Delivered => (OutboxStatus::Delivered, None, None, Some(at.0)),
            AttemptOutcome::Retry { next_attempt_at, error } => {
                (OutboxStatus::Pending, Some(next_attempt_at.0), Some(error.as_str()), None)
            }
            AttemptOutcome::Failed { error } => (OutboxStatus::Failed, None, Some(error.as_str()), None),
        };
        let updated = sqlx::query(
            "UPDATE outbox SET status = $3, attempts = attempts + 1, next_attempt_at = COALESCE($4, next_attempt_at),
                last_error = COALESCE($5, last_error), delivered_at = $6, lease_owner = NULL, lease_until = NULL
             WHERE id = $1 AND lease_owner = $2 AND status = 'pending'",
        )
        .bind(id)
        .bind(owner)
        .bind(status.as_str())
        .bind(next_attempt_at)
        .bind(error)
        .bind(delivered_at)
        .execute(&mut **db)
        .await?
        .rows_affected();
        if updated == 0 {
            return Ok(false);
        }
        sqlx::query("INSERT INTO outbox_attempts (outbox_id, at, ok, error) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(at.0)
            .bind(matches!(outcome, AttemptOutcome::Delivered))
            .bind(error)
            .execute(&mut **db)
            .await?;
        if !matches!(outcome, AttemptOutcome::Retry { .. }) {
            let row =
                sqlx::query("SELECT incident_id, incident_note, notifier FROM outbox WHERE id = $1").bind(id).fetch_one(&mut **db).await?;
            if let Some(incident) = row.try_get::<Option<i64>, _>("incident_id")? {
                let note: Option<String> = row.try_get("incident_note")?;
                let notifier: String = row.try_get("notifier")?;
                let note = note.unwrap_or_else(|| format!("notification through {notifier}"));
                let entry = match (outcome, error) {
                    (AttemptOutcome::Delivered, _) => crate::NewEntry::new("delivered", "vigil", format!("delivered: {note}")),
                    (_, error) => crate::NewEntry::new("failed", "vigil", format!("failed: {note}: {}", error.unwrap_or("unknown error"))),
                };
                crate::incidents::append(&mut db, incident, at, &[entry.with(serde_json::json!({"outbox": id, "notifier": notifier}))])
                    .await?;
            }
        }
        db.commit().await?;
        Ok(true)
    }

    /// Gives up `owner`'s leases on `ids` (deliveries abandoned at shutdown), so the next
    /// start, or another node, takes them at once.
    pub async fn release_leases(&self, owner: &str, ids: &[i64]) -> Result<(), StoreError> {
        let _turn = self.turn().await;
        for id in ids {
            sqlx::query(
                "UPDATE outbox SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2 AND status = 'pending'",
            )
            .bind(id)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// Notifications not yet delivered or failed for good, those being attempted included.
    pub async fn outbox_backlog(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status = 'pending'").fetch_one(&self.pool).await?)
    }

    /// When the next pending notification falls due, if any.
    pub async fn next_due_at(&self) -> Result<Option<Timestamp>, StoreError> {
        let next: Option<i64> =
            sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'pending'").fetch_one(&self.pool).await?;
        Ok(next.map(Timestamp))
    }

    pub async fn outbox_summary(&self) -> Result<OutboxSummary, StoreError> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status").fetch_all(&self.pool).await?;
        let mut summary = OutboxSummary::default();
        for row in rows {
            let status: String = row.try_get("status")?;
            let count: i64 = row.try_get("n")?;
            match status.as_str() {
                "pending" => summary.pending = count,
                "delivered" => summary.delivered = count,
                _ => summary.failed += count,
            }
        }
        Ok(summary)
    }

    /// The newest notifications, newest first.
    pub async fn notifications(&self, limit: i64) -> Result<Vec<OutboxItem>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM outbox ORDER BY id DESC LIMIT $1");
        sqlx::query(&sql).bind(limit).fetch_all(&self.pool).await?.iter().map(from_row).collect()
    }

    /// How many attempts were recorded for one notification.
    pub async fn attempt_count(&self, id: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM outbox_attempts WHERE outbox_id = $1").bind(id).fetch_one(&self.pool).await?)
    }
}
