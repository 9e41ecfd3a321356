//! `type: slack`: the message's subject and text through an incoming webhook.

use std::collections::BTreeMap;

use vigil_config::SlackConfig;

use super::{DeliveryError, Message};
use crate::probes::HttpClient;

pub struct SlackNotifier {
    config: SlackConfig,
    client: HttpClient,
}

impl SlackNotifier {
    pub fn new(config: SlackConfig, client: HttpClient) -> SlackNotifier {
        SlackNotifier { config, client }
    }

    pub fn timeout(&self) -> std::time::Duration {
        self.config.timeout
    }

    pub async fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        let url: http::Uri =
            self.config.webhook_url.expose().parse().map_err(|_| DeliveryError::Permanent("invalid slack webhook URL".to_owned()))?;
        let body = serde_json::json!({"text": format!("*{}*\n{}", message.subject(), message.text())});
        let headers = BTreeMap::from([("content-type".to_owned(), "application/json".to_owned())]);
        super::webhook::post(&self.client, &url, headers, body.to_string().into(), self.config.timeout, "slack").await
    }
}
