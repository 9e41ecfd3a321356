//! Test harnesses that start real outside programs on loopback: a throwaway PostgreSQL
//! cluster, an `aiosmtpd` SMTP server and a `moto` AWS-compatible server. When a program is missing the test skips with
//! a printed reason, except under `CI=true`, where missing means fail.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|error| panic!("no free port: {error}"))
}

/// Call when an outside program is missing. Panics under `CI=true`; otherwise prints
/// why the test is skipped. The caller returns right after.
pub fn skip_or_fail(what: &str) {
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{what} is required under CI=true (.ci/run installs it)");
    }
    eprintln!("skipped: {what} is not installed");
}

/// Waits until something accepts TCP connections on `port`.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn find_program(name: &str, extra_dirs: &[PathBuf]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).chain(extra_dirs.iter().cloned()).map(|dir| dir.join(name)).find(|candidate| candidate.is_file())
}

fn postgres_bin_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.filter_map(Result::ok).map(|entry| entry.path().join("bin")).collect())
        .unwrap_or_default();
    dirs.sort();
    dirs.reverse();
    dirs
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|output| output.stdout.starts_with(b"0\n"))
}

/// A PostgreSQL cluster in a temp dir on a free loopback port, stopped and removed on drop.
pub struct PostgresCluster {
    dir: TempDir,
    bin: PathBuf,
    port: u16,
    run_as_postgres: bool,
}

impl PostgresCluster {
    /// Starts a cluster, or returns `None` (after [`skip_or_fail`]) when PostgreSQL's
    /// binaries are not installed.
    pub fn start() -> Option<PostgresCluster> {
        let Some(initdb) = find_program("initdb", &postgres_bin_dirs()) else {
            skip_or_fail("PostgreSQL (initdb, pg_ctl)");
            return None;
        };
        let bin = std::fs::canonicalize(&initdb).ok().and_then(|path| path.parent().map(Path::to_path_buf)).unwrap_or_default();
        let dir = tempfile::Builder::new().prefix("vigil-pg-").tempdir().unwrap_or_else(|error| panic!("temp dir: {error}"));
        // initdb refuses to run as root; the cluster then belongs to the `postgres` user.
        let run_as_postgres = is_root();
        if run_as_postgres {
            let status = Command::new("chown").args(["-R", "postgres:"]).arg(dir.path()).status();
            assert!(status.is_ok_and(|s| s.success()), "chown of the cluster dir to postgres failed");
        }
        let cluster = PostgresCluster { dir, bin, port: free_port(), run_as_postgres };
        let data = cluster.dir.path().join("data");
        cluster.run("initdb", &["-D", path_str(&data), "-U", "vigil", "--auth=trust", "--no-sync", "-E", "UTF8", "--no-instructions"]);
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            cluster.port,
            cluster.dir.path().display()
        );
        let log = cluster.dir.path().join("postgres.log");
        cluster.run("pg_ctl", &["-D", path_str(&data), "-o", &options, "-l", path_str(&log), "-w", "-t", "60", "start"]);
        Some(cluster)
    }

    /// A command for one of PostgreSQL's programs, as the `postgres` user when needed.
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if self.run_as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        }
    }

    fn run(&self, name: &str, args: &[&str]) {
        let program = self.bin.join(name);
        let mut command = self.command(name);
        let output =
            command.args(args).current_dir(self.dir.path()).output().unwrap_or_else(|error| panic!("{}: {error}", program.display()));
        assert!(
            output.status.success(),
            "{} {args:?} failed: {}{}",
            program.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Creates database `name` and returns its URL.
    pub fn database(&self, name: &str) -> String {
        self.run("createdb", &["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "vigil", name]);
        format!("postgres://vigil@127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for PostgresCluster {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = self
            .command("pg_ctl")
            .args(["-D", path_str(&data), "-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap_or_else(|| panic!("non-UTF-8 path {}", path.display()))
}

/// A real SMTP server (`python3 -m aiosmtpd`) that stores each accepted message in a
/// Maildir. Stop and start it again to simulate an outage of the mail relay.
pub struct SmtpServer {
    maildir: TempDir,
    port: u16,
    child: Option<Child>,
    /// With a password, AUTH is required and only this password is accepted.
    password: Option<String>,
}

/// aiosmtpd with AUTH (PLAIN, LOGIN) required over plain text: ARGV port, Maildir,
/// the one password it accepts.
const SMTP_WITH_AUTH: &str = r#"
import sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult
port, maildir, password = int(sys.argv[1]), sys.argv[2], sys.argv[3].encode()
def check(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=getattr(auth_data, "password", None) == password, handled=False)
controller = Controller(Mailbox(maildir), hostname="127.0.0.1", port=port, authenticator=check, auth_require_tls=False, auth_required=True)
controller.start()
while True:
    time.sleep(3600)
"#;

impl SmtpServer {
    /// Starts the server, or returns `None` (after [`skip_or_fail`]) without aiosmtpd.
    pub fn start() -> Option<SmtpServer> {
        let available = Command::new("python3").args(["-c", "import aiosmtpd"]).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
        if !available {
            skip_or_fail("aiosmtpd (pip install aiosmtpd)");
            return None;
        }
        let maildir = tempfile::Builder::new().prefix("vigil-smtp-").tempdir().unwrap_or_else(|error| panic!("temp dir: {error}"));
        let mut server = SmtpServer { maildir, port: free_port(), child: None, password: None };
        server.resume();
        Some(server)
    }

    /// Like [`SmtpServer::start`], but AUTH is required and only `password` passes; any
    /// other answers 535.
    pub fn start_with_password(password: &str) -> Option<SmtpServer> {
        let mut server = SmtpServer::start()?;
        server.stop();
        server.password = Some(password.to_owned());
        server.resume();
        Some(server)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops accepting mail (the process exits; the port refuses connections).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port.
    pub fn resume(&mut self) {
        let mut command = Command::new("python3");
        match &self.password {
            None => command.args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{}", self.port), "-c", "aiosmtpd.handlers.Mailbox"]),
            Some(_) => command.args(["-c", SMTP_WITH_AUTH, &self.port.to_string()]),
        };
        command.arg(self.maildir.path().join("mail"));
        if let Some(password) = &self.password {
            command.arg(password);
        }
        let child =
            command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap_or_else(|error| panic!("cannot start aiosmtpd: {error}"));
        self.child = Some(child);
        assert!(wait_for_port(self.port, Duration::from_secs(20)), "aiosmtpd did not start on port {}", self.port);
    }

    /// Every message accepted so far, raw, oldest first.
    pub fn messages(&self) -> Vec<String> {
        let new = self.maildir.path().join("mail").join("new");
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(new)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|entry| (entry.metadata().and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH), entry.path()))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files.into_iter().filter_map(|(_, path)| std::fs::read_to_string(path).ok()).collect()
    }

    /// Polls until at least `count` messages arrived or `timeout` passed; returns them all.
    pub fn wait_for_messages(&self, count: usize, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= count || Instant::now() >= deadline {
                return messages;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads moto's request recording: one line per request, the Query `Action`, the JSON
/// protocol's `X-Amz-Target`, or `METHOD PATH`.
const MOTO_RECORDED: &str = r#"
import base64, json, sys, urllib.parse
for line in open(sys.argv[1]):
    record = json.loads(line)
    body = record.get("body") or ""
    if record.get("body_encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    headers = {k.lower(): v for k, v in (record.get("headers") or {}).items()}
    action = urllib.parse.parse_qs(body).get("Action", [None])[0] if isinstance(body, str) else None
    print(action or headers.get("x-amz-target") or record["method"] + " " + urllib.parse.urlparse(record["url"]).path)
"#;

/// `moto_server` (PyPI `moto[server]`): AWS APIs on a free loopback port, every request
/// recorded. With authentication on, requests after the first few must be signed by an
/// IAM user whose policies allow them.
pub struct MotoServer {
    dir: TempDir,
    port: u16,
    child: Child,
}

impl MotoServer {
    /// Starts moto without authentication, or returns `None` (after [`skip_or_fail`]).
    pub fn start() -> Option<MotoServer> {
        MotoServer::launch(None)
    }

    /// Starts moto that checks signatures and IAM policies after `unauthenticated`
    /// requests (which set-up uses, e.g. to create the IAM user).
    pub fn start_with_auth(unauthenticated: u32) -> Option<MotoServer> {
        MotoServer::launch(Some(unauthenticated))
    }

    fn launch(unauthenticated: Option<u32>) -> Option<MotoServer> {
        let available =
            Command::new("python3").args(["-c", "import moto.server, boto3"]).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
        if !available {
            skip_or_fail("moto (pip install 'moto[server]')");
            return None;
        }
        let dir = tempfile::Builder::new().prefix("vigil-moto-").tempdir().unwrap_or_else(|error| panic!("temp dir: {error}"));
        let port = free_port();
        let mut command = Command::new("python3");
        command
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_ENABLE_RECORDING", "True")
            .env("MOTO_RECORDER_FILEPATH", dir.path().join("recording.jsonl"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("moto.log")).map(Stdio::from).unwrap_or_else(|_| Stdio::null()));
        if let Some(count) = unauthenticated {
            command.env("INITIAL_NO_AUTH_ACTION_COUNT", count.to_string());
        }
        let child = command.spawn().unwrap_or_else(|error| panic!("cannot start moto: {error}"));
        let server = MotoServer { dir, port, child };
        assert!(wait_for_port(port, Duration::from_secs(60)), "moto did not start on port {port}");
        Some(server)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs a Python snippet with boto3 imported and `kw` holding this server's endpoint,
    /// region `us-east-1` and set-up credentials (`boto3.client("ec2", **kw)`); returns
    /// what it prints. Panics with its error output if it fails.
    pub fn boto3(&self, script: &str) -> String {
        let prelude = format!(
            "import boto3, json\nkw = dict(endpoint_url='{}', region_name='us-east-1', aws_access_key_id='setup', aws_secret_access_key='setup')\n",
            self.endpoint()
        );
        let output = Command::new("python3")
            .args(["-c", &format!("{prelude}{script}")])
            .output()
            .unwrap_or_else(|error| panic!("cannot run python3: {error}"));
        assert!(output.status.success(), "boto3 script failed:\n{script}\n{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// Every request moto received so far: its action or target, oldest first.
    pub fn recorded(&self) -> Vec<String> {
        let file = self.dir.path().join("recording.jsonl");
        if !file.exists() {
            return Vec::new();
        }
        let output = Command::new("python3")
            .args(["-c", MOTO_RECORDED])
            .arg(&file)
            .output()
            .unwrap_or_else(|error| panic!("cannot run python3: {error}"));
        String::from_utf8_lossy(&output.stdout).lines().map(str::to_owned).collect()
    }

    /// How many recorded requests were `action`.
    pub fn count(&self, action: &str) -> usize {
        self.recorded().iter().filter(|recorded| *recorded == action).count()
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
