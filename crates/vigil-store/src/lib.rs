//! Vigil's store: transitions, alert episodes and their groups' notification log, the
//! notification outbox and its attempts, incidents (timeline, escalations, on-call
//! overrides, action items), runs, how
//! far each log file has been read, and remediation (executions, leases, breakers,
//! silences, the audit log).
//!
//! One [`Store`] type serves both backends through sqlx's `Any` driver: SQLite (bundled,
//! the zero-set-up default) and PostgreSQL (several nodes sharing state). The SQL is
//! written once in the dialect both accept (`$1` parameters, `RETURNING`, `ON CONFLICT`);
//! only the migrations differ. Times are Unix milliseconds in `BIGINT` columns.
//!
//! The conformance suite in `tests/it` runs the same cases against both backends.

mod checks;
mod decisions;
mod episodes;
mod executions;
mod incidents;
mod migrations;
mod offsets;
mod outbox;
mod runs;
mod sessions;
mod silences;
mod slos;
mod subscribers;
mod tokens;
mod transitions;

use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

pub use checks::CheckHour;
pub use decisions::{DecisionKind, DecisionRecord, NewDecision};
pub use episodes::{AlertSource, Applied, EpisodeChange, EpisodeRecord, EpisodeState, NotifyLogEntry};
pub use executions::{
    ApprovalAnswer, AuditEntry, ExecutionRecord, ExecutionState, ExecutionUpdate, FactWindows, GuardFacts, NewExecution, Trigger,
};
pub use incidents::{
    Acknowledged, ActionItem, EscalationRecord, EscalationState, IncidentAlert, IncidentFacts, IncidentPlan, IncidentRecord, LinkRecord,
    LinkRefusal, NewEntry, NewIncident, NewUpdate, OverrideRecord, PagesWrite, Remediation, Reminder, ReminderKind, RoleRecord,
    TimelineEntry, UpdateRecord,
};
pub use offsets::SourceOffset;
pub use outbox::{AttemptOutcome, NewNotification, OutboxItem, OutboxStatus, OutboxSummary};
pub use runs::RunId;
pub use sessions::SessionRecord;
pub use silences::{NewSilence, SilenceRecord, StoredMatcher};
pub use slos::{NodeBlock, SloBlockRow, SloBucketRow, SloSample, SloSave, SloWindows};
pub use subscribers::{Subscribed, SubscriberRecord};
pub use tokens::TokenRecord;
pub use transitions::{NewTransition, TransitionRecord, TransitionWrite};

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The storage URL names a backend Vigil does not have.
    #[error("unsupported storage url `{0}`, expected sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    /// The database could not be reached or opened.
    #[error("cannot open store: {0}")]
    Connect(#[source] sqlx::Error),
    /// A migration failed; the schema is left as it was.
    #[error("migration {version} failed: {source}")]
    Migrate { version: i64, source: sqlx::Error },
    /// A query failed.
    #[error("store query failed: {0}")]
    Query(#[from] sqlx::Error),
    /// A stored value could not be read back.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}

/// Which database the store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The store. Cheap to clone; clones share the pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite takes one writer at a time; its busy handler makes the others sleep 1, 2,
    /// 5, 10 ms... between tries. Writers of this process queue here instead and start
    /// the moment the one before them commits (other processes still meet the busy
    /// handler). Unused on PostgreSQL.
    writer: Arc<Mutex<()>>,
}

/// A write transaction holding this process's turn to write (SQLite). Dropped without
/// [`Write::commit`], it rolls back.
pub(crate) struct Write {
    // Declared first so that it rolls back before the turn passes on.
    db: Transaction<'static, Any>,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl Write {
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        self.db.commit().await
    }
}

impl Deref for Write {
    type Target = Transaction<'static, Any>;
    fn deref(&self) -> &Self::Target {
        &self.db
    }
}

impl DerefMut for Write {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.db
    }
}

impl Store {
    /// Opens the store at `url` (creating an SQLite file if needed) and migrates it.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let store = Store::connect(url).await?;
        migrations::run(&store).await?;
        if store.backend == Backend::Sqlite {
            tokio::spawn(checkpoints(store.pool.clone(), Arc::downgrade(&store.writer)));
        }
        Ok(store)
    }

    /// Connects without migrating.
    pub(crate) async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        // `?synchronous=full`: every SQLite commit fsynced (default `normal`, see below).
        let mut synchronous = "NORMAL";
        let url = &match url.split_once('?') {
            Some((base, query)) if url.starts_with("sqlite:") => {
                let mut kept = Vec::new();
                for pair in query.split('&') {
                    match pair.to_ascii_lowercase().as_str() {
                        "synchronous=full" => synchronous = "FULL",
                        "synchronous=normal" => synchronous = "NORMAL",
                        other if other.starts_with("synchronous=") => {
                            return Err(StoreError::UnsupportedUrl(format!("{pair}: expected synchronous=full or synchronous=normal")));
                        }
                        _ => kept.push(pair),
                    }
                }
                if kept.is_empty() {
                    base.to_owned()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
            _ => url.to_owned(),
        };
        let (backend, url) = if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            let separator = if path.contains('?') { '&' } else { '?' };
            let url = if path.contains("mode=") { format!("sqlite://{path}") } else { format!("sqlite://{path}{separator}mode=rwc") };
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_owned())
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let options = AnyConnectOptions::from_str(&url).map_err(StoreError::Connect)?;
        let pool_options =
            AnyPoolOptions::new().max_connections(if backend == Backend::Sqlite { 4 } else { 8 }).acquire_timeout(Duration::from_secs(10));
        let pool_options = if backend == Backend::Sqlite {
            // WAL with synchronous = NORMAL: a commit survives Vigil's crash or kill; only a
            // power loss or OS crash can lose the last commits (the database stays
            // consistent). One fsync per checkpoint instead of one per commit.
            // Checkpoints (which write the WAL back and fsync) run beside the writers, from
            // `checkpoints`, instead of inside whichever commit fills 1000 pages; a WAL
            // that grows past 10,000 pages (another process writing alone) still gets one.
            let pragmas = format!(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;
                 PRAGMA wal_autocheckpoint = 10000;"
            );
            pool_options.after_connect(move |connection, _| {
                let pragmas = pragmas.clone();
                Box::pin(async move {
                    use sqlx::Executor;
                    connection.execute(pragmas.as_str()).await?;
                    Ok(())
                })
            })
        } else {
            pool_options
        };
        let pool = pool_options.connect_with(options).await.map_err(StoreError::Connect)?;
        Ok(Store { pool, backend, writer: Arc::new(Mutex::new(())) })
    }

    /// Waits for this process's turn to write (SQLite only), for a statement that
    /// writes outside a transaction; the turn passes on when the guard drops.
    pub(crate) async fn turn(&self) -> Option<OwnedMutexGuard<()>> {
        match self.backend {
            Backend::Sqlite => Some(self.writer.clone().lock_owned().await),
            Backend::Postgres => None,
        }
    }

    /// Begins a write transaction in this process's turn.
    pub(crate) async fn begin_write(&self) -> Result<Write, StoreError> {
        let turn = self.turn().await;
        let db = self.pool.begin().await?;
        Ok(Write { db, _turn: turn })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers; for `/readyz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Writes the WAL back into the database once a second while the store is open (a
/// passive checkpoint: it waits for no reader or writer, and writers do not wait for it).
/// Ends once the store is closed or every clone of it dropped (`alive` gone).
async fn checkpoints(pool: AnyPool, alive: std::sync::Weak<Mutex<()>>) {
    // The first one a second after opening: a short-lived command (the CLI) never takes a
    // second connection for it.
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + Duration::from_secs(1), Duration::from_secs(1));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if pool.is_closed() || alive.strong_count() == 0 {
            return;
        }
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            tracing::debug!(%error, "checkpointing the SQLite WAL failed; the next second tries again");
        }
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
