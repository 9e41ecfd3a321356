//! Notifiers on AWS: `type: sns` publishes the subject and text to a topic; the audit
//! sink writes audit entries (or a message as one JSON line) to CloudWatch Logs.

use vigil_config::{CloudWatchLogsConfig, SnsConfig};

use super::message::AuditLine;
use super::{DeliveryError, Message};
use crate::aws::{self, AwsClient, AwsError, ServiceEndpoint};

fn delivery_error(error: AwsError) -> DeliveryError {
    if error.is_transient() {
        DeliveryError::Transient(error.to_string())
    } else {
        DeliveryError::Permanent(error.to_string())
    }
}

pub struct SnsNotifier {
    config: SnsConfig,
    aws: AwsClient,
}

impl SnsNotifier {
    pub fn new(config: SnsConfig, aws: AwsClient) -> SnsNotifier {
        SnsNotifier { config, aws }
    }

    pub async fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        let endpoint =
            ServiceEndpoint::resolve("sns", &self.config.region, self.config.endpoint.as_deref()).map_err(DeliveryError::Permanent)?;
        aws::publish(&self.aws, &endpoint, &self.config.topic_arn, &message.subject(), &message.text())
            .await
            .map(|_| ())
            .map_err(delivery_error)
    }
}

pub struct CloudWatchLogsSink {
    config: CloudWatchLogsConfig,
    aws: AwsClient,
}

impl CloudWatchLogsSink {
    pub fn new(config: CloudWatchLogsConfig, aws: AwsClient) -> CloudWatchLogsSink {
        CloudWatchLogsSink { config, aws }
    }

    pub async fn send(&self, key: &str, message: &Message) -> Result<(), DeliveryError> {
        let events: Vec<(i64, String)> = match message {
            Message::Audit(audit) => audit.entries.iter().map(|entry| (entry.at.0, entry.line())).collect(),
            other => vec![(vigil_core::Clock::now(&vigil_core::SystemClock).0, other.json(key).to_string())],
        };
        let endpoint =
            ServiceEndpoint::resolve("logs", &self.config.region, self.config.endpoint.as_deref()).map_err(DeliveryError::Permanent)?;
        aws::put_log_events(&self.aws, &endpoint, &self.config.log_group, &self.config.log_stream, &events).await.map_err(delivery_error)
    }
}
