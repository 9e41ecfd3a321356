//! Silences: Alertmanager's label matchers over a time range, with its ids (UUIDs) and
//! its rules for changing one (`vigil_alerts::silence`). While one is active and
//! matches an alert, the alert's notifications and remediation are muted. Expired
//! silences are kept as history.

use sqlx::any::AnyRow;
use sqlx::Row;
use vigil_alerts::silence::{self, SilenceState};
use vigil_alerts::{MatchType, Matcher, Silence};
use vigil_core::Timestamp;

use crate::{Store, StoreError};

/// A matcher as Alertmanager's API writes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredMatcher {
    pub name: String,
    pub value: String,
    pub is_regex: bool,
    #[serde(default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

impl StoredMatcher {
    pub fn from_matcher(matcher: &Matcher) -> StoredMatcher {
        StoredMatcher {
            name: matcher.name.clone(),
            value: matcher.value.clone(),
            is_regex: matches!(matcher.kind, MatchType::Regexp | MatchType::NotRegexp),
            is_equal: matches!(matcher.kind, MatchType::Equal | MatchType::Regexp),
        }
    }

    pub fn to_matcher(&self) -> Result<Matcher, String> {
        let kind = match (self.is_regex, self.is_equal) {
            (false, true) => MatchType::Equal,
            (false, false) => MatchType::NotEqual,
            (true, true) => MatchType::Regexp,
            (true, false) => MatchType::NotRegexp,
        };
        Matcher::new(kind, &self.name, &self.value)
    }
}

/// A stored silence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SilenceRecord {
    /// Alertmanager's form: a UUID.
    pub id: String,
    pub matchers: Vec<StoredMatcher>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: String,
    pub comment: String,
}

impl SilenceRecord {
    /// The silence to match with; a stored matcher that no longer compiles matches
    /// nothing (the silence was validated when stored).
    pub fn silence(&self) -> Silence {
        let matchers = self.matchers.iter().map(StoredMatcher::to_matcher).collect::<Result<Vec<_>, _>>();
        Silence {
            id: self.id.clone(),
            matchers: matchers
                .unwrap_or_else(|_| vec![Matcher::new(MatchType::Regexp, "__invalid__", "$^").unwrap_or_else(|_| unreachable!())]),
            starts_at: self.starts_at.0,
            ends_at: self.ends_at.0,
            updated_at: self.updated_at.0,
            created_by: self.created_by.clone(),
            comment: self.comment.clone(),
        }
    }

    pub fn state(&self, now: Timestamp) -> SilenceState {
        silence::state(self.starts_at.0, self.ends_at.0, now.0)
    }

    /// `silence 3f2a… (deploy of api)`, for decisions and messages.
    pub fn describe(&self) -> String {
        let short: String = self.id.chars().take(8).collect();
        if self.comment.is_empty() {
            format!("silence {short}")
        } else {
            format!("silence {short} ({})", self.comment)
        }
    }

    /// The matchers as `{a="1", b=~"x"}`.
    pub fn matcher_text(&self) -> String {
        vigil_alerts::matcher::to_string(&self.silence().matchers)
    }
}

/// A silence to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSilence {
    pub id: String,
    pub matchers: Vec<StoredMatcher>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub created_by: String,
    pub comment: String,
}

const COLUMNS: &str = "uid, matchers, starts_at, ends_at, COALESCE(updated_at, starts_at) AS updated_at, created_by, comment";

fn from_row(row: &AnyRow) -> Result<SilenceRecord, StoreError> {
    let matchers: String = row.try_get("matchers")?;
    Ok(SilenceRecord {
        id: row.try_get::<Option<String>, _>("uid")?.unwrap_or_default(),
        matchers: serde_json::from_str(&matchers).map_err(|error| StoreError::Corrupt(format!("silence matchers: {error}")))?,
        starts_at: Timestamp(row.try_get("starts_at")?),
        ends_at: Timestamp(row.try_get("ends_at")?),
        updated_at: Timestamp(row.try_get("updated_at")?),
        created_by: row.try_get("created_by")?,
        comment: row.try_get("comment")?,
    })
}

impl Store {
    pub async fn add_silence(&self, silence: &NewSilence, now: Timestamp) -> Result<SilenceRecord, StoreError> {
        let _turn = self.turn().await;
        let sql = format!(
            "INSERT INTO silences (uid, matchers, starts_at, ends_at, updated_at, created_by, comment) VALUES ($1, $2, $3, $4, $5, $6, $7)
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(&silence.id)
            .bind(serde_json::to_string(&silence.matchers).unwrap_or_else(|_| "[]".to_owned()))
            .bind(silence.starts_at.0)
            .bind(silence.ends_at.0)
            .bind(now.0)
            .bind(&silence.created_by)
            .bind(&silence.comment)
            .fetch_one(&self.pool)
            .await?;
        from_row(&row)
    }

    /// Changes a silence's times, author and comment in place (the caller checked
    /// `can_update`).
    pub async fn update_silence(&self, silence: &NewSilence, now: Timestamp) -> Result<bool, StoreError> {
        let _turn = self.turn().await;
        let updated =
            sqlx::query("UPDATE silences SET starts_at = $2, ends_at = $3, updated_at = $4, created_by = $5, comment = $6 WHERE uid = $1")
                .bind(&silence.id)
                .bind(silence.starts_at.0)
                .bind(silence.ends_at.0)
                .bind(now.0)
                .bind(&silence.created_by)
                .bind(&silence.comment)
                .execute(&self.pool)
                .await?
                .rows_affected();
        Ok(updated > 0)
    }

    /// Silences not yet over at `now` (active or pending), oldest first; with `all`,
    /// the expired ones too.
    pub async fn silences(&self, now: Timestamp, all: bool) -> Result<Vec<SilenceRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM silences WHERE ($2 = 1 OR ends_at >= $1) ORDER BY id");
        sqlx::query(&sql).bind(now.0).bind(i64::from(all)).fetch_all(&self.pool).await?.iter().map(from_row).collect()
    }

    /// A number that changes whenever a silence is added, changed or expired, so a reader
    /// that keeps them can tell when to read them again.
    pub async fn silences_version(&self) -> Result<(i64, i64, i64), StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, CAST(COALESCE(MAX(id), 0) AS BIGINT) AS last,
                    CAST(COALESCE(SUM(ends_at), 0) + COALESCE(SUM(COALESCE(updated_at, 0)), 0) AS BIGINT) AS times FROM silences",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get("n")?, row.try_get("last")?, row.try_get("times")?))
    }

    /// The silence with this id, or the one whose id starts with it (at least 4 characters).
    pub async fn silence(&self, id: &str) -> Result<Option<SilenceRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM silences WHERE uid = $1 OR (LENGTH($1) >= 4 AND uid LIKE $1 || '%') ORDER BY id LIMIT 2");
        let rows = sqlx::query(&sql).bind(id).fetch_all(&self.pool).await?;
        let records: Vec<SilenceRecord> = rows.iter().map(from_row).collect::<Result<_, _>>()?;
        Ok(match records.as_slice() {
            [one] => Some(one.clone()),
            many => many.iter().find(|record| record.id == id).cloned(),
        })
    }

    /// Expires a silence at `now` as Alertmanager does (an active one ends now, a
    /// pending one starts and ends now). False when there is no such silence or it is
    /// already expired.
    pub async fn expire_silence(&self, id: &str, now: Timestamp) -> Result<bool, StoreError> {
        let Some(record) = self.silence(id).await? else { return Ok(false) };
        if record.state(now) == SilenceState::Expired {
            return Ok(false);
        }
        let _turn = self.turn().await;
        let (starts_at, ends_at) = silence::expired_times(record.starts_at.0, record.ends_at.0, now.0);
        let updated = sqlx::query("UPDATE silences SET starts_at = $2, ends_at = $3, updated_at = $4 WHERE uid = $1 AND ends_at >= $4")
            .bind(&record.id)
            .bind(starts_at)
            .bind(ends_at)
            .bind(now.0)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(updated > 0)
    }
}

/// Converts silences stored before migration 7 (equality maps, numeric ids): each
/// label becomes an `=` matcher and the id a UUID-shaped string made from the old
/// number, `00000000-0000-4000-8000-00000000002a`.
pub(crate) async fn fix_legacy(store: &Store) -> Result<(), StoreError> {
    let rows = sqlx::query("SELECT id, matchers FROM silences WHERE uid IS NULL").fetch_all(&store.pool).await?;
    for row in rows {
        let id: i64 = row.try_get("id")?;
        let text: String = row.try_get("matchers")?;
        let old: std::collections::BTreeMap<String, String> = serde_json::from_str(&text).unwrap_or_default();
        let matchers: Vec<StoredMatcher> =
            old.into_iter().map(|(name, value)| StoredMatcher { name, value, is_regex: false, is_equal: true }).collect();
        sqlx::query("UPDATE silences SET uid = $2, matchers = $3 WHERE id = $1")
            .bind(id)
            .bind(format!("00000000-0000-4000-8000-{id:012x}"))
            .bind(serde_json::to_string(&matchers).unwrap_or_else(|_| "[]".to_owned()))
            .execute(&store.pool)
            .await?;
    }
    Ok(())
}
