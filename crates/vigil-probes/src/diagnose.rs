//! `vigil diagnose URL`: the connection walked layer by layer (DNS, TCP, TLS, HTTP, the
//! health route), stopping at the first that breaks, each layer with its status, code,
//! evidence, likely cause and one fix. The classifier is the probes' own
//! ([`crate::failure`]), so a monitor's outage mail and a diagnosis say the same.

use std::time::Duration;

use http::Uri;

use crate::failure::FailureCode;
use crate::{HttpClient, HttpRequest, ProbeResult};

/// What to diagnose.
#[derive(Debug, Clone)]
pub struct Options {
    pub url: Uri,
    /// Bound on each request.
    pub timeout: Duration,
    /// The health route tried beside the URL (`/health`); `None` skips the layer.
    pub health: Option<String>,
}

/// One layer's verdict.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Fail,
    Skipped,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Layer {
    pub layer: &'static str,
    pub status: Status,
    /// A stable code when the layer failed (`tcp.refused`).
    pub code: Option<String>,
    /// What was seen: addresses, durations, status.
    pub evidence: serde_json::Value,
    /// What happened, in this case's terms.
    pub cause: Option<String>,
    /// What usually makes it happen (for codes of the probes' classifier).
    pub likely_cause: Option<String>,
    pub fix: Option<String>,
}

impl Layer {
    fn ok(layer: &'static str, evidence: serde_json::Value) -> Layer {
        Layer { layer, status: Status::Ok, code: None, evidence, cause: None, likely_cause: None, fix: None }
    }

    fn skipped(layer: &'static str) -> Layer {
        Layer { layer, status: Status::Skipped, code: None, evidence: serde_json::Value::Null, cause: None, likely_cause: None, fix: None }
    }

    fn fail(layer: &'static str, code: &str, evidence: serde_json::Value, cause: String, fix: &str) -> Layer {
        Layer {
            layer,
            status: Status::Fail,
            code: Some(code.to_owned()),
            evidence,
            cause: Some(cause),
            likely_cause: None,
            fix: Some(fix.to_owned()),
        }
    }
}

/// The layers of a connection, in order; a failure code's prefix says which it is.
const LAYERS: [&str; 5] = ["dns", "tcp", "tls", "http", "health"];

/// Walks `options.url`; the result has one entry per layer.
pub async fn diagnose(client: &HttpClient, options: &Options) -> Vec<Layer> {
    let https = options.url.scheme_str() == Some("https");
    let result = client.send(&request(&options.url, options.timeout)).await;
    let mut layers: Vec<Layer> = Vec::new();
    let failed_layer = result.failure.as_ref().map(|failure| layer_of(failure.code));
    for layer in LAYERS {
        if layer == "health" {
            break;
        }
        if layer == "tls" && !https {
            layers.push(Layer::skipped("tls"));
            continue;
        }
        match (&result.failure, failed_layer) {
            (Some(failure), Some(failed)) if failed == layer => {
                let (likely, fix) = failure.code.explanation();
                let mut failed = Layer::fail(layer, failure.code.as_str(), evidence(layer, &result), failure.cause.clone(), fix);
                failed.likely_cause = Some(likely.to_owned());
                layers.push(failed);
            }
            (Some(_), Some(failed)) if position(layer) > position(failed) => layers.push(Layer::skipped(layer)),
            _ => layers.push(Layer::ok(layer, evidence(layer, &result))),
        }
    }
    if let (Some(failure), Some(address)) = (&result.failure, result.address) {
        if failure.code == FailureCode::TcpRefused && listens_on_loopback_only(address, options.timeout).await {
            if let Some(tcp) = layers.iter_mut().find(|layer| layer.layer == "tcp") {
                let port = address.port();
                tcp.cause =
                    Some(format!("{}; something listens on 127.0.0.1:{port} only (the default of Flask's app.run())", failure.cause));
                tcp.fix = Some(format!("make the app listen on 0.0.0.0:{port} (Flask: app.run(host=\"0.0.0.0\", port={port}))"));
                tcp.evidence["loopback_only"] = serde_json::Value::Bool(true);
            }
        }
    }
    if result.failure.is_some() {
        layers.push(Layer::skipped("health"));
        return layers;
    }
    if let Some(Layer { status, code, cause, fix, .. }) = layers.iter_mut().find(|layer| layer.layer == "http") {
        if let Some(status_code) = result.status.filter(|status| *status >= 500) {
            *status = Status::Fail;
            let (found, remedy) = server_error(status_code);
            *code = Some(found.to_owned());
            let header = |name: &str| result.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
            let who = match (header("server"), header("via")) {
                (Some(server), Some(via)) => format!(" from {server} (via {via})"),
                (Some(server), None) => format!(" from {server}"),
                (None, Some(via)) => format!(" via {via}"),
                (None, None) => String::new(),
            };
            let retry = header("retry-after").map(|after| format!("; Retry-After: {after}")).unwrap_or_default();
            *cause = Some(format!("the server answered {status_code}{who}{retry}"));
            *fix = Some(remedy.to_owned());
        }
    }
    // The walk stops at the first layer that breaks.
    let http_failed = layers.iter().any(|layer| layer.status == Status::Fail);
    layers.push(match &options.health {
        Some(path) if !http_failed => health(client, options, &result, path).await,
        _ => Layer::skipped("health"),
    });
    layers
}

/// Whether `address` is one of this machine's own (not loopback) and its port answers
/// on 127.0.0.1: an app bound to loopback only.
async fn listens_on_loopback_only(address: std::net::SocketAddr, timeout: Duration) -> bool {
    let local = !address.ip().is_loopback() && std::net::UdpSocket::bind((address.ip(), 0)).is_ok();
    if !local {
        return false;
    }
    let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], address.port()));
    matches!(tokio::time::timeout(timeout.min(Duration::from_secs(1)), tokio::net::TcpStream::connect(loopback)).await, Ok(Ok(_)))
}

fn request(url: &Uri, timeout: Duration) -> HttpRequest {
    HttpRequest {
        method: http::Method::GET,
        url: url.clone(),
        headers: Default::default(),
        body: None,
        timeout,
        follow_redirects: true,
        verify_tls: true,
    }
}

fn position(layer: &str) -> usize {
    LAYERS.iter().position(|candidate| *candidate == layer).unwrap_or(LAYERS.len())
}

fn layer_of(code: FailureCode) -> &'static str {
    match code.as_str().split('.').next() {
        Some("dns") => "dns",
        Some("tcp") => "tcp",
        Some("tls") => "tls",
        _ => "http",
    }
}

fn millis(duration: Option<Duration>) -> serde_json::Value {
    duration.map_or(serde_json::Value::Null, |duration| serde_json::json!((duration.as_secs_f64() * 10_000.0).round() / 10.0))
}

fn evidence(layer: &str, result: &ProbeResult) -> serde_json::Value {
    match layer {
        "dns" => serde_json::json!({ "address": result.address.map(|a| a.ip().to_string()), "ms": millis(result.timings.dns) }),
        "tcp" => serde_json::json!({ "address": result.address.map(|a| a.to_string()), "ms": millis(result.timings.connect) }),
        "tls" => serde_json::json!({
            "ms": millis(result.timings.tls),
            "certificate_expires_at": result.certificate_expires_at.map(|at| at.to_rfc3339()),
        }),
        _ => serde_json::json!({
            "status": result.status,
            "headers": result.headers.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
            "first_byte_ms": millis(result.timings.first_byte),
            "total_ms": millis(Some(result.response_time)),
        }),
    }
}

/// A 5xx, read as a proxy in front would mean it.
fn server_error(status: u16) -> (&'static str, &'static str) {
    match status {
        502 => ("lb.bad_gateway", "the proxy or load balancer got no valid answer from the app (crashed, wrong port, or closed): check the app and the target port"),
        503 => ("lb.unavailable", "no healthy target behind the proxy, or the app is overloaded: check the targets' health checks"),
        504 => ("lb.gateway_timeout", "the app behind the proxy answered too slowly: check the app's latency and the proxy's timeout"),
        _ => ("http.server_error", "the app failed on the request: check its logs"),
    }
}

/// The health route beside the URL: missing (404 while the URL answers), or answering
/// that it is down.
async fn health(client: &HttpClient, options: &Options, base: &ProbeResult, path: &str) -> Layer {
    let Some(authority) = options.url.authority() else { return Layer::skipped("health") };
    let scheme = options.url.scheme_str().unwrap_or("http");
    let Ok(url) = format!("{scheme}://{authority}{path}").parse::<Uri>() else { return Layer::skipped("health") };
    let result = client.send(&request(&url, options.timeout)).await;
    let evidence = serde_json::json!({ "url": url.to_string(), "status": result.status });
    let base_answers = base.status.is_some_and(|status| status < 400);
    match result.status {
        Some(404) if base_answers => Layer::fail(
            "health",
            "health.route_missing",
            evidence,
            format!("{path} answers 404 while {} answers {}", options.url.path(), base.status.unwrap_or_default()),
            "add the health route to the app, or point the health check at a path that exists",
        ),
        Some(200) => match down_in_body(&result.body) {
            Some(reason) => Layer::fail("health", "health.reports_down", evidence, reason, "look at the failing dependency the body names"),
            None => Layer::ok("health", evidence),
        },
        Some(status) if status >= 400 => Layer::fail(
            "health",
            "health.status",
            evidence,
            format!("{path} answers {status}"),
            "a load balancer marks the target unhealthy: fix what the health route reports",
        ),
        Some(_) => Layer::ok("health", evidence),
        None => Layer::fail(
            "health",
            result.failure.as_ref().map_or("health.no_answer", |failure| failure.code.as_str()),
            evidence,
            result.failure.map(|failure| failure.cause).unwrap_or_default(),
            "see the code's fix in the README",
        ),
    }
}

/// A JSON body that says it is down: `status` other than OK/UP/pass, or a `checks`
/// entry that is.
fn down_in_body(body: &[u8]) -> Option<String> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    let healthy = |value: &serde_json::Value| {
        value.as_str().is_some_and(|text| matches!(text.to_ascii_lowercase().as_str(), "ok" | "up" | "pass" | "healthy"))
    };
    if let Some(status) = json.get("status").filter(|status| !healthy(status)) {
        return Some(format!("the body says status {status}"));
    }
    let checks = json.get("checks")?.as_object()?;
    checks.iter().find_map(|(name, check)| {
        let status = check.get("status").unwrap_or(check);
        (!healthy(status)).then(|| format!("the check `{name}` says {status}"))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn bodies_that_say_down_name_why() {
        assert_eq!(super::down_in_body(br#"{"status":"OK"}"#), None);
        assert_eq!(super::down_in_body(br#"{"status":"DOWN"}"#).as_deref(), Some(r#"the body says status "DOWN""#));
        assert_eq!(
            super::down_in_body(br#"{"status":"UP","checks":{"db":{"status":"UP"},"cache":{"status":"DOWN"}}}"#).as_deref(),
            Some(r#"the check `cache` says "DOWN""#)
        );
        assert_eq!(super::down_in_body(b"not json"), None);
    }
}
