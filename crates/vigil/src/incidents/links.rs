//! One-click acknowledgement links: a random 256-bit token per link, made out to one
//! person for one incident and one action (acknowledge or resolve), expiring after
//! `incidents.link-lifetime`. Only the token's SHA-256 is stored, so the database (and
//! the outbox, which holds the page before its links are made) never holds a usable
//! link; a link works once. A GET shows a confirmation page and only a POST acts, so
//! mail scanners that fetch links change nothing.

use std::time::Duration;

use vigil_core::Timestamp;
use vigil_store::{LinkRecord, Store, StoreError};

/// Where links point and how long they last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSettings {
    /// The external URL of Vigil's HTTP server, without a trailing `/`.
    pub base_url: String,
    pub lifetime: Duration,
}

/// The path a link's token is served under.
pub const PATH: &str = "/incidents/link/";

/// The hash a link is stored and found by.
pub fn token_hash(token: &str) -> String {
    crate::auth::sha256_hex(token)
}

/// Whether `token` has the shape of one (so a malformed one is refused before the
/// store is asked).
pub fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// Makes a link for `person` to `action` (`ack` or `resolve`) incident `incident`;
/// returns its URL.
pub async fn mint(
    store: &Store,
    settings: &LinkSettings,
    incident: i64,
    person: &str,
    action: &str,
    now: Timestamp,
) -> Result<String, MintError> {
    let token = crate::auth::random_hex(32).map_err(|_| MintError::Random)?;
    let link = LinkRecord {
        incident_id: incident,
        person: person.to_owned(),
        action: action.to_owned(),
        expires_at: now.saturating_add(settings.lifetime),
        used_at: None,
    };
    store.insert_link(&token_hash(&token), &link, now).await?;
    Ok(format!("{}{PATH}{token}", settings.base_url))
}

#[derive(Debug, thiserror::Error)]
pub enum MintError {
    #[error("the system's random source failed")]
    Random,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_64_hex_digits_are_tokens() {
        assert!(super::well_formed(&"ab".repeat(32)));
        for bad in ["", "abc", &"zz".repeat(32), &"ab".repeat(33)] {
            assert!(!super::well_formed(bad), "{bad}");
        }
    }
}
