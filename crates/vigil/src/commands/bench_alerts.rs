//! `vigil bench alerts`: Vigil as an Alertmanager under load, beside Debian's
//! Alertmanager in the same run when it is installed. Each server runs as its own
//! process with the same routing tree (1,000 groups), 100 silences and 20 inhibit rules;
//! the bench posts 10,000 alerts to `POST /api/v2/alerts` one per request (the
//! latency of each: routed and stored, for Vigil), then reads them all with
//! `GET /api/v2/alerts`, and reports each server's CPU seconds and peak RSS.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::routing::post;
use bytes::Bytes;
use vigil_core::{Clock, SystemClock, Timestamp};

/// Debian's name for Alertmanager's server.
const ALERTMANAGER: &str = "prometheus-alertmanager";
const GROUP_SIZE: usize = 10;
const SILENCES: usize = 100;
const INHIBIT_RULES: usize = 20;

/// The workload's shape, for both servers.
pub struct AlertBench {
    pub alerts: usize,
    pub reads: usize,
    /// SQLite's `synchronous` for Vigil's store.
    pub synchronous: String,
}

/// One server under test, killed on drop.
struct Server {
    name: &'static str,
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn group_labels(index: usize) -> (String, String) {
    let group = index / GROUP_SIZE;
    (format!("A{}", group % 10), format!("s{}", group / 10))
}

/// Alert `index`: its group is (alertname, service); every 50th group is critical.
fn alert_json(index: usize, now: Timestamp) -> String {
    let (alertname, service) = group_labels(index);
    let severity = if (index / GROUP_SIZE) % 50 == 0 { "critical" } else { "warning" };
    serde_json::json!([{
        "labels": {"alertname": alertname, "service": service, "instance": format!("n{}", index % GROUP_SIZE), "severity": severity},
        "annotations": {"summary": format!("{alertname} on {service}")},
        "startsAt": now.to_rfc3339(),
        "endsAt": now.saturating_add(Duration::from_secs(3600)).to_rfc3339(),
        "generatorURL": "http://prometheus.example/graph",
    }])
    .to_string()
}

fn silence_json(index: usize, now: Timestamp) -> String {
    serde_json::json!({
        "matchers": [
            {"name": "service", "value": format!("s{index}"), "isRegex": false, "isEqual": true},
            {"name": "instance", "value": "n0", "isRegex": false, "isEqual": true},
        ],
        "startsAt": now.to_rfc3339(),
        "endsAt": now.saturating_add(Duration::from_secs(7200)).to_rfc3339(),
        "createdBy": "bench",
        "comment": "bench",
    })
    .to_string()
}

/// Rule k: a critical alert of A{k} inhibits warnings of A{k+1} on the same service.
fn inhibit_rules_yaml(alertmanager: bool) -> String {
    let (source, target) = if alertmanager { ("source_matchers", "target_matchers") } else { ("source-matchers", "target-matchers") };
    (0..INHIBIT_RULES)
        .map(|k| {
            format!(
                "  - {source}: ['alertname=\"A{}\"', 'severity=\"critical\"']\n    {target}: ['alertname=\"A{}\"', 'severity=\"warning\"']\n    equal: [service]\n",
                k % 10,
                (k + 1) % 10
            )
        })
        .collect()
}

fn start_vigil(dir: &Path, sink: u16, synchronous: &str) -> anyhow::Result<Server> {
    let port = free_port()?;
    let config = format!(
        "storage: sqlite://{db}?synchronous={synchronous}\nlisten: 127.0.0.1:{port}\napi:\n  alertmanager-auth: none\n\
         notifiers:\n  hook:\n    type: webhook\n    url: http://127.0.0.1:{sink}/hook\n\
         receivers:\n  - name: team\n    notify: [hook]\n\
         route:\n  receiver: team\n  group-by: [alertname, service]\n  group-wait: 1s\n  group-interval: 5s\n  repeat-interval: 4h\n\
         inhibit-rules:\n{rules}",
        db = dir.join("vigil.db").display(),
        rules = inhibit_rules_yaml(false),
    );
    let path = dir.join("vigil.yaml");
    std::fs::write(&path, config)?;
    let exe = std::env::current_exe().context("locating the vigil binary")?;
    let child = Command::new(exe)
        .arg("run")
        .arg("-c")
        .arg(&path)
        .env("VIGIL_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .context("starting vigil run")?;
    Ok(Server { name: "vigil", child, port })
}

fn start_alertmanager(dir: &Path, sink: u16) -> anyhow::Result<Option<Server>> {
    if Command::new(ALERTMANAGER).arg("--version").output().is_err() {
        return Ok(None);
    }
    let port = free_port()?;
    let config = format!(
        "route:\n  receiver: team\n  group_by: [alertname, service]\n  group_wait: 1s\n  group_interval: 5s\n  repeat_interval: 4h\n\
         receivers:\n  - name: team\n    webhook_configs:\n      - url: http://127.0.0.1:{sink}/hook\n\
         inhibit_rules:\n{rules}",
        rules = inhibit_rules_yaml(true)
    );
    let path = dir.join("alertmanager.yml");
    std::fs::write(&path, config)?;
    let child = Command::new(ALERTMANAGER)
        .arg(format!("--config.file={}", path.display()))
        .arg(format!("--storage.path={}", dir.join("am-data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .arg("--log.level=error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting prometheus-alertmanager")?;
    Ok(Some(Server { name: "alertmanager", child, port }))
}

/// One request on a new loopback connection, the whole body read (the probes' client
/// caps bodies; a list of 10,000 alerts is megabytes).
async fn send(port: u16, method: http::Method, path: &str, body: Option<String>) -> anyhow::Result<(u16, Bytes)> {
    use http_body_util::{BodyExt, Full};
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::HOST, format!("127.0.0.1:{port}"))
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.unwrap_or_default())))?;
    let response = tokio::time::timeout(Duration::from_secs(30), sender.send_request(request)).await??;
    let status = response.status().as_u16();
    // Frames up to a cap: 10,000 alerts are a few MB.
    const CAP: usize = 256 * 1024 * 1024;
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            anyhow::ensure!(bytes.len() + data.len() <= CAP, "{path}: the answer is over {CAP} bytes");
            bytes.extend_from_slice(&data);
        }
    }
    Ok((status, Bytes::from(bytes)))
}

/// User + system CPU seconds and peak RSS (KiB) of process `pid`, from /proc (Linux).
fn usage(pid: u32) -> (f64, u64) {
    let pid = pid.to_string();
    (super::bench::cpu_seconds_of(&pid), super::bench::proc_status_kb_of(&pid, "VmHWM:"))
}

fn percentile(sorted: &[Duration], share: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 * share).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

struct Figures {
    post: Vec<Duration>,
    post_wall: Duration,
    read_all: Vec<Duration>,
    read_active: Vec<Duration>,
    listed: usize,
    active: usize,
    cpu: f64,
    rss_kb: u64,
}

async fn measure(server: &Server, options: &AlertBench) -> anyhow::Result<Figures> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !send(server.port, http::Method::GET, "/api/v2/status", None).await.is_ok_and(|(status, _)| status == 200) {
        anyhow::ensure!(Instant::now() < deadline, "{} did not answer on port {}", server.name, server.port);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let now = SystemClock.now();
    for index in 0..SILENCES {
        let (status, body) = send(server.port, http::Method::POST, "/api/v2/silences", Some(silence_json(index, now))).await?;
        anyhow::ensure!(status == 200, "{}: silence refused: {}", server.name, String::from_utf8_lossy(&body));
    }
    let mut post = Vec::with_capacity(options.alerts);
    let started = Instant::now();
    for index in 0..options.alerts {
        // As Prometheus sends them: starting when they began to fire, just now.
        let body = alert_json(index, SystemClock.now());
        let sent = Instant::now();
        let (status, answer) = send(server.port, http::Method::POST, "/api/v2/alerts", Some(body)).await?;
        post.push(sent.elapsed());
        anyhow::ensure!(status == 200, "{}: alert refused: {}", server.name, String::from_utf8_lossy(&answer));
    }
    let post_wall = started.elapsed();
    post.sort();
    // Let group-wait pass and the first notifications go, then read.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let read = |path: &'static str| async move {
        let mut times = Vec::new();
        let mut count = 0;
        for _ in 0..options.reads {
            let sent = Instant::now();
            let (status, body) = send(server.port, http::Method::GET, path, None).await?;
            times.push(sent.elapsed());
            anyhow::ensure!(status == 200, "{}: {path}: {status}", server.name);
            count = serde_json::from_slice::<Vec<serde_json::Value>>(&body)?.len();
        }
        times.sort();
        anyhow::Ok((times, count))
    };
    let (read_all, listed) = read("/api/v2/alerts").await?;
    let (read_active, active) = read("/api/v2/alerts?active=true&silenced=false&inhibited=false").await?;
    let (cpu, rss_kb) = usage(server.child.id());
    Ok(Figures { post, post_wall, read_all, read_active, listed, active, cpu, rss_kb })
}

fn print(name: &str, figures: &Figures) {
    println!("{name}:");
    println!(
        "  POST /api/v2/alerts   p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({:.0} alerts/s, one per request)",
        percentile(&figures.post, 0.50),
        percentile(&figures.post, 0.99),
        percentile(&figures.post, 1.0),
        figures.post.len() as f64 / figures.post_wall.as_secs_f64().max(1e-9)
    );
    println!(
        "  GET  /api/v2/alerts   p50 {:.1} ms, max {:.1} ms for {} alerts (all)",
        percentile(&figures.read_all, 0.50),
        percentile(&figures.read_all, 1.0),
        figures.listed
    );
    println!(
        "  GET  ...?silenced=false&inhibited=false   p50 {:.1} ms, max {:.1} ms for {} alerts (amtool's default)",
        percentile(&figures.read_active, 0.50),
        percentile(&figures.read_active, 1.0),
        figures.active
    );
    println!("  cpu {:.2} s, peak rss {:.1} MB", figures.cpu, figures.rss_kb as f64 / 1024.0);
}

pub async fn alerts(options: AlertBench) -> anyhow::Result<()> {
    // The webhook receiver both servers notify.
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::Relaxed);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sink = listener.local_addr()?.port();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let groups = options.alerts.div_ceil(GROUP_SIZE);
    println!(
        "vigil bench alerts: {} alerts in {groups} groups, {SILENCES} silences, {INHIBIT_RULES} inhibit rules; {} reads of each list",
        options.alerts, options.reads
    );
    let dir = tempfile::tempdir()?;
    let vigil = start_vigil(dir.path(), sink, &options.synchronous)?;
    let figures = measure(&vigil, &options).await?;
    drop(vigil);
    let vigil_notified = received.swap(0, Ordering::Relaxed);
    print(&format!("vigil (SQLite, synchronous={}, one process)", options.synchronous), &figures);
    println!("  webhook notifications received {vigil_notified}");

    match start_alertmanager(dir.path(), sink)? {
        Some(alertmanager) => {
            let peer = measure(&alertmanager, &options).await?;
            drop(alertmanager);
            print("alertmanager (Debian's prometheus-alertmanager, same workload)", &peer);
            println!("  webhook notifications received {}", received.load(Ordering::Relaxed));
            println!(
                "ratio (alertmanager / vigil): POST p99 {:.2}x, GET all p50 {:.2}x, cpu {:.2}x, rss {:.2}x",
                percentile(&peer.post, 0.99) / percentile(&figures.post, 0.99).max(1e-9),
                percentile(&peer.read_all, 0.50) / percentile(&figures.read_all, 0.50).max(1e-9),
                peer.cpu / figures.cpu.max(1e-9),
                peer.rss_kb as f64 / (figures.rss_kb as f64).max(1.0)
            );
        }
        None => println!("alertmanager: `{ALERTMANAGER}` not installed (apt-get install prometheus-alertmanager); no side-by-side figures"),
    }
    println!(
        "reproduce: cargo build --release -p vigil && target/release/vigil bench alerts --alerts {} --reads {} --synchronous {}",
        options.alerts, options.reads, options.synchronous
    );
    Ok(())
}
