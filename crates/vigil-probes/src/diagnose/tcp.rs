//! The TCP layer: every address tried at once, each failure classified; a port that
//! does not answer is told apart from a host that is off by trying another port of the
//! same host, and a refused local port from an app bound to 127.0.0.1 only.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::{millis, remaining, Layer, Options, EXTRA};
use crate::failure::{FailureCode, ProbeFailure, Progress};

/// Ports tried to see whether a host that drops one port is up.
const CONTROL_PORTS: [u16; 3] = [22, 80, 443];

enum Attempt {
    Connected(TcpStream, Duration),
    Failed(ProbeFailure, Duration),
}

async fn attempt(address: SocketAddr, deadline: Instant) -> Attempt {
    let started = Instant::now();
    let wait = remaining(deadline);
    match tokio::time::timeout(wait, TcpStream::connect(address)).await {
        Ok(Ok(stream)) => Attempt::Connected(stream, started.elapsed()),
        Ok(Err(error)) => Attempt::Failed(ProbeFailure::connect(address, &error), started.elapsed()),
        Err(_) => Attempt::Failed(ProbeFailure::timed_out(super::shown(wait), Progress::Connecting(address)), started.elapsed()),
    }
}

/// Connects to each of `targets` at once; the first (in the resolver's order) that
/// connected, or the failed layer: when none did, or with `--all-addresses` when any
/// did not.
pub async fn connect(
    targets: &[SocketAddr],
    options: &Options,
    deadline: Instant,
) -> Result<(TcpStream, SocketAddr, serde_json::Value), Box<Layer>> {
    let attempts = futures_util::future::join_all(targets.iter().map(|target| attempt(*target, deadline))).await;
    let mut connected = None;
    let mut failure = None;
    let mut tried = Vec::new();
    for (target, attempt) in targets.iter().zip(attempts) {
        match attempt {
            Attempt::Connected(stream, elapsed) => {
                tried.push(serde_json::json!({ "address": target.to_string(), "result": "connected", "ms": millis(elapsed) }));
                connected.get_or_insert((stream, *target));
            }
            Attempt::Failed(why, elapsed) => {
                tried.push(serde_json::json!({ "address": target.to_string(), "result": why.code.as_str(), "ms": millis(elapsed) }));
                failure.get_or_insert((why, *target));
            }
        }
    }
    let mut evidence = serde_json::json!({ "addresses": tried });
    match (connected, failure) {
        (Some((stream, address)), failed) if failed.is_none() || !options.all_addresses => {
            evidence["address"] = serde_json::json!(address.to_string());
            if let Some((failure, other)) = failed {
                evidence["note"] = serde_json::json!(format!(
                    "{other} fails ({}); clients that try the next address (curl, browsers) reach {address}, others may not (--all-addresses makes this a failure)",
                    failure.code
                ));
            }
            Ok((stream, address, evidence))
        }
        (_, Some((failure, address))) => Err(Box::new(explain(failure, address, options, evidence).await)),
        (Some(_), None) | (None, None) => {
            let failure = ProbeFailure::new(FailureCode::DnsNoAddress, "no address to connect to");
            Err(Box::new(Layer::fail("tcp", &failure, evidence)))
        }
    }
}

/// The failed layer for `failure` at `address`, with what the brief extra probes add.
async fn explain(failure: ProbeFailure, address: SocketAddr, options: &Options, mut evidence: serde_json::Value) -> Layer {
    let port = address.port();
    match failure.code {
        FailureCode::TcpTimeout => {
            let ports: Vec<u16> = match options.control_port {
                Some(control) => vec![control],
                None => CONTROL_PORTS.iter().copied().filter(|control| *control != port).collect(),
            };
            let answers =
                futures_util::future::join_all(ports.iter().map(|control| answers(SocketAddr::new(address.ip(), *control)))).await;
            let control: serde_json::Map<String, serde_json::Value> = ports
                .iter()
                .zip(&answers)
                .map(|(control, answer)| {
                    (control.to_string(), serde_json::json!(answer.map_or("no answer", |open| if open { "open" } else { "closed" })))
                })
                .collect();
            evidence["control_ports"] = serde_json::Value::Object(control);
            let answering: Vec<String> =
                ports.iter().zip(&answers).filter(|(_, answer)| answer.is_some()).map(|(control, _)| control.to_string()).collect();
            if answering.is_empty() {
                let listed = ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ");
                let failure = ProbeFailure::new(
                    FailureCode::TcpTimeout,
                    format!(
                        "{}; {} {listed} of {} do not answer either: the host is off, or all of it is filtered",
                        failure.cause,
                        if ports.len() == 1 { "port" } else { "ports" },
                        address.ip()
                    ),
                );
                Layer::fail("tcp", &failure, evidence)
            } else {
                let failure = ProbeFailure::new(
                    FailureCode::TcpFiltered,
                    format!(
                        "no answer from {address} while port {} of the same host answers: the host is up and port {port} is filtered",
                        answering.join(", ")
                    ),
                );
                Layer::fail("tcp", &failure, evidence).with_fix(format!(
                    "allow TCP port {port} to {} from where the clients or the load balancer are (security group inbound rule, network ACL, host firewall)",
                    address.ip()
                ))
            }
        }
        FailureCode::TcpRefused if listens_on_loopback_only(address).await => {
            evidence["loopback_only"] = serde_json::Value::Bool(true);
            let failure = ProbeFailure::new(
                FailureCode::TcpRefused,
                format!("{}; something listens on 127.0.0.1:{port} only (the default of Flask's app.run())", failure.cause),
            );
            Layer::fail("tcp", &failure, evidence)
                .with_fix(format!("make the app listen on 0.0.0.0:{port} (Flask: app.run(host=\"0.0.0.0\", port={port}))"))
        }
        FailureCode::TcpRefused => {
            Layer::fail("tcp", &failure, evidence).with_fix(format!("start the app, listening on 0.0.0.0:{port} (check the port it uses)"))
        }
        _ => Layer::fail("tcp", &failure, evidence),
    }
}

/// Whether `address` answers briefly: `Some(true)` connected, `Some(false)` refused
/// (the host is up), `None` nothing.
async fn answers(address: SocketAddr) -> Option<bool> {
    match tokio::time::timeout(EXTRA, TcpStream::connect(address)).await {
        Ok(Ok(_)) => Some(true),
        Ok(Err(error)) if error.kind() == std::io::ErrorKind::ConnectionRefused => Some(false),
        _ => None,
    }
}

/// Whether `address` is one of this machine's own (not loopback) and its port answers
/// on 127.0.0.1: an app bound to loopback only.
async fn listens_on_loopback_only(address: SocketAddr) -> bool {
    let local = !address.ip().is_loopback() && std::net::UdpSocket::bind((address.ip(), 0)).is_ok();
    if !local {
        return false;
    }
    let loopback = SocketAddr::from(([127, 0, 0, 1], address.port()));
    answers(loopback).await == Some(true)
}
