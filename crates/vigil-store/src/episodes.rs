//! Alert episodes: every alert Vigil decides on (a monitor DOWN, a rule firing, an alert
//! another system sent) from firing to resolution, one table for all three. A change is
//! stored in one transaction with its routing decision, the notifications its
//! shorthand `notify:` asks for and the executions it causes (see [`apply_change`]).
//! Also the notification log of each group and receiver, which makes a group's
//! notification go once across restarts and nodes.

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use vigil_core::Timestamp;

use crate::decisions::{insert_decisions, NewDecision};
use crate::executions::{insert_executions, NewExecution, Trigger};
use crate::outbox::{insert_notification, NewNotification};
use crate::{Store, StoreError};

/// Which detector an alert comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertSource {
    Monitor,
    Rule,
    Inbound,
    /// An SLO's burn-rate alert.
    Slo,
}

impl AlertSource {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertSource::Monitor => "monitor",
            AlertSource::Rule => "rule",
            AlertSource::Inbound => "inbound",
            AlertSource::Slo => "slo",
        }
    }

    pub fn parse(text: &str) -> Option<AlertSource> {
        [AlertSource::Monitor, AlertSource::Rule, AlertSource::Inbound, AlertSource::Slo].into_iter().find(|source| source.as_str() == text)
    }
}

/// Firing or resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EpisodeState {
    Firing,
    Resolved,
}

impl EpisodeState {
    pub fn as_str(self) -> &'static str {
        match self {
            EpisodeState::Firing => "firing",
            EpisodeState::Resolved => "resolved",
        }
    }
}

/// What a detector says about one alert.
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeChange {
    pub source: AlertSource,
    /// The detector's own key for the alert (a monitor's name, a rule and its groups'
    /// labels); what it adopts open episodes by after a restart.
    pub source_key: String,
    pub name: String,
    /// The whole label set (with `alertname`); its fingerprint identifies the alert.
    pub labels: BTreeMap<String, String>,
    pub fingerprint: String,
    pub annotations: BTreeMap<String, String>,
    pub firing: bool,
    /// Firing: when it started. Resolved: when it resolved.
    pub at: Timestamp,
    /// Firing only: when it ends unless the sender repeats it (Alertmanager's `endsAt`).
    pub ends_at: Option<Timestamp>,
    /// When Vigil learnt of it (group-wait counts from here).
    pub received_at: Timestamp,
    pub generator_url: String,
    pub value: f64,
    /// Lines or failures that made it fire, as JSON.
    pub evidence: String,
    /// The receivers the routing tree sends it to (the stored routing decision).
    pub receivers: Vec<String>,
    /// Immediate notifications (a source's own `notify:` list).
    pub notifications: Vec<NewNotification>,
    /// Firing only: remediation to queue, triggered by this episode.
    pub executions: Vec<NewExecution>,
    /// Firing only: the incident it opens or joins, when its route says so.
    pub incident: Option<crate::IncidentPlan>,
}

/// What storing a change did.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// A new episode.
    Started(EpisodeRecord),
    /// The alert was already firing: its annotations and end were refreshed.
    Refreshed(i64),
    /// The episode ended.
    Resolved(EpisodeRecord),
    /// A resolution of an alert that was not firing.
    Unchanged,
}

/// A stored episode.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EpisodeRecord {
    pub id: i64,
    pub fingerprint: String,
    pub source: AlertSource,
    pub source_key: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub state: EpisodeState,
    pub starts_at: Timestamp,
    /// Firing: the expected end, if any; resolved: when it resolved.
    pub ends_at: Option<Timestamp>,
    pub received_at: Timestamp,
    pub updated_at: Timestamp,
    pub generator_url: String,
    pub value: f64,
    pub evidence: serde_json::Value,
    pub receivers: Vec<String>,
    /// The number of its latest write (see [`Store::episodes_changed_after`]).
    pub change_seq: i64,
}

const COLUMNS: &str = "id, fingerprint, source, source_key, name, labels, annotations, state, starts_at, ends_at, received_at, updated_at,
    generator_url, value, evidence, receivers, change_seq";

/// The next change number, held (row-locked) until `db` commits.
async fn next_change_seq(db: &mut Transaction<'_, Any>) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("UPDATE alert_change_seq SET value = value + 1 WHERE id = 1 RETURNING value").fetch_one(&mut **db).await?)
}

fn json<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str) -> Result<T, StoreError> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|error| StoreError::Corrupt(format!("episode {column}: {error}")))
}

fn from_row(row: &AnyRow) -> Result<EpisodeRecord, StoreError> {
    let source: String = row.try_get("source")?;
    let state: String = row.try_get("state")?;
    Ok(EpisodeRecord {
        id: row.try_get("id")?,
        fingerprint: row.try_get("fingerprint")?,
        source: AlertSource::parse(&source).ok_or_else(|| StoreError::Corrupt(format!("unknown alert source `{source}`")))?,
        source_key: row.try_get("source_key")?,
        name: row.try_get("name")?,
        labels: json(row, "labels")?,
        annotations: json(row, "annotations")?,
        state: if state == "firing" { EpisodeState::Firing } else { EpisodeState::Resolved },
        starts_at: Timestamp(row.try_get("starts_at")?),
        ends_at: row.try_get::<Option<i64>, _>("ends_at")?.map(Timestamp),
        received_at: Timestamp(row.try_get("received_at")?),
        updated_at: Timestamp(row.try_get("updated_at")?),
        generator_url: row.try_get("generator_url")?,
        value: row.try_get("value")?,
        evidence: json(row, "evidence").unwrap_or(serde_json::Value::Null),
        receivers: json(row, "receivers")?,
        change_seq: row.try_get("change_seq")?,
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// Stores one change inside `db`: the one path every detector's alerts take.
pub(crate) async fn apply_change(
    db: &mut Transaction<'_, Any>,
    change: &EpisodeChange,
    now: Timestamp,
    give_up_after: std::time::Duration,
) -> Result<Applied, StoreError> {
    let ordering = format!("{}:{}", change.source.as_str(), change.source_key);
    let seq = next_change_seq(db).await?;
    if change.firing {
        if change.source == AlertSource::Inbound {
            // A sender's alert that starts later than the firing one is a new episode:
            // the old one's resolution was lost (webhook senders keep `startsAt` per episode).
            let sql = format!(
                "UPDATE alert_episodes SET state = 'resolved', ends_at = $2, updated_at = $3, change_seq = $4
                 WHERE fingerprint = $1 AND state = 'firing' AND starts_at < $2 RETURNING {COLUMNS}"
            );
            let ended: Vec<EpisodeRecord> = sqlx::query(&sql)
                .bind(&change.fingerprint)
                .bind(change.at.0)
                .bind(now.0)
                .bind(seq)
                .fetch_all(&mut **db)
                .await?
                .iter()
                .map(from_row)
                .collect::<Result<_, _>>()?;
            crate::incidents::alerts_resolved(db, &ended.iter().collect::<Vec<_>>(), now).await?;
        }
        let refreshed: Option<i64> = sqlx::query_scalar(
            "UPDATE alert_episodes SET annotations = $2, ends_at = $3, updated_at = $4, value = $5, change_seq = $6
             WHERE fingerprint = $1 AND state = 'firing' RETURNING id",
        )
        .bind(&change.fingerprint)
        .bind(to_json(&change.annotations))
        .bind(change.ends_at.map(|at| at.0))
        .bind(now.0)
        .bind(change.value)
        .bind(seq)
        .fetch_optional(&mut **db)
        .await?;
        if let Some(id) = refreshed {
            return Ok(Applied::Refreshed(id));
        }
        let sql = format!(
            "INSERT INTO alert_episodes (fingerprint, source, source_key, name, labels, annotations, state, starts_at, ends_at,
                received_at, updated_at, generator_url, value, evidence, receivers, change_seq)
             VALUES ($1, $2, $3, $4, $5, $6, 'firing', $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(&change.fingerprint)
            .bind(change.source.as_str())
            .bind(&change.source_key)
            .bind(&change.name)
            .bind(to_json(&change.labels))
            .bind(to_json(&change.annotations))
            .bind(change.at.0)
            .bind(change.ends_at.map(|at| at.0))
            .bind(change.received_at.0)
            .bind(now.0)
            .bind(&change.generator_url)
            .bind(change.value)
            .bind(&change.evidence)
            .bind(to_json(&change.receivers))
            .bind(seq)
            .fetch_one(&mut **db)
            .await?;
        let record = from_row(&row)?;
        for notification in &change.notifications {
            let key = format!("episode:{}:firing:{}", record.id, notification.notifier);
            insert_notification(db, &key, &ordering, notification, now, give_up_after).await?;
        }
        let trigger = Trigger { kind: "episode".to_owned(), name: record.name.clone(), id: record.id };
        insert_executions(db, &change.executions, &trigger, now).await?;
        if let Some(plan) = &change.incident {
            crate::incidents::join_or_open(db, &record, plan, now).await?;
        }
        Ok(Applied::Started(record))
    } else {
        let sql = format!(
            "UPDATE alert_episodes SET state = 'resolved', ends_at = $2, updated_at = $3, change_seq = $4
             WHERE fingerprint = $1 AND state = 'firing' RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql).bind(&change.fingerprint).bind(change.at.0).bind(now.0).bind(seq).fetch_optional(&mut **db).await?;
        let Some(row) = row else { return Ok(Applied::Unchanged) };
        let record = from_row(&row)?;
        for notification in &change.notifications {
            let key = format!("episode:{}:resolved:{}", record.id, notification.notifier);
            insert_notification(db, &key, &ordering, notification, now, give_up_after).await?;
        }
        crate::incidents::alerts_resolved(db, &[&record], now).await?;
        Ok(Applied::Resolved(record))
    }
}

/// What was last sent to a receiver for a group (Alertmanager's notification log).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NotifyLogEntry {
    pub receiver: String,
    pub group_key: String,
    /// The group's first look; later looks follow every group-interval after it.
    pub first_at: Timestamp,
    /// Notifications sent; the next one is `seq + 1`.
    pub seq: i64,
    pub sent_at: Timestamp,
    /// Fingerprints notified as firing and as resolved.
    pub firing: Vec<String>,
    pub resolved: Vec<String>,
    /// The first notification's message id, which later ones answer (mail threads).
    pub thread: String,
    /// Fingerprints notified as flapping (held firing until they settle).
    pub flapping: Vec<String>,
}

fn log_from_row(row: &AnyRow) -> Result<NotifyLogEntry, StoreError> {
    let list = |column: &str| -> Result<Vec<String>, StoreError> {
        let text: String = row.try_get(column)?;
        serde_json::from_str(&text).map_err(|error| StoreError::Corrupt(format!("notification log {column}: {error}")))
    };
    Ok(NotifyLogEntry {
        receiver: row.try_get("receiver")?,
        group_key: row.try_get("group_key")?,
        first_at: Timestamp(row.try_get("first_at")?),
        seq: row.try_get("seq")?,
        sent_at: Timestamp(row.try_get("sent_at")?),
        firing: list("firing")?,
        resolved: list("resolved")?,
        thread: row.try_get("thread")?,
        flapping: list("flapping")?,
    })
}

const LOG_COLUMNS: &str = "receiver, group_key, first_at, seq, sent_at, firing, resolved, thread, flapping";

impl Store {
    /// Stores changes, each with its notifications and executions, in one transaction.
    pub async fn apply_changes(
        &self,
        changes: &[EpisodeChange],
        now: Timestamp,
        give_up_after: std::time::Duration,
    ) -> Result<Vec<Applied>, StoreError> {
        self.apply_changes_audited(changes, now, give_up_after, |_| Vec::new()).await
    }

    /// [`Store::apply_changes`], with the audit rows `audit` makes of what they did, in
    /// the same transaction.
    pub async fn apply_changes_audited(
        &self,
        changes: &[EpisodeChange],
        now: Timestamp,
        give_up_after: std::time::Duration,
        audit: impl FnOnce(&[Applied]) -> Vec<crate::AuditEntry>,
    ) -> Result<Vec<Applied>, StoreError> {
        let mut db = self.begin_write().await?;
        let mut applied = Vec::with_capacity(changes.len());
        for change in changes {
            applied.push(apply_change(&mut db, change, now, give_up_after).await?);
        }
        let entries = audit(&applied);
        if !entries.is_empty() {
            crate::executions::insert_audit(&mut db, &entries).await?;
        }
        db.commit().await?;
        Ok(applied)
    }

    /// Resolves firing episodes whose end has passed (senders that stopped repeating
    /// them); returns them.
    pub async fn expire_episodes(&self, now: Timestamp) -> Result<Vec<EpisodeRecord>, StoreError> {
        // Most looks find none; only then take the write lock.
        let due: Option<i64> =
            sqlx::query_scalar("SELECT id FROM alert_episodes WHERE state = 'firing' AND ends_at IS NOT NULL AND ends_at <= $1 LIMIT 1")
                .bind(now.0)
                .fetch_optional(&self.pool)
                .await?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        let mut db = self.begin_write().await?;
        let seq = next_change_seq(&mut db).await?;
        let sql = format!(
            "UPDATE alert_episodes SET state = 'resolved', updated_at = $1, change_seq = $2
             WHERE state = 'firing' AND ends_at IS NOT NULL AND ends_at <= $1 RETURNING {COLUMNS}"
        );
        let expired: Vec<EpisodeRecord> =
            sqlx::query(&sql).bind(now.0).bind(seq).fetch_all(&mut **db).await?.iter().map(from_row).collect::<Result<_, _>>()?;
        crate::incidents::alerts_resolved(&mut db, &expired.iter().collect::<Vec<_>>(), now).await?;
        db.commit().await?;
        Ok(expired)
    }

    /// The number of the latest episode write.
    pub async fn change_seq(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT value FROM alert_change_seq WHERE id = 1").fetch_one(&self.pool).await?)
    }

    /// Episodes written after change number `seq`, in write order. Numbers follow commit
    /// order, so nothing committed later can carry a smaller one.
    pub async fn episodes_changed_after(&self, seq: i64) -> Result<Vec<EpisodeRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM alert_episodes WHERE change_seq > $1 ORDER BY change_seq, id");
        sqlx::query(&sql).bind(seq).fetch_all(&self.pool).await?.iter().map(from_row).collect()
    }

    /// Firing episodes, oldest first; with `source`, only that detector's.
    pub async fn firing_episodes(&self, source: Option<AlertSource>) -> Result<Vec<EpisodeRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM alert_episodes WHERE state = 'firing' AND ($1 = '' OR source = $1) ORDER BY id");
        let source = source.map_or("", AlertSource::as_str);
        sqlx::query(&sql).bind(source).fetch_all(&self.pool).await?.iter().map(from_row).collect()
    }

    /// Episodes changed at or after `since`, oldest change first.
    pub async fn episodes_changed_since(&self, since: Timestamp) -> Result<Vec<EpisodeRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM alert_episodes WHERE updated_at >= $1 ORDER BY updated_at, id");
        sqlx::query(&sql).bind(since.0).fetch_all(&self.pool).await?.iter().map(from_row).collect()
    }

    pub async fn episode(&self, id: i64) -> Result<Option<EpisodeRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM alert_episodes WHERE id = $1");
        sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await?.as_ref().map(from_row).transpose()
    }

    /// The newest episodes (of one alert name, when given), newest first.
    pub async fn episodes(&self, name: Option<&str>, limit: i64) -> Result<Vec<EpisodeRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM alert_episodes WHERE ($1 = '' OR name = $1) ORDER BY id DESC LIMIT $2");
        sqlx::query(&sql).bind(name.unwrap_or("")).bind(limit).fetch_all(&self.pool).await?.iter().map(from_row).collect()
    }

    /// Every notification log entry.
    pub async fn notify_logs(&self) -> Result<Vec<NotifyLogEntry>, StoreError> {
        let sql = format!("SELECT {LOG_COLUMNS} FROM alert_notify_log ORDER BY receiver, group_key");
        sqlx::query(&sql).fetch_all(&self.pool).await?.iter().map(log_from_row).collect()
    }

    pub async fn notify_log(&self, receiver: &str, group_key: &str) -> Result<Option<NotifyLogEntry>, StoreError> {
        let sql = format!("SELECT {LOG_COLUMNS} FROM alert_notify_log WHERE receiver = $1 AND group_key = $2");
        sqlx::query(&sql).bind(receiver).bind(group_key).fetch_optional(&self.pool).await?.as_ref().map(log_from_row).transpose()
    }

    /// Records that the group's notification number `entry.seq` goes out, with its
    /// notifications, if the log still holds number `entry.seq - 1` (none for the
    /// first), with the decisions it stands for. False when another node (or an earlier
    /// run) got there first: nothing is written, and the caller reads the log again.
    pub async fn record_group_notification(
        &self,
        entry: &NotifyLogEntry,
        notifications: &[(String, NewNotification)],
        decisions: &[NewDecision],
        give_up_after: std::time::Duration,
    ) -> Result<bool, StoreError> {
        let mut db = self.begin_write().await?;
        let won = if entry.seq == 1 {
            let sql = "INSERT INTO alert_notify_log (receiver, group_key, first_at, seq, sent_at, firing, resolved, thread, flapping)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (receiver, group_key) DO NOTHING";
            sqlx::query(sql)
        } else {
            let sql = "UPDATE alert_notify_log SET first_at = $3, seq = $4, sent_at = $5, firing = $6, resolved = $7, thread = $8,
                 flapping = $9 WHERE receiver = $1 AND group_key = $2 AND seq = $4 - 1";
            sqlx::query(sql)
        }
        .bind(&entry.receiver)
        .bind(&entry.group_key)
        .bind(entry.first_at.0)
        .bind(entry.seq)
        .bind(entry.sent_at.0)
        .bind(to_json(&entry.firing))
        .bind(to_json(&entry.resolved))
        .bind(&entry.thread)
        .bind(to_json(&entry.flapping))
        .execute(&mut **db)
        .await?
        .rows_affected()
            == 1;
        if !won {
            return Ok(false);
        }
        if entry.seq == 1 && take_thread(&mut db, &entry.receiver, &entry.group_key, &entry.thread).await? != entry.thread {
            // An action outcome took the group's thread since the caller looked.
            return Ok(false);
        }
        let ordering = format!("group:{}:{}", entry.receiver, entry.group_key);
        for (key, notification) in notifications {
            insert_notification(&mut db, key, &ordering, notification, entry.sent_at, give_up_after).await?;
        }
        insert_decisions(&mut db, decisions).await?;
        db.commit().await?;
        Ok(true)
    }

    /// Forgets a group whose alerts have all resolved and been notified, if its log
    /// still holds notification `seq`.
    pub async fn forget_group(&self, receiver: &str, group_key: &str, seq: i64) -> Result<(), StoreError> {
        let mut db = self.begin_write().await?;
        let forgotten = sqlx::query("DELETE FROM alert_notify_log WHERE receiver = $1 AND group_key = $2 AND seq = $3")
            .bind(receiver)
            .bind(group_key)
            .bind(seq)
            .execute(&mut **db)
            .await?
            .rows_affected();
        if forgotten > 0 {
            // The group's next life starts a new thread.
            sqlx::query("DELETE FROM alert_group_threads WHERE receiver = $1 AND group_key = $2")
                .bind(receiver)
                .bind(group_key)
                .execute(&mut **db)
                .await?;
        }
        db.commit().await?;
        Ok(())
    }

    /// The thread a group's first notification starts, when something already took it
    /// (see [`Store::group_thread`]).
    pub async fn taken_thread(&self, receiver: &str, group_key: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT thread FROM alert_group_threads WHERE receiver = $1 AND group_key = $2")
            .bind(receiver)
            .bind(group_key)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The mail thread of a group: the one its notifications are in, else the one its
    /// first notification will start (taking `proposed` for it when nothing has yet).
    pub async fn group_thread(&self, receiver: &str, group_key: &str, proposed: &str) -> Result<String, StoreError> {
        if let Some(log) = self.notify_log(receiver, group_key).await? {
            return Ok(log.thread);
        }
        if let Some(taken) = self.taken_thread(receiver, group_key).await? {
            return Ok(taken);
        }
        let mut db = self.begin_write().await?;
        let thread = take_thread(&mut db, receiver, group_key, proposed).await?;
        db.commit().await?;
        Ok(thread)
    }
}

/// Takes `proposed` as the group's thread unless one is taken; returns the group's.
async fn take_thread(db: &mut Transaction<'_, Any>, receiver: &str, group_key: &str, proposed: &str) -> Result<String, StoreError> {
    sqlx::query(
        "INSERT INTO alert_group_threads (receiver, group_key, thread) VALUES ($1, $2, $3) ON CONFLICT (receiver, group_key) DO NOTHING",
    )
    .bind(receiver)
    .bind(group_key)
    .bind(proposed)
    .execute(&mut **db)
    .await?;
    Ok(sqlx::query_scalar("SELECT thread FROM alert_group_threads WHERE receiver = $1 AND group_key = $2")
        .bind(receiver)
        .bind(group_key)
        .fetch_one(&mut **db)
        .await?)
}

/// Gives episodes migrated from the old tables their fingerprint (migration 7 cannot
/// compute it in SQL): the label set gains `alertname` (and a rule's `rule` and
/// `severity`), as new episodes have. A migrated alert whose fingerprint already fires
/// in a newer episode is resolved.
pub(crate) async fn fix_legacy(store: &Store) -> Result<(), StoreError> {
    let sql = format!("SELECT {COLUMNS}, legacy_severity FROM alert_episodes WHERE fingerprint LIKE 'legacy:%'");
    let rows = sqlx::query(&sql).fetch_all(&store.pool).await?;
    for row in rows {
        let mut record = from_row(&row)?;
        let severity: Option<String> = row.try_get("legacy_severity")?;
        if record.source == AlertSource::Rule {
            record.labels.insert("rule".to_owned(), record.name.clone());
            if let Some(severity) = severity {
                record.labels.insert("severity".to_owned(), severity);
            }
        }
        record.labels.entry("alertname".to_owned()).or_insert_with(|| record.name.clone());
        let fingerprint = vigil_alerts::fingerprint_hex(&record.labels);
        let mut db = store.begin_write().await?;
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM alert_episodes WHERE fingerprint = $1 AND state = 'firing'")
            .bind(&fingerprint)
            .fetch_optional(&mut **db)
            .await?;
        let state = if taken.is_some() { "resolved" } else { record.state.as_str() };
        sqlx::query("UPDATE alert_episodes SET fingerprint = $2, labels = $3, state = $4 WHERE id = $1")
            .bind(record.id)
            .bind(&fingerprint)
            .bind(to_json(&record.labels))
            .bind(state)
            .execute(&mut **db)
            .await?;
        db.commit().await?;
    }
    Ok(())
}
