//! `vigil alerts list` and `vigil alerts show ID`: the episodes in the store and every
//! decision about them, as `GET /api/v1/alerts` answers.

use vigil_config::Config;
use vigil_core::{Clock, SystemClock};

use super::record::open;
use crate::alerts::view::{self, EpisodeView};
use crate::alerts::Routing;
use crate::cli::AlertsCommand;

fn labels(episode: &EpisodeView) -> String {
    let pairs: Vec<String> = episode.labels.iter().map(|(name, value)| format!("{name}={value:?}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

fn muted(episode: &EpisodeView) -> String {
    match &episode.status {
        Some(status) if !status.silenced_by.is_empty() => format!("silenced by {}", status.silenced_by.join(", ")),
        Some(status) if !status.inhibited_by.is_empty() => {
            format!("inhibited by {} (rule {})", status.inhibited_by.join(", "), status.inhibit_rules.join(", "))
        }
        Some(_) => "active".to_owned(),
        None => "resolved".to_owned(),
    }
}

pub async fn execute(config: &Config, command: AlertsCommand) -> anyhow::Result<()> {
    let store = open(config).await?;
    let routing = Routing::new(config);
    let now = SystemClock.now();
    match command {
        AlertsCommand::List { all, name, limit, json, .. } => {
            let episodes = view::episodes(&store, &routing, all, name.as_deref(), limit.max(1), now).await?;
            if episodes.is_empty() && !json {
                eprintln!("{}", if all { "no alert episodes stored" } else { "no alerts firing" });
            }
            for episode in &episodes {
                if json {
                    println!("{}", serde_json::to_string(episode)?);
                } else {
                    println!(
                        "{:>6}  {:<8}  {}  since {}  {}  -> {}",
                        episode.id,
                        episode.state.as_str(),
                        labels(episode),
                        episode.starts_at,
                        muted(episode),
                        if episode.receivers.is_empty() { "(no receiver)".to_owned() } else { episode.receivers.join(", ") }
                    );
                }
            }
            Ok(())
        }
        AlertsCommand::Show { id, json, .. } => {
            let Some(detail) = view::episode(&store, &routing, id, now).await? else {
                anyhow::bail!("no alert episode {id} (see `vigil alerts list --all`)");
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&detail)?);
                return Ok(());
            }
            let episode = &detail.episode;
            println!(
                "episode {}  {}  {}  ({} {})",
                episode.id,
                episode.name,
                episode.state.as_str(),
                episode.source.as_str(),
                episode.fingerprint
            );
            println!("labels:      {}", labels(episode));
            for (name, value) in &episode.annotations {
                println!("{:<12} {value}", format!("{name}:"));
            }
            println!("started:     {}", episode.starts_at);
            if let Some(ends_at) = &episode.ends_at {
                println!("{:<12} {ends_at}", if episode.state == vigil_store::EpisodeState::Firing { "ends:" } else { "resolved:" });
            }
            if !detail.generator_url.is_empty() {
                println!("source:      {}", detail.generator_url);
            }
            println!("now:         {}", muted(episode));
            println!(
                "routed to:   {}",
                if episode.receivers.is_empty() { "(no receiver)".to_owned() } else { episode.receivers.join(", ") }
            );
            for group in &detail.groups {
                println!(
                    "grouped:     {} in {} (wait {}, interval {}, repeat {})",
                    group.receiver, group.group_key, group.group_wait, group.group_interval, group.repeat_interval
                );
            }
            if detail.decisions.is_empty() {
                println!("decisions:   none yet (group-wait, or no route)");
            } else {
                println!("decisions:");
                for decision in &detail.decisions {
                    let seq = decision.seq.map(|seq| format!(" #{seq}")).unwrap_or_default();
                    println!("  {}  {}  {}{seq}  {}", decision.at, decision.receiver, decision.kind.as_str(), decision.detail);
                }
            }
            Ok(())
        }
    }
}
