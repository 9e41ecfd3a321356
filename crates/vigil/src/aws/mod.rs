//! The few AWS calls Vigil makes, as SigV4-signed HTTP requests (`aws-sigv4`; no SDK):
//! EC2 `RebootInstances`, SNS `Publish`, CloudWatch Logs `PutLogEvents` and
//! `CreateLogStream`. Endpoints: the configured `endpoint`, else `AWS_ENDPOINT_URL_<SERVICE>`
//! or `AWS_ENDPOINT_URL`, else the service's regional endpoint; so an AWS-compatible
//! server (moto, LocalStack) works unchanged.

pub mod credentials;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use bytes::Bytes;

use self::credentials::CredentialChain;
use crate::probes::{HttpClient, HttpRequest};

/// How long one AWS call may take.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// Why an AWS call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    /// No credentials could be found; permanent until the set-up changes.
    #[error("{0}")]
    Credentials(String),
    /// The service could not be reached, timed out, throttled or failed (5xx): try again.
    #[error("{0}")]
    Transient(String),
    /// The service refused the request (4xx): trying again will not help.
    #[error("{service} refused: {code}: {message}")]
    Refused { service: String, code: String, message: String },
}

impl AwsError {
    pub fn is_transient(&self) -> bool {
        matches!(self, AwsError::Transient(_))
    }
}

/// Which service, where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEndpoint {
    /// The signing name: `ec2`, `sns`, `logs`.
    pub service: &'static str,
    pub region: String,
    pub url: http::Uri,
}

impl ServiceEndpoint {
    /// `configured` if given, else the environment's override, else the regional endpoint.
    pub fn resolve(service: &'static str, region: &str, configured: Option<&str>) -> Result<ServiceEndpoint, String> {
        let env = |name: String| std::env::var(name).ok().filter(|value| !value.is_empty());
        let url = configured
            .map(str::to_owned)
            .or_else(|| env(format!("AWS_ENDPOINT_URL_{}", service.to_ascii_uppercase())))
            .or_else(|| env("AWS_ENDPOINT_URL".to_owned()))
            .unwrap_or_else(|| format!("https://{service}.{region}.amazonaws.com"));
        let uri: http::Uri = url.parse().map_err(|_| format!("invalid {service} endpoint `{url}`"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(format!("invalid {service} endpoint `{url}`, expected http(s)://HOST[:PORT]"));
        }
        Ok(ServiceEndpoint { service, region: region.to_owned(), url: uri })
    }
}

/// The region: `configured`, else `AWS_REGION`, else `AWS_DEFAULT_REGION`.
pub fn region(configured: Option<&str>) -> Option<String> {
    configured
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .filter(|region| !region.is_empty())
}

/// Signs and sends AWS requests. Cheap to clone.
#[derive(Clone)]
pub struct AwsClient {
    http: HttpClient,
    credentials: Arc<CredentialChain>,
}

impl AwsClient {
    pub fn new(http: HttpClient) -> AwsClient {
        AwsClient::with_credentials(http, CredentialChain::default())
    }

    pub fn with_credentials(http: HttpClient, credentials: CredentialChain) -> AwsClient {
        AwsClient { http, credentials: Arc::new(credentials) }
    }

    /// A Query-protocol call (EC2, SNS): form parameters in, XML out.
    pub async fn query(&self, endpoint: &ServiceEndpoint, params: &[(&str, &str)]) -> Result<String, AwsError> {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
        let headers = [("content-type", "application/x-www-form-urlencoded; charset=utf-8")];
        let (status, text) = self.send(endpoint, &headers, Bytes::from(body)).await?;
        if (200..300).contains(&status) {
            return Ok(text);
        }
        let code = xml_text(&text, "Code").unwrap_or_else(|| format!("HTTP {status}"));
        let message = xml_text(&text, "Message").unwrap_or_default();
        Err(classify(endpoint.service, status, code, message))
    }

    /// A JSON-protocol call (CloudWatch Logs): `X-Amz-Target` names the operation.
    pub async fn json(&self, endpoint: &ServiceEndpoint, target: &str, body: &serde_json::Value) -> Result<serde_json::Value, AwsError> {
        let headers = [("content-type", "application/x-amz-json-1.1"), ("x-amz-target", target)];
        let (status, text) = self.send(endpoint, &headers, Bytes::from(body.to_string())).await?;
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        if (200..300).contains(&status) {
            return Ok(value);
        }
        let code =
            value["__type"].as_str().map_or_else(|| format!("HTTP {status}"), |kind| kind.rsplit('#').next().unwrap_or(kind).to_owned());
        let message = value["message"].as_str().or(value["Message"].as_str()).unwrap_or_default().to_owned();
        Err(classify(endpoint.service, status, code, message))
    }

    async fn send(&self, endpoint: &ServiceEndpoint, headers: &[(&str, &str)], body: Bytes) -> Result<(u16, String), AwsError> {
        let credentials = self.credentials.get(&self.http).await.map_err(AwsError::Credentials)?;
        let url = endpoint.url.to_string();
        let host = crate::probes::http::host_header(&endpoint.url);
        let mut signed_headers: Vec<(&str, &str)> = vec![("host", host.as_str())];
        signed_headers.extend_from_slice(headers);
        let identity = aws_credential_types::Credentials::new(
            credentials.access_key_id.clone(),
            credentials.secret_access_key.expose().to_owned(),
            credentials.session_token.as_ref().map(|token| token.expose().to_owned()),
            None,
            "vigil",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&endpoint.region)
            .name(endpoint.service)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|error| AwsError::Credentials(format!("cannot sign: {error}")))?
            .into();
        let signable = SignableRequest::new("POST", &url, signed_headers.iter().copied(), SignableBody::Bytes(&body))
            .map_err(|error| AwsError::Credentials(format!("cannot sign: {error}")))?;
        let (instructions, _) =
            sign(signable, &params).map_err(|error| AwsError::Credentials(format!("cannot sign: {error}")))?.into_parts();
        let mut request_headers: std::collections::BTreeMap<String, String> =
            headers.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
        for (name, value) in instructions.headers() {
            request_headers.insert(name.to_owned(), value.to_owned());
        }
        let request = HttpRequest {
            method: http::Method::POST,
            url: endpoint.url.clone(),
            headers: request_headers,
            body: Some(body),
            timeout: TIMEOUT,
            follow_redirects: false,
            verify_tls: true,
            host_from_address: false,
        };
        let result = self.http.send(&request).await;
        match result.status {
            Some(status) => Ok((status, String::from_utf8_lossy(&result.body).into_owned())),
            None => Err(AwsError::Transient(format!(
                "{} unreachable at {}: {}",
                endpoint.service,
                endpoint.url,
                result.failure.map(|failure| failure.to_string()).unwrap_or_default()
            ))),
        }
    }
}

fn classify(service: &str, status: u16, code: String, message: String) -> AwsError {
    let throttled = matches!(code.as_str(), "Throttling" | "ThrottlingException" | "RequestLimitExceeded" | "TooManyRequestsException");
    if status >= 500 || status == 429 || throttled {
        AwsError::Transient(format!("{service} failed: {code}: {message} (HTTP {status})"))
    } else {
        AwsError::Refused { service: service.to_owned(), code, message }
    }
}

/// The text of the first `<tag>` in an XML answer, entities decoded. AWS's Query answers
/// and errors are flat enough that this is all Vigil needs of XML.
pub fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    Some(
        xml[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&")
            .trim()
            .to_owned(),
    )
}

/// EC2 `RebootInstances`. AWS answers once the reboot is queued.
pub async fn reboot_instances(client: &AwsClient, endpoint: &ServiceEndpoint, instances: &[String]) -> Result<(), AwsError> {
    let keys: Vec<String> = (1..=instances.len()).map(|index| format!("InstanceId.{index}")).collect();
    let mut params = vec![("Action", "RebootInstances"), ("Version", "2016-11-15")];
    params.extend(keys.iter().map(String::as_str).zip(instances.iter().map(String::as_str)));
    client.query(endpoint, &params).await.map(|_| ())
}

/// SNS `Publish`; returns the message id.
pub async fn publish(
    client: &AwsClient,
    endpoint: &ServiceEndpoint,
    topic_arn: &str,
    subject: &str,
    message: &str,
) -> Result<String, AwsError> {
    // SNS subjects: at most 100 printable ASCII characters, no line breaks.
    let subject: String = subject.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' }).take(100).collect();
    let xml = client
        .query(
            endpoint,
            &[("Action", "Publish"), ("Version", "2010-03-31"), ("TopicArn", topic_arn), ("Subject", &subject), ("Message", message)],
        )
        .await?;
    Ok(xml_text(&xml, "MessageId").unwrap_or_default())
}

/// CloudWatch Logs `PutLogEvents`, creating the stream when it does not exist yet (the
/// group must exist: creating groups is not Vigil's to do).
pub async fn put_log_events(
    client: &AwsClient,
    endpoint: &ServiceEndpoint,
    group: &str,
    stream: &str,
    events: &[(i64, String)],
) -> Result<(), AwsError> {
    let body = serde_json::json!({
        "logGroupName": group,
        "logStreamName": stream,
        "logEvents": events.iter().map(|(at, message)| serde_json::json!({"timestamp": at, "message": message})).collect::<Vec<_>>(),
    });
    match client.json(endpoint, "Logs_20140328.PutLogEvents", &body).await {
        Err(AwsError::Refused { code, .. }) if code == "ResourceNotFoundException" => {
            let create = serde_json::json!({"logGroupName": group, "logStreamName": stream});
            match client.json(endpoint, "Logs_20140328.CreateLogStream", &create).await {
                Ok(_) => {}
                Err(AwsError::Refused { code, .. }) if code == "ResourceAlreadyExistsException" => {}
                Err(error) => return Err(error),
            }
            client.json(endpoint, "Logs_20140328.PutLogEvents", &body).await.map(|_| ())
        }
        other => other.map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_answers_are_read() {
        let error = "<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID &apos;i-1&apos; does not exist</Message></Error></Errors></Response>";
        assert_eq!(xml_text(error, "Code").as_deref(), Some("InvalidInstanceID.NotFound"));
        assert_eq!(xml_text(error, "Message").as_deref(), Some("The instance ID 'i-1' does not exist"));
        assert_eq!(xml_text(error, "MessageId"), None);
    }

    #[test]
    fn refusals_and_transient_failures_are_told_apart() {
        assert!(classify("ec2", 503, "Unavailable".into(), String::new()).is_transient());
        assert!(classify("ec2", 400, "RequestLimitExceeded".into(), String::new()).is_transient());
        assert!(!classify("ec2", 403, "UnauthorizedOperation".into(), String::new()).is_transient());
    }

    #[test]
    fn endpoints_resolve_from_config_or_region() {
        let configured = ServiceEndpoint::resolve("ec2", "eu-west-1", Some("http://127.0.0.1:5000")).expect("configured");
        assert_eq!(configured.url.to_string(), "http://127.0.0.1:5000/");
        assert!(ServiceEndpoint::resolve("ec2", "eu-west-1", Some("ftp://x")).is_err());
    }
}
