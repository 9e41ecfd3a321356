//! `spawn_vigil()` and friends: a fake API in the test, Vigil as a child process.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use vigil::demo::FakeApi;
use vigil::probes::{HttpClient, HttpRequest};

pub const WAIT: Duration = Duration::from_secs(30);

/// The fake API the monitor watches, served in the test process.
pub async fn fake_api() -> (FakeApi, SocketAddr) {
    let api = FakeApi::default();
    let address = api.serve(SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("serve fake api");
    (api, address)
}

/// A config for one fast monitor (`fitpay-api`, 200 ms interval) that mails `smtp_port`.
pub fn config(storage: &str, listen_port: u16, api: SocketAddr, smtp_port: u16) -> String {
    format!(
        "storage: {storage}\n\
         listen: 127.0.0.1:{listen_port}\n\
         delivery:\n  initial-backoff: 200ms\n  max-backoff: 1s\n\
         notifiers:\n  oncall:\n    type: email\n    smtp-host: 127.0.0.1\n    smtp-port: {smtp_port}\n    tls: none\n\
         \x20   from: vigil@example.com\n    to: [oncall@example.com]\n    timeout: 5s\n\
         monitors:\n  - name: fitpay-api\n    url: http://{api}/health\n    interval: 200ms\n    timeout: 150ms\n\
         \x20   conditions: [\"[STATUS] == 200\", \"[BODY].status == OK\"]\n    failure-threshold: 2\n    success-threshold: 2\n\
         \x20   notify: [oncall]\n"
    )
}

pub fn vigil_binary() -> &'static str {
    env!("CARGO_BIN_EXE_vigil")
}

/// Runs `vigil ARGS` to completion; returns (exit code, stdout, stderr).
pub fn vigil_command(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(vigil_binary()).args(args).env("VIGIL_LOG", "warn").output().expect("run vigil");
    (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// A `vigil run` child process with its own temp dir, config and log.
pub struct Vigil {
    pub dir: TempDir,
    pub port: u16,
    child: Option<Child>,
    runs: usize,
    /// Extra environment for every run (credentials, say).
    env: Vec<(String, String)>,
    /// Extra arguments after `run -c CONFIG`.
    args: Vec<String>,
}

impl Vigil {
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("vigil.yaml")
    }

    /// Writes `config` (built for `port`) and starts `vigil run`.
    pub fn start(config: impl FnOnce(u16, &Path) -> String) -> Vigil {
        Vigil::start_with(config, &[], &[])
    }

    /// [`Vigil::start`] with extra environment variables and `vigil run` arguments.
    pub fn start_with(config: impl FnOnce(u16, &Path) -> String, env: &[(&str, &str)], args: &[&str]) -> Vigil {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = vigil_testkit::free_port();
        std::fs::write(dir.path().join("vigil.yaml"), config(port, dir.path())).expect("write config");
        let env = env.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
        let args = args.iter().map(|arg| (*arg).to_owned()).collect();
        let mut vigil = Vigil { dir, port, child: None, runs: 0, env, args };
        vigil.restart();
        vigil
    }

    /// Runs `vigil ARGS -c CONFIG` with this process's environment; (exit code, stdout, stderr).
    pub fn command(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let output = Command::new(vigil_binary())
            .args(args)
            .arg("-c")
            .arg(self.config_path())
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .env("VIGIL_LOG", "warn")
            .output()
            .expect("run vigil");
        (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
    }

    /// Starts `vigil run` again (after a kill or stop), logging to `run-N.log`.
    pub fn restart(&mut self) {
        self.runs += 1;
        let log = std::fs::File::create(self.dir.path().join(format!("run-{}.log", self.runs))).expect("log file");
        let child = Command::new(vigil_binary())
            .args(["run", "-c"])
            .arg(self.config_path())
            .args(&self.args)
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .env("VIGIL_LOG", "info,vigil=debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn vigil");
        self.child = Some(child);
        assert!(vigil_testkit::wait_for_port(self.port, WAIT), "vigil did not listen:\n{}", self.logs());
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill_9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill -9");
            let _ = child.wait();
        }
    }

    /// SIGTERM, then wait for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill -TERM");
        assert!(status.success());
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "vigil did not stop on SIGTERM:\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sets an environment variable for the next runs.
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.retain(|(existing, _)| existing != name);
        self.env.push((name.to_owned(), value.to_owned()));
    }

    /// The running child's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn logs(&self) -> String {
        (1..=self.runs)
            .map(|run| std::fs::read_to_string(self.dir.path().join(format!("run-{run}.log"))).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n--- restart ---\n")
    }

    /// Reads one sample from `/metrics`, e.g. `vigil_checks_total{result="failure"}`.
    pub async fn metric(&self, sample: &str) -> f64 {
        let response = get(self.port, "/metrics", Default::default()).await;
        let text = String::from_utf8_lossy(&response.body);
        text.lines().find_map(|line| line.strip_prefix(sample).and_then(|rest| rest.trim().parse().ok())).unwrap_or(0.0)
    }

    /// Polls until `sample` reaches `at_least`.
    pub async fn wait_for_metric(&self, sample: &str, at_least: f64) {
        let deadline = Instant::now() + WAIT;
        loop {
            if self.metric(sample).await >= at_least {
                return;
            }
            assert!(Instant::now() < deadline, "{sample} never reached {at_least}:\n{}", self.logs());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Vigil {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// The body of a raw message with quoted-printable soft breaks and escapes decoded.
pub fn body(message: &str) -> String {
    vigil::demo::quoted_printable(message.split_once("\n\n").map_or(message, |(_, body)| body))
}

/// The subject line of a raw message.
pub fn subject(message: &str) -> String {
    message.lines().find_map(|line| line.strip_prefix("Subject: ")).unwrap_or_default().to_owned()
}

pub fn subjects(messages: &[String]) -> Vec<String> {
    messages.iter().map(|message| subject(message)).collect()
}

/// `GET http://127.0.0.1:PORT/PATH` with `headers`.
pub async fn get(port: u16, path: &str, headers: std::collections::BTreeMap<String, String>) -> vigil::probes::ProbeResult {
    request(port, http::Method::GET, path, headers, None).await
}

/// `METHOD http://127.0.0.1:PORT/PATH` with `headers` and `body`.
pub async fn request(
    port: u16,
    method: http::Method,
    path: &str,
    headers: std::collections::BTreeMap<String, String>,
    body: Option<String>,
) -> vigil::probes::ProbeResult {
    let request = HttpRequest {
        method,
        url: format!("http://127.0.0.1:{port}{path}").parse().expect("url"),
        headers,
        body: body.map(Into::into),
        timeout: Duration::from_secs(5),
        follow_redirects: false,
        verify_tls: true,
        host_from_address: false,
    };
    HttpClient::new().send(&request).await
}
