//! API tokens, stored as the SHA-256 of their secret (never the secret); creating and
//! revoking one leaves a row in the audit trail that remediation writes too.

use sqlx::any::AnyRow;
use sqlx::Row;
use vigil_core::auth::Role;
use vigil_core::Timestamp;

use crate::{Store, StoreError};

/// A stored token, without anything that would let one use it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub role: Role,
    #[serde(skip)]
    pub secret_sha256: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

pub(crate) const TOKEN_COLUMNS: &str = "id, name, role, secret_sha256, created_at, last_used_at, revoked_at";

pub(crate) fn token(row: &AnyRow) -> Result<TokenRecord, StoreError> {
    let role: String = row.try_get("role")?;
    Ok(TokenRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("token role `{role}`")))?,
        secret_sha256: row.try_get("secret_sha256")?,
        created_at: Timestamp(row.try_get("created_at")?),
        last_used_at: row.try_get::<Option<i64>, _>("last_used_at")?.map(Timestamp),
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(Timestamp),
    })
}

impl Store {
    /// Stores a new token and its audit row in one transaction. `Ok(false)` when a
    /// token of that name exists (revoked ones included: names are not reused).
    pub async fn create_token(&self, record: &TokenRecord, actor: &str) -> Result<bool, StoreError> {
        let mut transaction = self.begin_write().await?;
        let taken: Option<String> =
            sqlx::query_scalar("SELECT id FROM api_tokens WHERE name = $1").bind(&record.name).fetch_optional(&mut **transaction).await?;
        if taken.is_some() {
            return Ok(false);
        }
        sqlx::query("INSERT INTO api_tokens (id, name, role, secret_sha256, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&record.id)
            .bind(&record.name)
            .bind(record.role.as_str())
            .bind(&record.secret_sha256)
            .bind(record.created_at.0)
            .execute(&mut **transaction)
            .await?;
        insert_audit(&mut transaction, record.created_at, "create", &record.name, &format!("role {}, by {actor}", record.role)).await?;
        transaction.commit().await?;
        Ok(true)
    }

    pub async fn token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(token).transpose()
    }

    pub async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, name"))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(token)
            .collect()
    }

    /// Notes a token's use, at most once a minute per token.
    pub async fn touch_token(&self, id: &str, now: Timestamp) -> Result<(), StoreError> {
        let _turn = self.turn().await;
        sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)")
            .bind(id)
            .bind(now.0)
            .bind(now.0 - 60_000)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Revokes the token called `name`; false when there is none, or it is revoked.
    pub async fn revoke_token(&self, name: &str, actor: &str, now: Timestamp) -> Result<bool, StoreError> {
        let mut transaction = self.begin_write().await?;
        let updated = sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL")
            .bind(name)
            .bind(now.0)
            .execute(&mut **transaction)
            .await?
            .rows_affected();
        if updated > 0 {
            insert_audit(&mut transaction, now, "revoke", name, &format!("by {actor}")).await?;
        }
        transaction.commit().await?;
        Ok(updated > 0)
    }
}

/// A token event in the audit trail: action `token`, the token's name as target.
async fn insert_audit(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    at: Timestamp,
    event: &str,
    name: &str,
    detail: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO audit (at, execution_id, action, target, event, detail, node) VALUES ($1, NULL, 'token', $2, $3, $4, '')")
        .bind(at.0)
        .bind(name)
        .bind(event)
        .bind(detail)
        .execute(&mut **transaction)
        .await?;
    Ok(())
}
