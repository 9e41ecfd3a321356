//! `vigil diagnose URL`: prints the walk of `vigil_probes::diagnose`, in sentences or
//! as JSON, and exits 0 when every layer is fine, 1 when one breaks, 2 on bad usage.

use std::net::SocketAddr;
use std::process::ExitCode;

use vigil_core::healthcheck::{Checker, StatusMatcher};
use vigil_core::Clock;
use vigil_probes::diagnose::{diagnose, Family, Options, Status};
use vigil_probes::HttpClient;

use super::USAGE_ERROR;
use crate::cli::DiagnoseArgs;

fn options(args: &DiagnoseArgs) -> Result<Options, String> {
    let url = vigil_config::parse_http_url(&args.url)
        .ok_or_else(|| format!("invalid URL `{}`, expected http://HOST/PATH or https://HOST/PATH", vigil_core::redact::url(&args.url)))?;
    let duration = |flag: &str, text: &str| match vigil_core::parse_duration(text) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        _ => Err(format!("{flag}: invalid duration `{text}`, expected e.g. 5s")),
    };
    let mut options = Options::new(url, vigil_core::SystemClock.now());
    options.timeout = duration("--timeout", &args.timeout)?;
    options.cert_warn = duration("--cert-warn", &args.cert_warn)?;
    options.slow = duration("--slow", &args.slow)?;
    options.health = match args.health.as_str() {
        "none" => None,
        path if path.starts_with('/') => Some(path.to_owned()),
        other => return Err(format!("--health: expected a path such as /health, or none, got `{other}`")),
    };
    options.resolver = match &args.resolver {
        None => None,
        Some(text) => Some(
            text.parse::<SocketAddr>()
                .or_else(|_| text.parse::<std::net::IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                .map_err(|_| format!("--resolver: expected IP or IP:PORT, got `{text}`"))?,
        ),
    };
    options.family = match (args.ipv4, args.ipv6) {
        (true, _) => Family::V4,
        (_, true) => Family::V6,
        _ => Family::Any,
    };
    options.all_addresses = args.all_addresses;
    options.control_port = args.control_port;
    if let Some(path) = &args.ca_file {
        options.extra_roots = vigil_probes::diagnose::tls::read_pem(path).map_err(|error| format!("--ca-file: {error}"))?;
    }
    options.as_lb = match args.as_lb.as_deref() {
        None => None,
        Some(name) => match Checker::parse(name) {
            Some(checker @ (Checker::Alb | Checker::Nlb | Checker::K8sReadiness)) => Some(checker),
            _ => return Err(format!("--as-lb: expected alb, nlb or k8s, got `{name}`")),
        },
    };
    if let Some(matcher) = &args.matcher {
        options.matcher = Some(StatusMatcher::parse(matcher).map_err(|error| format!("--matcher: {error}"))?);
    }
    Ok(options)
}

/// One line for a layer that passed or was skipped, from its evidence.
fn summary(layer: &str, evidence: &serde_json::Value) -> String {
    let text = |key: &str| match &evidence[key] {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    if let Some(why) = evidence["why"].as_str() {
        return format!("({why})");
    }
    match layer {
        "dns" => {
            let addresses: Vec<&str> = evidence["addresses"].as_array().into_iter().flatten().filter_map(|a| a.as_str()).collect();
            format!("{} -> {} ({} ms, {} resolver)", text("name"), addresses.join(", "), text("ms"), text("resolver"))
        }
        "tcp" => {
            let ms = evidence["addresses"][0]["ms"].to_string();
            format!("connected to {} ({ms} ms)", text("address"))
        }
        "tls" => format!(
            "{} {}, {}; expires {} ({} days)",
            text("version"),
            text("cipher"),
            text("subject"),
            text("not_after"),
            text("days_left")
        ),
        "http" => format!("{} {} (first byte {} ms, total {} ms)", text("url"), text("status"), text("first_byte_ms"), text("total_ms")),
        "health" => match evidence["checker"].as_str() {
            Some("nlb") => "TCP connect, as an NLB checks".to_owned(),
            Some(checker) => format!("{} {} as {checker} asks (matcher {})", text("url"), text("status"), text("matcher")),
            None => format!("{} {} (matcher {})", text("url"), text("status"), text("matcher")),
        },
        _ => evidence.to_string(),
    }
}

pub async fn execute(args: &DiagnoseArgs) -> ExitCode {
    let options = match options(args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    let layers = diagnose(&HttpClient::new(), &options).await;
    let failed: Vec<_> = layers.iter().filter(|layer| layer.status == Status::Fail).collect();
    if args.json {
        for layer in &layers {
            println!("{}", serde_json::to_string(layer).unwrap_or_default());
        }
    } else {
        println!("{}", vigil_core::redact::url(&options.url.to_string()));
        for layer in &layers {
            let status = match layer.status {
                Status::Ok => "ok",
                Status::Fail => "FAIL",
                Status::Skipped => "-",
            };
            let detail = match &layer.code {
                Some(code) => code.clone(),
                None => summary(layer.layer, &layer.evidence),
            };
            println!("  {:<7} {status:<5} {detail}", layer.layer);
        }
        if failed.is_empty() {
            println!("every layer answers");
        }
        for layer in &failed {
            println!("finding:      {} fails: {}", layer.layer, layer.cause.as_deref().unwrap_or_default());
            if let Some(likely) = &layer.likely_cause {
                println!("likely cause: {likely}");
            }
            println!("fix:          {}", layer.fix.as_deref().unwrap_or_default());
        }
    }
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
