//! `vigil diagnose URL`: the connection walked layer by layer (DNS, TCP, TLS, HTTP, the
//! health route), stopping at the first that breaks, each layer with its status, code,
//! evidence, likely cause and one fix. The codes are the probes' own
//! ([`crate::failure`]), so a monitor's outage mail and a diagnosis say the same.
//!
//! The whole walk keeps to one deadline (`--timeout`); the brief extra probes that
//! explain a failure (another port of a filtered host, the loopback address of a
//! refused one) take at most [`EXTRA`] beyond it.

mod dns;
mod http;
mod tcp;
pub mod tls;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use ::http::Uri;
use rustls::pki_types::CertificateDer;
use vigil_core::healthcheck::{Checker, StatusMatcher};
use vigil_core::Timestamp;

pub use self::dns::Family;
use crate::failure::{FailureCode, ProbeFailure};
use crate::HttpClient;

/// Time allowed past the deadline for the probes that explain a failure.
pub const EXTRA: Duration = Duration::from_millis(700);

/// What to diagnose, and how.
#[derive(Debug, Clone)]
pub struct Options {
    pub url: Uri,
    /// Bound on the whole walk.
    pub timeout: Duration,
    /// The health route tried beside the URL (`/health`); `None` skips the layer.
    pub health: Option<String>,
    /// Ask this DNS server directly instead of the system's resolver.
    pub resolver: Option<SocketAddr>,
    pub family: Family,
    /// Connect to every address the name has, not only the first.
    pub all_addresses: bool,
    /// A port of the same host to try when the URL's port does not answer.
    pub control_port: Option<u16>,
    /// Roots trusted besides the system's (`--ca-file`).
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// A certificate expiring sooner is reported.
    pub cert_warn: Duration,
    /// A first byte later than this is reported.
    pub slow: Duration,
    /// Send the health route exactly what this checker sends.
    pub as_lb: Option<Checker>,
    /// The statuses the health route must answer (else the checker's, else 200-399).
    pub matcher: Option<StatusMatcher>,
    /// For certificate dates.
    pub now: Timestamp,
}

impl Options {
    /// The defaults of `vigil diagnose`, for `url`.
    pub fn new(url: Uri, now: Timestamp) -> Options {
        Options {
            url,
            timeout: Duration::from_secs(5),
            health: Some("/health".to_owned()),
            resolver: None,
            family: Family::Any,
            all_addresses: false,
            control_port: None,
            extra_roots: Vec::new(),
            cert_warn: Duration::from_secs(14 * 86_400),
            slow: Duration::from_secs(1),
            as_lb: None,
            matcher: None,
            now,
        }
    }
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
    /// What was seen: addresses, durations, certificate, status, headers.
    pub evidence: serde_json::Value,
    /// What happened, in this case's terms.
    pub cause: Option<String>,
    /// What usually makes it happen.
    pub likely_cause: Option<String>,
    pub fix: Option<String>,
}

impl Layer {
    fn ok(layer: &'static str, evidence: serde_json::Value) -> Layer {
        Layer { layer, status: Status::Ok, code: None, evidence, cause: None, likely_cause: None, fix: None }
    }

    fn skipped(layer: &'static str, why: &str) -> Layer {
        let evidence = if why.is_empty() { serde_json::Value::Null } else { serde_json::json!({ "why": why }) };
        Layer { layer, status: Status::Skipped, code: None, evidence, cause: None, likely_cause: None, fix: None }
    }

    /// A failed layer: the failure's code and cause, the code's likely cause and fix.
    fn fail(layer: &'static str, failure: &ProbeFailure, evidence: serde_json::Value) -> Layer {
        let (likely, fix) = failure.code.explanation();
        Layer {
            layer,
            status: Status::Fail,
            code: Some(failure.code.as_str().to_owned()),
            evidence,
            cause: Some(failure.cause.clone()),
            likely_cause: Some(likely.to_owned()),
            fix: Some(fix.to_owned()),
        }
    }

    /// Replaces the code's generic fix with one for this case.
    fn with_fix(mut self, fix: String) -> Layer {
        self.fix = Some(fix);
        self
    }
}

/// The layers of a connection, in order.
const LAYERS: [&str; 5] = ["dns", "tcp", "tls", "http", "health"];

/// Walks `options.url`; the result has one entry per layer, in order.
pub async fn diagnose(client: &HttpClient, options: &Options) -> Vec<Layer> {
    let deadline = Instant::now() + options.timeout;
    let mut layers = Vec::new();
    walk(client, options, deadline, &mut layers).await;
    for (index, name) in LAYERS.iter().enumerate() {
        if layers.len() <= index {
            layers.push(Layer::skipped(name, "an earlier layer failed"));
        }
    }
    layers
}

async fn walk(client: &HttpClient, options: &Options, deadline: Instant, layers: &mut Vec<Layer>) {
    let https = options.url.scheme_str() == Some("https");
    let host = options.url.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_owned();
    let port = options.url.port_u16().unwrap_or(if https { 443 } else { 80 });

    // DNS
    let addresses: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => {
            layers.push(Layer::skipped("dns", "the URL names an address"));
            vec![ip]
        }
        Err(_) => match dns::lookup(&host, options.resolver, options.family, deadline).await {
            Ok(found) => {
                layers.push(Layer::ok(
                    "dns",
                    serde_json::json!({
                        "name": host,
                        "resolver": options.resolver.map_or_else(|| "system".to_owned(), |resolver| resolver.to_string()),
                        "addresses": found.addresses.iter().map(IpAddr::to_string).collect::<Vec<_>>(),
                        "ms": millis(found.elapsed),
                    }),
                ));
                found.addresses
            }
            Err(failure) => {
                let evidence = serde_json::json!({
                    "name": host,
                    "resolver": options.resolver.map_or_else(|| "system".to_owned(), |resolver| resolver.to_string()),
                });
                layers.push(Layer::fail("dns", &failure, evidence));
                return;
            }
        },
    };

    // TCP
    // Every address at once, as clients fall back from one to the next; with
    // `--all-addresses` each must answer, else one suffices.
    let targets: Vec<SocketAddr> = addresses.iter().map(|ip| SocketAddr::new(*ip, port)).collect();
    let (stream, address) = match tcp::connect(&targets, options, deadline).await {
        Ok((stream, address, evidence)) => {
            layers.push(Layer::ok("tcp", evidence));
            (stream, address)
        }
        Err(layer) => {
            layers.push(*layer);
            return;
        }
    };

    // TLS
    if https {
        match tls::handshake(stream, &host, address, deadline).await {
            Err(failure) => {
                layers.push(Layer::fail("tls", &failure, serde_json::json!({ "address": address.to_string() })));
                return;
            }
            Ok((chain, negotiated)) => {
                let mut roots = client.roots().clone();
                roots.add_parsable_certificates(options.extra_roots.iter().cloned());
                let judge = tls::Judge {
                    host: &host,
                    roots: &roots,
                    private_ca: !options.extra_roots.is_empty(),
                    now: options.now,
                    warn: options.cert_warn,
                };
                let verdict = judge.judge(&chain);
                let mut evidence = verdict.evidence;
                if let (Some(evidence), serde_json::Value::Object(negotiated)) = (evidence.as_object_mut(), negotiated) {
                    evidence.extend(negotiated);
                }
                match verdict.problems.as_slice() {
                    [] => layers.push(Layer::ok("tls", evidence)),
                    [first, ..] => {
                        evidence["problems"] = serde_json::json!(verdict
                            .problems
                            .iter()
                            .map(|problem| serde_json::json!({ "code": problem.code.as_str(), "cause": problem.cause }))
                            .collect::<Vec<_>>());
                        let all = ProbeFailure::new(
                            first.code,
                            verdict.problems.iter().map(|problem| problem.cause.as_str()).collect::<Vec<_>>().join("; "),
                        );
                        let mut layer = Layer::fail("tls", &all, evidence);
                        if verdict.problems.len() > 1 {
                            let fixes: Vec<&str> = verdict.problems.iter().map(|problem| problem.code.explanation().1).collect();
                            layer = layer.with_fix(fixes.join("; and "));
                        }
                        layers.push(layer);
                        // An expiring certificate still works: the walk goes on.
                        if first.code != FailureCode::TlsCertExpiring {
                            return;
                        }
                    }
                }
            }
        }
    } else {
        drop(stream);
        layers.push(Layer::skipped("tls", "http:// URL"));
    }

    // HTTP, then the health route.
    let health_path = options.health.as_deref();
    let layer = http::url(client, options, address, deadline).await;
    let broken = layer.status == Status::Fail;
    layers.push(layer);
    if broken {
        return;
    }
    layers.push(match health_path {
        Some(path) => http::health(client, options, address, path, deadline).await,
        None => Layer::skipped("health", "--health none"),
    });
}

fn millis(duration: Duration) -> serde_json::Value {
    serde_json::json!((duration.as_secs_f64() * 10_000.0).round() / 10.0)
}

/// A wait as a person would say it: whole seconds from a second, else tenths.
fn shown(wait: Duration) -> Duration {
    if wait >= Duration::from_millis(950) {
        Duration::from_secs(wait.as_secs_f64().round() as u64)
    } else {
        Duration::from_millis((wait.as_millis() as u64).div_ceil(100) * 100)
    }
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1))
}
