//! `vigil bench slos`: many log SLOs with 30-day windows full of events (the memory they
//! take, how long storing and rebuilding them takes), and ten SLOs on one stream (lines
//! a second through the SLO detector on one thread, with a line a second and a thousand
//! lines a second of event time).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use vigil_core::{SystemClock, Timestamp};
use vigil_logql::eval::pipeline::Labels;
use vigil_store::Store;

use crate::effects::Effects;
use crate::metrics::Metrics;
use crate::slos::SloDetector;

const MINUTE: i64 = 60_000;
const DAY: i64 = 24 * 60 * MINUTE;

/// A small deterministic generator, so runs repeat.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound.max(1)
    }
}

pub async fn slos(count: usize, days: i64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(&format!("sqlite://{}", dir.path().join("bench.db").display())).await?;
    let mut yaml = String::from("slos:\n");
    for slo in 0..count {
        yaml.push_str(&format!(
            "  - name: svc{slo}-availability\n    objective: 99.9%\n    window: 30d\n    errors: '{{app=\"svc{slo}\"}} | json | status >= 500'\n    total: '{{app=\"svc{slo}\"}}'\n"
        ));
    }
    let config = vigil_config::load_str(Path::new("bench.yaml"), &yaml, &|_| None).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    let (effects, metrics) = (Effects::new(config.delivery), Metrics::new());
    let before = super::bench::proc_status_kb("VmRSS:");
    let mut detector = SloDetector::logs(&config.slos).on_node("bench", Arc::new(SystemClock));
    let built = super::bench::proc_status_kb("VmRSS:");

    // Every SLO's windows filled: `days` of one batch of events a minute (about ten
    // events a second, one in a thousand bad, a burst now and then), then the last six
    // hours event by event, a second apart.
    let end = (vigil_core::Clock::now(&SystemClock).0 / MINUTE) * MINUTE;
    let start = end - days * DAY;
    let fine_from = end - 6 * 60 * MINUTE;
    let mut random = Lcg(7);
    let started = Instant::now();
    let mut events = 0u64;
    let mut at = start;
    while at < fine_from {
        for slo in 0..count {
            let total = 550 + random.below(100);
            let bad = if random.below(5_000) == 0 { total / 10 } else { random.below(2) };
            detector.count(slo, at, total, bad);
            events += 1;
        }
        at += MINUTE;
    }
    while at < end {
        for slo in 0..count {
            detector.count(slo, at, 10, u64::from(random.below(1_000) == 0));
            events += 1;
        }
        at += 1_000;
    }
    let filled = started.elapsed();
    let after = super::bench::proc_status_kb("VmRSS:");
    let heap = detector.heap_bytes();
    println!("vigil bench slos: {count} log SLOs with {days}-day windows, each filled with {days} days of events");
    println!(
        "  filled          {events} counts in {:.1} s (the SLOs take {:.1} MB before any event)",
        filled.as_secs_f64(),
        built.saturating_sub(before) as f64 / 1024.0
    );
    println!(
        "  memory          {:.1} MB of RSS for the SLOs ({:.0} KB each); windows {:.1} MB ({:.0} KB each); peak rss {:.1} MB",
        after.saturating_sub(before) as f64 / 1024.0,
        after.saturating_sub(before) as f64 / count.max(1) as f64,
        heap as f64 / 1_048_576.0,
        heap as f64 / 1024.0 / count.max(1) as f64,
        super::bench::peak_rss_kb() as f64 / 1024.0
    );

    let started = Instant::now();
    detector.sync(&store, &effects, &metrics, true).await;
    let saved = started.elapsed();
    let rows: i64 = store.slo_block_count().await?;
    let database = std::fs::metadata(dir.path().join("bench.db")).map_or(0, |metadata| metadata.len())
        + std::fs::metadata(dir.path().join("bench.db-wal")).map_or(0, |metadata| metadata.len());
    println!(
        "  stored          {rows} blocks in {:.2} s (SQLite, {:.1} MB with its WAL)",
        saved.as_secs_f64(),
        database as f64 / 1_048_576.0
    );
    drop(detector);

    let started = Instant::now();
    let mut rebuilt = SloDetector::logs(&config.slos).on_node("bench", Arc::new(SystemClock));
    rebuilt.restore(&store, &effects).await?;
    let restored = started.elapsed();
    println!(
        "  restart         every window rebuilt in {:.2} s ({:.1} MB of windows)",
        restored.as_secs_f64(),
        rebuilt.heap_bytes() as f64 / 1_048_576.0
    );
    drop(rebuilt);

    throughput()?;
    println!("reproduce: cargo build --release -p vigil && target/release/vigil bench slos --slos {count} --days {days}");
    Ok(())
}

/// Ten SLOs on one stream of access-log lines, on this thread: the detector's own rate.
fn throughput() -> anyhow::Result<()> {
    let yaml = r#"slos:
  - {name: api-availability, objective: 99.9%, errors: '{app="api"} | json | status >= 500', total: '{app="api"}'}
  - {name: api-latency, objective: 99%, errors: '{app="api"} | json | duration > 300ms', total: '{app="api"}'}
  - {name: data-availability, objective: 99.9%, errors: '{app="api"} | json | path = "/api/data" | status >= 500', total: '{app="api"} | json | path = "/api/data"'}
  - {name: data-latency, objective: 99.5%, errors: '{app="api"} | json | path = "/api/data" | duration > 3s', total: '{app="api"} | json | path = "/api/data"'}
  - {name: login-availability, objective: 99.9%, errors: '{app="api"} | json | path = "/login" | status >= 500', total: '{app="api"} | json | path = "/login"'}
  - {name: search-latency, objective: 99%, errors: '{app="api"} | json | path = "/api/search" | duration > 200ms', total: '{app="api"} | json | path = "/api/search"'}
  - {name: writes-availability, objective: 99.95%, errors: '{app="api"} | json | method = "POST" | status >= 500', total: '{app="api"} | json | method = "POST"'}
  - {name: api-latency-fast, objective: 95%, good: '{app="api"} | json | duration < 100ms', total: '{app="api"}'}
  - {name: static-availability, objective: 99.99%, errors: '{app="api"} |= "/static/" | json | status >= 500', total: '{app="api"} |= "/static/"'}
  - {name: orders-availability, objective: 99.9%, window: 28d, errors: '{app="api"} | json | path = "/api/orders" | status >= 500', total: '{app="api"} | json | path = "/api/orders"'}
"#;
    let config = vigil_config::load_str(Path::new("bench.yaml"), yaml, &|_| None).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    let stream: Labels = BTreeMap::from([("app".to_owned(), "api".to_owned())]);
    let paths = ["/api/data", "/api/users", "/api/orders", "/api/items", "/healthz", "/api/search", "/login", "/static/app.js"];
    let lines = 500_000;
    let mut random = Lcg(11);
    let text: Vec<String> = (0..lines)
        .map(|i| {
            let status = if random.below(1_000) < 3 { 500 } else { 200 };
            format!(
                r#"{{"ts":{i},"level":"info","method":"{}","path":"{}","status":{status},"duration":"{:.3}s","bytes":{},"client":"10.0.{}.{}","request_id":"{:016x}"}}"#,
                ["GET", "GET", "GET", "POST"][random.below(4) as usize],
                paths[random.below(paths.len() as u64) as usize],
                random.below(400) as f64 / 1000.0,
                200 + random.below(20_000),
                random.below(256),
                random.below(255),
                random.below(u64::MAX),
            )
        })
        .collect();
    for (label, spacing) in [("a line a second of event time", 1_000), ("a thousand lines a second", 1)] {
        let mut detector = SloDetector::logs(&config.slos);
        let entries: Vec<(i64, String)> =
            text.iter().enumerate().map(|(i, line)| (1_795_341_600_000 + i as i64 * spacing, line.clone())).collect();
        let started = Instant::now();
        let mut alerts = 0;
        for chunk in entries.chunks(1_000) {
            alerts += detector.observe_stream(&stream, chunk, Timestamp(0)).len();
        }
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "  10 slos, one stream, {label}: {:.2} M lines/s on one thread ({alerts} burn alert changes)",
            lines as f64 / elapsed / 1e6
        );
    }
    Ok(())
}
