//! Alerts received from other systems (Alertmanager's webhook): one row per episode
//! (fingerprint and start), written with the notifications and executions it causes.

use std::time::Duration;

use vigil_core::Timestamp;

use crate::executions::{insert_executions, NewExecution, Trigger};
use crate::outbox::{insert_notification, NewNotification};
use crate::{Store, StoreError};

/// A firing alert as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInbound {
    /// `alertmanager`.
    pub source: String,
    pub fingerprint: String,
    pub starts_at: Timestamp,
    /// Its `alertname`.
    pub name: String,
    /// Labels and annotations as JSON.
    pub labels: String,
    pub annotations: String,
}

impl Store {
    /// Records a firing alert. A new episode is stored with `notifications` (key
    /// `inbound:ID:firing:NOTIFIER`) and `executions` in one transaction and its id
    /// returned; an episode already known changes nothing and returns `None` (senders
    /// repeat firing alerts).
    pub async fn start_inbound(
        &self,
        alert: &NewInbound,
        notifications: &[NewNotification],
        executions: &[NewExecution],
        now: Timestamp,
        give_up_after: Duration,
    ) -> Result<Option<i64>, StoreError> {
        let mut db = self.pool.begin().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO inbound_alerts (source, fingerprint, starts_at, name, labels, annotations, state, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'firing', $7) ON CONFLICT (source, fingerprint, starts_at) DO NOTHING RETURNING id",
        )
        .bind(&alert.source)
        .bind(&alert.fingerprint)
        .bind(alert.starts_at.0)
        .bind(&alert.name)
        .bind(&alert.labels)
        .bind(&alert.annotations)
        .bind(now.0)
        .fetch_optional(&mut *db)
        .await?;
        let Some(id) = id else { return Ok(None) };
        let ordering = format!("inbound:{}:{}", alert.source, alert.fingerprint);
        for notification in notifications {
            let key = format!("inbound:{id}:firing:{}", notification.notifier);
            insert_notification(&mut db, &key, &ordering, notification, now, give_up_after).await?;
        }
        let trigger = Trigger { kind: "inbound".to_owned(), name: alert.name.clone(), id };
        insert_executions(&mut db, executions, &trigger, now).await?;
        db.commit().await?;
        Ok(Some(id))
    }

    /// Records that an episode resolved, with its `notifications` (key
    /// `inbound:ID:resolved:NOTIFIER`). Returns its id, or `None` when it was not firing.
    pub async fn resolve_inbound(
        &self,
        source: &str,
        fingerprint: &str,
        starts_at: Timestamp,
        notifications: &[NewNotification],
        now: Timestamp,
        give_up_after: Duration,
    ) -> Result<Option<i64>, StoreError> {
        let mut db = self.pool.begin().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "UPDATE inbound_alerts SET state = 'resolved', resolved_at = $4
             WHERE source = $1 AND fingerprint = $2 AND starts_at = $3 AND state = 'firing' RETURNING id",
        )
        .bind(source)
        .bind(fingerprint)
        .bind(starts_at.0)
        .bind(now.0)
        .fetch_optional(&mut *db)
        .await?;
        let Some(id) = id else { return Ok(None) };
        let ordering = format!("inbound:{source}:{fingerprint}");
        for notification in notifications {
            let key = format!("inbound:{id}:resolved:{}", notification.notifier);
            insert_notification(&mut db, &key, &ordering, notification, now, give_up_after).await?;
        }
        db.commit().await?;
        Ok(Some(id))
    }
}
