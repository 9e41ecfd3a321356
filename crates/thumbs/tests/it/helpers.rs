//! Starting thumbs in-process on temp folders, and reading what it did.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vigil::probes::{HttpClient, HttpRequest, ProbeResult};

pub const WAIT: Duration = Duration::from_secs(60);

/// A config for local input and output under `dir`, listening on a free port.
pub fn local_config(dir: &Path, extra: &str) -> String {
    format!(
        "input: file://{dir}/in\noutput: file://{dir}/out\nlisten: 127.0.0.1:0\nqueue: sqlite://{dir}/thumbs.db\nsigning-key: k3y\n\
         scan-interval: 1s\nsizes:\n  - {{name: small, width: 64}}\n  - {{name: square, width: 32, height: 32, fit: cover}}\n{extra}",
        dir = dir.display()
    )
}

pub async fn start(dir: &Path, extra: &str) -> thumbs::run::Running {
    let config = thumbs::config::load_str(&dir.join("thumbs.yaml"), &local_config(dir, extra), &|_| None).expect("config");
    thumbs::run::start(config, Arc::new(vigil_core::SystemClock)).await.expect("start")
}

/// The thumbs binary on `dir/thumbs.yaml` (which listens on `port`), logging to
/// `dir/run-{run}.log`; returns once it listens.
pub fn spawn(dir: &Path, port: u16, run: usize) -> Child {
    let log = std::fs::File::create(dir.join(format!("run-{run}.log"))).expect("log");
    let child = Command::new(env!("CARGO_BIN_EXE_thumbs"))
        .args(["run", "-c"])
        .arg(dir.join("thumbs.yaml"))
        .env("THUMBS_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn thumbs");
    assert!(vigil_testkit::wait_for_port(port, WAIT), "thumbs did not listen on {port}");
    child
}

pub async fn get(port: u16, path: &str, headers: &[(&str, &str)]) -> ProbeResult {
    let request = HttpRequest {
        method: http::Method::GET,
        url: format!("http://127.0.0.1:{port}{path}").parse().expect("url"),
        headers: headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        body: None,
        timeout: Duration::from_secs(30),
        follow_redirects: false,
        verify_tls: true,
        host_from_address: false,
    };
    HttpClient::new().send(&request).await
}

/// One sample of `/metrics`, e.g. `thumbs_cache_hits_total`.
pub async fn metric(port: u16, sample: &str) -> f64 {
    let response = get(port, "/metrics", &[]).await;
    String::from_utf8_lossy(&response.body)
        .lines()
        .find_map(|line| line.strip_prefix(sample).and_then(|rest| rest.trim().parse().ok()))
        .unwrap_or(0.0)
}

/// Polls until `done` holds.
pub async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done().await {
        assert!(Instant::now() < deadline, "{what} did not happen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
