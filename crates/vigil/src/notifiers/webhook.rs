//! `type: webhook`: the message as JSON in a POST, optionally signed with HMAC-SHA256.

use std::collections::BTreeMap;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use vigil_config::WebhookConfig;

use super::{DeliveryError, Message};
use crate::probes::{HttpClient, HttpRequest};

pub struct WebhookNotifier {
    config: WebhookConfig,
    client: HttpClient,
}

/// The signature header: `sha256=` and the hex HMAC-SHA256 of the raw body.
pub const SIGNATURE_HEADER: &str = "x-vigil-signature";

pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl WebhookNotifier {
    pub fn new(config: WebhookConfig, client: HttpClient) -> WebhookNotifier {
        WebhookNotifier { config, client }
    }

    pub fn timeout(&self) -> std::time::Duration {
        self.config.timeout
    }

    pub async fn send(&self, key: &str, message: &Message) -> Result<(), DeliveryError> {
        let body = message.json(key);
        let body = Bytes::from(body.to_string());
        let mut headers: BTreeMap<String, String> = self.config.headers.clone();
        headers.insert("content-type".to_owned(), "application/json".to_owned());
        headers.insert("x-vigil-idempotency-key".to_owned(), key.to_owned());
        crate::telemetry::inject(&mut headers);
        if let Some(secret) = &self.config.secret {
            headers.insert(SIGNATURE_HEADER.to_owned(), sign(secret.expose().as_bytes(), &body));
        }
        post(&self.client, &self.config.url, headers, body, self.config.timeout, "webhook").await
    }
}

/// POSTs `body` and sorts the answer: 2xx delivered; 408, 429, 5xx and no answer worth a
/// retry; other 4xx permanent. `what` names the receiver in errors.
pub(super) async fn post(
    client: &HttpClient,
    url: &http::Uri,
    headers: BTreeMap<String, String>,
    body: Bytes,
    timeout: std::time::Duration,
    what: &str,
) -> Result<(), DeliveryError> {
    let request = HttpRequest {
        method: http::Method::POST,
        url: url.clone(),
        headers,
        body: Some(body),
        timeout,
        follow_redirects: false,
        verify_tls: true,
        host_from_address: false,
    };
    let response = client.send(&request).await;
    match (response.status, response.failure) {
        (_, Some(failure)) => Err(DeliveryError::Transient(format!("{what} failed: {failure}"))),
        (Some(status), None) if (200..300).contains(&status) => Ok(()),
        (Some(status @ (408 | 429)), None) => Err(DeliveryError::Transient(format!("{what} answered {status}"))),
        (Some(status @ (401 | 403)), None) => Err(DeliveryError::Refused(format!("{what} answered {status}: the credentials are refused"))),
        (Some(status @ 400..=499), None) => {
            let text: String = String::from_utf8_lossy(&response.body).chars().take(200).collect();
            Err(DeliveryError::Permanent(format!("{what} answered {status}: {text}")))
        }
        (status, None) => Err(DeliveryError::Transient(format!("{what} answered {}", status.unwrap_or(0)))),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signatures_are_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            super::sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
