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

pub(crate) async fn insert_decision(db: &mut Transaction<'static, Any>, decision: &NewDecision) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO alert_decisions (episode_id, at, receiver, group_key, kind, detail, seq, thread)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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
    .await?;
    Ok(())
}

impl Store {
    /// Records each decision unless the episode's latest one for the same receiver and
    /// group says the same (kind and detail), as after a restart or on another node.
    pub async fn record_decisions(&self, decisions: &[NewDecision]) -> Result<usize, StoreError> {
        if decisions.is_empty() {
            return Ok(0);
        }
        let mut db = self.pool.begin().await?;
        let mut written = 0;
        for decision in decisions {
            let latest = sqlx::query(
                "SELECT kind, detail FROM alert_decisions WHERE episode_id = $1 AND receiver = $2 AND group_key = $3
                 ORDER BY id DESC LIMIT 1",
            )
            .bind(decision.episode_id)
            .bind(&decision.receiver)
            .bind(&decision.group_key)
            .fetch_optional(&mut *db)
            .await?;
            let same = latest.is_some_and(|row| {
                row.try_get::<String, _>("kind").is_ok_and(|kind| kind == decision.kind.as_str())
                    && row.try_get::<String, _>("detail").is_ok_and(|detail| detail == decision.detail)
            });
            if !same {
                insert_decision(&mut db, decision).await?;
                written += 1;
            }
        }
        db.commit().await?;
        Ok(written)
    }

    /// The mail an action outcome of `trigger` answers through `notifier`, as a Message-ID
    /// without its brackets and domain: the first group mail that announced its episode,
    /// else the trigger's own firing notification to the same notifier (a monitor's DOWN
    /// mail, a rule's `notify:`), else none.
    pub async fn mail_thread(&self, trigger: &crate::Trigger, notifier: &str) -> Result<Option<String>, StoreError> {
        let episode: Option<i64> = match trigger.kind.as_str() {
            "episode" => Some(trigger.id),
            _ => {
                sqlx::query_scalar("SELECT id FROM alert_episodes WHERE source = 'monitor' AND source_key = $1 ORDER BY id DESC LIMIT 1")
                    .bind(&trigger.name)
                    .fetch_optional(&self.pool)
                    .await?
            }
        };
        if let Some(episode) = episode {
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
