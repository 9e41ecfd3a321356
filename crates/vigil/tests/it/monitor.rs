//! System 1 end to end: outage and recovery mails, once each, across crashes, SMTP
//! outages and both store backends.

use vigil_testkit::{PostgresCluster, SmtpServer};

use crate::helpers::*;

const FAILURES: &str = "vigil_checks_total{result=\"failure\"}";
const SUCCESSES: &str = "vigil_checks_total{result=\"success\"}";
const DELIVERED: &str = "vigil_notification_attempts_total{notifier=\"oncall\",result=\"delivered\"}";
const DOWN: &str = "[Vigil] fitpay-api is DOWN";
const UP: &str = "[Vigil] fitpay-api is UP";

fn sqlite(dir: &std::path::Path) -> String {
    format!("sqlite://{}", dir.join("vigil.db").display())
}

/// Degrade → exactly one outage mail naming the failures; recover → exactly one
/// recovery mail with the outage length; SIGTERM → exit 0; the record is readable.
async fn outage_and_recovery(storage: impl Fn(&std::path::Path) -> String) {
    let Some(smtp) = SmtpServer::start() else { return };
    let (api, address) = fake_api().await;
    let mut vigil = Vigil::start(|port, dir| config(&storage(dir), port, address, smtp.port()));
    vigil.wait_for_metric(SUCCESSES, 2.0).await;

    api.set_failing(true);
    let messages = smtp.wait_for_messages(1, WAIT);
    assert_eq!(subjects(&messages), [DOWN], "{}", vigil.logs());
    let outage = body(&messages[0]);
    assert!(outage.contains("[STATUS] (500) == 200"), "{outage}");
    assert!(outage.contains("[BODY].status (DOWN) == OK"), "{outage}");
    assert!(outage.contains("It had been up for"), "{outage}");

    let failures = vigil.metric(FAILURES).await;
    vigil.wait_for_metric(FAILURES, failures + 4.0).await;
    api.set_failing(false);
    let messages = smtp.wait_for_messages(2, WAIT);
    assert_eq!(subjects(&messages), [DOWN, UP], "{}", vigil.logs());
    let recovery = body(&messages[1]);
    assert!(recovery.contains("The outage lasted"), "{recovery}");

    let successes = vigil.metric(SUCCESSES).await;
    vigil.wait_for_metric(SUCCESSES, successes + 4.0).await;
    assert_eq!(smtp.messages().len(), 2, "nothing more is sent while healthy");

    let status = vigil.terminate();
    assert_eq!(status.code(), Some(0), "{}", vigil.logs());
    assert!(vigil.logs().contains("vigil stopped"));

    let config = vigil.config_path();
    let (code, stdout, stderr) = vigil_command(&["history", "fitpay-api", "-c", config.to_str().expect("utf-8"), "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let states: Vec<String> = stdout
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("json")["to"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(states, ["up", "down", "up"], "newest first");
    let (code, stdout, stderr) = vigil_command(&["uptime", "-c", config.to_str().expect("utf-8"), "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).expect("json");
    assert_eq!(report["monitor"], "fitpay-api");
    assert_eq!(report["outages"], 1);
    let uptime = report["uptime_percent"].as_f64().expect("uptime known");
    assert!(uptime > 0.0 && uptime < 100.0, "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_outage_and_recovery_mail_once_each() {
    outage_and_recovery(sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_outage_and_recovery_mail_once_each() {
    let Some(cluster) = PostgresCluster::start() else { return };
    let url = cluster.database("vigil");
    outage_and_recovery(|_| url.clone()).await;
}

/// kill -9 mid-outage, restart: the outage is not mailed again and the recovery still is.
async fn crash_mid_outage(storage: impl Fn(&std::path::Path) -> String) {
    let Some(smtp) = SmtpServer::start() else { return };
    let (api, address) = fake_api().await;
    let mut vigil = Vigil::start(|port, dir| config(&storage(dir), port, address, smtp.port()));
    vigil.wait_for_metric(SUCCESSES, 2.0).await;
    api.set_failing(true);
    assert_eq!(subjects(&smtp.wait_for_messages(1, WAIT)), [DOWN]);
    // Mid-outage, after the delivery is recorded. (A kill in the milliseconds between the
    // SMTP server's 250 and that record is the at-least-once window: the restarted node
    // sends again, with the same Message-ID.)
    vigil.wait_for_metric(DELIVERED, 1.0).await;

    vigil.kill_9();
    vigil.restart();
    // The restarted process has seen the outage go on for several checks.
    vigil.wait_for_metric(FAILURES, 5.0).await;
    assert_eq!(subjects(&smtp.messages()), [DOWN], "no second outage mail:\n{}", vigil.logs());
    assert!(vigil.logs().contains("state restored"), "{}", vigil.logs());

    api.set_failing(false);
    assert_eq!(subjects(&smtp.wait_for_messages(2, WAIT)), [DOWN, UP], "{}", vigil.logs());
    assert_eq!(vigil.terminate().code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_kill_9_mid_outage_neither_repeats_nor_forgets() {
    crash_mid_outage(sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_kill_9_mid_outage_neither_repeats_nor_forgets() {
    let Some(cluster) = PostgresCluster::start() else { return };
    let url = cluster.database("vigil");
    crash_mid_outage(|_| url.clone()).await;
}

/// SMTP down when the outage starts: the mail is retried and arrives, once, when the
/// relay is back.
#[tokio::test(flavor = "multi_thread")]
async fn smtp_outage_delays_but_never_loses_or_repeats_mail() {
    let Some(mut smtp) = SmtpServer::start() else { return };
    smtp.stop();
    let (api, address) = fake_api().await;
    let vigil = Vigil::start(|port, dir| config(&sqlite(dir), port, address, smtp.port()));
    vigil.wait_for_metric(SUCCESSES, 2.0).await;
    api.set_failing(true);
    let retries = "vigil_notification_attempts_total{notifier=\"oncall\",result=\"retry\"}";
    vigil.wait_for_metric(retries, 2.0).await;
    assert!(vigil.metric("vigil_outbox_backlog").await >= 1.0);
    smtp.resume();
    let messages = smtp.wait_for_messages(1, WAIT);
    assert_eq!(subjects(&messages), [DOWN], "{}", vigil.logs());
    vigil.wait_for_metric(DELIVERED, 1.0).await;
    let failures = vigil.metric(FAILURES).await;
    vigil.wait_for_metric(FAILURES, failures + 3.0).await;
    assert_eq!(smtp.messages().len(), 1, "delivered exactly once");
}

/// The newest transition of `monitor` to `to`, polled for until `WAIT`.
async fn wait_for_transition(
    store: &vigil_store::Store,
    monitor: &str,
    to: vigil_core::hysteresis::Health,
    after: i64,
) -> vigil_store::TransitionRecord {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let latest = store.transitions(monitor, 1).await.expect("transitions");
        if let Some(transition) = latest.into_iter().next().filter(|t| t.to == to && t.id > after) {
            return transition;
        }
        assert!(std::time::Instant::now() < deadline, "no transition to {to}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// `retry-interval`: a failure while UP is re-checked at that pace until DOWN, a success
/// while DOWN until UP, and the regular interval resumes once the state is settled.
#[tokio::test(flavor = "multi_thread")]
async fn retry_interval_confirms_outages_and_recoveries_between_regular_checks() {
    use vigil_core::hysteresis::Health;
    let (api, address) = fake_api().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let interval = std::time::Duration::from_secs(3);
    let yaml = format!(
        "storage: {storage}\nlisten: 127.0.0.1:0\n\
         monitors:\n  - name: api\n    url: http://{address}/health\n    interval: 3s\n    retry-interval: 50ms\n    timeout: 1s\n\
         \x20   failure-threshold: 3\n    success-threshold: 3\n",
        storage = sqlite(dir.path())
    );
    let config = vigil_config::load_str(std::path::Path::new("vigil.yaml"), &yaml, &|_| None).expect("config");
    let running = vigil::run::start(config, std::sync::Arc::new(vigil_core::SystemClock)).await.expect("start");
    let store = vigil_store::Store::open(&sqlite(dir.path())).await.expect("store");
    // The first verdict comes at the retry pace too: unknown is settling.
    let up = wait_for_transition(&store, "api", Health::Up, 0).await;

    for (failing, to) in [(true, Health::Down), (false, Health::Up)] {
        let before = api.health_checks();
        let changed_at = std::time::Instant::now();
        api.set_failing(failing);
        let transition = wait_for_transition(&store, "api", to, up.id).await;
        let elapsed = changed_at.elapsed();
        let checks = api.health_checks() - before;
        // Three checks in a row decide (four if one was in flight at the change). Without
        // retries they would span two whole intervals after the first one.
        assert!((3..=4).contains(&checks), "{checks} checks to {to}");
        assert!(elapsed < interval + interval / 2, "{to} took {elapsed:?}");
        // Settled: no more retries, only the regular interval.
        let settled = api.health_checks();
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert!(api.health_checks() - settled <= 1, "still checking at the retry pace after {to}");
        let _ = transition;
    }
    running.stop().await.expect("clean stop");
}

/// `health-check: alb` through `vigil run`: the checker's request (`Host: IP:PORT`,
/// its User-Agent), healthy after the first passing check, unhealthy after 2 status
/// mismatches, and `vigil history --json` in the target group's words.
#[tokio::test(flavor = "multi_thread")]
async fn an_alb_health_check_behaves_and_speaks_as_a_target_group() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let failing = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let app = {
        let (failing, seen) = (failing.clone(), seen.clone());
        let handler = move |headers: axum::http::HeaderMap| {
            let (failing, seen) = (failing.clone(), seen.clone());
            async move {
                let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned();
                if let Ok(mut seen) = seen.lock() {
                    seen.push((header("host"), header("user-agent")));
                }
                if failing.load(Ordering::SeqCst) {
                    axum::http::StatusCode::NOT_FOUND
                } else {
                    axum::http::StatusCode::OK
                }
            }
        };
        let router = axum::Router::new().route("/health", axum::routing::get(handler));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, router).await });
        address
    };
    let vigil = Vigil::start(|port, dir| {
        format!(
            "storage: sqlite://{}/vigil.db\nlisten: 127.0.0.1:{port}\nmonitors:\n  - name: web\n    url: http://localhost:{}/health\n\
             \x20   health-check: alb\n    interval: 200ms\n    timeout: 150ms\n",
            dir.display(),
            app.port()
        )
    });
    let history = || {
        let (code, stdout, stderr) = vigil.command(&["history", "web", "--json"]);
        assert_eq!(code, Some(0), "{stderr}");
        stdout.lines().map(|line| serde_json::from_str::<serde_json::Value>(line).expect("json")).collect::<Vec<_>>()
    };
    let wait_for = |count: usize| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let transitions = history();
            if transitions.len() >= count || std::time::Instant::now() > deadline {
                return transitions;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    let transitions = wait_for(1);
    assert_eq!(transitions[0]["target_from"], "initial", "{transitions:?}");
    assert_eq!(transitions[0]["target_state"], "healthy", "one passing check suffices for a new target: {transitions:?}");
    let checks_before = seen.lock().map(|seen| seen.len()).unwrap_or_default();
    assert!(checks_before <= 2, "healthy after the first passing check, not 5: {checks_before} checks");
    failing.store(true, Ordering::SeqCst);
    let transitions = wait_for(2);
    let newest = &transitions[0];
    assert_eq!(
        (newest["target_state"].as_str(), newest["reason_code"].as_str()),
        (Some("unhealthy"), Some("Target.ResponseCodeMismatch")),
        "{transitions:?}"
    );
    assert!(newest["reason"].as_str().is_some_and(|reason| reason.contains("[STATUS] (404) in 200")), "{newest}");
    let (host, agent) = seen.lock().map(|seen| seen[0].clone()).unwrap_or_default();
    assert_eq!((host.as_str(), agent.as_str()), (format!("127.0.0.1:{}", app.port()).as_str(), "ELB-HealthChecker/2.0"));
}

/// `probe-threads` beyond the cores: the monitors are dealt between the threads, and
/// every one of them is checked.
#[tokio::test(flavor = "multi_thread")]
async fn probe_threads_share_the_monitors_between_them() {
    let (_api, address) = fake_api().await;
    let config = |port: u16, dir: &std::path::Path| {
        let monitor = |name: &str| format!("  - name: {name}\n    url: http://{address}/health\n    interval: 200ms\n    timeout: 150ms\n");
        format!(
            "storage: {}\nlisten: 127.0.0.1:{port}\nprobe-threads: 3\nmonitors:\n{}{}{}",
            sqlite(dir),
            monitor("a"),
            monitor("b"),
            monitor("c")
        )
    };
    let vigil = Vigil::start_with(config, &[], &["--log-format", "json"]);
    vigil.wait_for_metric("vigil_monitors{state=\"up\"}", 3.0).await;
    assert!(vigil.logs().contains("\"probe_threads\":3"), "{}", vigil.logs());
}

/// `max-concurrent-checks` is one pool for all the probe threads: with one permit and
/// two threads, a slow target never sees two checks at once.
#[tokio::test(flavor = "multi_thread")]
async fn max_concurrent_checks_bound_every_probe_thread_together() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    #[derive(Clone, Default)]
    struct Seen {
        now: Arc<AtomicUsize>,
        most: Arc<AtomicUsize>,
        total: Arc<AtomicUsize>,
    }
    let seen = Seen::default();
    let app = axum::Router::new()
        .route(
            "/slow",
            axum::routing::get(|axum::extract::State(seen): axum::extract::State<Seen>| async move {
                let now = seen.now.fetch_add(1, Ordering::SeqCst) + 1;
                seen.most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(60)).await;
                seen.now.fetch_sub(1, Ordering::SeqCst);
                seen.total.fetch_add(1, Ordering::SeqCst);
                "ok"
            }),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let _vigil = Vigil::start(|port, dir| {
        let monitor = |name: &str| format!("  - name: {name}\n    url: http://{address}/slow\n    interval: 200ms\n    timeout: 150ms\n");
        format!(
            "storage: {}\nlisten: 127.0.0.1:{port}\nprobe-threads: 2\nmax-concurrent-checks: 1\nmonitors:\n{}{}{}{}",
            sqlite(dir),
            monitor("a"),
            monitor("b"),
            monitor("c"),
            monitor("d")
        )
    });
    let deadline = std::time::Instant::now() + WAIT;
    while seen.total.load(Ordering::SeqCst) < 12 {
        assert!(std::time::Instant::now() < deadline, "only {} checks", seen.total.load(Ordering::SeqCst));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(seen.most.load(Ordering::SeqCst), 1, "one check at a time across both threads");
}
