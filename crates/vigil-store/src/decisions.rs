//! What the alert dispatcher decided about each episode, per receiver and group: sent in
//! notification N (firing or resolved), silenced, inhibited, muted by a time interval,
//! flapping, settled. Only changes are written, so the rows read as the episode's story.

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use vigil_core::Timestamp;

use crate::{Store, StoreError};

/// One kind of decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecisionKind {
    /// In the group's notification `seq` (detail: `firing` or `resolved`).
    Notified,
    /// Muted by silences (detail: their ids).
    Silenced,
    /// Muted by firing alerts (detail: their fingerprints and the rules).
    Inhibited,
    /// The group's route is muted now (detail: why).
    MutedByTime,
    /// Held firing while it keeps changing (detail: the rule).
    Flapping,
    /// No longer flapping.
    Settled,
}

impl DecisionKind {
    pub const ALL: [DecisionKind; 6] = [
        DecisionKind::Notified,
        DecisionKind::Silenced,
        DecisionKind::Inhibited,
        DecisionKind::MutedByTime,
        DecisionKind::Flapping,
        DecisionKind::Settled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Notified => "notified",
            DecisionKind::Silenced => "silenced",
            DecisionKind::Inhibited => "inhibited",
            DecisionKind::MutedByTime => "muted-by-time",
            DecisionKind::Flapping => "flapping",
            DecisionKind::Settled => "settled",
        }
    }

    pub fn parse(text: &str) -> Option<DecisionKind> {
        DecisionKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// A decision to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDecision {
    pub episode_id: i64,
    pub at: Timestamp,
    pub receiver: String,
    pub group_key: String,
    pub kind: DecisionKind,
    pub detail: String,
    /// The group notification's number, for `Notified`.
    pub seq: Option<i64>,
    /// For `Notified`: the group's mail thread (its first mail's Message-ID), which the
    /// episode's action outcomes answer.
    pub thread: String,
}

/// A stored decision.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DecisionRecord {
    pub id: i64,
    pub episode_id: i64,
    pub at: Timestamp,
    pub receiver: String,
    pub group_key: String,
    pub kind: DecisionKind,
    pub detail: String,
    pub seq: Option<i64>,
}

fn from_row(row: &AnyRow) -> Result<DecisionRecord, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(DecisionRecord {
        id: row.try_get("id")?,
        episode_id: row.try_get("episode_id")?,
        at: Timestamp(row.try_get("at")?),
        receiver: row.try_get("receiver")?,
        group_key: row.try_get("group_key")?,
        kind: DecisionKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("unknown decision kind `{kind}`")))?,
        detail: row.try_get("detail")?,
        seq: row.try_get("seq")?,
    })
}

/// Writes decisions with one statement per 64 (a row each).
pub(crate) async fn insert_decisions(db: &mut Transaction<'static, Any>, decisions: &[NewDecision]) -> Result<(), StoreError> {
    for chunk in decisions.chunks(64) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|row| {
                let first = row * 8 + 1;
                let places: Vec<String> = (first..first + 8).map(|n| format!("${n}")).collect();
                format!("({})", places.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO alert_decisions (episode_id, at, receiver, group_key, kind, detail, seq, thread) VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for decision in chunk {
            query = query
                .bind(decision.episode_id)
                .bind(decision.at.0)
                .bind(&decision.receiver)
                .bind(&decision.group_key)
                .bind(decision.kind.as_str())
                .bind(&decision.detail)
                .bind(decision.seq)
                .bind(&decision.thread);
        }
        query.execute(&mut **db).await?;
    }
    Ok(())
}

impl Store {
    /// Records each decision unless the episode's latest one for the same receiver and
    /// group says the same (kind and detail), as after a restart or on another node.
    pub async fn record_decisions(&self, decisions: &[NewDecision]) -> Result<usize, StoreError> {
        if decisions.is_empty() {
            return Ok(0);
        }
        // One statement each, no read first: a transaction that reads before it writes
        // cannot wait for SQLite's write lock, it fails at once.
        let mut db = self.begin_write().await?;
        let mut written = 0;
        for decision in decisions {
            let inserted = sqlx::query(
                "INSERT INTO alert_decisions (episode_id, at, receiver, group_key, kind, detail, seq, thread)
                 SELECT CAST($1 AS BIGINT), CAST($2 AS BIGINT), CAST($3 AS TEXT), CAST($4 AS TEXT), CAST($5 AS TEXT),
                        CAST($6 AS TEXT), CAST($7 AS BIGINT), CAST($8 AS TEXT)
                 WHERE NOT EXISTS (
                     SELECT 1 FROM (SELECT kind, detail FROM alert_decisions
                                    WHERE episode_id = $1 AND receiver = $3 AND group_key = $4 ORDER BY id DESC LIMIT 1) latest
                     WHERE latest.kind = $5 AND latest.detail = $6)",
            )
            .bind(decision.episode_id)
            .bind(decision.at.0)
            .bind(&decision.receiver)
            .bind(&decision.group_key)
            .bind(decision.kind.as_str())
            .bind(&decision.detail)
            .bind(decision.seq)
            .bind(&decision.thread)
            .execute(&mut **db)
            .await?
            .rows_affected();
            written += usize::try_from(inserted).unwrap_or(0);
        }
        db.commit().await?;
        Ok(written)
    }

    /// The mail an action outcome of `trigger` answers through `notifier`, as a Message-ID
    /// without its brackets and domain: the first group mail that announced its episode,
    /// else the trigger's own firing notification to the same notifier (a monitor's DOWN
    /// mail, a rule's `notify:`), else none.
    pub async fn mail_thread(&self, trigger: &crate::Trigger, notifier: &str) -> Result<Option<String>, StoreError> {
        if let Some(episode) = self.trigger_episode(trigger).await? {
            let thread: Option<String> = sqlx::query_scalar(
                "SELECT thread FROM alert_decisions WHERE episode_id = $1 AND kind = 'notified' AND thread <> '' ORDER BY id LIMIT 1",
            )
            .bind(episode)
            .fetch_optional(&self.pool)
            .await?;
            if thread.is_some() {
                return Ok(thread);
            }
        }
        let key = match trigger.kind.as_str() {
            "episode" => format!("episode:{}:firing:{notifier}", trigger.id),
            _ => format!("transition:{}:{notifier}", trigger.id),
        };
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM outbox WHERE idempotency_key = $1").bind(&key).fetch_optional(&self.pool).await?;
        Ok(found.map(|_| key.replace(':', ".")))
    }

    /// The episode an execution's trigger stands for: the episode itself, or a monitor's
    /// latest.
    pub async fn trigger_episode(&self, trigger: &crate::Trigger) -> Result<Option<i64>, StoreError> {
        Ok(match trigger.kind.as_str() {
            "episode" => Some(trigger.id),
            _ => {
                sqlx::query_scalar("SELECT id FROM alert_episodes WHERE source = 'monitor' AND source_key = $1 ORDER BY id DESC LIMIT 1")
                    .bind(&trigger.name)
                    .fetch_optional(&self.pool)
                    .await?
            }
        })
    }

    /// An episode's decisions, oldest first.
    pub async fn decisions(&self, episode_id: i64) -> Result<Vec<DecisionRecord>, StoreError> {
        sqlx::query(
            "SELECT id, episode_id, at, receiver, group_key, kind, detail, seq FROM alert_decisions WHERE episode_id = $1 ORDER BY id",
        )
        .bind(episode_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(from_row)
        .collect()
    }
}
