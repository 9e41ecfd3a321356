//! The CLI as a user runs it: `check`, `probe`, exit codes and messages.

use crate::helpers::*;

#[test]
fn check_reports_located_errors_and_exits_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("vigil.yaml");
    std::fs::write(&path, "monitors:\n  - name: api\n    url: http://127.0.0.1/\n    interval: soon\n    notify: [ghost]\n")
        .expect("write");
    let (code, _, stderr) = vigil_command(&["check", "-c", path.to_str().expect("utf-8")]);
    assert_eq!(code, Some(2));
    let file = path.display();
    assert!(stderr.contains(&format!("{file}:4:15: invalid duration `soon`")), "{stderr}");
    assert!(stderr.contains(&format!("{file}:5:14: unknown notifier `ghost`")), "{stderr}");

    std::fs::write(&path, "monitors:\n  - name: api\n    url: http://127.0.0.1/\n").expect("write");
    let (code, stdout, _) = vigil_command(&["check", "-c", path.to_str().expect("utf-8")]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("ok (1 monitors, 0 rules, 0 actions, 0 notifiers)"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn probe_exits_0_when_healthy_and_1_with_resolved_values_when_not() {
    let (api, address) = fake_api().await;
    let url = format!("http://{address}/health");
    let (code, stdout, _) = tokio::task::spawn_blocking(move || {
        vigil_command(&["probe", url.as_str(), "--condition", "[STATUS] == 200", "--condition", "[BODY].status == OK", "--timeout", "2s"])
    })
    .await
    .expect("join");
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("healthy"), "{stdout}");

    api.set_failing(true);
    let url = format!("http://{address}/health");
    let (code, stdout, _) =
        tokio::task::spawn_blocking(move || vigil_command(&["probe", url.as_str(), "--condition", "[STATUS] == 200", "--json"]))
            .await
            .expect("join");
    assert_eq!(code, Some(1));
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).expect("json");
    assert_eq!(result["status"], 500);
    assert_eq!(result["conditions"][0]["resolved"], "[STATUS] (500) == 200");
    assert_eq!(result["ip"], "127.0.0.1");
    assert!(result["timings_ms"]["connect"].as_f64().is_some(), "{result}");
}

#[test]
fn probe_reports_refused_connections_and_bad_usage() {
    let port = vigil_testkit::free_port();
    let (code, stdout, _) = vigil_command(&["probe", &format!("http://127.0.0.1:{port}/"), "--timeout", "1s"]);
    assert_eq!(code, Some(1));
    assert!(stdout.contains("connection refused"), "{stdout}");
    let (code, stdout, _) = vigil_command(&["probe", &format!("tcp://127.0.0.1:{port}")]);
    assert_eq!(code, Some(1), "{stdout}");

    let (code, _, stderr) = vigil_command(&["probe", "http://127.0.0.1/", "--condition", "[STATUS] < abc"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("`<` needs a number or a duration on the other side, got `abc`"), "{stderr}");
    let (code, _, stderr) = vigil_command(&["probe", "http://127.0.0.1/", "--timeout", "forever"]);
    assert_eq!(code, Some(2), "{stderr}");
}

#[test]
fn rules_lint_accepts_the_seed_rule_and_points_at_unsupported_features() {
    let seed = r#"sum(count_over_time({app="api"} | json | path = "/api/data" | duration > 3s [10m])) > 5"#;
    let (code, stdout, _) = vigil_command(&["rules", "lint", seed]);
    assert_eq!(code, Some(0));
    assert_eq!(stdout.trim(), "ok: metric query");

    let (code, _, stderr) = vigil_command(&["rules", "lint", r#"{app="api"} | line_format "{{.msg}}""#]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("error: column 15: `line_format` is not supported by Vigil's LogQL subset"), "{stderr}");
    assert!(stderr.contains("\n              ^\n"), "a caret under column 15:\n{stderr}");
}

/// Regression: `storage: postgres://u@host/db?password=${PGPASSWORD}` was printed whole
/// in the start line and the `opening store` error, a password holding `@` half printed,
/// and `vigil check` echoed an invalid Slack webhook URL and a storage URL's password.
#[test]
fn credentials_in_urls_never_print() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = vigil_testkit::free_port();
    let closed = vigil_testkit::free_port();
    let cases = [
        format!("listen: 127.0.0.1:{port}\nstorage: postgres://vigil@127.0.0.1:{closed}/db?password=${{PGPASSWORD}}\n"),
        format!("listen: 127.0.0.1:{port}\nstorage: postgres://vigil:${{PGPASSWORD}}@127.0.0.1:{closed}/db\n"),
    ];
    for yaml in cases {
        std::fs::write(dir.path().join("vigil.yaml"), yaml).expect("write config");
        let output = std::process::Command::new(vigil_binary())
            .args(["run", "-c"])
            .arg(dir.path().join("vigil.yaml"))
            .env("PGPASSWORD", "pa@ss/wd")
            .env("VIGIL_LOG", "debug")
            .output()
            .expect("run vigil");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("opening store"), "{stderr}");
        assert!(!stderr.contains("pa@ss") && !stderr.contains("ss/wd"), "{stderr}");
    }
    let yaml = "storage: mysql://root:toor@db/x\nnotifiers:\n  chat:\n    type: slack\n    webhook-url: ftp://hooks.slack.com/services/T0/B0/TOPSECRET\n";
    std::fs::write(dir.path().join("vigil.yaml"), yaml).expect("write config");
    let (code, _, stderr) = vigil_command(&["check", "-c", dir.path().join("vigil.yaml").to_str().expect("utf-8")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("unsupported storage `mysql://root:***@db/x`"), "{stderr}");
    assert!(stderr.contains("invalid Slack webhook-url (not shown: it is a secret)"), "{stderr}");
    assert!(!stderr.contains("toor") && !stderr.contains("TOPSECRET"), "{stderr}");
}

/// Regressions: a config nested 30,000 levels deep overflowed the stack (exit 134), and
/// a rule with the range `[999999999999999999y]` panicked `rules lint`, `check` and `run`.
#[test]
fn hostile_configs_and_rules_get_located_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("vigil.yaml");
    let path_text = path.to_str().expect("utf-8");
    std::fs::write(&path, format!("monitors:\n  {}x\n", "- ".repeat(30_000))).expect("write");
    let (code, _, stderr) = vigil_command(&["check", "-c", path_text]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("vigil.yaml:2:") && stderr.contains("nested too deeply"), "{stderr}");

    let huge = r#"count_over_time({a="b"}[999999999999999999y]) > 1"#;
    let (code, _, stderr) = vigil_command(&["rules", "lint", huge]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("column 25: a range longer than 366d is not supported"), "{stderr}");
    std::fs::write(&path, format!("rules:\n  - name: r\n    expr: '{huge}'\n")).expect("write");
    for command in ["check", "run"] {
        let (code, _, stderr) = vigil_command(&[command, "-c", path_text]);
        assert_eq!(code, Some(2), "{command}: {stderr}");
        assert!(stderr.contains("vigil.yaml:3:11: invalid rule expression: column 25: a range longer than 366d"), "{command}: {stderr}");
    }
}

/// The first five minutes: `vigil demo` starts when port 8080 is taken, prints where it
/// listens, and shows its first outage, with the e-mail on-call would get, within
/// seconds of starting.
#[test]
fn the_demo_starts_on_a_busy_port_and_shows_an_outage_mail_soon() {
    use std::io::BufRead;
    let busy = std::net::TcpListener::bind("127.0.0.1:8080");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = std::process::Command::new(vigil_binary())
        .args(["demo", "--cycle", "30", "--dir"])
        .arg(dir.path())
        .env("VIGIL_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("vigil demo");
    let stdout = child.stdout.take().expect("stdout");
    let started = std::time::Instant::now();
    let (lines, reader) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let mut seen = Vec::new();
    let mail = loop {
        let line = reader.recv_timeout(WAIT).unwrap_or_else(|_| panic!("no outage mail; the demo said:\n{}", seen.join("\n")));
        if line.contains("e-mail accepted by the demo's SMTP server: [Vigil] demo-api is DOWN") {
            break line;
        }
        seen.push(line);
    };
    let elapsed = started.elapsed();
    let text = seen.join("\n");
    if busy.is_ok() {
        assert!(text.contains("port 8080 is taken"), "{text}");
    }
    // The dashboard comes first, with a token that signs in.
    let first = text.lines().skip_while(|line| !line.starts_with("Vigil demo")).nth(1).unwrap_or_default();
    let url = first.strip_prefix("  dashboard:       ").and_then(|rest| rest.split_whitespace().next()).unwrap_or_else(|| panic!("{text}"));
    let token = text.lines().find_map(|line| line.strip_prefix("  token:           ")).and_then(|rest| rest.split_whitespace().next());
    let token = token.unwrap_or_else(|| panic!("{text}"));
    let address = url.trim_start_matches("http://").trim_end_matches("/ui");
    let answer = raw_post(address, "/ui/login", &format!("token={token}"));
    let _ = child.kill();
    let _ = child.wait();
    assert!(answer.starts_with("HTTP/1.1 303") && answer.contains("vigil_session="), "{answer}");
    assert!(text.contains("status page:     http://127.0.0.1:"), "{text}");
    assert!(mail.contains("DOWN"));
    assert!(elapsed < std::time::Duration::from_secs(15), "the first outage mail came after {elapsed:?}");
}

/// A form POST over a plain socket; the whole answer.
fn raw_post(address: &str, path: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).expect("timeout");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("write");
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(read) = stream.read(&mut chunk) {
        if read == 0 || answer.len() > 64 * 1024 {
            break;
        }
        answer.extend_from_slice(&chunk[..read]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// Every example config in the repository passes `vigil check`.
#[test]
fn the_example_configs_pass_check() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for name in ["vigil.yaml", "vigil-thumbs.yaml"] {
        let path = examples.join(name);
        let (code, stdout, stderr) = vigil_command(&["check", "-c", path.to_str().expect("utf-8")]);
        assert_eq!(code, Some(0), "{name}: {stdout}{stderr}");
        assert!(!stderr.contains("warning"), "{name}: {stderr}");
    }
}

/// `vigil diagnose` through the binary: a healthy URL exits 0; a refused port, plain
/// HTTP on an `https://` URL and a missing health route each exit 1 naming the layer,
/// the code and the fix.
#[tokio::test(flavor = "multi_thread")]
async fn diagnose_names_the_layer_that_breaks() {
    let (_api, api) = fake_api().await;
    let root_only = {
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        address
    };
    let bad_gateway = {
        let app = axum::Router::new().route(
            "/",
            axum::routing::get(|| async {
                (axum::http::StatusCode::BAD_GATEWAY, [("server", "nginx/1.22.1"), ("retry-after", "5")], "bad gateway")
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        address
    };
    let closed = vigil_testkit::free_port();
    let run = |args: Vec<String>| async move {
        tokio::task::spawn_blocking(move || vigil_command(&args.iter().map(String::as_str).collect::<Vec<_>>())).await.expect("join")
    };
    let (code, stdout, stderr) = run(vec!["diagnose".into(), format!("http://{api}/health")]).await;
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("every layer answers"), "{stdout}");

    let cases = [
        (format!("http://127.0.0.1:{closed}/"), "tcp", "tcp.refused"),
        (format!("https://{api}/health"), "tls", "tls.plain_http"),
        (format!("http://{root_only}/"), "health", "health.route_missing"),
        (format!("http://{bad_gateway}/"), "http", "lb.bad_gateway"),
    ];
    for (url, layer, expected) in cases {
        let (code, stdout, stderr) = run(vec!["diagnose".into(), url.clone(), "--timeout".into(), "2s".into(), "--json".into()]).await;
        assert_eq!(code, Some(1), "{url}: {stdout}{stderr}");
        let layers: Vec<serde_json::Value> = stdout.lines().map(|line| serde_json::from_str(line).expect("json")).collect();
        let failed: Vec<&serde_json::Value> = layers.iter().filter(|entry| entry["status"] == "fail").collect();
        assert_eq!(failed.len(), 1, "{url}: {stdout}");
        assert_eq!((failed[0]["layer"].as_str(), failed[0]["code"].as_str()), (Some(layer), Some(expected)), "{url}: {stdout}");
        assert!(failed[0]["fix"].as_str().is_some_and(|fix| !fix.is_empty()), "{stdout}");
        if expected == "lb.bad_gateway" {
            assert_eq!(failed[0]["cause"], "the server answered 502 from nginx/1.22.1; Retry-After: 5", "names the proxy: {stdout}");
        }
    }
    let (code, _, stderr) = run(vec!["diagnose".into(), "ftp://x/".into()]).await;
    assert_eq!(code, Some(2), "{stderr}");
}

/// The Flask case: an app on 127.0.0.1 only, diagnosed at the machine's own address,
/// is refused, and the diagnosis says it listens on loopback only.
#[tokio::test(flavor = "multi_thread")]
async fn diagnose_says_when_an_app_listens_on_loopback_only() {
    let Some(own) = std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|socket| socket.connect("192.0.2.1:9").map(|()| socket))
        .ok()
        .and_then(|socket| socket.local_addr().ok())
        .map(|address| address.ip())
        .filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
    else {
        eprintln!("skipped: this machine has no address but loopback");
        return;
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move { while listener.accept().await.is_ok() {} });
    let url = format!("http://{own}:{port}/");
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || vigil_command(&["diagnose", &url, "--json"])).await.expect("join");
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let tcp: serde_json::Value = stdout
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("json"))
        .find(|layer| layer["layer"] == "tcp")
        .expect("tcp layer");
    assert_eq!(tcp["code"], "tcp.refused", "{stdout}");
    assert!(tcp["cause"].as_str().is_some_and(|cause| cause.contains(&format!("listens on 127.0.0.1:{port} only"))), "{stdout}");
    assert!(tcp["fix"].as_str().is_some_and(|fix| fix.contains("0.0.0.0")), "{stdout}");
}

/// `vigil lint terraform` on the shipped examples: the broken stack fails with its
/// located findings, the fixed one and the deploy module pass, a missing directory is
/// a usage error.
#[test]
fn lint_terraform_on_the_examples() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let (code, stdout, stderr) = vigil_command(&["lint", "terraform", &format!("{root}/examples/terraform/broken"), "--json"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let findings: Vec<serde_json::Value> = serde_json::from_str(&stdout).expect("json");
    let blocked = findings.iter().find(|finding| finding["code"] == "terraform.target_port_blocked").expect("blocked port");
    assert_eq!((blocked["line"].as_u64(), blocked["column"].as_u64(), blocked["severity"].as_str()), (Some(75), Some(3), Some("error")));
    assert!(blocked["file"].as_str().is_some_and(|file| file.ends_with("broken/main.tf")), "{stdout}");
    for dir in ["examples/terraform/fixed", "deploy/terraform"] {
        let (code, stdout, stderr) = vigil_command(&["lint", "terraform", &format!("{root}/{dir}")]);
        assert_eq!(code, Some(0), "{dir}: {stdout}{stderr}");
    }
    let (code, _, stderr) = vigil_command(&["lint", "terraform", "/nonexistent-dir"]);
    assert_eq!(code, Some(2), "{stderr}");

    // The deploy module grants exactly what `vigil iam-policy` prints for an SNS notifier.
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("vigil.yaml");
    std::fs::write(
        &config,
        "storage: sqlite://vigil.db\nnotifiers:\n  oncall:\n    type: sns\n    topic-arn: arn:aws:sns:eu-west-1:123456789012:vigil-alerts\n    region: eu-west-1\nmonitors:\n  - name: app\n    url: http://10.0.0.5/\n    notify: [oncall]\n",
    )
    .expect("write");
    let (code, stdout, stderr) = vigil_command(&["iam-policy", "-c", &config.to_string_lossy()]);
    assert_eq!(code, Some(0), "{stderr}");
    let policy: serde_json::Value = serde_json::from_str(&stdout).expect("policy");
    let module = std::fs::read_to_string(format!("{root}/deploy/terraform/main.tf")).expect("module");
    let statements = policy["Statement"].as_array().expect("statements");
    assert_eq!(statements.len(), module.matches("  statement {").count() - 1, "one statement each, besides AssumeRole");
    for statement in statements {
        assert!(module.contains(&format!("sid       = {}", statement["Sid"])), "{statement}");
        let actions: Vec<String> = statement["Action"].as_array().expect("actions").iter().map(|action| action.to_string()).collect();
        assert!(module.contains(&format!("actions   = [{}]", actions.join(", "))), "{statement}");
    }
}

/// The shipped systemd unit is one systemd accepts (where `systemd-analyze` exists),
/// with the binary path pointed at the one built here.
#[test]
fn the_systemd_unit_verifies() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let unit = std::fs::read_to_string(format!("{root}/deploy/vigil.service")).expect("unit");
    for setting in ["DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=vigil", "CapabilityBoundingSet=\n", "NoNewPrivileges=yes"] {
        assert!(unit.contains(setting), "the unit sets {setting:?}");
    }
    if std::process::Command::new("systemd-analyze").arg("--version").output().is_err() {
        eprintln!("skipped: systemd-analyze is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("vigil.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/vigil", crate::helpers::vigil_binary())).expect("write");
    let output = std::process::Command::new("systemd-analyze").arg("verify").arg(&path).output().expect("systemd-analyze");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success() && stderr.trim().is_empty(), "systemd-analyze verify: {stderr}");
}
