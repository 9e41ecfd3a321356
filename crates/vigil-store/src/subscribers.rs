//! The status page's e-mail subscribers: subscribed, confirmed (double opt-in),
//! unsubscribed; the key their links are signed with; and their mails, queued in the
//! outbox like any notification.

use std::time::Duration;

use sqlx::any::AnyRow;
use sqlx::Row;
use vigil_core::Timestamp;

use crate::outbox::insert_notification;
use crate::{NewNotification, Store, StoreError};

/// A subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberRecord {
    pub id: i64,
    pub email: String,
    pub created_at: Timestamp,
    /// When the last confirmation mail was queued.
    pub mailed_at: Timestamp,
    pub confirmed_at: Option<Timestamp>,
    pub unsubscribed_at: Option<Timestamp>,
}

impl SubscriberRecord {
    /// Confirmed and not unsubscribed: mailed the public updates.
    pub fn active(&self) -> bool {
        self.confirmed_at.is_some() && self.unsubscribed_at.is_none()
    }
}

/// What `subscribe` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscribed {
    /// A new or renewed subscription: mail it a confirmation.
    Confirm(SubscriberRecord),
    /// Already confirmed, or a confirmation went out within the last `resend_after`.
    Nothing,
}

const COLUMNS: &str = "id, email, created_at, mailed_at, confirmed_at, unsubscribed_at";

fn record(row: &AnyRow) -> Result<SubscriberRecord, StoreError> {
    Ok(SubscriberRecord {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        created_at: Timestamp(row.try_get("created_at")?),
        mailed_at: Timestamp(row.try_get("mailed_at")?),
        confirmed_at: row.try_get::<Option<i64>, _>("confirmed_at")?.map(Timestamp),
        unsubscribed_at: row.try_get::<Option<i64>, _>("unsubscribed_at")?.map(Timestamp),
    })
}

impl Store {
    /// The key subscription links are signed with: `fresh` the first time, the stored
    /// one ever after (every node reads the same).
    pub async fn subscription_key(&self, fresh: &str, now: Timestamp) -> Result<String, StoreError> {
        let mut db = self.begin_write().await?;
        sqlx::query("INSERT INTO settings (name, value, updated_at) VALUES ('subscription-key', $1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(fresh)
            .bind(now.0)
            .execute(&mut **db)
            .await?;
        let key: String = sqlx::query_scalar("SELECT value FROM settings WHERE name = 'subscription-key'").fetch_one(&mut **db).await?;
        db.commit().await?;
        Ok(key)
    }

    /// Subscribes `email` (lowercase), or renews an unconfirmed or ended subscription.
    pub async fn subscribe(&self, email: &str, now: Timestamp, resend_after: Duration) -> Result<Subscribed, StoreError> {
        let mut db = self.begin_write().await?;
        let existing = sqlx::query(&format!("SELECT {COLUMNS} FROM status_subscribers WHERE email = $1"))
            .bind(email)
            .fetch_optional(&mut **db)
            .await?
            .map(|row| record(&row))
            .transpose()?;
        let resend = i64::try_from(resend_after.as_millis()).unwrap_or(i64::MAX);
        match existing {
            Some(old) if old.active() => return Ok(Subscribed::Nothing),
            Some(old) if old.unsubscribed_at.is_none() && now.0 - old.mailed_at.0 < resend => return Ok(Subscribed::Nothing),
            Some(old) => {
                sqlx::query("UPDATE status_subscribers SET mailed_at = $1, confirmed_at = NULL, unsubscribed_at = NULL WHERE id = $2")
                    .bind(now.0)
                    .bind(old.id)
                    .execute(&mut **db)
                    .await?;
            }
            None => {
                sqlx::query("INSERT INTO status_subscribers (email, created_at, mailed_at) VALUES ($1, $2, $2)")
                    .bind(email)
                    .bind(now.0)
                    .execute(&mut **db)
                    .await?;
            }
        }
        let row =
            sqlx::query(&format!("SELECT {COLUMNS} FROM status_subscribers WHERE email = $1")).bind(email).fetch_one(&mut **db).await?;
        db.commit().await?;
        Ok(Subscribed::Confirm(record(&row)?))
    }

    pub async fn subscriber(&self, id: i64) -> Result<Option<SubscriberRecord>, StoreError> {
        let row =
            sqlx::query(&format!("SELECT {COLUMNS} FROM status_subscribers WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.map(|row| record(&row)).transpose()
    }

    /// Confirms subscriber `id` (once; later calls change nothing).
    pub async fn confirm_subscriber(&self, id: i64, now: Timestamp) -> Result<(), StoreError> {
        self.mark_subscriber(
            "UPDATE status_subscribers SET confirmed_at = $1 WHERE id = $2 AND confirmed_at IS NULL AND unsubscribed_at IS NULL",
            id,
            now,
        )
        .await
    }

    /// Ends subscriber `id`'s subscription.
    pub async fn unsubscribe(&self, id: i64, now: Timestamp) -> Result<(), StoreError> {
        self.mark_subscriber("UPDATE status_subscribers SET unsubscribed_at = $1 WHERE id = $2 AND unsubscribed_at IS NULL", id, now).await
    }

    async fn mark_subscriber(&self, sql: &str, id: i64, now: Timestamp) -> Result<(), StoreError> {
        let mut db = self.begin_write().await?;
        sqlx::query(sql).bind(now.0).bind(id).execute(&mut **db).await?;
        db.commit().await?;
        Ok(())
    }

    /// Every confirmed subscriber still subscribed.
    pub async fn active_subscribers(&self) -> Result<Vec<SubscriberRecord>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM status_subscribers WHERE confirmed_at IS NOT NULL AND unsubscribed_at IS NULL ORDER BY id");
        sqlx::query(&sql).fetch_all(&self.pool).await?.iter().map(record).collect()
    }

    /// Queues mails (key, notification) in one transaction; a key queued before is
    /// skipped.
    pub async fn enqueue_mails(
        &self,
        mails: &[(String, NewNotification)],
        now: Timestamp,
        give_up_after: Duration,
    ) -> Result<(), StoreError> {
        let mut db = self.begin_write().await?;
        for (key, mail) in mails {
            insert_notification(&mut db, key, key, mail, now, give_up_after).await?;
        }
        db.commit().await?;
        Ok(())
    }
}
