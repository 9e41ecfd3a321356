//! API tokens: made from the operating system's randomness, shown once, stored as the
//! SHA-256 of their secret, checked in constant time.

use sha2::{Digest, Sha256};
use vigil_core::auth::{Role, TokenParts};
use vigil_core::Timestamp;
use vigil_store::{Store, StoreError, TokenRecord};

/// How stale a token's `last used` may get before a request writes it again.
const TOUCH_EVERY_MS: i64 = 60_000;

/// Who a request acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
}

/// Why a presented token is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    Malformed,
    Unknown,
    Revoked,
}

pub(crate) fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub(crate) fn random_hex(bytes: usize) -> Result<String, ring::error::Unspecified> {
    use ring::rand::SecureRandom;
    let mut buffer = vec![0u8; bytes];
    ring::rand::SystemRandom::new().fill(&mut buffer)?;
    Ok(hex::encode(buffer))
}

/// A new token for `name`: the record to store and the token, to show once.
pub fn mint(name: &str, role: Role, now: Timestamp) -> anyhow::Result<(TokenRecord, String)> {
    let id = random_hex(8).map_err(|_| anyhow::anyhow!("the system's random source failed"))?;
    let secret = random_hex(32).map_err(|_| anyhow::anyhow!("the system's random source failed"))?;
    let token = format!("{}{id}_{secret}", TokenParts::PREFIX);
    let record = TokenRecord {
        id,
        name: name.to_owned(),
        role,
        secret_sha256: sha256_hex(&secret),
        created_at: now,
        last_used_at: None,
        revoked_at: None,
    };
    Ok((record, token))
}

/// Who `token` belongs to, or why it is refused.
pub async fn authenticate(store: &Store, token: &str, now: Timestamp) -> Result<Result<Principal, Refused>, StoreError> {
    let Some(parts) = TokenParts::parse(token) else { return Ok(Err(Refused::Malformed)) };
    let Some(record) = store.token(parts.id).await? else { return Ok(Err(Refused::Unknown)) };
    let presented = sha256_hex(parts.secret);
    let equal = presented.len() == record.secret_sha256.len()
        && presented.bytes().zip(record.secret_sha256.bytes()).fold(0u8, |difference, (a, b)| difference | (a ^ b)) == 0;
    if !equal {
        return Ok(Err(Refused::Unknown));
    }
    if record.revoked_at.is_some() {
        return Ok(Err(Refused::Revoked));
    }
    // `last used` to the minute, written beside the request rather than in its way: a
    // write waits its turn behind every other writer of the store.
    if record.last_used_at.is_none_or(|last| now.0 - last.0 >= TOUCH_EVERY_MS) {
        let (store, id) = (store.clone(), record.id.clone());
        tokio::spawn(async move {
            if let Err(error) = store.touch_token(&id, now).await {
                tracing::debug!(%error, "recording a token's last use failed");
            }
        });
    }
    Ok(Ok(Principal { name: record.name, role: record.role }))
}

/// Token names: what `MonitorName` allows, so they print and audit plainly.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"-_.@".contains(&byte))
}
