//! TCP connect probe: `[CONNECTED]`, `[IP]` and `[RESPONSE_TIME]`.

use std::time::{Duration, Instant};

use super::http::resolve;
use super::ProbeResult;

pub async fn probe(host: &str, port: u16, timeout: Duration) -> ProbeResult {
    let started = Instant::now();
    let mut result = ProbeResult::default();
    let outcome = tokio::time::timeout(timeout, async {
        let (address, dns) = resolve(host, port).await?;
        result.timings.dns = dns;
        result.address = Some(address);
        let connect_started = Instant::now();
        tokio::net::TcpStream::connect(address).await.map_err(|error| super::http::describe_io(&error))?;
        result.timings.connect = Some(connect_started.elapsed());
        Ok::<(), String>(())
    })
    .await;
    match outcome {
        Ok(Ok(())) => result.connected = true,
        Ok(Err(error)) => result.error = Some(error),
        Err(_) => result.error = Some(format!("timed out after {}", vigil_core::time::format_duration(timeout))),
    }
    result.response_time = started.elapsed();
    result
}
