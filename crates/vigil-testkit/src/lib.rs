//! Test harnesses that start real outside programs on loopback: a throwaway PostgreSQL
//! cluster and an `aiosmtpd` SMTP server. When a program is missing the test skips with
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
}

impl SmtpServer {
    /// Starts the server, or returns `None` (after [`skip_or_fail`]) without aiosmtpd.
    pub fn start() -> Option<SmtpServer> {
        let available = Command::new("python3").args(["-c", "import aiosmtpd"]).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
        if !available {
            skip_or_fail("aiosmtpd (pip install aiosmtpd)");
            return None;
        }
        let maildir = tempfile::Builder::new().prefix("vigil-smtp-").tempdir().unwrap_or_else(|error| panic!("temp dir: {error}"));
        let mut server = SmtpServer { maildir, port: free_port(), child: None };
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
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{}", self.port), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(self.maildir.path().join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start aiosmtpd: {error}"));
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
