//! The HTTP and health layers: the URL's redirects walked hop by hop (a loop named as
//! one), its status read as the proxy in front would mean it, the first byte timed
//! against the budget; then the health route, as a load balancer's checker would ask.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ::http::{Method, Uri};
use vigil_core::healthcheck::{Checker, StatusMatcher};

use super::{millis, remaining, Layer, Options};
use crate::failure::{FailureCode, ProbeFailure};
use crate::{HttpClient, HttpRequest, ProbeResult};

const MAX_HOPS: usize = 10;

fn request(url: Uri, timeout: Duration, headers: BTreeMap<String, String>, follow_redirects: bool) -> HttpRequest {
    HttpRequest { method: Method::GET, url, headers, body: None, timeout, follow_redirects, verify_tls: false, host_from_address: false }
}

fn header<'a>(result: &'a ProbeResult, name: &str) -> Option<&'a str> {
    result.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

fn headers_evidence(result: &ProbeResult) -> serde_json::Value {
    serde_json::json!(result.headers.iter().cloned().collect::<BTreeMap<_, _>>())
}

/// `path` on the URL's scheme and authority.
fn beside(url: &Uri, path: &str) -> Option<Uri> {
    format!("{}://{}{path}", url.scheme_str().unwrap_or("http"), url.authority()?).parse().ok()
}

/// Sends `request` to `address` when it is for the URL's own authority.
async fn send(client: &HttpClient, options: &Options, address: SocketAddr, request: &HttpRequest) -> ProbeResult {
    let same = request.url.scheme_str() == options.url.scheme_str() && request.url.authority() == options.url.authority();
    if same {
        client.send_to(request, address).await
    } else {
        client.send(request).await
    }
}

/// The HTTP layer: the URL, its redirects followed one by one.
pub async fn url(client: &HttpClient, options: &Options, address: SocketAddr, deadline: Instant) -> Layer {
    let mut current = options.url.clone();
    let mut hops: Vec<serde_json::Value> = Vec::new();
    let mut visited = vec![current.to_string()];
    let result = loop {
        let result = send(client, options, address, &request(current.clone(), remaining(deadline), BTreeMap::new(), false)).await;
        if let Some(failure) = &result.failure {
            let evidence = serde_json::json!({ "url": current.to_string(), "redirects": hops });
            return Layer::fail("http", failure, evidence);
        }
        hops.push(serde_json::json!({
            "url": current.to_string(),
            "status": result.status,
            "location": header(&result, "location"),
            "first_byte_ms": result.timings.first_byte.map(millis),
        }));
        let next = match header(&result, "location") {
            Some(location) if result.status.is_some_and(|status| (300..400).contains(&status)) => {
                crate::http::join(&current, location).ok()
            }
            _ => None,
        };
        let Some(next) = next else { break result };
        if visited.contains(&next.to_string()) {
            let chain = visited.join(" -> ");
            let failure = ProbeFailure::new(FailureCode::HttpRedirectLoop, format!("a redirect loop: {chain} -> {next}"));
            return Layer::fail("http", &failure, serde_json::json!({ "redirects": hops }));
        }
        if hops.len() > MAX_HOPS {
            let failure = ProbeFailure::new(FailureCode::HttpRedirects, format!("more than {MAX_HOPS} redirects from {}", options.url));
            return Layer::fail("http", &failure, serde_json::json!({ "redirects": hops }));
        }
        visited.push(next.to_string());
        current = next;
    };
    let status = result.status.unwrap_or_default();
    let mut evidence = serde_json::json!({
        "url": current.to_string(),
        "status": status,
        "headers": headers_evidence(&result),
        "first_byte_ms": result.timings.first_byte.map(millis),
        "total_ms": millis(result.response_time),
    });
    if hops.len() > 1 {
        evidence["redirects"] = serde_json::json!(hops);
        evidence["note"] = serde_json::json!(format!(
            "load balancers do not follow redirects: a health check on {} sees {}",
            options.url.path(),
            hops[0]["status"]
        ));
    }
    if status >= 500 {
        return server_error(status, &result, evidence);
    }
    if status == 404 && options.health.as_deref() == Some(current.path()) {
        // The health layer says whether the route is missing.
        return Layer::ok("http", evidence);
    }
    if status == 404 {
        let cause = match root_status(client, options, address, &current, deadline).await {
            Some(root) if root < 400 => format!("{} answers 404 while / answers {root}: the route does not exist", current.path()),
            _ => format!("{} answers 404", current.path()),
        };
        return Layer::fail("http", &ProbeFailure::new(FailureCode::HttpNotFound, cause), evidence);
    }
    if status >= 400 {
        let cause = format!("{} answers {status}{}", current.path(), status_meaning(status));
        return Layer::fail("http", &ProbeFailure::new(FailureCode::HttpStatus, cause), evidence);
    }
    if let Some(first_byte) = result.timings.first_byte.filter(|first_byte| *first_byte > options.slow) {
        let cause = format!(
            "the first byte came after {} (budget {})",
            vigil_core::time::format_duration(first_byte),
            vigil_core::time::format_duration(options.slow)
        );
        return Layer::fail("http", &ProbeFailure::new(FailureCode::HttpSlow, cause), evidence);
    }
    Layer::ok("http", evidence)
}

/// What `/` answers beside `url`, to tell a missing route from a missing app.
async fn root_status(client: &HttpClient, options: &Options, address: SocketAddr, url: &Uri, deadline: Instant) -> Option<u16> {
    if url.path() == "/" {
        return None;
    }
    let root = beside(url, "/")?;
    send(client, options, address, &request(root, remaining(deadline), BTreeMap::new(), false)).await.status
}

fn status_meaning(status: u16) -> &'static str {
    match status {
        400 => " (bad request: the Host header, or a malformed request)",
        401 => " (authentication required)",
        403 => " (forbidden: an allow list, a WAF, or missing credentials)",
        405 => " (the method is not allowed)",
        421 => " (misdirected: the server does not serve this name)",
        429 => " (rate limited)",
        _ => "",
    }
}

/// Who answered a 5xx, as far as the response says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proxy {
    Alb,
    Nginx,
    Haproxy,
    Unknown,
}

fn proxy(result: &ProbeResult) -> Proxy {
    let server = header(result, "server").unwrap_or_default().to_ascii_lowercase();
    let body = String::from_utf8_lossy(&result.body[..result.body.len().min(2048)]).to_ascii_lowercase();
    if server.starts_with("awselb") {
        Proxy::Alb
    } else if server.starts_with("nginx") || body.contains("<center>nginx") {
        Proxy::Nginx
    } else if server.contains("haproxy") || body.contains("no server is available to handle this request") {
        Proxy::Haproxy
    } else {
        Proxy::Unknown
    }
}

/// What a 502, 503 or 504 means when this proxy sends it.
fn meaning(proxy: Proxy, status: u16) -> Option<&'static str> {
    Some(match (proxy, status) {
        (Proxy::Alb, 502) => "on an ALB: the target closed or reset the connection, sent a malformed response, or its keep-alive timeout is shorter than the ALB's idle timeout",
        (Proxy::Alb, 503) => "on an ALB: the target group has no registered targets, or none is healthy",
        (Proxy::Alb, 504) => "on an ALB: the target did not answer within the idle timeout (60 s by default), or the ALB cannot connect to it (the target's security group)",
        (Proxy::Nginx, 502) => "on nginx: connecting to the upstream failed or it closed early (`connect() failed` or `upstream prematurely closed` in nginx's error.log)",
        (Proxy::Nginx, 503) => "on nginx: limit_req or limit_conn refused the request, or no upstream server is up",
        (Proxy::Nginx, 504) => "on nginx: the upstream did not answer within proxy_read_timeout or proxy_connect_timeout (60 s by default)",
        (Proxy::Haproxy, 502) => "on HAProxy: the server's response was invalid or cut short, or the server closed the connection",
        (Proxy::Haproxy, 503) => "on HAProxy: no server of the backend is available (all failed their checks), or the queue timed out",
        (Proxy::Haproxy, 504) => "on HAProxy: the server did not answer within `timeout server`",
        _ => return None,
    })
}

fn server_error(status: u16, result: &ProbeResult, mut evidence: serde_json::Value) -> Layer {
    let code = match status {
        502 => FailureCode::LbBadGateway,
        503 => FailureCode::LbUnavailable,
        504 => FailureCode::LbGatewayTimeout,
        _ => FailureCode::HttpServerError,
    };
    let who = match (header(result, "server"), header(result, "via")) {
        (Some(server), Some(via)) => format!(" from {server} (via {via})"),
        (Some(server), None) => format!(" from {server}"),
        (None, Some(via)) => format!(" via {via}"),
        (None, None) => String::new(),
    };
    let retry = header(result, "retry-after").map(|after| format!("; Retry-After: {after}")).unwrap_or_default();
    let cause = format!("the server answered {status}{who}{retry}");
    let named = proxy(result);
    if code != FailureCode::HttpServerError {
        let meanings: serde_json::Map<String, serde_json::Value> =
            [(Proxy::Alb, "alb"), (Proxy::Nginx, "nginx"), (Proxy::Haproxy, "haproxy")]
                .iter()
                .filter_map(|(proxy, name)| meaning(*proxy, status).map(|text| ((*name).to_owned(), serde_json::json!(text))))
                .collect();
        evidence["meaning"] = serde_json::Value::Object(meanings);
    }
    let mut layer = Layer::fail("http", &ProbeFailure::new(code, cause), evidence);
    if let Some(text) = meaning(named, status) {
        layer.likely_cause = Some(text.to_owned());
    }
    layer
}

/// The health layer: the health path, asked as `options.as_lb`'s checker would ask.
pub async fn health(client: &HttpClient, options: &Options, address: SocketAddr, path: &str, deadline: Instant) -> Layer {
    let preset = options.as_lb.map(Checker::preset);
    if options.as_lb == Some(Checker::Nlb) {
        return Layer::ok(
            "health",
            serde_json::json!({ "checker": "nlb", "check": "TCP connect (an NLB target group's default)", "result": "connected" }),
        );
    }
    let Some(url) = beside(&options.url, path) else { return Layer::skipped("health", "cannot form the health URL") };
    let matcher = options
        .matcher
        .clone()
        .or_else(|| preset.as_ref().and_then(|preset| preset.matcher.clone()))
        .unwrap_or_else(|| StatusMatcher::parse("200-399").unwrap_or_else(|_| unreachable!("a valid matcher")));
    let follow = preset.as_ref().is_none_or(|preset| preset.follow_redirects);
    let mut headers = BTreeMap::new();
    if let Some(preset) = &preset {
        if preset.host_is_address {
            headers.insert("Host".to_owned(), address.to_string());
        }
        if !preset.user_agent.is_empty() {
            headers.insert("User-Agent".to_owned(), preset.user_agent.to_owned());
        }
    }
    let result = send(client, options, address, &request(url.clone(), remaining(deadline), headers.clone(), follow)).await;
    let mut evidence = serde_json::json!({
        "url": url.to_string(),
        "status": result.status,
        "matcher": matcher.to_string(),
        "headers": headers_evidence(&result),
    });
    if let Some(checker) = options.as_lb {
        evidence["checker"] = serde_json::json!(checker.as_str());
        evidence["request_headers"] = serde_json::json!(headers);
    }
    if let Some(failure) = &result.failure {
        return Layer::fail("health", failure, evidence);
    }
    let status = result.status.unwrap_or_default();
    if matcher.matches(status) {
        return match down_in_body(&result.body) {
            Some(reason) if status < 300 => Layer::fail("health", &ProbeFailure::new(FailureCode::HealthReportsDown, reason), evidence),
            _ => Layer::ok("health", evidence),
        };
    }
    if (300..400).contains(&status) && !follow {
        let location = header(&result, "location").unwrap_or("nowhere");
        let cause = format!("{path} answers {status} to {location}; the checker does not follow redirects and wants {matcher}");
        return Layer::fail("health", &ProbeFailure::new(FailureCode::LbRedirect, cause), evidence);
    }
    if status == 404 {
        let root = root_status(client, options, address, &url, deadline).await;
        let failure = match root {
            Some(root) if root < 400 => {
                ProbeFailure::new(FailureCode::HealthRouteMissing, format!("{path} answers 404 while / answers {root}"))
            }
            _ => ProbeFailure::new(FailureCode::HealthStatus, format!("{path} answers 404, and so does /: another app on this port?")),
        };
        return Layer::fail("health", &failure, evidence);
    }
    if options.as_lb.is_some() {
        // The same path asked by name: an app that checks Host rejects only the checker.
        let by_name = send(client, options, address, &request(url.clone(), remaining(deadline), BTreeMap::new(), follow)).await;
        if by_name.status.is_some_and(|by_name| matcher.matches(by_name)) {
            let cause = format!(
                "{path} answers {} to a request for `{}` but {status} to the checker's `Host: {address}`",
                by_name.status.unwrap_or_default(),
                options.url.authority().map(|authority| authority.as_str()).unwrap_or_default(),
            );
            return Layer::fail("health", &ProbeFailure::new(FailureCode::LbHostRejected, cause), evidence);
        }
    }
    let retry = header(&result, "retry-after").map(|after| format!("; Retry-After: {after}")).unwrap_or_default();
    let cause = format!("{path} answers {status}{}{retry}; the check wants {matcher}", status_meaning(status));
    Layer::fail("health", &ProbeFailure::new(FailureCode::HealthStatus, cause), evidence)
}

/// A JSON body that says it is down: `status` other than OK/UP/pass, or a `checks`
/// entry that is.
fn down_in_body(body: &[u8]) -> Option<String> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    let healthy = |value: &serde_json::Value| {
        value.as_str().is_some_and(|text| matches!(text.to_ascii_lowercase().as_str(), "ok" | "up" | "pass" | "healthy"))
            || value.as_bool() == Some(true)
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
