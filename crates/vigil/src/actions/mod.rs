//! Remediation: what a DOWN monitor, a firing rule or an inbound alert sets in motion
//! besides notifications.
//!
//! The [`Planner`] turns a trigger and its configured action names into executions,
//! rendering each action's targets from the alert's labels (an empty or oversized set is
//! recorded as a target-sanity error, never widened to "all"); the caller stores them in
//! the same transaction as the trigger. The [`worker`] then runs each through the guard
//! pipeline (`vigil_core::guards`), takes the target's lease, acts ([`execute`]) and
//! verifies.

pub mod execute;
pub mod iam;
pub mod worker;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use vigil_config::{ActionConfig, ActionKind};
use vigil_store::NewExecution;

use crate::notifiers::message::render_summary;

/// Everything about a trigger the planner needs.
#[derive(Debug, Clone)]
pub struct TriggerContext<'a> {
    /// One line for people, e.g. `fitpay-api is DOWN`.
    pub summary: String,
    pub labels: &'a BTreeMap<String, String>,
    /// Notifiers told about the outcomes.
    pub notify: &'a [String],
}

/// Turns triggers into executions. Shared by the monitor engine, the rule engine and
/// inbound alerts.
#[derive(Debug, Default)]
pub struct Planner {
    actions: BTreeMap<String, ActionConfig>,
    /// `vigil run --dry-run`.
    dry_run: bool,
}

impl Planner {
    pub fn new(actions: BTreeMap<String, ActionConfig>, dry_run: bool) -> Arc<Planner> {
        Arc::new(Planner { actions, dry_run })
    }

    /// The configured actions' names, in order.
    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.actions.keys()
    }

    pub fn action(&self, name: &str) -> Option<&ActionConfig> {
        self.actions.get(name)
    }

    /// One execution per target of each named action.
    pub fn plan(&self, names: &[String], trigger: &TriggerContext<'_>) -> Vec<NewExecution> {
        let labels = serde_json::to_string(trigger.labels).unwrap_or_else(|_| "{}".to_owned());
        let mut executions = Vec::new();
        for action in names.iter().filter_map(|name| self.actions.get(name)) {
            let new = |target| NewExecution {
                action: action.name.clone(),
                target,
                summary: trigger.summary.clone(),
                labels: labels.clone(),
                notify: trigger.notify.to_vec(),
                dry_run: self.dry_run || action.dry_run,
                attempt: 1,
                not_before: None,
            };
            match targets(action, trigger.labels) {
                Ok(targets) => executions.extend(targets.into_iter().map(|target| new(Ok(target)))),
                Err(error) => executions.push(new(Err(error))),
            }
        }
        executions
    }
}

/// The targets of `action` for an alert with `labels`: `ec2:REGION:INSTANCE`, the URL,
/// or `exec:ACTION`.
pub fn targets(action: &ActionConfig, labels: &BTreeMap<String, String>) -> Result<Vec<String>, String> {
    let targets: Vec<String> = match &action.kind {
        ActionKind::Ec2Reboot { region, instances, .. } => {
            let mut rendered = BTreeSet::new();
            for template in instances {
                let instance = render_summary(template, labels, 0.0).trim().to_owned();
                if instance.is_empty() {
                    continue;
                }
                if !instance.starts_with("i-") || instance.contains(char::is_whitespace) {
                    return Err(format!("`{template}` rendered to `{instance}`, which is not an instance id"));
                }
                rendered.insert(instance);
            }
            rendered.into_iter().map(|instance| format!("ec2:{region}:{instance}")).collect()
        }
        ActionKind::Http { url, .. } => {
            let rendered = render_summary(url, labels, 0.0);
            match rendered.parse::<http::Uri>() {
                Ok(uri) if matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some_and(|host| !host.is_empty()) => {
                    vec![rendered]
                }
                _ => return Err(format!("`{url}` rendered to `{rendered}`, which is not an http(s) URL")),
            }
        }
        ActionKind::Exec { .. } => vec![format!("exec:{}", action.name)],
    };
    if targets.is_empty() {
        return Err(format!("empty target set: no target rendered from the alert's labels for `{}`", action.name));
    }
    if targets.len() > action.max_targets {
        return Err(format!("oversized target set: {} targets, more than max-targets {}", targets.len(), action.max_targets));
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use vigil_config::{ActionConfig, ActionKind};

    use super::targets;

    fn reboot(instances: &[&str], max_targets: usize) -> ActionConfig {
        ActionConfig {
            name: "reboot".into(),
            kind: ActionKind::Ec2Reboot {
                region: "us-east-1".into(),
                instances: instances.iter().map(|instance| (*instance).to_owned()).collect(),
                endpoint: None,
                account_id: None,
            },
            timeout: Duration::from_secs(30),
            cooldown: Duration::from_secs(600),
            verify: None,
            max_attempts: 3,
            breaker_window: Duration::from_secs(3600),
            approval: false,
            approval_timeout: Duration::from_secs(900),
            dry_run: false,
            max_targets,
            budget: None,
        }
    }

    /// (instances, max-targets, the targets or the start of the error)
    type Case<'a> = (&'a [&'a str], usize, Result<&'a [&'a str], &'a str>);

    #[test]
    fn target_sets_are_rendered_and_checked_never_widened() {
        let labels = BTreeMap::from([("instance_id".to_owned(), "i-0abc".to_owned()), ("host".to_owned(), "web 1".to_owned())]);
        let cases: &[Case<'_>] = &[
            (&["i-1", "{{ $labels.instance_id }}"], 10, Ok(&["ec2:us-east-1:i-0abc", "ec2:us-east-1:i-1"])),
            (&["i-1", "i-1"], 10, Ok(&["ec2:us-east-1:i-1"])),
            (&["{{ $labels.missing }}"], 10, Err("empty target set")),
            (&["{{ $labels.host }}"], 10, Err("`{{ $labels.host }}` rendered to `web 1`, which is not an instance id")),
            (&["i-1", "i-2", "i-3"], 2, Err("oversized target set: 3 targets, more than max-targets 2")),
        ];
        for (instances, max_targets, expected) in cases {
            let result = targets(&reboot(instances, *max_targets), &labels);
            match (expected, &result) {
                (Ok(expected), Ok(actual)) => assert_eq!(actual, expected, "{instances:?}"),
                (Err(expected), Err(actual)) => assert!(actual.starts_with(expected), "{instances:?}: {actual}"),
                _ => panic!("{instances:?}: expected {expected:?}, got {result:?}"),
            }
        }
    }
}
