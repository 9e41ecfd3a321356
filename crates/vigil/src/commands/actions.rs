//! `vigil actions`, `vigil silence` and `vigil iam-policy`: operating remediation by hand.

use vigil_config::Config;
use vigil_core::time::format_duration;
use vigil_core::{Clock, SystemClock};
use vigil_store::{ApprovalAnswer, ExecutionRecord};

use super::record::open;
use crate::cli::{ActionsCommand, SilenceCommand};

/// Who is at the keyboard, for the audit log.
fn operator() -> String {
    std::env::var("USER").ok().filter(|user| !user.is_empty()).unwrap_or_else(|| "cli".to_owned())
}

pub async fn actions(config: &Config, command: ActionsCommand) -> anyhow::Result<()> {
    let store = open(config).await?;
    let now = SystemClock.now();
    match command {
        ActionsCommand::List { json, .. } => {
            let paused = store.paused().await?;
            let breakers = store.open_breakers().await?;
            if json {
                let actions: Vec<serde_json::Value> = config
                    .actions
                    .values()
                    .map(|action| {
                        let open: Vec<&str> =
                            breakers.iter().filter(|(name, _, _)| *name == action.name).map(|(_, target, _)| target.as_str()).collect();
                        serde_json::json!({
                            "name": action.name, "type": action.kind.type_name(), "cooldown_ms": action.cooldown.as_millis() as u64,
                            "verify_ms": action.verify.map(|verify| verify.as_millis() as u64), "max_attempts": action.max_attempts,
                            "approval": action.approval, "dry_run": action.dry_run || config.remediation.dry_run, "open_breakers": open,
                        })
                    })
                    .collect();
                println!("{}", serde_json::json!({"paused": paused, "actions": actions}));
                return Ok(());
            }
            println!("actions are {}", if paused { "PAUSED (vigil actions resume)" } else { "enabled" });
            if config.actions.is_empty() {
                println!("no actions are configured in {}", config.path.display());
            }
            for action in config.actions.values() {
                let verify = action.verify.map_or("not verified".to_owned(), |verify| format!("verify {}", format_duration(verify)));
                let mut flags = Vec::new();
                if action.approval {
                    flags.push("approval required".to_owned());
                }
                if action.dry_run {
                    flags.push("dry run".to_owned());
                }
                println!(
                    "  {:<20} {:<15} cooldown {}, {verify}, breaker {} in {}{}",
                    action.name,
                    action.kind.type_name(),
                    format_duration(action.cooldown),
                    action.max_attempts,
                    format_duration(action.breaker_window),
                    if flags.is_empty() { String::new() } else { format!(", {}", flags.join(", ")) }
                );
                for (_, target, opened_at) in breakers.iter().filter(|(name, _, _)| *name == action.name) {
                    println!("    breaker OPEN on {target} since {opened_at} (vigil actions reset {})", action.name);
                }
            }
            Ok(())
        }
        ActionsCommand::History { action, limit, json, id, .. } => {
            if let Some(id) = id {
                let Some(record) = store.execution(id).await? else { anyhow::bail!("no execution {id}") };
                let audit = store.audit(Some(id), 1000).await?;
                if json {
                    println!("{}", serde_json::json!({"execution": record, "audit": audit}));
                } else {
                    print_execution(&record);
                    for entry in audit {
                        println!("    {}  {:<12} {}", entry.at, entry.event, entry.detail);
                    }
                }
                return Ok(());
            }
            let records = store.executions(action.as_deref(), limit.max(1)).await?;
            for record in &records {
                if json {
                    println!("{}", serde_json::to_string(record)?);
                } else {
                    print_execution(record);
                }
            }
            if records.is_empty() && !json {
                println!("no executions recorded yet");
            }
            Ok(())
        }
        ActionsCommand::Pause { .. } => {
            store.set_paused(true, &operator(), now).await?;
            println!("actions paused: every execution is suppressed by the kill switch until `vigil actions resume`");
            Ok(())
        }
        ActionsCommand::Resume { .. } => {
            store.set_paused(false, &operator(), now).await?;
            println!("actions resumed");
            Ok(())
        }
        ActionsCommand::Approve { id, refuse, .. } => match store.answer_approval(id, !refuse, &operator(), now).await? {
            ApprovalAnswer::Recorded(record) => {
                let verb = if refuse { "refused" } else { "approved" };
                println!("execution {id} ({} on {}) {verb}; a running `vigil run` takes it from here", record.action, record.target);
                Ok(())
            }
            ApprovalAnswer::NotFound => anyhow::bail!("no execution {id}"),
            ApprovalAnswer::NotWaiting(state) => anyhow::bail!("execution {id} is not waiting for approval (it is {})", state.as_str()),
        },
        ActionsCommand::Reset { name, .. } => {
            if !config.actions.contains_key(&name) {
                anyhow::bail!("no action `{name}` in {}", config.path.display());
            }
            let reset = store.reset_breakers(&name, now).await?;
            println!("{name}: {reset} open breakers closed; earlier failed attempts no longer count");
            Ok(())
        }
    }
}

fn print_execution(record: &ExecutionRecord) {
    let target = if record.target.is_empty() { record.target_error.as_deref().unwrap_or("(no target)") } else { &record.target };
    let dry = if record.dry_run { " (dry run)" } else { "" };
    println!(
        "#{:<5} {}  {:<18} {:<16} {}{dry}  attempt {}  for: {}",
        record.id,
        record.created_at,
        record.state.as_str(),
        record.action,
        target,
        record.attempt,
        record.summary
    );
    let decisions: Vec<vigil_core::guards::Decision> = serde_json::from_str(&record.decisions).unwrap_or_default();
    if let Some(stop) = decisions.iter().find(|decision| !decision.passed) {
        println!("        {}: {}", stop.guard.as_str(), stop.reason);
    }
    if let Some(result) = &record.result {
        println!("        result: {result}");
    }
}

pub async fn silence(config: &Config, command: SilenceCommand) -> anyhow::Result<()> {
    let store = open(config).await?;
    let now = SystemClock.now();
    match command {
        SilenceCommand::Add { matchers, duration, comment, .. } => {
            let duration = vigil_core::parse_duration(&duration).map_err(|error| anyhow::anyhow!("--duration: {error}"))?;
            let silence =
                crate::alerts::silences::create(&store, &matchers.join(","), now, now.saturating_add(duration), &operator(), &comment, now)
                    .await?
                    .map_err(|error| anyhow::anyhow!("{error}"))?;
            println!("{}", silence.id);
            eprintln!(
                "silence {} until {}: alerts matching {} are muted (notifications and actions)",
                silence.id,
                silence.ends_at,
                silence.matcher_text()
            );
            Ok(())
        }
        SilenceCommand::List { all, json, .. } => {
            for silence in store.silences(now, all).await? {
                if json {
                    println!("{}", serde_json::to_string(&silence)?);
                } else {
                    let state = silence.state(now);
                    let left = match state {
                        vigil_alerts::SilenceState::Expired => "expired".to_owned(),
                        vigil_alerts::SilenceState::Pending => format!("starts {}", silence.starts_at),
                        vigil_alerts::SilenceState::Active => format!("{} left", format_duration(silence.ends_at.since(now))),
                    };
                    println!(
                        "{}  {}  until {} ({left})  by {}  {}",
                        silence.id,
                        silence.matcher_text(),
                        silence.ends_at,
                        silence.created_by,
                        silence.comment
                    );
                }
            }
            Ok(())
        }
        SilenceCommand::Expire { id, .. } => {
            if store.expire_silence(&id, now).await? {
                println!("silence {id} expired");
                Ok(())
            } else {
                anyhow::bail!("no active or pending silence {id}")
            }
        }
    }
}

pub fn iam_policy(config: &Config) -> anyhow::Result<()> {
    let (policy, notes) = crate::actions::iam::policy(config);
    if policy["Statement"].as_array().is_none_or(Vec::is_empty) {
        anyhow::bail!("{} configures no AWS actions, notifiers or audit sink", config.path.display());
    }
    println!("{}", serde_json::to_string_pretty(&policy)?);
    for note in notes {
        eprintln!("note: {note}");
    }
    Ok(())
}
