//! `vigil token create|list|revoke`: API tokens in the store, each change audited.

use vigil_config::Config;
use vigil_core::auth::Role;
use vigil_core::{Clock, SystemClock};

use super::record::open;
use crate::cli::TokenCommand;

/// Who the CLI acts as in the audit trail.
fn actor() -> String {
    format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned()))
}

pub async fn execute(config: &Config, command: TokenCommand) -> anyhow::Result<()> {
    let store = open(config).await?;
    let now = SystemClock.now();
    match command {
        TokenCommand::Create { name, role, .. } => {
            anyhow::ensure!(crate::auth::valid_name(&name), "invalid token name `{name}`: letters, digits, `-`, `_`, `.`, `@`, at most 64");
            let role = Role::parse(&role).ok_or_else(|| anyhow::anyhow!("--role: expected viewer, responder or admin"))?;
            let (record, token) = crate::auth::mint(&name, role, now)?;
            anyhow::ensure!(store.create_token(&record, &actor()).await?, "a token named `{name}` exists already (names are not reused)");
            eprintln!("token `{name}` ({role}) created; it is shown this once:");
            println!("{token}");
        }
        TokenCommand::List { json, .. } => {
            let tokens = store.tokens().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tokens)?);
            } else {
                println!("{:<24} {:<10} {:<26} {:<26} REVOKED", "NAME", "ROLE", "CREATED", "LAST USED");
                for token in tokens {
                    let at = |at: Option<vigil_core::Timestamp>| at.map_or_else(|| "-".to_owned(), |at| at.to_rfc3339());
                    println!(
                        "{:<24} {:<10} {:<26} {:<26} {}",
                        token.name,
                        token.role,
                        token.created_at.to_rfc3339(),
                        at(token.last_used_at),
                        at(token.revoked_at)
                    );
                }
            }
        }
        TokenCommand::Audit { limit, json, .. } => {
            for entry in store.audit(None, limit.max(1)).await? {
                if json {
                    println!("{}", serde_json::to_string(&entry)?);
                } else {
                    println!("{}  {:<10} {:<24} {:<12} {}", entry.at, entry.action, entry.target, entry.event, entry.detail);
                }
            }
        }
        TokenCommand::Revoke { name, .. } => {
            anyhow::ensure!(store.revoke_token(&name, &actor(), now).await?, "no live token named `{name}`");
            println!("token `{name}` revoked");
        }
    }
    Ok(())
}
