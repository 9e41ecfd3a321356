//! A mail to a subscriber of the public status page: the confirmation of a new
//! subscription, or a public incident update with its one-click unsubscribe link.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriberMessage {
    /// The subscriber's address (the notifier's own `to` is not used).
    pub to: String,
    pub subject: String,
    pub text: String,
    /// The unsubscribe link, sent as `List-Unsubscribe` with one-click POST (RFC 8058).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsubscribe: Option<String>,
}

impl SubscriberMessage {
    pub fn json(&self, key: &str) -> serde_json::Value {
        serde_json::json!({"idempotency_key": key, "kind": "subscriber", "subject": self.subject, "text": self.text})
    }
}
