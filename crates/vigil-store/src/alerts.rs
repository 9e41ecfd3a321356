//! Alert episodes of log rules: one row from firing to resolution, written in the same
//! transaction as the notifications (and, on firing, the executions) each change causes.

use sqlx::any::AnyRow;
use sqlx::Row;
use vigil_core::Timestamp;

use crate::executions::{insert_executions, NewExecution, Trigger};
use crate::outbox::{insert_notification, NewNotification};
use crate::{Store, StoreError};

/// An alert about to start.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub rule: String,
    /// The rule and its label set, canonical; one open alert per fingerprint.
    pub fingerprint: String,
    /// The label set as JSON.
    pub labels: String,
    pub severity: String,
    pub at: Timestamp,
    pub value: f64,
    /// The last matching lines as a JSON array.
    pub sample_lines: String,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AlertRecord {
    pub id: i64,
    pub rule: String,
    pub fingerprint: String,
    pub labels: String,
    pub severity: String,
    pub state: String,
    pub fired_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    pub value: f64,
}

const COLUMNS: &str = "id, rule, fingerprint, labels, severity, state, fired_at, resolved_at, value";

fn from_row(row: &AnyRow) -> Result<AlertRecord, StoreError> {
    Ok(AlertRecord {
        id: row.try_get("id")?,
        rule: row.try_get("rule")?,
        fingerprint: row.try_get("fingerprint")?,
        labels: row.try_get("labels")?,
        severity: row.try_get("severity")?,
        state: row.try_get("state")?,
        fired_at: Timestamp(row.try_get("fired_at")?),
        resolved_at: row.try_get::<Option<i64>, _>("resolved_at")?.map(Timestamp),
        value: row.try_get("value")?,
    })
}

impl Store {
    /// Starts an alert episode and queues its firing notifications (key
    /// `alert:ID:firing:NOTIFIER`).
    pub async fn fire_alert(
        &self,
        alert: &NewAlert,
        notifications: &[NewNotification],
        executions: &[NewExecution],
        give_up_after: std::time::Duration,
    ) -> Result<AlertRecord, StoreError> {
        let mut db = self.pool.begin().await?;
        let sql = format!(
            "INSERT INTO alerts (rule, fingerprint, labels, severity, state, fired_at, value, sample_lines)
             VALUES ($1, $2, $3, $4, 'firing', $5, $6, $7) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(&alert.rule)
            .bind(&alert.fingerprint)
            .bind(&alert.labels)
            .bind(&alert.severity)
            .bind(alert.at.0)
            .bind(alert.value)
            .bind(&alert.sample_lines)
            .fetch_one(&mut *db)
            .await?;
        let record = from_row(&row)?;
        for notification in notifications {
            let key = format!("alert:{}:firing:{}", record.id, notification.notifier);
            let ordering = format!("rule:{}:{}", record.rule, record.fingerprint);
            insert_notification(&mut db, &key, &ordering, notification, alert.at, give_up_after).await?;
        }
        let trigger = Trigger { kind: "alert".to_owned(), name: record.rule.clone(), id: record.id };
        insert_executions(&mut db, executions, &trigger, alert.at).await?;
        db.commit().await?;
        Ok(record)
    }

    /// Ends an episode and queues its resolution notifications (key
    /// `alert:ID:resolved:NOTIFIER`). Resolving a resolved alert changes nothing.
    pub async fn resolve_alert(
        &self,
        id: i64,
        at: Timestamp,
        notifications: &[NewNotification],
        give_up_after: std::time::Duration,
    ) -> Result<bool, StoreError> {
        let mut db = self.pool.begin().await?;
        let resolved = sqlx::query(
            "UPDATE alerts SET state = 'resolved', resolved_at = $2 WHERE id = $1 AND state = 'firing' RETURNING rule, fingerprint",
        )
        .bind(id)
        .bind(at.0)
        .fetch_optional(&mut *db)
        .await?;
        let Some(row) = resolved else { return Ok(false) };
        let ordering = format!("rule:{}:{}", row.try_get::<String, _>("rule")?, row.try_get::<String, _>("fingerprint")?);
        for notification in notifications {
            let key = format!("alert:{id}:resolved:{}", notification.notifier);
            insert_notification(&mut db, &key, &ordering, notification, at, give_up_after).await?;
        }
        db.commit().await?;
        Ok(true)
    }

    /// Alerts still firing, oldest first.
    pub async fn open_alerts(&self) -> Result<Vec<AlertRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM alerts WHERE state = 'firing' ORDER BY id");
        sqlx::query(&sql).fetch_all(&self.pool).await?.iter().map(from_row).collect()
    }

    /// A rule's alerts, newest first.
    pub async fn alerts(&self, rule: &str, limit: i64) -> Result<Vec<AlertRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM alerts WHERE rule = $1 ORDER BY id DESC LIMIT $2");
        sqlx::query(&sql).bind(rule).bind(limit).fetch_all(&self.pool).await?.iter().map(from_row).collect()
    }
}
