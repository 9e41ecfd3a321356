//! `vigil probe URL`: one check now, printed for people or as JSON.

use std::collections::BTreeMap;
use std::process::ExitCode;

use bytes::Bytes;
use vigil_core::condition::Condition;
use vigil_core::time::format_duration;
use vigil_core::{parse_duration, Clock, SystemClock};

use super::USAGE_ERROR;
use crate::monitor::Check;
use crate::probes::{tcp, HttpClient, HttpRequest};

pub struct ProbeOptions {
    pub url: String,
    pub conditions: Vec<String>,
    pub timeout: String,
    pub method: String,
    pub headers: Vec<String>,
    pub body: Option<String>,
    pub follow_redirects: bool,
    pub insecure: bool,
    pub json: bool,
}

fn usage(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(USAGE_ERROR)
}

pub async fn execute(options: ProbeOptions) -> ExitCode {
    let timeout = match parse_duration(&options.timeout) {
        Ok(timeout) if !timeout.is_zero() => timeout,
        Ok(_) => return usage("--timeout must be greater than zero"),
        Err(error) => return usage(format_args!("--timeout: {error}")),
    };
    let tcp_address = options.url.strip_prefix("tcp://").map(str::to_owned);
    let default_condition = if tcp_address.is_some() { "[CONNECTED] == true" } else { "[STATUS] == 200" };
    let texts = if options.conditions.is_empty() { vec![default_condition.to_owned()] } else { options.conditions.clone() };
    let mut conditions = Vec::new();
    for text in &texts {
        match Condition::parse(text) {
            Ok(condition) => conditions.push(condition),
            Err(error) => return usage(format_args!("--condition: {error}")),
        }
    }
    let result = if let Some(address) = tcp_address {
        let Some((host, port)) = address.rsplit_once(':').and_then(|(host, port)| Some((host.to_owned(), port.parse::<u16>().ok()?)))
        else {
            return usage(format_args!("invalid TCP address `{}`, expected tcp://HOST:PORT", options.url));
        };
        tcp::probe(&host, port, timeout).await
    } else {
        let url: http::Uri = match options.url.parse() {
            Ok(url) if matches!(http::Uri::scheme_str(&url), Some("http" | "https")) => url,
            _ => return usage(format_args!("invalid URL `{}`, expected http://, https:// or tcp://", options.url)),
        };
        let Ok(method) = http::Method::from_bytes(options.method.to_ascii_uppercase().as_bytes()) else {
            return usage(format_args!("invalid method `{}`", options.method));
        };
        let mut headers = BTreeMap::new();
        for header in &options.headers {
            let Some((name, value)) = header.split_once(':') else {
                return usage(format_args!("invalid header `{header}`, expected NAME:VALUE"));
            };
            headers.insert(name.trim().to_owned(), value.trim().to_owned());
        }
        let request = HttpRequest {
            method,
            url,
            headers,
            body: options.body.clone().map(Bytes::from),
            timeout,
            follow_redirects: options.follow_redirects,
            verify_tls: !options.insecure,
            host_from_address: false,
        };
        HttpClient::new().send(&request).await
    };
    let check = Check::evaluate(result, &conditions, None, SystemClock.now());
    if options.json {
        print_json(&vigil_core::redact::url(&options.url), &check);
    } else {
        print_text(&vigil_core::redact::url(&options.url), &check);
    }
    if check.healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print_json(url: &str, check: &Check) {
    let result = &check.result;
    let value = serde_json::json!({
        "url": url,
        "healthy": check.healthy,
        "connected": result.connected,
        "status": result.status,
        "response_time_ms": result.response_time.as_secs_f64() * 1000.0,
        "timings_ms": result.timings,
        "ip": result.ip().map(|ip| ip.to_string()),
        "certificate_expires_at": result.certificate_expires_at.map(|at| at.to_rfc3339()),
        "body_bytes": result.body.len(),
        "body_truncated": result.body_truncated,
        "error": result.failure.as_ref().map(ToString::to_string),
        "failure": result.failure,
        "conditions": check.conditions,
    });
    println!("{value}");
}

fn print_text(url: &str, check: &Check) {
    let result = &check.result;
    println!("{url}: {}", if check.healthy { "healthy" } else { "UNHEALTHY" });
    let phase = |duration: Option<std::time::Duration>| duration.map_or("-".to_owned(), |d| format!("{:.1}ms", d.as_secs_f64() * 1000.0));
    let status = result.status.map_or("no response".to_owned(), |status| format!("status {status}"));
    println!(
        "  {status}, {:.1}ms (dns {}, connect {}, tls {}, first byte {}), ip {}",
        result.response_time.as_secs_f64() * 1000.0,
        phase(result.timings.dns),
        phase(result.timings.connect),
        phase(result.timings.tls),
        phase(result.timings.first_byte),
        result.ip().map_or("-".to_owned(), |ip| ip.to_string()),
    );
    if let Some(expires) = result.certificate_expires_at {
        println!("  certificate expires {expires} (in {})", format_duration(expires.since(check.at)));
    }
    if let Some(failure) = &result.failure {
        println!("  error: {failure}");
    }
    for condition in &check.conditions {
        println!("  {} {}", if condition.success { "ok  " } else { "FAIL" }, condition.resolved);
    }
}
