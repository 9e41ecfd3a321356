//! Notifiers: where a transition's message leaves Vigil. Every notification is queued in
//! the store's outbox with the transition that caused it and delivered by
//! [`outbox::Dispatcher`], which retries with backoff.

mod email;
pub mod message;
pub mod outbox;
mod webhook;

use std::collections::BTreeMap;
use std::sync::Arc;

use vigil_config::NotifierConfig;

use crate::probes::HttpClient;
pub use message::{AlertMessage, Message, TransitionMessage};

/// Why a delivery failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Worth retrying: the server is down, busy or timed out.
    #[error("{0}")]
    Transient(String),
    /// Retrying cannot help: the message or the address was rejected.
    #[error("{0}")]
    Permanent(String),
}

/// A configured notifier.
pub enum Notifier {
    Email(email::EmailNotifier),
    Webhook(webhook::WebhookNotifier),
}

impl Notifier {
    pub fn build(config: &NotifierConfig, client: &HttpClient) -> Notifier {
        match config {
            NotifierConfig::Email(config) => Notifier::Email(email::EmailNotifier::new(config.clone())),
            NotifierConfig::Webhook(config) => Notifier::Webhook(webhook::WebhookNotifier::new(config.clone(), client.clone())),
        }
    }

    /// Delivers `message`; `key` identifies the episode so receivers can drop duplicates.
    pub async fn send(&self, key: &str, message: &Message) -> Result<(), DeliveryError> {
        match self {
            Notifier::Email(email) => email.send(key, message).await,
            Notifier::Webhook(webhook) => webhook.send(key, message).await,
        }
    }
}

/// All notifiers by name.
pub type Notifiers = Arc<BTreeMap<String, Notifier>>;

pub fn build_all(configs: &BTreeMap<String, NotifierConfig>, client: &HttpClient) -> Notifiers {
    Arc::new(configs.iter().map(|(name, config)| (name.clone(), Notifier::build(config, client))).collect())
}
