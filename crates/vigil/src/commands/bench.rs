//! `vigil bench probes`: many HTTP monitors against a local target, measuring schedule
//! lag, the share of checks on time, CPU per 1,000 checks and peak RSS.
//!
//! The target server runs in a child process (`vigil bench target`), so the figures are
//! Vigil's alone. Vigil's side runs the real scheduler, probes, conditions and engine
//! (with an SQLite store) on a single-threaded runtime unless `--threads` says more.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::{mpsc, watch};
use vigil_config::{DeliveryConfig, HttpTarget, MonitorConfig, Target};
use vigil_core::condition::Condition;
use vigil_core::hysteresis::Thresholds;
use vigil_core::{MonitorName, SystemClock};
use vigil_store::Store;

use crate::metrics::Metrics;
use crate::monitor::engine::Engine;
use crate::monitor::{scheduler, Monitor, Monitors};
use crate::probes::HttpClient;

/// A check counts as on time when it starts within this of its schedule.
const ON_TIME: Duration = Duration::from_millis(100);
/// Target addresses: several loopback IPs so ephemeral ports do not run out.
pub(crate) const TARGET_IPS: u8 = 8;

pub struct ProbeBench {
    pub monitors: usize,
    pub interval: Duration,
    pub duration: Duration,
    pub threads: usize,
    pub max_concurrent: usize,
    /// CPUs to pin the target to (`taskset -c` syntax).
    pub target_cpus: Option<String>,
}

pub fn probes(options: ProbeBench) -> anyhow::Result<()> {
    let port = vigil_port()?;
    let mut target = TargetProcess::spawn_on(port, options.target_cpus.as_deref())?;
    let target_pid = target.pid();
    let runtime = if options.threads <= 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()?
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(options.threads).enable_all().build()?
    };
    // On a worker, as `vigil run` spawns its engine: from `block_on`'s own thread every
    // check's result would wake another thread.
    let result = runtime.block_on(async move { tokio::spawn(async move { run_probes(&options, port, target_pid).await }).await? });
    target.stop();
    result
}

pub(crate) fn vigil_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits (up to 5 s) until the bench target answers on every address it serves.
pub(crate) async fn wait_for_target(port: u16) -> anyhow::Result<()> {
    for ip in 1..=TARGET_IPS {
        let address = SocketAddr::from(([127, 0, 0, ip], port));
        let mut ready = false;
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(address).await.is_ok() {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        anyhow::ensure!(ready, "bench target did not start on {address}");
    }
    Ok(())
}

async fn run_probes(options: &ProbeBench, port: u16, target_pid: Option<u32>) -> anyhow::Result<()> {
    wait_for_target(port).await?;
    let dir = tempfile::tempdir()?;
    let store = Store::open(&format!("sqlite://{}", dir.path().join("bench.db").display())).await?;
    let conditions = vec![Condition::parse("[STATUS] == 200")?, Condition::parse("[BODY].status == OK")?];
    let monitors: Monitors = (0..options.monitors)
        .map(|index| {
            let ip = (index % usize::from(TARGET_IPS)) as u8 + 1;
            let url = format!("http://127.0.0.{ip}:{port}/health?m={index}");
            Ok(Monitor::new(MonitorConfig {
                name: MonitorName::parse(&format!("bench-{index}"))?,
                target: Target::Http(HttpTarget {
                    url: url.parse()?,
                    method: http::Method::GET,
                    headers: Default::default(),
                    body: None,
                    follow_redirects: false,
                    verify_tls: true,
                    host_from_address: false,
                }),
                interval: options.interval,
                timeout: options.interval.min(Duration::from_secs(2)),
                retry_interval: None,
                conditions: conditions.clone(),
                matcher: None,
                health_check: None,
                thresholds: Thresholds::default(),
                notify: Vec::new(),
                actions: Vec::new(),
                labels: std::collections::BTreeMap::new(),
            }))
        })
        .collect::<anyhow::Result<Vec<_>>>()?
        .into();
    let metrics = Arc::new(Metrics::new());
    let mut engine =
        Engine::restore(Arc::clone(&monitors), store, metrics, crate::effects::Effects::new(DeliveryConfig::default())).await?;
    let (events_tx, mut events) = mpsc::channel(1024);
    let (stop_tx, stop_rx) = watch::channel(false);
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let target_cpu = || target_pid.map_or(0.0, |pid| cpu_seconds_of(&pid.to_string()));
    let target_before = target_cpu();
    let states = vec![vigil_core::hysteresis::MonitorState::default(); monitors.len()];
    let checks = scheduler::spawn(
        monitors,
        states,
        HttpClient::new(),
        options.max_concurrent,
        options.threads.max(1),
        Arc::new(SystemClock),
        events_tx,
        stop_rx,
    )?;

    // The first intervals hold each monitor's first checks and its unknown → up
    // transition (a store write per monitor); the figures are for the steady state after:
    // from one interval after every monitor is UP and stored (two intervals at least).
    let mut warm_up = options.interval * 2;
    let mut settled = false;
    let mut end = started + warm_up + options.duration;
    let mut lags: Vec<Duration> = Vec::with_capacity(options.monitors * 16);
    let (mut failed, mut measured_cpu_from) = (0usize, None);
    let deadline = tokio::time::sleep_until((end + options.interval * 10).into());
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(done) = event else { break };
                if !settled && Instant::now() >= started + options.interval && engine.pending() == 0 && engine.unknown() == 0 {
                    settled = true;
                    warm_up = warm_up.max(started.elapsed() + options.interval);
                    end = started + warm_up + options.duration;
                    deadline.as_mut().reset(end.into());
                }
                if settled && Instant::now() >= started + warm_up {
                    measured_cpu_from.get_or_insert_with(|| (cpu_seconds(), target_cpu()));
                    lags.push(done.lag);
                    failed += usize::from(!done.check.healthy);
                }
                engine.handle_check(done);
                if events.is_empty() || engine.pending() >= crate::monitor::engine::MAX_BATCH {
                    engine.flush().await;
                }
            }
            () = &mut deadline => break,
        }
    }
    let (cpu_from, target_from) = measured_cpu_from.unwrap_or((cpu_before, target_before));
    let (cpu, target_cpu_used) = (cpu_seconds() - cpu_from, target_cpu() - target_from);
    let measured = started.elapsed().saturating_sub(warm_up).as_secs_f64().max(1e-9);
    let _ = stop_tx.send(true);
    drop(events);
    checks.join().await;

    lags.sort_unstable();
    let checks = lags.len();
    let expected = options.monitors as f64 * options.duration.as_secs_f64() / options.interval.as_secs_f64();
    let percentile = |p: f64| lags.get(((checks as f64 * p) as usize).min(checks.saturating_sub(1))).copied().unwrap_or_default();
    let on_time = lags.iter().filter(|lag| **lag <= ON_TIME).count();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "vigil bench probes: {} monitors, interval {:?}, measured {:?} after {:?} warm-up, {} probe thread(s)",
        options.monitors,
        options.interval,
        options.duration,
        warm_up,
        options.threads.max(1)
    );
    println!(
        "  checks          {checks} ({:.1}% of the {expected:.0} scheduled), failed {failed}",
        checks as f64 * 100.0 / expected.max(1.0)
    );
    println!("  on time (<=100ms) {:.3}%", on_time as f64 * 100.0 / checks.max(1) as f64);
    println!(
        "  schedule lag    p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(percentile(0.50)),
        ms(percentile(0.90)),
        ms(percentile(0.99)),
        ms(lags.last().copied().unwrap_or_default())
    );
    println!(
        "  cpu             {cpu:.2} s total, {:.3} s per 1,000 checks, {:.2} of a core",
        cpu * 1000.0 / checks.max(1) as f64,
        cpu / measured
    );
    println!(
        "  target cpu      {target_cpu_used:.2} s total, {:.2} of a core{}",
        target_cpu_used / measured,
        options.target_cpus.as_deref().map(|cpus| format!(" (pinned to CPUs {cpus})")).unwrap_or_default()
    );
    println!("  peak rss        {:.1} MB", peak_rss_kb() as f64 / 1024.0);
    let mut pinned = options.target_cpus.as_deref().map(|cpus| format!(" --target-cpus {cpus}")).unwrap_or_default();
    if options.max_concurrent != 1000 {
        pinned.push_str(&format!(" --max-concurrent {}", options.max_concurrent));
    }
    println!("reproduce: ulimit -n 20000; cargo build --release -p vigil && target/release/vigil bench probes --monitors {} --interval {}s --duration {}s --threads {}{pinned}", options.monitors, options.interval.as_secs(), options.duration.as_secs(), options.threads.max(1));
    Ok(())
}

/// User + system CPU seconds of this process, from /proc (Linux; 100 ticks per second).
fn cpu_seconds() -> f64 {
    cpu_seconds_of("self")
}

/// User + system CPU seconds of /proc/PID (`self` for this process).
pub(crate) fn cpu_seconds_of(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| fields.get(index).and_then(|field| field.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of stat (utime, stime) are at 11 and 12 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// Peak resident set size in KiB (VmHWM).
pub(crate) fn peak_rss_kb() -> u64 {
    proc_status_kb("VmHWM:")
}

/// A size field of /proc/self/status in KiB, e.g. `VmRSS:`.
pub(crate) fn proc_status_kb(field: &str) -> u64 {
    proc_status_kb_of("self", field)
}

/// A size field of /proc/PID/status in KiB (`self` for this process).
pub(crate) fn proc_status_kb_of(pid: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

pub(crate) struct TargetProcess(Option<Child>);

impl TargetProcess {
    pub(crate) fn spawn(port: u16) -> anyhow::Result<TargetProcess> {
        TargetProcess::spawn_on(port, None)
    }

    /// The target, pinned to `cpus` (`taskset -c` syntax: `taskset` execs it, so the
    /// child's pid is the target's).
    pub(crate) fn spawn_on(port: u16, cpus: Option<&str>) -> anyhow::Result<TargetProcess> {
        let exe = std::env::current_exe().context("locating the vigil binary")?;
        let mut command = match cpus {
            Some(cpus) => {
                let mut command = Command::new("taskset");
                command.args(["-c", cpus]).arg(exe);
                command
            }
            None => Command::new(exe),
        };
        let child = command
            .args(["bench", "target", "--port", &port.to_string()])
            .env("VIGIL_LOG", "error")
            .stdout(Stdio::null())
            .spawn()
            .context(if cpus.is_some() { "starting the bench target with taskset (util-linux)" } else { "starting the bench target" })?;
        Ok(TargetProcess(Some(child)))
    }

    pub(crate) fn pid(&self) -> Option<u32> {
        self.0.as_ref().map(Child::id)
    }

    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TargetProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The bench target: `{"status":"OK"}` on every loopback IP 127.0.0.1-8 at `port`.
pub async fn target(port: u16) -> anyhow::Result<()> {
    let api = crate::demo::FakeApi::default();
    for ip in 1..=TARGET_IPS {
        api.serve(SocketAddr::from(([127, 0, 0, ip], port))).await?;
    }
    std::future::pending::<()>().await;
    Ok(())
}
