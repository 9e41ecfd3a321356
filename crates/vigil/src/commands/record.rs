//! `vigil history` and `vigil uptime`: reading the record.

use std::time::Duration;

use anyhow::Context;
use vigil_config::Config;
use vigil_core::time::format_duration;
use vigil_core::uptime::{compute, UptimeReport};
use vigil_core::{Clock, SystemClock};
use vigil_store::Store;

pub(crate) async fn open(config: &Config) -> anyhow::Result<Store> {
    Store::open(&config.storage).await.with_context(|| format!("opening store {}", vigil_core::redact::url(&config.storage)))
}

pub async fn history(config: &Config, monitor: &str, limit: i64, json: bool) -> anyhow::Result<()> {
    let store = open(config).await?;
    let transitions = store.transitions(monitor, limit.max(1)).await?;
    if transitions.is_empty() && !config.monitors.iter().any(|m| m.name.as_str() == monitor) {
        anyhow::bail!("no monitor `{monitor}` in {} and no stored history for it", config.path.display());
    }
    let checker = config.monitors.iter().find(|m| m.name.as_str() == monitor).and_then(|m| m.health_check);
    for transition in &transitions {
        if json {
            let mut value = serde_json::to_value(transition)?;
            if let Some(checker) = checker {
                // A target group's vocabulary, beside Vigil's own.
                value["checker"] = serde_json::json!(checker.as_str());
                value["target_from"] = serde_json::json!(checker.state(transition.from));
                value["target_state"] = serde_json::json!(checker.state(transition.to));
                value["reason_code"] = serde_json::json!(checker.reason_code(transition.to, &transition.reason));
            }
            println!("{value}");
        } else {
            let period = transition
                .previous_period_ms
                .map(|millis| format!(" after {} {}", format_duration(Duration::from_millis(millis.max(0) as u64)), transition.from))
                .unwrap_or_default();
            let words = checker
                .map(|checker| {
                    let code = checker.reason_code(transition.to, &transition.reason).map(|code| format!(" {code}")).unwrap_or_default();
                    format!("  [{} -> {}{code}]", checker.state(transition.from), checker.state(transition.to))
                })
                .unwrap_or_default();
            println!(
                "{}  #{:<5} {:>7} -> {:<4}{period}  {}{words}",
                transition.at, transition.id, transition.from, transition.to, transition.reason
            );
        }
    }
    if transitions.is_empty() && !json {
        println!("no transitions recorded for `{monitor}` yet");
    }
    Ok(())
}

pub async fn uptime(config: &Config, only: Option<&str>, days: u32, json: bool) -> anyhow::Result<()> {
    let store = open(config).await?;
    let now = SystemClock.now();
    let from = now.saturating_sub(Duration::from_secs(u64::from(days.max(1)) * 86_400));
    let mut names: Vec<String> = config.monitors.iter().map(|monitor| monitor.name.as_str().to_owned()).collect();
    for stored in store.monitors_with_history().await? {
        if !names.contains(&stored) {
            names.push(stored);
        }
    }
    if let Some(only) = only {
        anyhow::ensure!(names.iter().any(|name| name == only), "no monitor `{only}` in the config or the store");
        names.retain(|name| name == only);
    }
    let coverage = store.coverage(from, now).await?;
    if !json {
        println!("uptime over the past {days} days ({from} to {now})");
        println!("{:<24} {:>9} {:>12} {:>12} {:>8} {:>12} {:>12}", "MONITOR", "UPTIME", "DOWN", "UNKNOWN", "OUTAGES", "LONGEST", "MTTR");
    }
    for name in names {
        let changes = store.state_changes(&name, from, now).await?;
        let report = compute(&changes, &coverage, from, now);
        if json {
            let mut value = serde_json::to_value(&report)?;
            value["monitor"] = serde_json::Value::String(name.clone());
            println!("{value}");
        } else {
            print_row(&name, &report);
        }
    }
    Ok(())
}

fn print_row(name: &str, report: &UptimeReport) {
    let optional = |duration: Option<Duration>| duration.map_or("-".to_owned(), format_duration);
    let uptime = report.uptime_percent.map_or("unknown".to_owned(), |percent| format!("{percent:.3}%"));
    println!(
        "{name:<24} {uptime:>9} {:>12} {:>12} {:>8} {:>12} {:>12}",
        format_duration(report.down),
        format_duration(report.unknown),
        report.outages,
        optional(report.longest_outage),
        optional(report.mean_time_to_recovery),
    );
}
