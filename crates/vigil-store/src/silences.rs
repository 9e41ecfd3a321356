//! Silences and maintenance windows: label matchers over a time range. While one matches
//! an alert, its remediation is suppressed (the silence guard).

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::Row;
use vigil_core::Timestamp;

use crate::{Store, StoreError};

/// A stored silence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SilenceRecord {
    pub id: i64,
    /// Every label must equal its value.
    pub matchers: BTreeMap<String, String>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub created_by: String,
    pub comment: String,
}

impl SilenceRecord {
    pub fn matches(&self, labels: &BTreeMap<String, String>, now: Timestamp) -> bool {
        self.starts_at <= now && now < self.ends_at && self.matchers.iter().all(|(name, value)| labels.get(name) == Some(value))
    }

    /// `silence 3 (deploy of api)`, for decisions and messages.
    pub fn describe(&self) -> String {
        if self.comment.is_empty() {
            format!("silence {}", self.id)
        } else {
            format!("silence {} ({})", self.id, self.comment)
        }
    }
}

fn from_row(row: &AnyRow) -> Result<SilenceRecord, StoreError> {
    let matchers: String = row.try_get("matchers")?;
    Ok(SilenceRecord {
        id: row.try_get("id")?,
        matchers: serde_json::from_str(&matchers).map_err(|error| StoreError::Corrupt(format!("silence matchers: {error}")))?,
        starts_at: Timestamp(row.try_get("starts_at")?),
        ends_at: Timestamp(row.try_get("ends_at")?),
        created_by: row.try_get("created_by")?,
        comment: row.try_get("comment")?,
    })
}

impl Store {
    pub async fn add_silence(
        &self,
        matchers: &BTreeMap<String, String>,
        starts_at: Timestamp,
        ends_at: Timestamp,
        created_by: &str,
        comment: &str,
    ) -> Result<SilenceRecord, StoreError> {
        let row = sqlx::query(
            "INSERT INTO silences (matchers, starts_at, ends_at, created_by, comment) VALUES ($1, $2, $3, $4, $5)
             RETURNING id, matchers, starts_at, ends_at, created_by, comment",
        )
        .bind(serde_json::to_string(matchers).unwrap_or_else(|_| "{}".to_owned()))
        .bind(starts_at.0)
        .bind(ends_at.0)
        .bind(created_by)
        .bind(comment)
        .fetch_one(&self.pool)
        .await?;
        from_row(&row)
    }

    /// Silences not yet over at `now` (active or starting later), oldest first; with
    /// `all`, the expired ones too.
    pub async fn silences(&self, now: Timestamp, all: bool) -> Result<Vec<SilenceRecord>, StoreError> {
        sqlx::query("SELECT id, matchers, starts_at, ends_at, created_by, comment FROM silences WHERE ($2 = 1 OR ends_at > $1) ORDER BY id")
            .bind(now.0)
            .bind(i64::from(all))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    /// Ends a silence now. False when there is no such silence or it is already over.
    pub async fn expire_silence(&self, id: i64, now: Timestamp) -> Result<bool, StoreError> {
        let updated = sqlx::query("UPDATE silences SET ends_at = $2 WHERE id = $1 AND ends_at > $2")
            .bind(id)
            .bind(now.0)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(updated > 0)
    }
}
