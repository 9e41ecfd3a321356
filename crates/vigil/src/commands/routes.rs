//! `vigil routes test|show`: where an alert with given labels goes through `route:`,
//! as `amtool config routes test|show` answer it.

use std::collections::BTreeMap;
use std::process::ExitCode;

use vigil_alerts::{GroupBy, Route};
use vigil_config::Config;
use vigil_core::Clock;

use super::USAGE_ERROR;
use crate::cli::RoutesCommand;

fn labels(pairs: &[String]) -> Result<BTreeMap<String, String>, String> {
    pairs
        .iter()
        .map(|pair| {
            let (name, value) = pair.split_once('=').ok_or_else(|| format!("expected LABEL=VALUE, got `{pair}`"))?;
            let value = value.strip_prefix('"').and_then(|value| value.strip_suffix('"')).unwrap_or(value);
            if name.is_empty() {
                return Err(format!("expected LABEL=VALUE, got `{pair}`"));
            }
            Ok((name.to_owned(), value.to_owned()))
        })
        .collect()
}

pub fn execute(config: &Config, command: RoutesCommand) -> ExitCode {
    let Some(spec) = &config.route else {
        eprintln!("error: no `route:` in {}; alerts go where each monitor's and rule's notify: and actions: say", config.path.display());
        return ExitCode::from(USAGE_ERROR);
    };
    let tree = Route::new(spec);
    match command {
        RoutesCommand::Show { .. } => {
            print!("{}", tree.tree_text());
            ExitCode::SUCCESS
        }
        RoutesCommand::Test { labels: pairs, tree: show_tree, json, verify_receivers, .. } => {
            let labels = match labels(&pairs) {
                Ok(labels) => labels,
                Err(message) => {
                    eprintln!("error: {message}");
                    return ExitCode::from(USAGE_ERROR);
                }
            };
            let now = vigil_core::SystemClock.now().0;
            if show_tree {
                print!("{}", tree.tree_text());
            }
            let matched = tree.matches(&labels);
            let receivers: Vec<&str> = matched.iter().map(|route| route.options.receiver.as_str()).collect();
            if json {
                let routes: Vec<serde_json::Value> = matched
                    .iter()
                    .map(|route| {
                        let group_by = match &route.options.group_by {
                            GroupBy::All => serde_json::json!(["..."]),
                            GroupBy::Labels(names) => serde_json::json!(names),
                        };
                        serde_json::json!({
                            "receiver": route.options.receiver,
                            "route": route.key,
                            "group_by": group_by,
                            "group_key": route.group_key(&labels),
                            "group_wait": vigil_core::time::format_duration(route.options.group_wait),
                            "group_interval": vigil_core::time::format_duration(route.options.group_interval),
                            "repeat_interval": vigil_core::time::format_duration(route.options.repeat_interval),
                            "continue": route.continue_matching,
                            "muted_now": route.options.muted_at(&config.time_intervals, now),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&routes).unwrap_or_default());
            } else {
                println!("{}", receivers.join(","));
            }
            match verify_receivers {
                Some(expected) if expected.split(',').map(str::trim).collect::<Vec<_>>() != receivers => {
                    eprintln!("WARNING: Expected receivers did not match resolved receivers.");
                    ExitCode::FAILURE
                }
                _ => ExitCode::SUCCESS,
            }
        }
    }
}
