//! `vigil slo backtest` through the binary on a generated log with a known error
//! pattern (steady background, a fast burn, a slow burn, recovery). The test computes
//! the expected firing and resolution times itself, in integers, from the formulas the
//! README states: burn rate = error ratio / (1 − objective), factor = budget share ×
//! SLO window / long window, "above" is strictly above, and each window is the
//! `length / resolution` buckets up to the event's (1 s up to 1h, 10 s up to 6h, 1 min
//! beyond).

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vigil_core::{TestClock, Timestamp};

use crate::helpers::{vigil_command, WAIT};

/// 2026-12-02T00:00:00Z, in milliseconds.
const T0: i64 = 1_796_169_600_000;
const SECOND: i64 = 1_000;
const HOUR: i64 = 3_600 * SECOND;
const DAY: i64 = 24 * HOUR;

/// Bad events per thousand in second `k` of the log.
fn per_mille(k: i64) -> i64 {
    match k {
        // A fast burn: 20% for 20 minutes, a day in.
        86_400..87_600 => 200,
        // A slow burn: 2% for 12 hours, on the second day.
        172_800..216_000 => 20,
        // Recovery: nothing bad from the third day on.
        216_000.. => 0,
        // The background: 0.2%, under every threshold.
        _ => 2,
    }
}

/// The last `per_mille` seconds of every 1000 are bad, so the log starts good.
fn bad(k: i64) -> bool {
    k.rem_euclid(1000) >= 1000 - per_mille(k)
}

fn resolution(length: i64) -> i64 {
    if length <= HOUR {
        SECOND
    } else if length <= 6 * HOUR {
        10 * SECOND
    } else {
        60 * SECOND
    }
}

/// (severity, long, short, budget share in percent): the default alerts.
const ALERTS: [(&str, i64, i64, i64); 4] = [
    ("page", HOUR, 300 * SECOND, 2),
    ("page", 6 * HOUR, 1_800 * SECOND, 5),
    ("ticket", DAY, 2 * HOUR, 10),
    ("ticket", 3 * DAY, 6 * HOUR, 10),
];

/// Every firing as (severity, long, fired-at, resolved-at) in milliseconds, by brute
/// force over event times and bucket edges.
fn expected(seconds: i64, period: i64) -> Vec<(String, i64, i64, Option<i64>)> {
    // Events at k s + 500 ms; prefix sums of bad events.
    let times: Vec<i64> = (0..seconds).map(|k| T0 + k * SECOND + 500).collect();
    let mut bad_before = vec![0_i64];
    for k in 0..seconds {
        bad_before.push(bad_before[usize::try_from(k).expect("k")] + i64::from(bad(k)));
    }
    let counts = |length: i64, at: i64| {
        let width = resolution(length);
        let span = (length + width - 1) / width;
        let oldest = (at.div_euclid(width) - span + 1) * width;
        let from = times.partition_point(|time| *time < oldest);
        let to = times.partition_point(|time| *time <= at).max(from);
        ((to - from) as i64, bad_before[to] - bad_before[from])
    };
    // 99%: bad / total > share × period / long × 1/100 ⇔ bad × 100 × 100 × long > share × period × total.
    let above = |(total, bad): (i64, i64), long: i64, share: i64| {
        total > 0 && i128::from(bad) * 100 * 100 * i128::from(long) > i128::from(share) * i128::from(period) * i128::from(total)
    };
    let mut firing: Vec<Option<i64>> = vec![None; ALERTS.len()];
    let mut out = Vec::new();
    // Events, and every second's edge between them (where buckets leave windows).
    let moments = (0..seconds).flat_map(|k| [T0 + k * SECOND, T0 + k * SECOND + 500]).skip(1);
    for at in moments {
        for (index, (severity, long, short, share)) in ALERTS.iter().enumerate() {
            let now = above(counts(*long, at), *long, *share) && above(counts(*short, at), *long, *share);
            match (firing[index], now) {
                (None, true) => firing[index] = Some(at),
                (Some(fired), false) => {
                    out.push(((*severity).to_owned(), *long, fired, Some(at)));
                    firing[index] = None;
                }
                _ => {}
            }
        }
    }
    for (index, fired) in firing.iter().enumerate() {
        if let Some(fired) = fired {
            out.push((ALERTS[index].0.to_owned(), ALERTS[index].1, *fired, None));
        }
    }
    out.sort_by_key(|(_, long, fired, _)| (*fired, *long));
    out
}

fn rfc3339(millis: i64) -> String {
    vigil_core::Timestamp(millis).to_rfc3339()
}

fn long_text(long: i64) -> &'static str {
    match long {
        HOUR => "1h",
        21_600_000 => "6h",
        DAY => "1d",
        _ => "3d",
    }
}

const SECONDS: i64 = 4 * 86_400;
const SLOS: &str = "slos:\n  - name: api-availability\n    objective: 99%\n    window: 7d\n\
                    \x20   errors: '{app=\"api\"} | json | status >= 500'\n    total: '{app=\"api\"}'\n";

/// Line `k` of the log: one request a second, at half past.
fn line(k: i64) -> String {
    let status = if bad(k) { 503 } else { 200 };
    format!(r#"{{"ts":{},"status":{status},"path":"/api"}}"#, T0 + k * SECOND + 500)
}

/// The expected firings as the binary prints them: (severity, long, fired-at, resolved-at).
fn expected_text() -> Vec<(String, String, String, Option<String>)> {
    let mut expected: Vec<(String, String, String, Option<String>)> = expected(SECONDS, 7 * DAY)
        .into_iter()
        .map(|(severity, long, fired, resolved)| (severity, long_text(long).to_owned(), rfc3339(fired), resolved.map(rfc3339)))
        .collect();
    expected.sort_by(|a, b| (&a.2, &a.1).cmp(&(&b.2, &b.1)));
    expected
}

#[test]
fn a_generated_log_fires_and_resolves_each_burn_alert_when_the_formulas_say() {
    let dir = tempfile::tempdir().expect("dir");
    let seconds = SECONDS;
    let mut log = String::with_capacity(usize::try_from(seconds).unwrap_or(0) * 48);
    for k in 0..seconds {
        let _ = writeln!(log, "{}", line(k));
    }
    let log_path = dir.path().join("access.log");
    std::fs::write(&log_path, log).expect("write log");
    let config_path = dir.path().join("vigil.yaml");
    std::fs::write(&config_path, SLOS).expect("write config");
    let config_arg = config_path.display().to_string();
    let log_arg = log_path.display().to_string();

    let (code, stdout, stderr) = vigil_command(&["slo", "backtest", &log_arg, "-c", &config_arg, "--labels", "app=api", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let mut actual: Vec<(String, String, String, Option<String>)> = stdout
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("json"))
        .map(|firing| {
            assert_eq!(firing["slo"], "api-availability");
            (
                firing["severity"].as_str().unwrap_or_default().to_owned(),
                firing["long"].as_str().unwrap_or_default().to_owned(),
                firing["fired-at"].as_str().unwrap_or_default().to_owned(),
                firing["resolved-at"].as_str().map(str::to_owned),
            )
        })
        .collect();
    actual.sort_by(|a, b| (&a.2, &a.1).cmp(&(&b.2, &b.1)));
    let expected = expected_text();
    let tiers: std::collections::BTreeSet<(&str, &str)> =
        expected.iter().map(|(tier, long, _, _)| (tier.as_str(), long.as_str())).collect();
    assert!(tiers.len() >= 3, "the pattern exercises most alerts: {expected:?}");
    assert_eq!(actual, expected, "stderr:\n{stderr}");
    assert!(stderr.contains("api-availability: 345600 events"), "{stderr}");

    // The text form says the same, and `slo list` shows the factors for 7 days.
    let (code, text, _) = vigil_command(&["slo", "backtest", &log_arg, "-c", &config_arg, "--labels", "app=api"]);
    assert_eq!(code, Some(0));
    assert_eq!(text.lines().filter(|line| line.contains("  FIRING  ")).count(), expected.len(), "{text}");
    let (code, list, _) = vigil_command(&["slo", "list", "-c", &config_arg]);
    assert_eq!(code, Some(0));
    for factor in ["3.36", "1.4", "0.7", "0.2333"] {
        assert!(list.contains(&format!("burn rate above {factor} over")), "{list}");
    }
    // A log whose lines no SLI counts says so.
    let (code, stdout, _) = vigil_command(&["slo", "backtest", &log_arg, "-c", &config_arg, "--labels", "app=web"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("no line counted"), "{stdout}");
}

/// Pushes lines `from..to` of the log to a running Vigil's Loki endpoint.
async fn push_lines(running: &vigil::run::Running, from: i64, to: i64) {
    let url: http::Uri = format!("http://127.0.0.1:{}/loki/api/v1/push", running.http_address.port()).parse().expect("url");
    let client = vigil::probes::HttpClient::new();
    for chunk in (from..to).collect::<Vec<_>>().chunks(4_000) {
        let values: Vec<String> = chunk
            .iter()
            .map(|&k| serde_json::json!([((T0 + k * SECOND + 500) as i128 * 1_000_000).to_string(), line(k)]).to_string())
            .collect();
        let body = format!(r#"{{"streams":[{{"stream":{{"app":"api"}},"values":[{}]}}]}}"#, values.join(","));
        loop {
            let request = vigil::probes::HttpRequest {
                method: http::Method::POST,
                url: url.clone(),
                headers: [("content-type".to_owned(), "application/json".to_owned())].into(),
                body: Some(body.clone().into()),
                timeout: Duration::from_secs(30),
                follow_redirects: false,
                verify_tls: true,
                host_from_address: false,
            };
            match client.send(&request).await.status {
                Some(204) => break,
                // The rule engine's queue is full: push again shortly.
                Some(429) => tokio::time::sleep(Duration::from_millis(20)).await,
                other => panic!("push answered {other:?}"),
            }
        }
    }
}

/// The same log pushed to a running Vigil (in this process, on a test clock that stays
/// at the log's start, so only the lines' event times move the windows), with a restart
/// in the middle of the slow burn: the burn alerts are stored as episodes that start and
/// end at the times the formulas give, so the windows came back whole and the alert
/// firing across the restart went on as one episode.
#[tokio::test(flavor = "multi_thread")]
async fn pushed_live_the_log_stores_burn_alerts_at_the_same_times() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("vigil.db").display());
    // The windows are stored per node; a fixed node-id keeps it the same node across the
    // restart although the port changes.
    let yaml = format!("storage: {db}\nlisten: 127.0.0.1:0\nnode-id: slo-test\n{SLOS}");
    let config = || vigil_config::load_str(Path::new("vigil.yaml"), &yaml, &|_| None).expect("config");
    let clock = TestClock::at(Timestamp(T0));
    let running = vigil::run::start(config(), Arc::new(clock.clone())).await.expect("start");
    // Day three, 05:33: a page (6h/30m) and a ticket (3d/6h) fire.
    let restart_at = 172_800 + 5 * 3_600 + 33 * 60;
    push_lines(&running, 0, restart_at).await;
    running.stop().await.expect("stop");
    let running = vigil::run::start(config(), Arc::new(clock.clone())).await.expect("restart");
    push_lines(&running, restart_at, SECONDS).await;
    let expected = expected_text();
    assert!(
        expected.iter().any(|(_, _, fired, resolved)| *fired < rfc3339(T0 + restart_at * SECOND)
            && resolved.as_ref().is_none_or(|resolved| *resolved > rfc3339(T0 + restart_at * SECOND))),
        "an alert fires across the restart"
    );
    let store = vigil_store::Store::open(&db).await.expect("store");
    let deadline = Instant::now() + WAIT * 4;
    let actual = loop {
        let episodes = store.episodes(Some("SLOBurn"), 1_000).await.expect("episodes");
        let mut actual: Vec<(String, String, String, Option<String>)> = episodes
            .iter()
            .map(|episode| {
                let window = episode.labels.get("window").cloned().unwrap_or_default();
                (
                    episode.labels.get("severity").cloned().unwrap_or_default(),
                    window.split('/').next().unwrap_or_default().to_owned(),
                    episode.starts_at.to_rfc3339(),
                    episode.ends_at.map(Timestamp::to_rfc3339),
                )
            })
            .collect();
        actual.sort_by(|a, b| (&a.2, &a.1).cmp(&(&b.2, &b.1)));
        let settled = actual.len() == expected.len() && actual.iter().zip(&expected).all(|(a, e)| a.3.is_some() == e.3.is_some());
        if settled || Instant::now() > deadline {
            break actual;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(actual, expected);
    let first = store.episodes(Some("SLOBurn"), 1_000).await.expect("episodes").pop().expect("an episode");
    assert_eq!(first.labels.get("slo").map(String::as_str), Some("api-availability"));
    let summary = first.annotations.get("summary").cloned().unwrap_or_default();
    assert!(summary.starts_with("api-availability: error budget burning at "), "{summary}");
    assert!(first.annotations.get("description").is_some_and(|text| text.contains("% of the budget consumed")), "{first:?}");
    let metrics = crate::helpers::get(running.http_address.port(), "/metrics", Default::default()).await;
    let metrics = String::from_utf8_lossy(&metrics.body).into_owned();
    for sample in [
        r#"vigil_slo_error_budget_remaining_ratio{slo="api-availability"} "#,
        r#"vigil_slo_sli_ratio{slo="api-availability"} "#,
        r#"vigil_slo_burn_rate{slo="api-availability",window="1h"} "#,
        r#"vigil_slo_burn_rate{slo="api-availability",window="3d"} "#,
    ] {
        assert!(metrics.contains(sample), "{sample} in:\n{metrics}");
    }
    running.stop().await.expect("stop");

    // The budget was sampled on every hour of the log's own time, across the restart:
    // at hour h, the window held every line before it.
    let history = store.slo_history("api-availability", 0).await.expect("history");
    let hours: Vec<i64> = history.iter().map(|sample| (sample.at - T0) / HOUR).collect();
    assert_eq!(hours, (1..SECONDS / 3_600).collect::<Vec<_>>(), "one sample an hour");
    for sample in &history {
        let lines = (sample.at - T0) / SECOND;
        let bad_lines = (0..lines).filter(|k| bad(*k)).count() as i64;
        assert_eq!((sample.total, sample.bad, sample.window_ms, sample.objective_ppb), (lines, bad_lines, 7 * DAY, 990_000_000));
    }
    // `vigil slo history` prints them, a day a line, then the windows as stored now.
    let config_path = dir.path().join("vigil.yaml");
    std::fs::write(&config_path, &yaml).expect("config");
    let config_arg = config_path.display().to_string();
    let (code, stdout, stderr) = vigil_command(&["slo", "history", "api-availability", "-c", &config_arg, "--every", "1d", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let lines: Vec<serde_json::Value> = stdout.lines().map(|line| serde_json::from_str(line).expect("json")).collect();
    let at: Vec<&str> = lines.iter().map(|line| line["at"].as_str().unwrap_or_default()).collect();
    let days: Vec<String> = [23, 47, 71, 95].iter().map(|hours| rfc3339(T0 + hours * HOUR)).collect();
    assert_eq!(at[..4], days.iter().map(String::as_str).collect::<Vec<_>>()[..], "{stdout}");
    assert_eq!(at.len(), 5, "and now: {stdout}");
    let remaining = |hours: i64| {
        let lines = hours * 3_600;
        let bad_lines = (0..lines).filter(|k| bad(*k)).count() as f64;
        1.0 - bad_lines / lines as f64 / 0.01
    };
    for (line, hours) in lines.iter().zip([23, 47, 71, 95]) {
        let shown = line["budget_remaining"].as_f64().expect("budget");
        assert!((shown - remaining(hours)).abs() < 1e-9, "{hours}h: {shown} vs {}", remaining(hours));
    }
    let (code, text, _) = vigil_command(&["slo", "history", "api-availability", "-c", &config_arg]);
    assert_eq!(code, Some(0));
    assert!(text.starts_with("api-availability: objective 99% over 7d"), "{text}");
    assert!(text.contains("budget left") && text.contains('#'), "{text}");
    let (code, _, stderr) = vigil_command(&["slo", "history", "nope", "-c", &config_arg]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("no slo `nope`; the slos are: api-availability"), "{stderr}");
}

/// A monitor SLO through the real binary: a fake API that fails every fourth check, then
/// none. At 90% the budget is 10%; the alert fires above a burn rate of 2 over 20s and
/// 4s, an error ratio above 20%, so a quarter failing fires it and no failures resolve it.
#[tokio::test(flavor = "multi_thread")]
async fn a_monitor_slo_fires_while_a_quarter_of_checks_fail_and_resolves_after() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let (every, served) = (Arc::new(AtomicU64::new(4)), Arc::new(AtomicU64::new(0)));
    let app = {
        let (every, served) = (every.clone(), served.clone());
        axum::Router::new().route(
            "/health",
            axum::routing::get(move || {
                let (every, served) = (every.clone(), served.clone());
                async move {
                    let n = served.fetch_add(1, Ordering::SeqCst) + 1;
                    let every = every.load(Ordering::SeqCst);
                    if every > 0 && n % every == 0 {
                        http::StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        http::StatusCode::OK
                    }
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let api = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let vigil = crate::helpers::Vigil::start(|port, dir| {
        format!(
            "storage: sqlite://{}/vigil.db\nlisten: 127.0.0.1:{port}\n\
             monitors:\n  - name: api\n    url: http://{api}/health\n    interval: 100ms\n    timeout: 90ms\n\
             slos:\n  - name: api-checks\n    service: api\n    objective: 90%\n    window: 1d\n    monitor: api\n\
             \x20   alerts:\n      - {{severity: page, long: 20s, short: 4s, burn-rate: 2}}\n",
            dir.display()
        )
    });
    let burns = |vigil: &crate::helpers::Vigil| -> Vec<serde_json::Value> {
        let (code, stdout, stderr) = vigil.command(&["alerts", "list", "--all", "--json", "--name", "SLOBurn"]);
        assert_eq!(code, Some(0), "{stderr}");
        stdout.lines().filter_map(|line| serde_json::from_str(line).ok()).collect()
    };
    let deadline = Instant::now() + WAIT;
    let firing = loop {
        if let Some(burn) = burns(&vigil).into_iter().find(|burn| burn["state"] == "firing") {
            break burn;
        }
        assert!(Instant::now() < deadline, "no burn alert fired:\n{}", vigil.logs());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(firing["labels"]["slo"], "api-checks");
    assert_eq!(firing["labels"]["service"], "api");
    assert_eq!(firing["labels"]["window"], "20s/4s");
    assert!(firing["annotations"]["summary"].as_str().is_some_and(|text| text.contains("over 20s and")), "{firing}");
    let (code, shown, _) = vigil.command(&["alerts", "show", &firing["id"].to_string(), "--json"]);
    assert_eq!(code, Some(0));
    let shown: serde_json::Value = serde_json::from_str(&shown).expect("json");
    let evidence = shown["evidence"].to_string();
    assert!(evidence.contains("500"), "the failing checks are its evidence: {evidence}");
    // `vigil slo report` reads the windows the running node stores once a second.
    let deadline = Instant::now() + WAIT;
    let report = loop {
        let (code, stdout, stderr) = vigil.command(&["slo", "report", "--json"]);
        assert_eq!(code, Some(0), "{stderr}");
        let report: serde_json::Value = serde_json::from_str(stdout.trim()).expect("json");
        if report["events"].as_u64().is_some_and(|events| events >= 40) {
            break report;
        }
        assert!(Instant::now() < deadline, "no stored windows: {report}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        (report["name"].as_str(), report["objective"].as_str(), report["window"].as_str()),
        (Some("api-checks"), Some("90%"), Some("1d"))
    );
    // A quarter failing against a 10% budget: overspent, never clamped.
    assert!(report["budget_remaining"].as_f64().is_some_and(|left| left < 0.0), "{report}");
    assert_eq!(report["status"], "overspent", "{report}");
    assert_eq!(report["exhausted_in_seconds"], 0);
    assert!(report["sli"].as_f64().is_some_and(|sli| (0.7..0.8).contains(&sli)), "{report}");
    assert_eq!((report["alerts"][0]["long"].as_str(), report["alerts"][0]["above"].as_str()), (Some("20s"), Some("2")));
    let (_, text, _) = vigil.command(&["slo", "report"]);
    assert!(text.starts_with("api-checks  OVERSPENT  objective 90% over 1d: SLI "), "{text}");
    every.store(0, Ordering::SeqCst);
    let deadline = Instant::now() + WAIT;
    while !burns(&vigil).iter().any(|burn| burn["state"] == "resolved") {
        assert!(Instant::now() < deadline, "the burn alert did not resolve:\n{}", vigil.logs());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let metrics = crate::helpers::get(vigil.port, "/metrics", Default::default()).await;
    let metrics = String::from_utf8_lossy(&metrics.body).into_owned();
    assert!(metrics.contains(r#"vigil_slo_burn_rate{slo="api-checks",window="4s"} "#), "{metrics}");
}

/// Burn alerts are alerts: with the README's inhibit rule, a page of an SLO mutes its
/// ticket while both fire, as Alertmanager's API shows (`inhibitedBy`). The first day
/// and ten minutes of the log: the fast burn fires the 3d ticket at 00:07:10 and the 1h
/// page at 00:08:34.
#[tokio::test(flavor = "multi_thread")]
async fn a_burning_page_inhibits_its_ticket() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("vigil.db").display());
    let yaml = format!(
        "storage: {db}\nlisten: 127.0.0.1:0\napi: {{alertmanager-auth: none}}\n\
         inhibit-rules:\n  - source-matchers: ['alertname=\"SLOBurn\"', 'severity=\"page\"']\n\
         \x20   target-matchers: ['alertname=\"SLOBurn\"', 'severity=\"ticket\"']\n    equal: [slo]\n{SLOS}"
    );
    let config = vigil_config::load_str(Path::new("vigil.yaml"), &yaml, &|_| None).expect("config");
    let running = vigil::run::start(config, Arc::new(TestClock::at(Timestamp(T0)))).await.expect("start");
    push_lines(&running, 0, 86_400 + 600).await;
    let deadline = Instant::now() + WAIT;
    let alerts = loop {
        let answer = crate::helpers::get(running.http_address.port(), "/api/v2/alerts", Default::default()).await;
        let alerts: Vec<serde_json::Value> = serde_json::from_slice(&answer.body).unwrap_or_default();
        if alerts.len() == 2 {
            break alerts;
        }
        assert!(Instant::now() < deadline, "two burn alerts: {alerts:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let of = |severity: &str| alerts.iter().find(|alert| alert["labels"]["severity"] == severity).cloned().expect(severity);
    let (page, ticket) = (of("page"), of("ticket"));
    assert_eq!(page["status"]["state"], "active", "{page}");
    assert_eq!(ticket["status"]["state"], "suppressed", "{ticket}");
    assert_eq!(ticket["status"]["inhibitedBy"], serde_json::json!([page["fingerprint"]]), "{ticket}");
    assert_eq!((page["labels"]["window"].as_str(), ticket["labels"]["window"].as_str()), (Some("1h/5m"), Some("3d/6h")));
    running.stop().await.expect("stop");
}

/// A monitor SLO backtested from the store: one outage recorded as transitions (a 10 s
/// monitor, thresholds 2 and 2), replayed as the checks they imply. The page (over 10%
/// bad over 10m and 1m) fires on the seventh failing check of the ten minutes (the one
/// before the outage counts: it led to it) and resolves when the last failing check
/// leaves the minute window.
#[tokio::test(flavor = "multi_thread")]
async fn a_monitor_slo_backtests_over_the_stored_transitions() {
    use vigil_core::Health;
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("vigil.db").display());
    let store = vigil_store::Store::open(&db).await.expect("store");
    let t0 = 1_796_169_600_000_i64;
    let run = store.start_run("a", Timestamp(t0)).await.expect("run");
    store.heartbeat(run, Timestamp(t0 + 3 * HOUR)).await.expect("heartbeat");
    for (at, from, to) in [(10, Health::Unknown, Health::Up), (3_600, Health::Up, Health::Down), (4_200, Health::Down, Health::Up)] {
        let transition = vigil_store::NewTransition {
            monitor: "api".into(),
            at: Timestamp(t0 + at * SECOND),
            from,
            to,
            reason: "test".into(),
            previous_period: None,
        };
        store.record_transition(&transition, &[], Duration::from_secs(60)).await.expect("transition");
    }
    let config_path = dir.path().join("vigil.yaml");
    std::fs::write(
        &config_path,
        format!(
            "storage: {db}\nmonitors:\n  - name: api\n    url: http://127.0.0.1:9/health\n    interval: 10s\n\
             slos:\n  - name: api-checks\n    objective: 99%\n    monitor: api\n\
             \x20   alerts:\n      - {{severity: page, long: 10m, short: 1m, burn-rate: 10}}\n"
        ),
    )
    .expect("config");
    let config_arg = config_path.display().to_string();
    let (code, stdout, stderr) = vigil_command(&["slo", "backtest", "-c", &config_arg, "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let firings: Vec<serde_json::Value> = stdout.lines().map(|line| serde_json::from_str(line).expect("json")).collect();
    assert_eq!(firings.len(), 1, "{stdout}");
    assert_eq!(firings[0]["fired-at"], rfc3339(t0 + 3_650 * SECOND), "{stdout}");
    assert_eq!(firings[0]["resolved-at"], rfc3339(t0 + 4_240 * SECOND), "{stdout}");
    assert!(stderr.contains("failures that never made an outage are not stored"), "{stderr}");
    // 1,080 checks in three hours: from the one before the first verdict on.
    assert!(stderr.contains("api-checks: 1080 events, 60 bad"), "{stderr}");
    let (code, _, stderr) = vigil_command(&["slo", "backtest", "-c", &config_arg, "--slo", "nope"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no slo `nope`"), "{stderr}");
}

/// `vigil import openslo` through the binary: the SLOs on standard output load as a
/// config (`vigil check`), what was not mapped is on standard error.
#[test]
fn openslo_documents_import_into_a_config_that_checks() {
    let dir = tempfile::tempdir().expect("dir");
    let openslo = dir.path().join("slos.yaml");
    std::fs::write(
        &openslo,
        "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: checkout}\nspec:\n  service: shop\n  indicator:\n    spec:\n      ratioMetric:\n\
         \x20       bad: {metricSource: {type: Loki, spec: {query: 'sum(rate({app=\"shop\"} |= \"checkout\" | json | status >= 500 [5m]))'}}}\n\
         \x20       total: {metricSource: {type: Loki, spec: {query: 'sum(rate({app=\"shop\"} |= \"checkout\" [5m]))'}}}\n\
         \x20 timeWindow: [{duration: 28d, isRolling: true}]\n  budgetingMethod: Occurrences\n  objectives: [{targetPercent: 99.9}]\n\
         ---\napiVersion: openslo/v1\nkind: SLO\nmetadata: {name: latency}\nspec:\n  indicator: {spec: {thresholdMetric: {metricSource: {type: Datadog, spec: {}}}}}\n\
         \x20 objectives: [{op: lt, value: 300, target: 0.99}]\n",
    )
    .expect("openslo");
    let (code, yaml, notes) = vigil_command(&["import", "openslo", &openslo.to_string_lossy()]);
    assert_eq!(code, Some(0), "{notes}");
    assert!(yaml.contains("errors: \"{app=\\\"shop\\\"} |= \\\"checkout\\\" | json | status >= 500\""), "{yaml}");
    assert!(notes.contains("note: SLO latency: a thresholdMetric SLI is not mapped"), "{notes}");
    let config = dir.path().join("vigil.yaml");
    std::fs::write(&config, &yaml).expect("config");
    let (code, listed, stderr) = vigil_command(&["slo", "list", "-c", &config.to_string_lossy()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(listed.starts_with("checkout  objective 99.9% over 28d"), "{listed}");
    let (code, _, stderr) = vigil_command(&["import", "openslo", &dir.path().join("missing.yaml").to_string_lossy()]);
    assert_eq!(code, Some(2), "{stderr}");
}

/// Pushes `(event time, status)` lines of `{app="api"}` to a running Vigil.
async fn push_statuses(running: &vigil::run::Running, lines: &[(i64, u16)]) {
    let url: http::Uri = format!("http://127.0.0.1:{}/loki/api/v1/push", running.http_address.port()).parse().expect("url");
    let values: Vec<String> = lines
        .iter()
        .map(|(at, status)| {
            let line = format!(r#"{{"ts":{at},"status":{status}}}"#);
            serde_json::json!([(i128::from(*at) * 1_000_000).to_string(), line]).to_string()
        })
        .collect();
    let body = format!(r#"{{"streams":[{{"stream":{{"app":"api"}},"values":[{}]}}]}}"#, values.join(","));
    let request = vigil::probes::HttpRequest {
        method: http::Method::POST,
        url,
        headers: [("content-type".to_owned(), "application/json".to_owned())].into(),
        body: Some(body.into()),
        timeout: Duration::from_secs(30),
        follow_redirects: false,
        verify_tls: true,
        host_from_address: false,
    };
    assert_eq!(vigil::probes::HttpClient::new().send(&request).await.status, Some(204));
}

/// A sample of a running Vigil's /metrics, if it has it.
async fn metric(running: &vigil::run::Running, sample: &str) -> Option<f64> {
    let metrics = crate::helpers::get(running.http_address.port(), "/metrics", Default::default()).await;
    let text = String::from_utf8_lossy(&metrics.body).into_owned();
    text.lines().find_map(|line| line.strip_prefix(sample)).and_then(|value| value.trim().parse().ok())
}

/// Polls until `done` holds, for a while, moving `clock` on a second each time so the
/// engines' ticks (and with them the SLO saves) come.
async fn eventually<F: std::future::Future<Output = bool>>(clock: &TestClock, what: &str, mut done: impl FnMut() -> F) {
    let deadline = Instant::now() + WAIT * 4;
    while !done().await {
        assert!(Instant::now() < deadline, "{what}");
        clock.advance(Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Two nodes on one PostgreSQL, each taking part of one stream: the good lines reach one,
/// the bad lines the other. Alone, the second would see mostly errors; with each
/// other's counts in their windows, both read the stream's true ratio, and one of them
/// speaks for the burn alerts: at 10% errors nothing fires, at 50% one episode fires,
/// once.
#[tokio::test(flavor = "multi_thread")]
async fn two_nodes_on_postgres_share_one_set_of_burn_alerts() {
    let Some(cluster) = vigil_testkit::PostgresCluster::start() else { return };
    let url = cluster.database("vigil");
    let slos =
        "slos:\n  - name: split\n    objective: 90%\n    errors: '{app=\"api\"} | json | status >= 500'\n    total: '{app=\"api\"}'\n\
                \x20   alerts:\n      - {severity: page, long: 10m, short: 1m, burn-rate: 2}\n";
    let config = |node: &str| {
        let yaml = format!("storage: {url}\nlisten: 127.0.0.1:0\nnode-id: {node}\n{slos}");
        vigil_config::load_str(Path::new("vigil.yaml"), &yaml, &|_| None).expect("config")
    };
    let clock = TestClock::at(Timestamp(T0));
    let a = vigil::run::start(config("a"), Arc::new(clock.clone())).await.expect("start a");
    let b = vigil::run::start(config("b"), Arc::new(clock.clone())).await.expect("start b");
    // The lines are an hour ahead of the clock, which only moves to bring the ticks.
    let at = |second: i64| T0 + HOUR + second * SECOND;
    let good = |seconds: std::ops::Range<i64>| seconds.map(|second| (at(second), 200)).collect::<Vec<_>>();
    // Each counts a few lines, and each sees the other's: they share the SLO, and one
    // of them holds the lease.
    push_statuses(&a, &good(0..5)).await;
    push_statuses(&b, &good(0..5)).await;
    let shared = r#"vigil_slo_shared{kind="logs"} "#;
    let leader = r#"vigil_slo_leader{kind="logs"} "#;
    eventually(&clock, "both nodes see each other's counts and one leads", || async {
        metric(&a, shared).await == Some(1.0)
            && metric(&b, shared).await == Some(1.0)
            && metric(&a, leader).await.unwrap_or(0.0) + metric(&b, leader).await.unwrap_or(0.0) == 1.0
    })
    .await;
    let sli = r#"vigil_slo_sli_ratio{slo="split"} "#;
    let reads = |running: &'static str, expected: f64| {
        let node = if running == "a" { &a } else { &b };
        async move { metric(node, sli).await.is_some_and(|value| (value - expected).abs() < 1e-9) }
    };
    // 10% errors: a hundred lines to a (one bad, so b's ratio shows it has them), then
    // nine bad lines to b.
    let mut lines = good(10..110);
    lines[95].1 = 503;
    push_statuses(&a, &lines).await;
    eventually(&clock, "b counts a's lines", || reads("b", 109.0 / 110.0)).await;
    let bad: Vec<(i64, u16)> = (0..9).map(|k| (at(10 + 10 * k) + 500, 503)).collect();
    push_statuses(&b, &bad).await;
    eventually(&clock, "a counts b's lines", || reads("a", 109.0 / 119.0)).await;
    eventually(&clock, "b reads the same", || reads("b", 109.0 / 119.0)).await;
    let store = vigil_store::Store::open(&url).await.expect("store");
    let early = store.episodes(Some("SLOBurn"), 10).await.expect("episodes");
    assert!(early.is_empty(), "10% is under the 20% the page needs: {early:#?}");
    // 50% errors over the last minute: it fires, once.
    push_statuses(&a, &good(200..260)).await;
    eventually(&clock, "b counts them", || reads("b", 169.0 / 179.0)).await;
    let bad: Vec<(i64, u16)> = (200..260).map(|second| (at(second) + 500, 503)).collect();
    push_statuses(&b, &bad).await;
    eventually(&clock, "a counts them", || reads("a", 169.0 / 239.0)).await;
    eventually(&clock, "the page fires", || async { !store.episodes(Some("SLOBurn"), 10).await.expect("episodes").is_empty() }).await;
    eventually(&clock, "b reads the same", || reads("b", 169.0 / 239.0)).await;
    a.stop().await.expect("stop a");
    b.stop().await.expect("stop b");
    let episodes = store.episodes(Some("SLOBurn"), 10).await.expect("episodes");
    assert_eq!(episodes.len(), 1, "one set of burn alerts: {episodes:?}");
    assert_eq!(episodes[0].labels.get("slo").map(String::as_str), Some("split"));
    drop(cluster);
}
