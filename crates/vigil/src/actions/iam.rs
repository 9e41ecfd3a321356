//! `vigil iam-policy`: the least-privilege IAM policy for the configured AWS actions,
//! notifiers and audit sink — named actions only, never a wildcard action; resources are
//! the configured instances, topics and log group.

use std::collections::BTreeMap;

use vigil_config::{ActionKind, Config, NotifierConfig};

/// The policy document, and notes on what could not be pinned down exactly.
pub fn policy(config: &Config) -> (serde_json::Value, Vec<String>) {
    let mut statements: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut notes = Vec::new();
    for action in config.actions.values() {
        if let ActionKind::Ec2Reboot { region, instances, account_id, .. } = &action.kind {
            let account = account_id.clone().unwrap_or_else(|| "*".to_owned());
            for instance in instances {
                let resource = if instance.contains("{{") {
                    notes.push(format!(
                        "action `{}` takes its instance from the alert ({instance}), so any instance in {region} is allowed; add a Condition on tags to narrow it",
                        action.name
                    ));
                    format!("arn:aws:ec2:{region}:{account}:instance/*")
                } else {
                    format!("arn:aws:ec2:{region}:{account}:instance/{instance}")
                };
                statements.entry("ec2:RebootInstances").or_default().push(resource);
            }
            if account_id.is_none() {
                notes.push(format!("action `{}` has no `account-id`, so its instance ARNs match any account", action.name));
            }
        }
    }
    for notifier in config.notifiers.values() {
        if let NotifierConfig::Sns(sns) = notifier {
            statements.entry("sns:Publish").or_default().push(sns.topic_arn.clone());
        }
    }
    if let Some(logs) = &config.audit.cloudwatch_logs {
        let stream = format!("arn:aws:logs:{}:*:log-group:{}:log-stream:{}", logs.region, logs.log_group, logs.log_stream);
        statements.entry("logs:PutLogEvents").or_default().push(stream);
        let group = format!("arn:aws:logs:{}:*:log-group:{}:*", logs.region, logs.log_group);
        statements.entry("logs:CreateLogStream").or_default().push(group);
    }
    let statements: Vec<serde_json::Value> = statements
        .into_iter()
        .map(|(action, mut resources)| {
            resources.sort();
            resources.dedup();
            let sid: String = action.split(':').flat_map(|part| part.chars()).filter(char::is_ascii_alphanumeric).collect();
            serde_json::json!({"Sid": format!("Vigil{sid}"), "Effect": "Allow", "Action": [action], "Resource": resources})
        })
        .collect();
    notes.dedup();
    (serde_json::json!({"Version": "2012-10-17", "Statement": statements}), notes)
}
