//! SLO windows as bucket counts, per node: what a restart rebuilds them from.

use sqlx::Row;

use crate::{Store, StoreError};

/// One stored bucket of one SLO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SloBucketRow {
    pub width: i64,
    pub bucket: i64,
    pub total: i64,
    pub bad: i64,
}

/// What one SLO saves at once: its changed buckets, the newest time it has seen, and
/// per bucket width the oldest bucket it still reads (older rows are deleted).
#[derive(Debug, Clone, Default)]
pub struct SloSave {
    pub slo: String,
    pub at: i64,
    pub buckets: Vec<SloBucketRow>,
    pub oldest: Vec<(i64, i64)>,
}

impl Store {
    /// Saves `saves` for `node` in one transaction.
    pub async fn save_slo_windows(&self, node: &str, saves: &[SloSave]) -> Result<(), StoreError> {
        if saves.is_empty() {
            return Ok(());
        }
        let mut db = self.begin_write().await?;
        for save in saves {
            for chunk in save.buckets.chunks(100) {
                let rows: Vec<String> =
                    (0..chunk.len()).map(|i| format!("($1, $2, ${}, ${}, ${}, ${})", 3 + i * 4, 4 + i * 4, 5 + i * 4, 6 + i * 4)).collect();
                let sql = format!(
                    "INSERT INTO slo_buckets (slo, node, width, bucket, total, bad) VALUES {}
                     ON CONFLICT (slo, node, width, bucket) DO UPDATE SET total = excluded.total, bad = excluded.bad",
                    rows.join(", ")
                );
                let mut query = sqlx::query(&sql).bind(&save.slo).bind(node);
                for row in chunk {
                    query = query.bind(row.width).bind(row.bucket).bind(row.total).bind(row.bad);
                }
                query.execute(&mut **db).await?;
            }
            for (width, oldest) in &save.oldest {
                sqlx::query("DELETE FROM slo_buckets WHERE slo = $1 AND node = $2 AND width = $3 AND bucket < $4")
                    .bind(&save.slo)
                    .bind(node)
                    .bind(width)
                    .bind(oldest)
                    .execute(&mut **db)
                    .await?;
            }
            sqlx::query("INSERT INTO slo_times (slo, node, at) VALUES ($1, $2, $3) ON CONFLICT (slo, node) DO UPDATE SET at = excluded.at")
                .bind(&save.slo)
                .bind(node)
                .bind(save.at)
                .execute(&mut **db)
                .await?;
        }
        db.commit().await?;
        Ok(())
    }

    /// `node`'s stored windows of `slo`: the newest time it had seen, and its buckets.
    pub async fn slo_windows(&self, slo: &str, node: &str) -> Result<Option<(i64, Vec<SloBucketRow>)>, StoreError> {
        let at: Option<i64> = sqlx::query_scalar("SELECT at FROM slo_times WHERE slo = $1 AND node = $2")
            .bind(slo)
            .bind(node)
            .fetch_optional(&self.pool)
            .await?;
        let Some(at) = at else { return Ok(None) };
        let rows = sqlx::query("SELECT width, bucket, total, bad FROM slo_buckets WHERE slo = $1 AND node = $2 ORDER BY width, bucket")
            .bind(slo)
            .bind(node)
            .fetch_all(&self.pool)
            .await?;
        Ok(Some((at, rows.iter().map(bucket_row).collect::<Result<Vec<_>, sqlx::Error>>()?)))
    }

    /// Every node's stored windows of `slo` summed bucket by bucket, with the newest time
    /// any node had seen; for `vigil slo report`.
    pub async fn slo_windows_of_all_nodes(&self, slo: &str) -> Result<Option<(i64, Vec<SloBucketRow>)>, StoreError> {
        let at: Option<i64> = sqlx::query_scalar("SELECT MAX(at) FROM slo_times WHERE slo = $1").bind(slo).fetch_one(&self.pool).await?;
        let Some(at) = at else { return Ok(None) };
        let rows = sqlx::query(
            "SELECT width, bucket, CAST(SUM(total) AS BIGINT) AS total, CAST(SUM(bad) AS BIGINT) AS bad FROM slo_buckets
             WHERE slo = $1 GROUP BY width, bucket ORDER BY width, bucket",
        )
        .bind(slo)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some((at, rows.iter().map(bucket_row).collect::<Result<Vec<_>, sqlx::Error>>()?)))
    }
}

fn bucket_row(row: &sqlx::any::AnyRow) -> Result<SloBucketRow, sqlx::Error> {
    Ok(SloBucketRow {
        width: row.try_get("width")?,
        bucket: row.try_get("bucket")?,
        total: row.try_get("total")?,
        bad: row.try_get("bad")?,
    })
}
