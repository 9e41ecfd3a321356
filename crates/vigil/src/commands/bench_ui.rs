//! `vigil bench ui`: the signed-in UI over many monitors with 90 days of history (a
//! 10-minute outage per monitor every week, staggered; a day of hourly response times
//! each; some monitors down now): the overview through the router with gzip, its HTML
//! and compressed sizes, a monitor's page and the alerts page.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use tower::ServiceExt;
use vigil_core::hysteresis::Health;
use vigil_core::{Clock, SystemClock, Timestamp};
use vigil_store::Store;

use crate::http::AppState;
use crate::monitor::Check;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

pub async fn ui(monitors: usize, days: u32, reads: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(&format!("sqlite://{}", dir.path().join("bench.db").display())).await?;
    let mut yaml = String::from("storage: sqlite://unused.db\nmonitors:\n");
    for index in 0..monitors {
        yaml.push_str(&format!("  - name: service-{index:05}\n    url: https://service-{index:05}.internal.example/health\n"));
    }
    let config = vigil_config::load_str(Path::new("bench.yaml"), &yaml, &|_| None).map_err(|errors| anyhow::anyhow!("{errors}"))?;

    let now = SystemClock.now();
    let start = now.0 - i64::from(days) * DAY;
    let run = store.start_run("bench", Timestamp(start)).await?;
    store.heartbeat(run, now).await?;
    let started = Instant::now();
    let mut writes = Vec::new();
    let mut transitions = 0;
    for index in 0..monitors {
        let monitor = format!("service-{index:05}");
        let transition =
            |at: i64, from: Health, to: Health| super::bench_status::transition_write(&monitor, at, from, to, "[STATUS] (503) == 200");
        writes.push(transition(start, Health::Unknown, Health::Up));
        let mut at = start + (index as i64 % (7 * 24)) * HOUR;
        while at + 10 * MINUTE < now.0 {
            writes.push(transition(at, Health::Up, Health::Down));
            writes.push(transition(at + 10 * MINUTE, Health::Down, Health::Up));
            at += 7 * DAY;
        }
        // One in a hundred is down now.
        if index % 100 == 0 {
            writes.push(transition(now.0 - 5 * MINUTE, Health::Up, Health::Down));
        }
        if writes.len() >= 4_096 {
            transitions += writes.len();
            store.record_transitions(&std::mem::take(&mut writes), Duration::from_secs(86_400)).await?;
        }
    }
    transitions += writes.len();
    store.record_transitions(&writes, Duration::from_secs(86_400)).await?;
    let filled = started.elapsed();

    let state = AppState::standalone(&config, store.clone(), Arc::new(SystemClock));
    // A day of checks per monitor, one an hour, a failure now and then.
    for index in 0..monitors {
        for hour in 0..24 {
            let healthy = (index + hour) % 37 != 0;
            let result = vigil_probes::ProbeResult {
                response_time: Duration::from_millis(20 + ((index * 7 + hour * 13) % 180) as u64),
                status: Some(if healthy { 200 } else { 503 }),
                ..vigil_probes::ProbeResult::default()
            };
            let check = Check { at: Timestamp(now.0 - (23 - hour as i64) * HOUR), result, conditions: Vec::new(), healthy };
            let failures = if healthy { Vec::new() } else { vec!["[STATUS] (503) == 200".to_owned()] };
            state.history.record(index, &check, &failures);
        }
    }
    // What `vigil run` does at start and as each day begins.
    let warm = Instant::now();
    state.bars.bars(SystemClock.now()).await?;
    let warm = warm.elapsed();
    let parts = Instant::now();
    state.bars.bars(SystemClock.now()).await?;
    let today = parts.elapsed();
    let parts = Instant::now();
    let _ = state.history.summaries(24, SystemClock.now());
    let sparklines = parts.elapsed();
    let (record, token) = crate::auth::mint("bench", vigil_core::auth::Role::Viewer, now)?;
    store.create_token(&record, "bench").await?;
    let app = crate::http::router(state);
    let login = Request::post("/ui/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("token={token}")))?;
    let answer = app.clone().oneshot(login).await?;
    let cookie = answer
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .ok_or_else(|| anyhow::anyhow!("signing in failed: {}", answer.status()))?
        .to_owned();

    println!("ui: {monitors} monitors, {days} days of history, {transitions} transitions (stored in {filled:.1?})");
    println!("  past days' uptime computed in {warm:.1?} (at start and once a day, not per request)");
    println!("  per overview: today's uptime of every monitor {today:.1?}, response-time sparklines {sparklines:.1?}");
    // A monitor that is down now (one in a hundred is), or the last one of a small run.
    let monitor_page = format!("/ui/monitors/service-{:05}", 100.min(monitors - 1));
    for (path, gzip) in [("/ui", true), ("/ui", false), (monitor_page.as_str(), false), ("/ui/alerts", false)] {
        let mut times = Vec::new();
        let mut size = 0;
        let mut html = 0;
        for _ in 0..reads {
            let mut request = Request::get(path).header(header::COOKIE, &cookie);
            if gzip {
                request = request.header(header::ACCEPT_ENCODING, "gzip, deflate, br");
            }
            let started = Instant::now();
            let response = app.clone().oneshot(request.body(Body::empty())?).await?;
            anyhow::ensure!(response.status() == StatusCode::OK, "{path}: {}", response.status());
            // Our own router's answer, read within a real limit.
            #[allow(clippy::disallowed_methods)]
            let body = axum::body::to_bytes(response.into_body(), 256 << 20).await?;
            times.push(started.elapsed());
            size = body.len();
            if gzip {
                let mut decoder = flate2::read::GzDecoder::new(&body[..]);
                let mut chunk = vec![0u8; 1 << 16];
                html = 0;
                loop {
                    let read = decoder.read(&mut chunk)?;
                    if read == 0 {
                        break;
                    }
                    html += read;
                }
            }
        }
        times.sort();
        let what = if gzip { format!("{path} (gzip)") } else { path.to_owned() };
        println!(
            "  {what:<32} median {:>9.1?}  slowest {:>9.1?}  {:>8} KB{}",
            times[times.len() / 2],
            times[times.len() - 1],
            size / 1024,
            if gzip { format!(" compressed ({} KB of HTML)", html / 1024) } else { String::new() }
        );
    }
    println!("reproduce: vigil bench ui --monitors {monitors} --days {days} --reads {reads}");
    Ok(())
}

/// `vigil bench api`: `rate` API reads a second for `duration` while `vigil run` probes
/// `monitors` monitors every 5 s against a local target in a child process.
pub async fn api(monitors: usize, rate: u32, duration: Duration) -> anyhow::Result<()> {
    use super::bench::{vigil_port, TargetProcess, TARGET_IPS};
    let port = vigil_port()?;
    let mut target = TargetProcess::spawn(port)?;
    let outcome = api_against(monitors, rate, duration, port, TARGET_IPS).await;
    target.stop();
    outcome
}

async fn api_against(monitors: usize, rate: u32, duration: Duration, port: u16, ips: u8) -> anyhow::Result<()> {
    super::bench::wait_for_target(port).await?;
    let dir = tempfile::tempdir()?;
    let listen = super::bench::vigil_port()?;
    let mut yaml = format!("storage: sqlite://{}/bench.db\nlisten: 127.0.0.1:{listen}\nmonitors:\n", dir.path().display());
    for index in 0..monitors {
        let ip = index % usize::from(ips) + 1;
        yaml.push_str(&format!(
            "  - name: m{index}\n    url: http://127.0.0.{ip}:{port}/health?m={index}\n    interval: 5s\n    timeout: 2s\n"
        ));
    }
    std::fs::write(dir.path().join("vigil.yaml"), &yaml)?;
    let config = vigil_config::load_file(&dir.path().join("vigil.yaml")).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    let store = super::record::open(&config).await?;
    let running = crate::run::start(config, Arc::new(SystemClock)).await?;
    let (record, token) = crate::auth::mint("bench", vigil_core::auth::Role::Viewer, SystemClock.now())?;
    store.create_token(&record, "bench").await?;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let base = format!("http://{}", running.http_address);
    let checks_before = checks_done(&base).await;

    let routes = ["/api/v1/alerts", "/api/v1/incidents", "/api/v2/alerts", "/api/v1/oncall", "/api/v1/alerts?all=true&limit=50"];
    let client = vigil_probes::HttpClient::new();
    let total = (f64::from(rate) * duration.as_secs_f64()) as usize;
    let every = Duration::from_secs_f64(1.0 / f64::from(rate));
    let started = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..total {
        let planned = started + every * u32::try_from(index).unwrap_or(u32::MAX);
        tokio::time::sleep_until(planned).await;
        let route = routes[index % routes.len()];
        let request = vigil_probes::HttpRequest {
            method: axum::http::Method::GET,
            url: format!("{base}{route}").parse()?,
            headers: [("Authorization".to_owned(), format!("Bearer {token}"))].into_iter().collect(),
            body: None,
            timeout: Duration::from_secs(10),
            follow_redirects: false,
            verify_tls: true,
            host_from_address: false,
        };
        let client = client.clone();
        tasks.spawn(async move {
            let result = client.send(&request).await;
            (route, result.status, planned.elapsed())
        });
    }
    let mut by_route: std::collections::BTreeMap<&str, Vec<Duration>> = std::collections::BTreeMap::new();
    let mut failed = 0;
    while let Some(done) = tasks.join_next().await {
        let (route, status, took) = done?;
        if status != Some(200) {
            failed += 1;
        }
        by_route.entry(route).or_default().push(took);
    }
    let measured = started.elapsed();
    let checks = checks_done(&base).await - checks_before;
    running.stop().await?;

    let quantile = |sorted: &[Duration], q: f64| sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1];
    println!(
        "api: {total} reads at {rate}/s over {measured:.1?} while probing {monitors} monitors every 5 s ({checks:.0} checks done, {:.0}/s); {failed} not 200",
        checks / measured.as_secs_f64()
    );
    let mut all = Vec::new();
    for (route, mut times) in by_route {
        times.sort();
        println!(
            "  {route:<36} p50 {:>8.2?}  p99 {:>8.2?}  max {:>8.2?}",
            quantile(&times, 0.5),
            quantile(&times, 0.99),
            times[times.len() - 1]
        );
        all.extend(times);
    }
    all.sort();
    println!("  {:<36} p50 {:>8.2?}  p99 {:>8.2?}  max {:>8.2?}", "all", quantile(&all, 0.5), quantile(&all, 0.99), all[all.len() - 1]);
    println!("reproduce: vigil bench api --monitors {monitors} --rate {rate} --duration {}s", duration.as_secs());
    Ok(())
}

/// `vigil_checks_total` summed over results, from `/metrics`.
async fn checks_done(base: &str) -> f64 {
    let client = vigil_probes::HttpClient::new();
    let Ok(url) = format!("{base}/metrics").parse() else { return 0.0 };
    let request = vigil_probes::HttpRequest {
        method: axum::http::Method::GET,
        url,
        headers: std::collections::BTreeMap::new(),
        body: None,
        timeout: Duration::from_secs(10),
        follow_redirects: false,
        verify_tls: true,
        host_from_address: false,
    };
    let result = client.send(&request).await;
    String::from_utf8_lossy(&result.body)
        .lines()
        .filter(|line| line.starts_with("vigil_checks_total"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
