//! Creating and changing silences, as Alertmanager does (`vigil_alerts::silence`): one
//! path for the CLI and `POST /api/v2/silences`. A change that `can_update` allows is
//! made in place; any other change expires the old silence and creates a new one, so
//! what was silenced when stays on record.

use vigil_core::Timestamp;
use vigil_store::{NewSilence, SilenceRecord, Store, StoreError, StoredMatcher};

/// A new silence id: a random (version 4) UUID, as Alertmanager's.
pub fn new_id() -> String {
    let mut bytes: [u8; 16] = std::array::from_fn(|_| fastrand::u8(..));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// Creates a silence from matcher text. The outer error is the store's; the inner one
/// says why the silence is refused.
pub async fn create(
    store: &Store,
    matchers: &str,
    starts_at: Timestamp,
    ends_at: Timestamp,
    created_by: &str,
    comment: &str,
    now: Timestamp,
) -> Result<Result<SilenceRecord, String>, StoreError> {
    let parsed = match vigil_alerts::matcher::parse(matchers) {
        Ok(parsed) => parsed,
        Err(error) => return Ok(Err(format!("bad matchers `{matchers}`: {error}"))),
    };
    let stored: Vec<StoredMatcher> = parsed.iter().map(StoredMatcher::from_matcher).collect();
    set(store, None, stored, starts_at, ends_at, created_by, comment, now).await
}

/// Creates a silence, or changes silence `id`, with Alertmanager's rules. Returns the
/// silence now in force.
#[allow(clippy::too_many_arguments)]
pub async fn set(
    store: &Store,
    id: Option<&str>,
    matchers: Vec<StoredMatcher>,
    starts_at: Timestamp,
    ends_at: Timestamp,
    created_by: &str,
    comment: &str,
    now: Timestamp,
) -> Result<Result<SilenceRecord, String>, StoreError> {
    let parsed: Result<Vec<vigil_alerts::Matcher>, String> = matchers.iter().map(StoredMatcher::to_matcher).collect();
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(error) => return Ok(Err(format!("invalid silence: {error}"))),
    };
    if let Err(error) = vigil_alerts::silence::validate(&parsed, starts_at.0, ends_at.0) {
        return Ok(Err(format!("invalid silence: {error}")));
    }
    let previous = match id {
        Some(id) => match store.silence(id).await? {
            Some(previous) if previous.id == id => Some(previous),
            _ => return Ok(Err(format!("silence {id} not found"))),
        },
        None => None,
    };
    let mut silence =
        NewSilence { id: new_id(), matchers, starts_at, ends_at, created_by: created_by.to_owned(), comment: comment.to_owned() };
    if let Some(previous) = &previous {
        if vigil_alerts::silence::can_update(&previous.silence(), &parsed, starts_at.0, ends_at.0, now.0) {
            silence.id = previous.id.clone();
            store.update_silence(&silence, now).await?;
            return Ok(store.silence(&previous.id).await?.ok_or_else(|| "the silence vanished".to_owned()));
        }
        store.expire_silence(&previous.id, now).await?;
    }
    // A new silence never starts in the past.
    silence.starts_at = silence.starts_at.max(now);
    if silence.ends_at < silence.starts_at {
        return Ok(Err("invalid silence: end time must not be before start time".to_owned()));
    }
    Ok(Ok(store.add_silence(&silence, now).await?))
}
