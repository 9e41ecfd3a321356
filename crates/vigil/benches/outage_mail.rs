//! Outage → e-mail accepted by a real SMTP server (aiosmtpd), over several episodes.
//!
//! Reports, per episode, the time from the fault to the accepted mail, from the first
//! failed check to the mail, and from the DOWN decision (the check that crossed the
//! threshold) to the mail. The design bound is `failure-threshold × interval + 250 ms`
//! from the fault; with a `retry-interval`, `failure-threshold × retry-interval` (+ 250
//! ms) from the first failed check.
//!
//! Run: cargo bench -p vigil --bench outage_mail [-- EPISODES INTERVAL_MS [RETRY_MS]]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use vigil::demo::FakeApi;
use vigil_core::SystemClock;
use vigil_testkit::SmtpServer;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).filter(|arg| !arg.starts_with("--"));
    let episodes: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let interval_ms: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let retry_ms: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let Some(smtp) = SmtpServer::start() else { return Ok(()) };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let retry = (retry_ms > 0).then(|| Duration::from_millis(retry_ms));
    runtime.block_on(run(&smtp, episodes, Duration::from_millis(interval_ms), retry))
}

async fn run(smtp: &SmtpServer, episodes: usize, interval: Duration, retry: Option<Duration>) -> anyhow::Result<()> {
    let api = FakeApi::default();
    let api_address = api.serve(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let dir = tempfile::tempdir()?;
    let yaml = format!(
        "storage: sqlite://{db}\nlisten: 127.0.0.1:0\n\
         notifiers:\n  oncall:\n    type: email\n    smtp-host: 127.0.0.1\n    smtp-port: {port}\n    tls: none\n    from: vigil@example.com\n    to: [oncall@example.com]\n\
         monitors:\n  - name: api\n    url: http://{api_address}/health\n    interval: {ms}ms\n{retry_line}    timeout: {timeout}ms\n    failure-threshold: 2\n    success-threshold: 2\n    notify: [oncall]\n",
        db = dir.path().join("vigil.db").display(),
        port = smtp.port(),
        ms = interval.as_millis(),
        timeout = (retry.unwrap_or(interval).as_millis() / 2).max(1),
        retry_line = retry.map(|retry| format!("    retry-interval: {}ms\n", retry.as_millis())).unwrap_or_default(),
    );
    let config = vigil_config::load_str(Path::new("bench.yaml"), &yaml, &|_| None).map_err(|e| anyhow::anyhow!("{e}"))?;
    let running = vigil::run::start(config, Arc::new(SystemClock)).await?;
    let store = vigil_store::Store::open(&format!("sqlite://{}", dir.path().join("vigil.db").display())).await?;
    let threshold = 2u32;
    let bound = interval * threshold + Duration::from_millis(250);
    let retry_bound = retry.map(|retry| retry * threshold + Duration::from_millis(250));
    println!(
        "outage -> mail: {episodes} episodes, interval {interval:?}, retry-interval {retry:?}, failure-threshold {threshold}; \
         bound from fault {bound:?}, from the first failed check {retry_bound:?}"
    );
    let mut from_fault = Vec::new();
    let mut from_first_failure = Vec::new();
    let mut from_decision = Vec::new();
    for episode in 0..episodes {
        // Healthy long enough to be UP, then fail at a random phase of the interval.
        tokio::time::sleep(interval * 3 + interval.mul_f64(fastrand::f64())).await;
        let mails_before = smtp.messages().len();
        let checks_before = api.health_checks();
        let fault = SystemTime::now();
        api.set_failing(true);
        let deadline = Instant::now() + interval * 10;
        let mut first_failure = None;
        let arrived = loop {
            if first_failure.is_none() && api.health_checks() > checks_before {
                first_failure = Some(SystemTime::now());
            }
            if let Some(mtime) = newest_mail_time(smtp, mails_before) {
                break mtime;
            }
            anyhow::ensure!(Instant::now() < deadline, "no outage mail in episode {episode}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        let after_first_failure = arrived.duration_since(first_failure.unwrap_or(fault)).unwrap_or_default();
        let total = arrived.duration_since(fault).unwrap_or_default();
        let decided = store.transitions("api", 1).await?.first().map(|t| t.at.0).unwrap_or_default();
        let decided = SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(decided).unwrap_or(0));
        let overhead = arrived.duration_since(decided).unwrap_or_default();
        println!(
            "  episode {episode}: fault -> mail {:>7.1} ms, first failed check -> mail {:>7.1} ms, DOWN decided -> mail {:>6.1} ms",
            ms(total),
            ms(after_first_failure),
            ms(overhead)
        );
        from_fault.push(total);
        from_first_failure.push(after_first_failure);
        from_decision.push(overhead);
        api.set_failing(false);
        tokio::time::sleep(interval * 3).await;
    }
    running.stop().await?;
    let max = |values: &[Duration]| values.iter().max().copied().unwrap_or_default();
    let median = |values: &[Duration]| {
        let mut sorted = values.to_vec();
        sorted.sort();
        sorted.get(sorted.len() / 2).copied().unwrap_or_default()
    };
    println!(
        "  median: fault -> mail {:.1} ms, first failed check -> mail {:.1} ms",
        ms(median(&from_fault)),
        ms(median(&from_first_failure))
    );
    println!(
        "  worst: fault -> mail {:.1} ms (bound {:.0} ms), first failed check -> mail {:.1} ms, decided -> mail {:.1} ms",
        ms(max(&from_fault)),
        ms(bound),
        ms(max(&from_first_failure)),
        ms(max(&from_decision))
    );
    println!(
        "reproduce: cargo bench -p vigil --bench outage_mail -- {episodes} {} {}",
        interval.as_millis(),
        retry.map_or(0, |retry| retry.as_millis())
    );
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The time a mail beyond the first `known` is seen (polled every 2 ms), if any.
fn newest_mail_time(smtp: &SmtpServer, known: usize) -> Option<SystemTime> {
    (smtp.messages().len() > known).then(SystemTime::now)
}
