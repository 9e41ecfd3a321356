//! Web UI sessions: a cookie holds a session's id and secret; the store keeps the
//! secret's SHA-256 and the API token the session was opened with, so revoking the
//! token ends its sessions and a restart keeps them.

use sqlx::Row;
use vigil_core::Timestamp;

use crate::tokens::TOKEN_COLUMNS;
use crate::{Store, StoreError, TokenRecord};

/// A stored session, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: String,
    pub secret_sha256: String,
    pub token_id: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl Store {
    /// Stores a new session, and forgets the expired ones.
    pub async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        let mut db = self.begin_write().await?;
        sqlx::query("DELETE FROM ui_sessions WHERE expires_at <= $1").bind(session.created_at.0).execute(&mut **db).await?;
        sqlx::query("INSERT INTO ui_sessions (id, secret_sha256, token_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&session.id)
            .bind(&session.secret_sha256)
            .bind(&session.token_id)
            .bind(session.created_at.0)
            .bind(session.expires_at.0)
            .execute(&mut **db)
            .await?;
        db.commit().await?;
        Ok(())
    }

    /// Session `id` with the token it acts as, if both exist.
    pub async fn session(&self, id: &str) -> Result<Option<(SessionRecord, TokenRecord)>, StoreError> {
        let columns: String = TOKEN_COLUMNS.split(", ").map(|column| format!("t.{column}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT s.id AS session_id, s.secret_sha256 AS session_secret, s.created_at AS session_created, \
             s.expires_at AS session_expires, {columns} \
             FROM ui_sessions s JOIN api_tokens t ON t.id = s.token_id WHERE s.id = $1"
        );
        let Some(row) = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await? else { return Ok(None) };
        let token = crate::tokens::token(&row)?;
        let session = SessionRecord {
            id: row.try_get("session_id")?,
            secret_sha256: row.try_get("session_secret")?,
            token_id: token.id.clone(),
            created_at: Timestamp(row.try_get("session_created")?),
            expires_at: Timestamp(row.try_get("session_expires")?),
        };
        Ok(Some((session, token)))
    }

    /// Ends session `id` (signing out).
    pub async fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        let mut db = self.begin_write().await?;
        sqlx::query("DELETE FROM ui_sessions WHERE id = $1").bind(id).execute(&mut **db).await?;
        db.commit().await?;
        Ok(())
    }
}
