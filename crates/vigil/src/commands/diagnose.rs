//! `vigil diagnose URL`: prints the walk of `vigil_probes::diagnose`, in sentences or
//! as JSON, and exits 0 when every layer is fine, 1 when one breaks, 2 on bad usage.

use std::process::ExitCode;

use vigil_probes::diagnose::{diagnose, Options, Status};
use vigil_probes::HttpClient;

use super::USAGE_ERROR;

pub async fn execute(url: &str, timeout: &str, health: &str, json: bool) -> ExitCode {
    let usage = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(USAGE_ERROR)
    };
    let url = match vigil_config::parse_http_url(url) {
        Some(url) => url,
        None => return usage(format!("invalid URL `{}`, expected http://HOST/PATH or https://HOST/PATH", vigil_core::redact::url(url))),
    };
    let timeout = match vigil_core::parse_duration(timeout) {
        Ok(timeout) if !timeout.is_zero() => timeout,
        _ => return usage(format!("--timeout: invalid duration `{timeout}`")),
    };
    let health = match health {
        "none" => None,
        path if path.starts_with('/') => Some(path.to_owned()),
        other => return usage(format!("--health: expected a path such as /health, or none, got `{other}`")),
    };
    let layers = diagnose(&HttpClient::new(), &Options { url: url.clone(), timeout, health }).await;
    let failed = layers.iter().find(|layer| layer.status == Status::Fail);
    if json {
        for layer in &layers {
            println!("{}", serde_json::to_string(layer).unwrap_or_default());
        }
    } else {
        println!("{}", vigil_core::redact::url(&url.to_string()));
        for layer in &layers {
            let status = match layer.status {
                Status::Ok => "ok",
                Status::Fail => "FAIL",
                Status::Skipped => "-",
            };
            let detail = match (&layer.code, &layer.evidence) {
                (Some(code), _) => code.clone(),
                (None, serde_json::Value::Null) => String::new(),
                (None, evidence) => evidence.to_string(),
            };
            println!("  {:<7} {status:<5} {detail}", layer.layer);
        }
        match failed {
            Some(layer) => {
                println!("finding:      {} fails: {}", layer.layer, layer.cause.as_deref().unwrap_or_default());
                if let Some(likely) = &layer.likely_cause {
                    println!("likely cause: {likely}");
                }
                println!("fix:          {}", layer.fix.as_deref().unwrap_or_default());
            }
            None => println!("every layer answers"),
        }
    }
    if failed.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
