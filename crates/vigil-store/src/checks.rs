//! Each monitor's checks summed per hour (how many, how many failed, response times),
//! for response-time sparklines and badges. Only transitions record state; these rows
//! record speed.

use sqlx::Row;
use vigil_core::Timestamp;

use crate::{Store, StoreError};

/// One monitor's checks in one hour.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CheckHour {
    /// The hour's start, milliseconds since the epoch.
    pub hour: i64,
    pub checks: u64,
    pub failures: u64,
    /// Response times added up, in milliseconds.
    pub total_ms: f64,
    pub max_ms: f64,
}

impl CheckHour {
    /// The mean response time, if there were checks.
    pub fn mean_ms(&self) -> Option<f64> {
        (self.checks > 0).then(|| self.total_ms / self.checks as f64)
    }
}

fn count(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Store {
    /// Stores `node`'s own sums of these hours as they are now (each row replaces that
    /// node's earlier one of its monitor and hour), in one transaction; rows older than
    /// `keep_since` go, every node's.
    pub async fn save_check_hours(&self, node: &str, hours: &[(String, CheckHour)], keep_since: Timestamp) -> Result<(), StoreError> {
        let mut db = self.begin_write().await?;
        for (monitor, hour) in hours {
            sqlx::query(
                "INSERT INTO check_node_hours (monitor, hour, node, checks, failures, total_ms, max_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (monitor, hour, node) DO UPDATE SET checks = $4, failures = $5, total_ms = $6, max_ms = $7",
            )
            .bind(monitor)
            .bind(hour.hour)
            .bind(node)
            .bind(count(hour.checks))
            .bind(count(hour.failures))
            .bind(hour.total_ms)
            .bind(hour.max_ms)
            .execute(&mut **db)
            .await?;
        }
        sqlx::query("DELETE FROM check_node_hours WHERE hour < $1").bind(keep_since.0).execute(&mut **db).await?;
        db.commit().await?;
        Ok(())
    }

    /// One monitor's checks since `since`, summed: (checks, total ms).
    pub async fn check_totals(&self, monitor: &str, since: Timestamp) -> Result<(u64, f64), StoreError> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(checks), 0) AS BIGINT) AS checks, COALESCE(SUM(total_ms), 0.0) AS total_ms FROM check_node_hours
             WHERE monitor = $1 AND hour >= $2",
        )
        .bind(monitor)
        .bind(since.0)
        .fetch_one(&self.pool)
        .await?;
        let checks: i64 = row.try_get("checks")?;
        Ok((u64::try_from(checks).unwrap_or(0), row.try_get("total_ms")?))
    }

    /// Every monitor's hours since `since`, every node's checks added up, oldest first
    /// per monitor.
    pub async fn check_hours(&self, since: Timestamp) -> Result<Vec<(String, CheckHour)>, StoreError> {
        let rows = sqlx::query(
            // PostgreSQL sums BIGINTs as NUMERIC: cast back.
            "SELECT monitor, hour, CAST(SUM(checks) AS BIGINT) AS checks, CAST(SUM(failures) AS BIGINT) AS failures,
                    SUM(total_ms) AS total_ms, MAX(max_ms) AS max_ms
             FROM check_node_hours WHERE hour >= $1 GROUP BY monitor, hour ORDER BY monitor, hour",
        )
        .bind(since.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(hour_row).collect()
    }

    /// `node`'s own hours since `since` (what it goes on adding to after a restart), and
    /// the rows from before hours were kept per node (node '') for the hours before
    /// `current`.
    pub async fn own_check_hours(&self, node: &str, since: Timestamp, current: Timestamp) -> Result<Vec<(String, CheckHour)>, StoreError> {
        let rows = sqlx::query(
            "SELECT monitor, hour, checks, failures, total_ms, max_ms FROM check_node_hours
             WHERE hour >= $1 AND (node = $2 OR (node = '' AND hour < $3)) ORDER BY monitor, hour",
        )
        .bind(since.0)
        .bind(node)
        .bind(current.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(hour_row).collect()
    }
}

fn hour_row(row: &sqlx::any::AnyRow) -> Result<(String, CheckHour), StoreError> {
    let checks: i64 = row.try_get("checks")?;
    let failures: i64 = row.try_get("failures")?;
    Ok((
        row.try_get("monitor")?,
        CheckHour {
            hour: row.try_get("hour")?,
            checks: u64::try_from(checks).unwrap_or(0),
            failures: u64::try_from(failures).unwrap_or(0),
            total_ms: row.try_get("total_ms")?,
            max_ms: row.try_get("max_ms")?,
        },
    ))
}
