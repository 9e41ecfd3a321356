//! Runs: the periods when a Vigil node was running, so uptime can call the rest unknown.

use sqlx::Row;
use vigil_core::uptime::Coverage;
use vigil_core::Timestamp;

use crate::{Store, StoreError};

/// The id of one run of one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunId(pub i64);

impl Store {
    /// Records that `node` started at `at`.
    pub async fn start_run(&self, node: &str, at: Timestamp) -> Result<RunId, StoreError> {
        let _turn = self.turn().await;
        let id: i64 = sqlx::query_scalar("INSERT INTO runs (node, started_at, last_seen_at) VALUES ($1, $2, $2) RETURNING id")
            .bind(node)
            .bind(at.0)
            .fetch_one(&self.pool)
            .await?;
        Ok(RunId(id))
    }

    /// Extends the run to `at`. A run that crashed ends at its last heartbeat.
    pub async fn heartbeat(&self, run: RunId, at: Timestamp) -> Result<(), StoreError> {
        let _turn = self.turn().await;
        sqlx::query("UPDATE runs SET last_seen_at = $2 WHERE id = $1").bind(run.0).bind(at.0).execute(&self.pool).await?;
        Ok(())
    }

    /// Records a clean stop.
    pub async fn stop_run(&self, run: RunId, at: Timestamp) -> Result<(), StoreError> {
        let _turn = self.turn().await;
        sqlx::query("UPDATE runs SET last_seen_at = $2, stopped_at = $2 WHERE id = $1").bind(run.0).bind(at.0).execute(&self.pool).await?;
        Ok(())
    }

    /// Nodes other than `node` with a run not stopped that was seen at or after `since`.
    pub async fn other_live_nodes(&self, node: &str, since: Timestamp) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT node FROM runs WHERE stopped_at IS NULL AND last_seen_at >= $2 AND node <> $1 ORDER BY node",
        )
        .bind(node)
        .bind(since.0)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The periods any node was running that overlap `[from, to)`.
    pub async fn coverage(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Coverage>, StoreError> {
        let rows =
            sqlx::query("SELECT started_at, last_seen_at FROM runs WHERE last_seen_at >= $1 AND started_at < $2 ORDER BY started_at")
                .bind(from.0)
                .bind(to.0)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| Ok(Coverage { start: Timestamp(row.try_get("started_at")?), end: Timestamp(row.try_get("last_seen_at")?) }))
            .collect()
    }
}
