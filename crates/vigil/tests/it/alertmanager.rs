//! Vigil as a drop-in Alertmanager, through the real clients: Debian's `amtool` posts
//! alerts to API v2 with a bearer token, queries them, adds, queries and expires a
//! silence; an inhibit rule mutes a dependent alert; the group's notification arrives
//! as one mail through real SMTP (aiosmtpd) after group-wait. Debian's `prometheus`
//! evaluates an alert rule over a scraped metric and sends to Vigil's API v2: the
//! group's firing mail, an amtool silence muting it, and the resolved mail.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vigil_testkit::{skip_or_fail, SmtpServer};

use crate::helpers::{subjects, Vigil};

/// Notifier, receiver and route: one mail per group (group-wait and group-interval 1 s).
fn mail_route(smtp: u16, group_by: &str) -> String {
    format!(
        "delivery:\n  initial-backoff: 100ms\n  max-backoff: 200ms\n\
         notifiers:\n  mail:\n    type: email\n    smtp-host: 127.0.0.1\n    smtp-port: {smtp}\n    tls: none\n\
         \x20   from: vigil@example.com\n    to: [oncall@example.com]\n\
         receivers:\n  - name: oncall\n    notify: [mail]\n\
         route:\n  receiver: oncall\n  group-by: {group_by}\n  group-wait: 1s\n  group-interval: 1s\n  repeat-interval: 1h\n"
    )
}

fn present(program: &str) -> bool {
    Command::new(program).arg("--version").output().is_ok_and(|output| output.status.success())
}

fn amtool_present() -> bool {
    present("amtool")
}

struct Amtool {
    url: String,
    http_config: std::path::PathBuf,
}

impl Amtool {
    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let output = Command::new("amtool")
            .arg(format!("--alertmanager.url={}", self.url))
            .arg(format!("--http.config.file={}", self.http_config.display()))
            .args(args)
            .output()
            .expect("run amtool");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    fn ok(&self, args: &[&str]) -> String {
        let (ok, stdout, stderr) = self.run(args);
        assert!(ok, "amtool {args:?} failed:\n{stdout}\n{stderr}");
        stdout
    }
}

fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn amtool_works_against_vigil_and_a_group_mails_once() {
    if !amtool_present() {
        skip_or_fail("amtool (Debian's prometheus-alertmanager) is not installed");
        return;
    }
    let Some(smtp) = SmtpServer::start() else { return };
    let vigil = Vigil::start(|port, _| {
        format!(
            "listen: 127.0.0.1:{port}\n{}\
             inhibit-rules:\n  - source-matchers: ['severity=\"critical\"']\n    target-matchers: ['severity=\"warning\"']\n    equal: [service]\n",
            mail_route(smtp.port(), "[alertname]")
        )
    });
    vigil_testkit::wait_for_port(vigil.port, Duration::from_secs(10));
    let (code, token, stderr) = vigil.command(&["token", "create", "amtool", "--role", "responder"]);
    assert_eq!(code, Some(0), "{stderr}");
    let http_config = vigil.dir.path().join("amtool-http.yml");
    std::fs::write(&http_config, format!("authorization:\n  credentials: {}\n", token.trim())).expect("write http config");
    let amtool = Amtool { url: format!("http://127.0.0.1:{}", vigil.port), http_config };

    // Without the token, amtool is refused.
    let bare = Command::new("amtool")
        .args([&format!("--alertmanager.url=http://127.0.0.1:{}", vigil.port), "alert", "query"])
        .output()
        .expect("amtool");
    assert!(!bare.status.success(), "no token, no answer");

    amtool.ok(&["alert", "add", "alertname=Errors", "service=api", "severity=warning", "--annotation=summary=api errors"]);
    amtool.ok(&["alert", "add", "alertname=Errors", "service=web", "severity=warning"]);
    let listed = amtool.ok(&["alert", "query"]);
    assert_eq!(listed.matches("Errors").count(), 2, "{listed}");
    assert!(listed.contains("api errors"), "{listed}");

    // One group (alertname=Errors): one mail after group-wait, listing both.
    let mails = smtp.wait_for_messages(1, Duration::from_secs(20));
    assert_eq!(subjects(&mails), ["[Vigil] [FIRING:2] alertname=Errors"]);

    // A silence, by amtool: the web alert leaves the default query, shows with --silenced.
    let id = amtool.ok(&["silence", "add", "service=web", "--comment=deploy", "--duration=1h"]).trim().to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let silences = amtool.ok(&["silence", "query"]);
    assert!(silences.contains(&id) && silences.contains("deploy"), "{silences}");
    let quiet = amtool.ok(&["alert", "query", "-o", "extended"]);
    assert!(!quiet.contains("service=\"web\"") && quiet.contains("service=\"api\""), "{quiet}");
    let silenced = amtool.ok(&["alert", "query", "--silenced", "-o", "extended"]);
    assert!(silenced.contains("web"), "{silenced}");

    // Inhibition: a critical alert of the api service mutes its warning.
    amtool.ok(&["alert", "add", "alertname=Down", "service=api", "severity=critical"]);
    wait_until("the inhibition", || {
        let (_, out, _) = amtool.run(&["alert", "query", "--inhibited", "-o", "json"]);
        let alerts: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap_or_default();
        alerts
            .iter()
            .any(|alert| alert["labels"]["service"] == "api" && alert["status"]["inhibitedBy"].as_array().is_some_and(|by| !by.is_empty()))
    });
    let active = amtool.ok(&["alert", "query", "alertname=Errors"]);
    assert!(!active.contains("Errors"), "the api warning is inhibited, the web one silenced: {active}");

    // Expired by amtool, the silence is history and the web alert is back.
    amtool.ok(&["silence", "expire", &id]);
    wait_until("the expiry", || !amtool.ok(&["silence", "query"]).contains(&id));
    let expired = amtool.ok(&["silence", "query", "--expired"]);
    assert!(expired.contains(&id), "expired silences are kept: {expired}");
    assert!(amtool.ok(&["alert", "query", "-o", "extended"]).contains("service=\"web\""));

    // The audit trail names the token behind each write.
    let (code, audit, stderr) = vigil.command(&["token", "audit", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(audit.contains("by amtool"), "{audit}");
}

/// A scrape target serving `app_errors VALUE`, the value set by the test.
fn metric_target(value: Arc<AtomicU64>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the scrape target");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let body = format!("# TYPE app_errors gauge\napp_errors {}\n", value.load(Ordering::SeqCst));
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// A `prometheus` child process, killed on drop.
struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_alerts_mail_their_group_and_amtool_silences_them() {
    if !present("prometheus") || !amtool_present() {
        skip_or_fail("prometheus and amtool (Debian's prometheus and prometheus-alertmanager) are not installed");
        return;
    }
    let Some(smtp) = SmtpServer::start() else { return };
    let vigil = Vigil::start(|port, _| format!("listen: 127.0.0.1:{port}\n{}", mail_route(smtp.port(), "[alertname, service]")));
    let (code, token, stderr) = vigil.command(&["token", "create", "prometheus", "--role", "responder"]);
    assert_eq!(code, Some(0), "{stderr}");
    let token = token.trim().to_owned();
    let http_config = vigil.dir.path().join("amtool-http.yml");
    std::fs::write(&http_config, format!("authorization:\n  credentials: {token}\n")).expect("write http config");
    let amtool = Amtool { url: format!("http://127.0.0.1:{}", vigil.port), http_config };

    let errors = Arc::new(AtomicU64::new(3));
    let target = metric_target(errors.clone());
    let dir = vigil.dir.path();
    std::fs::write(
        dir.join("rules.yml"),
        "groups:\n  - name: app\n    rules:\n      - alert: HighErrorRate\n        expr: app_errors > 0\n\
         \x20       labels:\n          severity: warning\n          service: api\n\
         \x20       annotations:\n          summary: 'api errors: {{ $value }}'\n",
    )
    .expect("write rules");
    std::fs::write(
        dir.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files: [rules.yml]\n\
             scrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\n\
             alerting:\n  alertmanagers:\n    - api_version: v2\n      authorization:\n        credentials: {token}\n\
             \x20     static_configs:\n        - targets: ['127.0.0.1:{vigil}']\n",
            vigil = vigil.port
        ),
    )
    .expect("write prometheus config");
    let web = vigil_testkit::free_port();
    let log = std::fs::File::create(dir.join("prometheus.log")).expect("log file");
    let _prometheus = Prometheus(
        Command::new("prometheus")
            .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{web}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn prometheus"),
    );
    let prometheus_log = || std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default();

    // Prometheus's alert reaches Vigil, and its group mails once.
    let mails = smtp.wait_for_messages(1, Duration::from_secs(40));
    assert_eq!(subjects(&mails), ["[Vigil] [FIRING:1] alertname=HighErrorRate service=api"], "{}", prometheus_log());
    let mail = crate::helpers::body(&mails[0]);
    assert!(mail.contains("api errors: 3"), "Prometheus's annotation: {mail}");
    let listed = amtool.ok(&["alert", "query", "-o", "json"]);
    let alerts: Vec<serde_json::Value> = serde_json::from_str(&listed).expect("amtool json");
    assert_eq!(alerts.len(), 1, "{listed}");
    assert!(alerts[0]["generatorURL"].as_str().is_some_and(|url| url.contains(&web.to_string())), "{listed}");

    // amtool silences it: suppressed while Prometheus keeps re-sending, active once expired.
    let id = amtool.ok(&["silence", "add", "alertname=HighErrorRate", "--comment=known", "--duration=1h"]).trim().to_owned();
    let state = || {
        let out = amtool.ok(&["alert", "query", "--active", "--silenced", "-o", "json"]);
        let alerts: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap_or_default();
        alerts.first().map(|alert| alert["status"]["state"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(state().as_deref(), Some("suppressed"));
    amtool.ok(&["silence", "expire", &id]);
    wait_until("the silence's expiry", || state().as_deref() == Some("active"));

    // The metric drops: Prometheus resolves the alert, and the group says so.
    errors.store(0, Ordering::SeqCst);
    let mails = smtp.wait_for_messages(2, Duration::from_secs(40));
    assert_eq!(
        subjects(&mails),
        ["[Vigil] [FIRING:1] alertname=HighErrorRate service=api", "[Vigil] [RESOLVED] alertname=HighErrorRate service=api"],
        "{}",
        prometheus_log()
    );
}

/// Two `vigil run` nodes on one PostgreSQL, alerts posted to both: each group
/// notification (the firing one, then the resolved one) is sent once.
#[tokio::test(flavor = "multi_thread")]
async fn two_nodes_on_one_postgres_send_each_group_notification_once() {
    if !amtool_present() {
        skip_or_fail("amtool (Debian's prometheus-alertmanager) is not installed");
        return;
    }
    let Some(cluster) = vigil_testkit::PostgresCluster::start() else { return };
    let Some(smtp) = SmtpServer::start() else { return };
    let storage = cluster.database("vigil");
    let config = |port: u16| {
        format!(
            "storage: {storage}\nlisten: 127.0.0.1:{port}\n{}",
            mail_route(smtp.port(), "[alertname]").replace("group-wait: 1s", "group-wait: 2s")
        )
    };
    let first = Vigil::start(|port, _| config(port));
    let second = Vigil::start(|port, _| config(port));
    let (code, token, stderr) = first.command(&["token", "create", "amtool", "--role", "responder"]);
    assert_eq!(code, Some(0), "{stderr}");
    let http_config = first.dir.path().join("amtool-http.yml");
    std::fs::write(&http_config, format!("authorization:\n  credentials: {}\n", token.trim())).expect("write http config");
    let node = |vigil: &Vigil| Amtool { url: format!("http://127.0.0.1:{}", vigil.port), http_config: http_config.clone() };
    let (one, two) = (node(&first), node(&second));

    one.ok(&["alert", "add", "alertname=Errors", "service=api"]);
    two.ok(&["alert", "add", "alertname=Errors", "service=web"]);
    one.ok(&["alert", "add", "alertname=Errors", "service=db"]);
    let mails = smtp.wait_for_messages(1, Duration::from_secs(20));
    assert_eq!(subjects(&mails), ["[Vigil] [FIRING:3] alertname=Errors"]);

    // Resolved on both nodes (amtool's end time in the past), announced once.
    let ended = "--end=2000-01-01T00:00:00Z";
    for (amtool, service) in [(&two, "service=api"), (&one, "service=web"), (&two, "service=db")] {
        amtool.ok(&["alert", "add", "alertname=Errors", service, "--start=1999-12-31T00:00:00Z", ended]);
    }
    let mails = smtp.wait_for_messages(2, Duration::from_secs(20));
    // Several group intervals later, still nothing more.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        subjects(&smtp.messages()),
        ["[Vigil] [FIRING:3] alertname=Errors", "[Vigil] [RESOLVED] alertname=Errors"],
        "{mails:?}\n{}\n{}",
        first.logs(),
        second.logs()
    );
    drop((first, second, cluster));
}
