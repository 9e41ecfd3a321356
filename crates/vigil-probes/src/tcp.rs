//! TCP connect probe: `[CONNECTED]`, `[IP]` and `[RESPONSE_TIME]`.

use std::time::{Duration, Instant};

use crate::failure::ProbeFailure;
use crate::http::resolve;
use crate::ProbeResult;

pub async fn probe(host: &str, port: u16, timeout: Duration) -> ProbeResult {
    let started = Instant::now();
    let mut result = ProbeResult::default();
    let outcome = tokio::time::timeout(timeout, async {
        let (address, dns) = resolve(host, port).await?;
        result.timings.dns = dns;
        result.address = Some(address);
        let connect_started = Instant::now();
        tokio::net::TcpStream::connect(address).await.map_err(|error| ProbeFailure::connect(address, &error))?;
        result.timings.connect = Some(connect_started.elapsed());
        Ok::<(), ProbeFailure>(())
    })
    .await;
    match outcome {
        Ok(Ok(())) => result.connected = true,
        Ok(Err(failure)) => result.failure = Some(failure),
        Err(_) => result.failure = Some(ProbeFailure::timed_out(timeout, result.progress(false))),
    }
    result.response_time = started.elapsed();
    result
}
