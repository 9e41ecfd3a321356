//! The durable job queue, in SQLite: one row per input key. A job is pending until a
//! worker claims it, then done (its outputs written), gone (its input was deleted before
//! it ran), pending again after a temporary failure (with backoff), or dead (the
//! dead-letter queue) with the reason. Jobs survive restarts: a job running when the
//! process stopped is pending again when it starts.
//!
//! Each output key belongs to the first input that claimed it (`outputs`), so two
//! inputs that would write one thumbnail (`dup.gif` and `dup.png`, both `small/dup.png`)
//! never overwrite each other: the second is refused.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow};
use sqlx::{Row, SqlitePool};
use vigil_core::Timestamp;

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub key: String,
    /// Attempts including this one.
    pub attempts: u32,
}

/// A job in the dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeadLetter {
    pub id: i64,
    pub key: String,
    /// `corrupt`, `unsupported`, `too_large`, `not_found`, `gave_up`, ...
    pub reason: String,
    pub error: String,
    pub attempts: u32,
    pub at: Timestamp,
}

/// Jobs by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub pending: u64,
    pub running: u64,
    pub done: u64,
    pub gone: u64,
    pub dead: u64,
}

#[derive(Clone, Debug)]
pub struct Queue {
    pool: SqlitePool,
}

impl Queue {
    /// Opens (creating) the queue at `url` (`sqlite://PATH`); jobs left running by a
    /// stopped process become pending again.
    pub async fn open(url: &str) -> Result<Queue, sqlx::Error> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS jobs (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                key TEXT NOT NULL UNIQUE,
                state TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                not_before INTEGER NOT NULL,
                again INTEGER NOT NULL DEFAULT 0,
                error TEXT,
                reason TEXT,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            )",
        )
        .execute(&pool)
        .await?;
        sqlx::query("CREATE INDEX IF NOT EXISTS jobs_due ON jobs (state, not_before)").execute(&pool).await?;
        sqlx::query("CREATE TABLE IF NOT EXISTS outputs (output_key TEXT PRIMARY KEY, input_key TEXT NOT NULL)").execute(&pool).await?;
        sqlx::query("CREATE INDEX IF NOT EXISTS outputs_input ON outputs (input_key)").execute(&pool).await?;
        sqlx::query("UPDATE jobs SET state = 'pending' WHERE state = 'running'").execute(&pool).await?;
        Ok(Queue { pool })
    }

    /// Queues `key` (again), not before `not_before`. A job already running is marked
    /// to run once more when it finishes: its input changed under it.
    pub async fn enqueue(&self, key: &str, not_before: Timestamp, now: Timestamp) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO jobs (key, state, not_before, created_at, updated_at) VALUES ($1, 'pending', $2, $3, $3)
             ON CONFLICT (key) DO UPDATE SET
                state = CASE WHEN state = 'running' THEN 'running' ELSE 'pending' END,
                again = CASE WHEN state = 'running' THEN 1 ELSE 0 END,
                attempts = CASE WHEN state = 'running' THEN attempts ELSE 0 END,
                not_before = MAX(not_before, $2), error = NULL, reason = NULL, updated_at = $3",
        )
        .bind(key)
        .bind(not_before.0)
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Queues `key` for the reconciliation scan, which found outputs missing: only when
    /// it is unknown or done (its outputs were deleted), never out of the dead-letter
    /// queue, so one bad file is not retried every scan. Returns whether it was queued.
    pub async fn reconcile(&self, key: &str, now: Timestamp) -> Result<bool, sqlx::Error> {
        let queued = sqlx::query(
            "INSERT INTO jobs (key, state, not_before, created_at, updated_at) VALUES ($1, 'pending', $2, $2, $2)
             ON CONFLICT (key) DO UPDATE SET state = 'pending', attempts = 0, not_before = $2, updated_at = $2 WHERE state IN ('done', 'gone')",
        )
        .bind(key)
        .bind(now.0)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(queued > 0)
    }

    /// Claims up to `limit` due jobs.
    pub async fn claim(&self, limit: usize, now: Timestamp) -> Result<Vec<Job>, sqlx::Error> {
        let rows = sqlx::query(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, again = 0, updated_at = $1
             WHERE id IN (SELECT id FROM jobs WHERE state = 'pending' AND not_before <= $1 ORDER BY not_before, id LIMIT $2)
             RETURNING id, key, attempts",
        )
        .bind(now.0)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(job).collect()
    }

    /// The job is done (or pending again, when its input changed while it ran).
    pub async fn done(&self, id: i64, now: Timestamp) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE jobs SET state = CASE WHEN again = 1 THEN 'pending' ELSE 'done' END, again = 0, error = NULL, updated_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The input was gone when the job ran: nothing to make, and its outputs are no
    /// longer claimed (or pending again, when it reappeared while the job ran).
    pub async fn gone(&self, id: i64, now: Timestamp) -> Result<(), sqlx::Error> {
        let mut db = self.pool.begin().await?;
        sqlx::query("UPDATE jobs SET state = CASE WHEN again = 1 THEN 'pending' ELSE 'gone' END, again = 0, error = NULL, updated_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now.0)
            .execute(&mut *db)
            .await?;
        sqlx::query("DELETE FROM outputs WHERE input_key = (SELECT key FROM jobs WHERE id = $1)").bind(id).execute(&mut *db).await?;
        db.commit().await
    }

    /// Claims `outputs` for `input`: `None` when each is free or already its own, else
    /// the first output that another input owns, with that input.
    pub async fn claim_outputs(&self, input: &str, outputs: &[String]) -> Result<Option<(String, String)>, sqlx::Error> {
        let mut db = self.pool.begin().await?;
        for output in outputs {
            sqlx::query("INSERT INTO outputs (output_key, input_key) VALUES ($1, $2) ON CONFLICT (output_key) DO NOTHING")
                .bind(output)
                .bind(input)
                .execute(&mut *db)
                .await?;
            let owner: String =
                sqlx::query_scalar("SELECT input_key FROM outputs WHERE output_key = $1").bind(output).fetch_one(&mut *db).await?;
            if owner != input {
                db.rollback().await?;
                return Ok(Some((output.clone(), owner)));
            }
        }
        db.commit().await?;
        Ok(None)
    }

    /// A temporary failure: try again at `next`.
    pub async fn retry(&self, id: i64, error: &str, next: Timestamp, now: Timestamp) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE jobs SET state = 'pending', not_before = $3, error = $2, updated_at = $4 WHERE id = $1")
            .bind(id)
            .bind(error)
            .bind(next.0)
            .bind(now.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A permanent failure: into the dead-letter queue with `reason` and `error`.
    pub async fn dead(&self, id: i64, reason: &str, error: &str, now: Timestamp) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE jobs SET state = 'dead', reason = $2, error = $3, updated_at = $4 WHERE id = $1")
            .bind(id)
            .bind(reason)
            .bind(error)
            .bind(now.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn dead_letters(&self, limit: i64) -> Result<Vec<DeadLetter>, sqlx::Error> {
        let rows = sqlx::query("SELECT id, key, reason, error, attempts, updated_at FROM jobs WHERE state = 'dead' ORDER BY id LIMIT $1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(DeadLetter {
                    id: row.try_get("id")?,
                    key: row.try_get("key")?,
                    reason: row.try_get::<Option<String>, _>("reason")?.unwrap_or_default(),
                    error: row.try_get::<Option<String>, _>("error")?.unwrap_or_default(),
                    attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(0),
                    at: Timestamp(row.try_get("updated_at")?),
                })
            })
            .collect()
    }

    /// Puts dead jobs back in the queue: one (`Some(id)`) or all. Returns how many.
    pub async fn replay(&self, id: Option<i64>, now: Timestamp) -> Result<u64, sqlx::Error> {
        let replayed = sqlx::query(
            "UPDATE jobs SET state = 'pending', attempts = 0, not_before = $2, error = NULL, reason = NULL, updated_at = $2
             WHERE state = 'dead' AND ($1 = 0 OR id = $1)",
        )
        .bind(id.unwrap_or(0))
        .bind(now.0)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(replayed)
    }

    /// Deletes the dead-letter queue. Returns how many.
    pub async fn purge(&self) -> Result<u64, sqlx::Error> {
        Ok(sqlx::query("DELETE FROM jobs WHERE state = 'dead'").execute(&self.pool).await?.rows_affected())
    }

    pub async fn counts(&self) -> Result<Counts, sqlx::Error> {
        let mut counts = Counts::default();
        for row in sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state").fetch_all(&self.pool).await? {
            let n = u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0);
            match row.try_get::<String, _>("state")?.as_str() {
                "pending" => counts.pending = n,
                "running" => counts.running = n,
                "done" => counts.done = n,
                "gone" => counts.gone = n,
                _ => counts.dead = n,
            }
        }
        Ok(counts)
    }

    /// When the next pending job falls due.
    pub async fn next_due(&self) -> Result<Option<Timestamp>, sqlx::Error> {
        let next: Option<i64> =
            sqlx::query_scalar("SELECT MIN(not_before) FROM jobs WHERE state = 'pending'").fetch_one(&self.pool).await?;
        Ok(next.map(Timestamp))
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn job(row: &SqliteRow) -> Result<Job, sqlx::Error> {
    Ok(Job { id: row.try_get("id")?, key: row.try_get("key")?, attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(0) })
}

/// The delay before attempt `attempts + 1`: doubling from 1 s to at most 5 min, with
/// ±20 % jitter (`jitter` in `[0, 1)`) so retries of many jobs do not arrive together.
pub fn backoff(attempts: u32, jitter: f64) -> Duration {
    let base = Duration::from_secs(1).saturating_mul(2u32.saturating_pow(attempts.saturating_sub(1).min(20)));
    base.min(Duration::from_secs(300)).mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_move_through_their_states_and_survive_a_restart() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("q.db").display());
        let queue = Queue::open(&url).await.expect("open");
        for key in ["a.jpg", "b.jpg", "c.jpg"] {
            queue.enqueue(key, Timestamp(0), Timestamp(0)).await.expect("enqueue");
        }
        queue.enqueue("later.jpg", Timestamp(1_000), Timestamp(0)).await.expect("enqueue");
        let claimed = queue.claim(10, Timestamp(10)).await.expect("claim");
        assert_eq!(claimed.iter().map(|job| job.key.as_str()).collect::<Vec<_>>(), ["a.jpg", "b.jpg", "c.jpg"]);
        queue.done(claimed[0].id, Timestamp(20)).await.expect("done");
        queue.retry(claimed[1].id, "S3 unavailable", Timestamp(500), Timestamp(20)).await.expect("retry");
        queue.dead(claimed[2].id, "corrupt", "truncated JPEG", Timestamp(20)).await.expect("dead");
        // c.jpg is dead; a.jpg changes while... a restart happens with nothing running.
        let reopened = Queue::open(&url).await.expect("reopen");
        assert_eq!(reopened.counts().await.expect("counts"), Counts { pending: 2, running: 0, done: 1, gone: 0, dead: 1 });
        assert_eq!(reopened.next_due().await.expect("due"), Some(Timestamp(500)));
        let retried = reopened.claim(10, Timestamp(600)).await.expect("claim");
        assert_eq!(retried.iter().map(|job| (job.key.as_str(), job.attempts)).collect::<Vec<_>>(), [("b.jpg", 2)]);
        // Changed while running: done leaves it pending for one more run.
        reopened.enqueue("b.jpg", Timestamp(600), Timestamp(600)).await.expect("enqueue");
        reopened.done(retried[0].id, Timestamp(700)).await.expect("done");
        assert_eq!(reopened.counts().await.expect("counts").pending, 2);
        let dead = reopened.dead_letters(10).await.expect("dlq");
        assert_eq!((dead[0].key.as_str(), dead[0].reason.as_str(), dead[0].error.as_str()), ("c.jpg", "corrupt", "truncated JPEG"));
        assert_eq!(reopened.replay(Some(dead[0].id), Timestamp(800)).await.expect("replay"), 1);
        assert_eq!(reopened.counts().await.expect("counts").dead, 0);
        let claimed = reopened.claim(10, Timestamp(900)).await.expect("claim");
        let c = claimed.iter().find(|job| job.key == "c.jpg").expect("replayed");
        assert_eq!(c.attempts, 1, "a replay starts counting again");
        reopened.dead(c.id, "corrupt", "still truncated", Timestamp(901)).await.expect("dead");
        assert_eq!(reopened.purge().await.expect("purge"), 1);
    }

    #[tokio::test]
    async fn reconciliation_requeues_done_jobs_but_not_dead_letters() {
        let dir = tempfile::tempdir().expect("temp dir");
        let queue = Queue::open(&format!("sqlite://{}", dir.path().join("q.db").display())).await.expect("open");
        assert!(queue.reconcile("new.jpg", Timestamp(0)).await.expect("reconcile"));
        queue.enqueue("bad.jpg", Timestamp(0), Timestamp(0)).await.expect("enqueue");
        let claimed = queue.claim(10, Timestamp(1)).await.expect("claim");
        queue.done(claimed[0].id, Timestamp(2)).await.expect("done");
        queue.dead(claimed[1].id, "corrupt", "bad", Timestamp(2)).await.expect("dead");
        assert!(queue.reconcile("new.jpg", Timestamp(3)).await.expect("reconcile"), "outputs deleted: made again");
        assert!(!queue.reconcile("bad.jpg", Timestamp(3)).await.expect("reconcile"), "dead stays dead");
        assert_eq!(queue.counts().await.expect("counts"), Counts { pending: 1, running: 0, done: 0, gone: 0, dead: 1 });
    }

    #[tokio::test]
    async fn a_job_running_when_the_process_stopped_is_pending_again() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("q.db").display());
        let queue = Queue::open(&url).await.expect("open");
        queue.enqueue("a.jpg", Timestamp(0), Timestamp(0)).await.expect("enqueue");
        assert_eq!(queue.claim(1, Timestamp(1)).await.expect("claim").len(), 1);
        queue.close().await;
        let reopened = Queue::open(&url).await.expect("reopen");
        assert_eq!(reopened.claim(1, Timestamp(2)).await.expect("claim").len(), 1, "not lost");
    }

    #[test]
    fn backoff_doubles_with_jitter_and_a_cap() {
        assert_eq!(backoff(1, 0.5), Duration::from_secs(1));
        assert_eq!(backoff(4, 0.5), Duration::from_secs(8));
        assert_eq!(backoff(30, 0.5), Duration::from_secs(300));
        assert_eq!(backoff(1, 0.0), Duration::from_millis(800));
    }
}
