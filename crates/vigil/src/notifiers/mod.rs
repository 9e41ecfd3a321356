//! Notifiers: where a message leaves Vigil (e-mail, webhook, Slack, PagerDuty, SNS, and
//! the CloudWatch Logs audit sink). Every notification is queued in the store's outbox
//! with the decision that caused it and delivered by [`outbox::Dispatcher`], which
//! retries with backoff.

mod aws;
mod email;
pub mod group;
pub mod incident;
pub mod message;
pub mod outbox;
pub mod pagerduty;
mod slack;
pub mod subscriber;
mod webhook;

use std::collections::BTreeMap;
use std::sync::Arc;

use vigil_config::NotifierConfig;

use crate::aws::AwsClient;
use crate::probes::HttpClient;
pub use group::{GroupAlert, GroupMessage};
pub use incident::IncidentMessage;
pub use message::{AlertMessage, Message, TransitionMessage};

/// Why a delivery failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Worth retrying: the server is down, busy or timed out.
    #[error("{0}")]
    Transient(String),
    /// The receiver refuses Vigil's credentials (SMTP 535, HTTP 401/403). Retried with
    /// backoff, since someone may fix them, and reported loudly meanwhile.
    #[error("{0}")]
    Refused(String),
    /// Retrying cannot help: the message or the address was rejected.
    #[error("{0}")]
    Permanent(String),
}

/// A configured notifier.
pub enum Notifier {
    Email(email::EmailNotifier),
    Webhook(webhook::WebhookNotifier),
    Sns(aws::SnsNotifier),
    Slack(slack::SlackNotifier),
    PagerDuty(pagerduty::PagerDutyNotifier),
    /// The CloudWatch Logs audit sink (`audit:` in the config).
    CloudWatchLogs(aws::CloudWatchLogsSink),
}

impl Notifier {
    pub fn build(config: &NotifierConfig, client: &HttpClient, aws_client: &AwsClient) -> Notifier {
        match config {
            NotifierConfig::Email(config) => Notifier::Email(email::EmailNotifier::new(config.clone())),
            NotifierConfig::Webhook(config) => Notifier::Webhook(webhook::WebhookNotifier::new(config.clone(), client.clone())),
            NotifierConfig::Sns(config) => Notifier::Sns(aws::SnsNotifier::new(config.clone(), aws_client.clone())),
            NotifierConfig::Slack(config) => Notifier::Slack(slack::SlackNotifier::new(config.clone(), client.clone())),
            NotifierConfig::PagerDuty(config) => Notifier::PagerDuty(pagerduty::PagerDutyNotifier::new(config.clone(), client.clone())),
        }
    }

    /// How long one delivery attempt may take as a whole (connect, TLS, authentication,
    /// sending): the notifier's `timeout`.
    pub fn timeout(&self) -> std::time::Duration {
        match self {
            Notifier::Email(email) => email.timeout(),
            Notifier::Webhook(webhook) => webhook.timeout(),
            Notifier::Slack(slack) => slack.timeout(),
            Notifier::PagerDuty(pagerduty) => pagerduty.timeout(),
            Notifier::Sns(_) | Notifier::CloudWatchLogs(_) => crate::aws::TIMEOUT,
        }
    }

    /// Delivers `message` within [`Notifier::timeout`]; `key` identifies the episode so
    /// receivers can drop duplicates.
    pub async fn send(&self, key: &str, message: &Message) -> Result<(), DeliveryError> {
        let timeout = self.timeout();
        match tokio::time::timeout(timeout, self.send_unbounded(key, message)).await {
            Ok(result) => result,
            Err(_) => {
                Err(DeliveryError::Transient(format!("no answer within the notifier's timeout of {}", humantime::format_duration(timeout))))
            }
        }
    }

    async fn send_unbounded(&self, key: &str, message: &Message) -> Result<(), DeliveryError> {
        match self {
            Notifier::Email(email) => email.send(key, message).await,
            Notifier::Webhook(webhook) => webhook.send(key, message).await,
            Notifier::Sns(sns) => sns.send(message).await,
            Notifier::Slack(slack) => slack.send(message).await,
            Notifier::PagerDuty(pagerduty) => pagerduty.send(key, message).await,
            Notifier::CloudWatchLogs(sink) => sink.send(key, message).await,
        }
    }
}

/// All notifiers by name.
pub type Notifiers = Arc<BTreeMap<String, Notifier>>;

/// Builds the configured notifiers, and the audit sink under
/// [`crate::actions::worker::AUDIT_SINK`] when one is configured.
pub fn build_all(config: &vigil_config::Config, client: &HttpClient, aws_client: &AwsClient) -> Notifiers {
    let mut notifiers: BTreeMap<String, Notifier> =
        config.notifiers.iter().map(|(name, notifier)| (name.clone(), Notifier::build(notifier, client, aws_client))).collect();
    // People paged by webhook: a notifier each, `person:NAME`.
    for person in config.on_call.people.values() {
        let Some(url) = person.webhook.as_deref().and_then(vigil_config::parse_http_url) else { continue };
        let webhook =
            vigil_config::WebhookConfig { url, headers: BTreeMap::new(), secret: None, timeout: std::time::Duration::from_secs(10) };
        notifiers.insert(person_notifier(&person.name), Notifier::Webhook(webhook::WebhookNotifier::new(webhook, client.clone())));
    }
    if let Some(cloudwatch) = &config.audit.cloudwatch_logs {
        let sink = aws::CloudWatchLogsSink::new(cloudwatch.clone(), aws_client.clone());
        notifiers.insert(crate::actions::worker::AUDIT_SINK.to_owned(), Notifier::CloudWatchLogs(sink));
    }
    Arc::new(notifiers)
}

/// The notifier that pages a person by their own webhook.
pub fn person_notifier(person: &str) -> String {
    format!("person:{person}")
}
