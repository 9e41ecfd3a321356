//! SLO windows as encoded blocks of bucket counts, per node: what a restart rebuilds them
//! from, and what nodes sharing a store read of each other's counts (numbered in commit
//! order, as episodes are). Also each SLO's budget window sampled on the hour, for
//! `vigil slo history`.

use sqlx::Row;

use crate::{Store, StoreError};

/// One stored block of one SLO's series: the bucket width, the first bucket, the
/// encoded counts (`vigil_core::slo::series`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SloBlockRow {
    pub width: i64,
    pub start: i64,
    pub data: Vec<u8>,
}

/// One bucket as migration 10 stored it, read once more to be converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SloBucketRow {
    pub width: i64,
    pub bucket: i64,
    pub total: i64,
    pub bad: i64,
}

/// What one SLO saves at once: its changed blocks, the newest time it has seen, and per
/// bucket width the first block start it still reads (older blocks, of every node, go).
#[derive(Debug, Clone, Default)]
pub struct SloSave {
    pub slo: String,
    pub at: i64,
    pub blocks: Vec<SloBlockRow>,
    pub oldest: Vec<(i64, i64)>,
}

/// A node's stored windows of one SLO.
#[derive(Debug, Clone, Default)]
pub struct SloWindows {
    /// The newest time the node had seen.
    pub at: i64,
    pub blocks: Vec<SloBlockRow>,
    /// Buckets stored before blocks were, not yet converted.
    pub legacy: Vec<SloBucketRow>,
}

/// A block another node saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeBlock {
    pub slo: String,
    pub node: String,
    pub block: SloBlockRow,
}

/// An SLO's budget window at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SloSample {
    pub at: i64,
    pub window_ms: i64,
    pub objective_ppb: i64,
    pub total: i64,
    pub bad: i64,
}

impl Store {
    /// Saves `saves` for `node` in one transaction, under one new change number.
    pub async fn save_slo_windows(&self, node: &str, saves: &[SloSave]) -> Result<(), StoreError> {
        if saves.is_empty() {
            return Ok(());
        }
        let mut db = self.begin_write().await?;
        let seq: i64 =
            sqlx::query_scalar("UPDATE slo_change_seq SET value = value + 1 WHERE id = 1 RETURNING value").fetch_one(&mut **db).await?;
        for save in saves {
            for chunk in save.blocks.chunks(100) {
                let rows: Vec<String> =
                    (0..chunk.len()).map(|i| format!("($1, $2, $3, ${}, ${}, ${})", 4 + i * 3, 5 + i * 3, 6 + i * 3)).collect();
                let sql = format!(
                    "INSERT INTO slo_blocks (slo, node, change_seq, width, start, data) VALUES {}
                     ON CONFLICT (slo, node, width, start) DO UPDATE SET data = excluded.data, change_seq = excluded.change_seq",
                    rows.join(", ")
                );
                let mut query = sqlx::query(&sql).bind(&save.slo).bind(node).bind(seq);
                for row in chunk {
                    query = query.bind(row.width).bind(row.start).bind(row.data.clone());
                }
                query.execute(&mut **db).await?;
            }
            // Every node's: a node that stopped for good leaves its blocks to the others.
            for (width, oldest) in &save.oldest {
                sqlx::query("DELETE FROM slo_blocks WHERE slo = $1 AND width = $2 AND start < $3")
                    .bind(&save.slo)
                    .bind(width)
                    .bind(oldest)
                    .execute(&mut **db)
                    .await?;
            }
            sqlx::query("DELETE FROM slo_buckets WHERE slo = $1 AND node = $2").bind(&save.slo).bind(node).execute(&mut **db).await?;
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

    /// `node`'s stored windows of `slo`, if it stored any.
    pub async fn slo_windows(&self, slo: &str, node: &str) -> Result<Option<SloWindows>, StoreError> {
        let at: Option<i64> = sqlx::query_scalar("SELECT at FROM slo_times WHERE slo = $1 AND node = $2")
            .bind(slo)
            .bind(node)
            .fetch_optional(&self.pool)
            .await?;
        let Some(at) = at else { return Ok(None) };
        let blocks = sqlx::query("SELECT width, start, data FROM slo_blocks WHERE slo = $1 AND node = $2 ORDER BY width, start")
            .bind(slo)
            .bind(node)
            .fetch_all(&self.pool)
            .await?;
        let legacy = sqlx::query("SELECT width, bucket, total, bad FROM slo_buckets WHERE slo = $1 AND node = $2 ORDER BY width, bucket")
            .bind(slo)
            .bind(node)
            .fetch_all(&self.pool)
            .await?;
        Ok(Some(SloWindows {
            at,
            blocks: blocks.iter().map(block_row).collect::<Result<_, _>>()?,
            legacy: legacy.iter().map(bucket_row).collect::<Result<_, _>>()?,
        }))
    }

    /// Every SLO's windows `node` stored, by SLO, each with the newest time any node had
    /// seen of it: what a node rebuilds at start, in three queries.
    pub async fn slo_windows_of_node(&self, node: &str) -> Result<std::collections::BTreeMap<String, SloWindows>, StoreError> {
        let mut windows: std::collections::BTreeMap<String, SloWindows> = std::collections::BTreeMap::new();
        for row in sqlx::query("SELECT slo, MAX(at) AS at FROM slo_times GROUP BY slo").fetch_all(&self.pool).await? {
            windows.insert(row.try_get("slo")?, SloWindows { at: row.try_get("at")?, ..SloWindows::default() });
        }
        let blocks = sqlx::query("SELECT slo, width, start, data FROM slo_blocks WHERE node = $1 ORDER BY slo, width, start")
            .bind(node)
            .fetch_all(&self.pool)
            .await?;
        for row in &blocks {
            let slo: String = row.try_get("slo")?;
            if let Some(stored) = windows.get_mut(&slo) {
                stored.blocks.push(block_row(row)?);
            }
        }
        let legacy = sqlx::query("SELECT slo, width, bucket, total, bad FROM slo_buckets WHERE node = $1 ORDER BY slo, width, bucket")
            .bind(node)
            .fetch_all(&self.pool)
            .await?;
        for row in &legacy {
            let slo: String = row.try_get("slo")?;
            if let Some(stored) = windows.get_mut(&slo) {
                stored.legacy.push(bucket_row(row)?);
            }
        }
        Ok(windows)
    }

    /// Every node's stored windows of `slo`, with the newest time any node had seen; for
    /// `vigil slo report`, which adds them up.
    pub async fn slo_windows_of_all_nodes(&self, slo: &str) -> Result<Option<SloWindows>, StoreError> {
        let at: Option<i64> = sqlx::query_scalar("SELECT MAX(at) FROM slo_times WHERE slo = $1").bind(slo).fetch_one(&self.pool).await?;
        let Some(at) = at else { return Ok(None) };
        let blocks = sqlx::query("SELECT width, start, data FROM slo_blocks WHERE slo = $1 ORDER BY width, start")
            .bind(slo)
            .fetch_all(&self.pool)
            .await?;
        let legacy = sqlx::query("SELECT width, bucket, total, bad FROM slo_buckets WHERE slo = $1 ORDER BY width, bucket")
            .bind(slo)
            .fetch_all(&self.pool)
            .await?;
        Ok(Some(SloWindows {
            at,
            blocks: blocks.iter().map(block_row).collect::<Result<_, _>>()?,
            legacy: legacy.iter().map(bucket_row).collect::<Result<_, _>>()?,
        }))
    }

    /// The newest time any node had seen of `slo`, if one stored its windows.
    pub async fn slo_latest(&self, slo: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar("SELECT MAX(at) FROM slo_times WHERE slo = $1").bind(slo).fetch_one(&self.pool).await?)
    }

    /// How many blocks are stored, every node's.
    pub async fn slo_block_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM slo_blocks").fetch_one(&self.pool).await?)
    }

    /// The number of the latest save of SLO windows.
    pub async fn slo_change_seq(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT value FROM slo_change_seq WHERE id = 1").fetch_one(&self.pool).await?)
    }

    /// Blocks other nodes than `node` saved after change number `seq`, with the number
    /// of the newest among them (or `seq`). Numbers follow commit order.
    pub async fn slo_blocks_saved_after(&self, seq: i64, node: &str) -> Result<(Vec<NodeBlock>, i64), StoreError> {
        let rows = sqlx::query(
            "SELECT slo, node, width, start, data, change_seq FROM slo_blocks WHERE change_seq > $1 AND node <> $2 ORDER BY change_seq, slo, node, width, start",
        )
        .bind(seq)
        .bind(node)
        .fetch_all(&self.pool)
        .await?;
        let mut newest = seq;
        let mut blocks = Vec::with_capacity(rows.len());
        for row in &rows {
            newest = newest.max(row.try_get::<i64, _>("change_seq")?);
            blocks.push(NodeBlock { slo: row.try_get("slo")?, node: row.try_get("node")?, block: block_row(row)? });
        }
        Ok((blocks, newest))
    }

    /// Records budget samples; a sample already taken for an SLO at that time is kept.
    pub async fn record_slo_samples(&self, samples: &[(String, SloSample)]) -> Result<(), StoreError> {
        if samples.is_empty() {
            return Ok(());
        }
        let mut db = self.begin_write().await?;
        for (slo, sample) in samples {
            sqlx::query(
                "INSERT INTO slo_history (slo, at, window_ms, objective_ppb, total, bad) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (slo, at) DO NOTHING",
            )
            .bind(slo)
            .bind(sample.at)
            .bind(sample.window_ms)
            .bind(sample.objective_ppb)
            .bind(sample.total)
            .bind(sample.bad)
            .execute(&mut **db)
            .await?;
        }
        db.commit().await?;
        Ok(())
    }

    /// `slo`'s budget samples from `since` on, oldest first.
    pub async fn slo_history(&self, slo: &str, since: i64) -> Result<Vec<SloSample>, StoreError> {
        let rows = sqlx::query("SELECT at, window_ms, objective_ppb, total, bad FROM slo_history WHERE slo = $1 AND at >= $2 ORDER BY at")
            .bind(slo)
            .bind(since)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(SloSample {
                    at: row.try_get("at")?,
                    window_ms: row.try_get("window_ms")?,
                    objective_ppb: row.try_get("objective_ppb")?,
                    total: row.try_get("total")?,
                    bad: row.try_get("bad")?,
                })
            })
            .collect()
    }
}

fn block_row(row: &sqlx::any::AnyRow) -> Result<SloBlockRow, sqlx::Error> {
    Ok(SloBlockRow { width: row.try_get("width")?, start: row.try_get("start")?, data: row.try_get("data")? })
}

fn bucket_row(row: &sqlx::any::AnyRow) -> Result<SloBucketRow, sqlx::Error> {
    Ok(SloBucketRow {
        width: row.try_get("width")?,
        bucket: row.try_get("bucket")?,
        total: row.try_get("total")?,
        bad: row.try_get("bad")?,
    })
}
