//! Log benchmarks: `vigil bench loki` (push throughput over HTTP into the rule engine)
//! and `vigil bench rules` (event → alert enqueued latency, memory per group).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use vigil_core::{Clock, SystemClock};
use vigil_logql::eval::pipeline::Labels;
use vigil_logql::eval::{Entry, EvaluatorOptions, RuleEvaluator};
use vigil_store::Store;

use crate::logs::{LogBatch, LogStream};
use crate::metrics::Metrics;
use crate::probes::{HttpClient, HttpRequest};
use crate::rules::RuleEngine;

const SEED: &str = r#"sum(count_over_time({app="api"} | json | path = "/api/data" | duration > 3s [10m])) > 5"#;

fn request_line(i: u64, slow: bool) -> String {
    let path = ["/api/data", "/api/users", "/api/orders", "/healthz"][(i % 4) as usize];
    let duration = if slow { "4.2s" } else { "0.042s" };
    format!(
        r#"{{"level":"info","method":"GET","path":"{path}","status":200,"duration":"{duration}","bytes":{},"request_id":"{i:016x}"}}"#,
        200 + i % 9000
    )
}

/// Pushes `lines` lines in JSON batches of `batch` over `connections` concurrent
/// clients, and waits until the rule engine has evaluated all of them.
pub async fn loki(lines: u64, batch: u64, connections: usize, slos: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // The example file is a whole config of its own (only `slos:`), loaded as it is;
    // the first `slos` of its SLOs are kept.
    const EXAMPLE: &str = include_str!("../../../../examples/slos-access-log.yaml");
    let yaml = format!(
        "storage: sqlite://{}\nlisten: 127.0.0.1:0\nrules:\n  - name: slow-api-data\n    expr: '{SEED}'\n{EXAMPLE}",
        dir.path().join("vigil.db").display(),
    );
    let mut config = vigil_config::load_str(Path::new("bench.yaml"), &yaml, &|_| None).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    anyhow::ensure!(slos <= config.slos.len(), "--slos: the example has {} SLOs", config.slos.len());
    config.slos.truncate(slos);
    let running = crate::run::start(config, Arc::new(SystemClock)).await?;
    let url: http::Uri = format!("http://{}/loki/api/v1/push", running.http_address).parse()?;
    let start_ns = SystemClock.now().0 as u128 * 1_000_000;
    let batches = lines.div_ceil(batch);
    let bodies: Vec<Bytes> = (0..batches)
        .map(|b| {
            let values: Vec<String> = (0..batch)
                .map(|j| {
                    let i = b * batch + j;
                    let line = serde_json::to_string(&request_line(i, i % 5000 == 0)).unwrap_or_default();
                    format!(r#"["{}",{line}]"#, start_ns + u128::from(i) * 1_000_000)
                })
                .collect();
            Bytes::from(format!(r#"{{"streams":[{{"stream":{{"app":"api"}},"values":[{}]}}]}}"#, values.join(",")))
        })
        .collect();
    let bytes: usize = bodies.iter().map(Bytes::len).sum();
    let bodies = Arc::new(bodies);
    let metrics_url: http::Uri = format!("http://{}/metrics", running.http_address).parse()?;
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    let (mut retried, client) = (0u64, HttpClient::new());
    for worker in 0..connections {
        let (bodies, url, client) = (Arc::clone(&bodies), url.clone(), client.clone());
        clients.spawn(async move {
            let mut retries = 0u64;
            let mut index = worker;
            while index < bodies.len() {
                let request = HttpRequest {
                    method: http::Method::POST,
                    url: url.clone(),
                    headers: BTreeMap::from([("content-type".to_owned(), "application/json".to_owned())]),
                    body: Some(bodies[index].clone()),
                    timeout: Duration::from_secs(30),
                    follow_redirects: false,
                    verify_tls: true,
                    host_from_address: false,
                };
                match client.send(&request).await.status {
                    Some(204) => index += connections,
                    Some(429) => {
                        retries += 1;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    other => anyhow::bail!("push failed: {other:?}"),
                }
            }
            Ok(retries)
        });
    }
    while let Some(result) = clients.join_next().await {
        retried += result??;
    }
    let pushed = started.elapsed();
    loop {
        let response = client
            .send(&HttpRequest {
                method: http::Method::GET,
                url: metrics_url.clone(),
                headers: BTreeMap::new(),
                body: None,
                timeout: Duration::from_secs(5),
                follow_redirects: false,
                verify_tls: true,
                host_from_address: false,
            })
            .await;
        let text = String::from_utf8_lossy(&response.body);
        let evaluated =
            text.lines().find_map(|line| line.strip_prefix("vigil_log_lines_evaluated_total ")).and_then(|v| v.trim().parse::<f64>().ok());
        if evaluated.is_some_and(|evaluated| evaluated >= (batches * batch) as f64) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = started.elapsed();
    running.stop().await?;
    let total = batches * batch;
    println!("vigil bench loki: {total} lines in {batches} JSON pushes of {batch}, {connections} connections, loopback");
    println!(
        "  pushed in       {:.2}s ({:.0} lines/s accepted, {retried} pushes retried after 429)",
        pushed.as_secs_f64(),
        total as f64 / pushed.as_secs_f64()
    );
    println!(
        "  evaluated in    {:.2}s ({:.0} lines/s through intake + seed rule{})",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        if slos > 0 { format!(" + {} SLOs", slos) } else { String::new() }
    );
    println!("  body bytes      {:.1} MB", bytes as f64 / 1e6);
    println!("  peak rss        {:.1} MB", super::bench::peak_rss_kb() as f64 / 1024.0);
    let with_slos = if slos > 0 { format!(" --slos {slos}") } else { String::new() };
    println!(
        "reproduce: cargo build --release -p vigil && target/release/vigil bench loki --lines {total} --batch {batch} --connections {connections}{with_slos}"
    );
    Ok(())
}

/// Event → alert enqueued latency through the real rule engine and store, and memory
/// for `groups` label groups in one rule.
pub async fn rules(alerts: usize, groups: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(&format!("sqlite://{}", dir.path().join("bench.db").display())).await?;
    let yaml = "rules:\n  - name: per-user\n    expr: 'sum by (user) (count_over_time({app=\"api\"} | json | duration > 3s [10m])) > 5'\n    notify: []\n";
    let config = vigil_config::load_str(Path::new("bench.yaml"), yaml, &|_| None).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    let metrics = Arc::new(Metrics::new());
    let mut engine =
        RuleEngine::new(&config.rules, store, Arc::new(SystemClock), metrics.clone(), crate::effects::Effects::new(config.delivery))
            .await?;
    let labels: Labels = BTreeMap::from([("app".to_owned(), "api".to_owned())]);
    let now = SystemClock.now().0;
    // Five slow requests per user, then the sixth: its ingest includes deciding and
    // committing the alert with its outbox rows.
    let mut latencies = Vec::with_capacity(alerts);
    for user in 0..alerts {
        let (warm, crossing) = five_then_sixth(user, &labels, now);
        engine.ingest(warm).await;
        let started = Instant::now();
        engine.ingest(crossing).await;
        latencies.push(started.elapsed());
    }
    latencies.sort_unstable();
    let percentile = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let fired = metrics.rule_alerts.get_or_create(&crate::metrics::StateLabels { state: "firing".to_owned() }).get();
    println!("vigil bench rules: {alerts} alerts, each fired by its sixth line (SQLite store, alert + outbox committed)");
    println!(
        "  line -> alert enqueued   p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms ({fired} alerts fired)",
        percentile(0.5).as_secs_f64() * 1e3,
        percentile(0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );

    // Memory: one rule, `groups` distinct label sets in its 10-minute window.
    let Ok(vigil_logql::Expr::Metric(expr)) = vigil_logql::parse(r#"count_over_time({app="api"} | json [10m]) > 1000"#) else {
        anyhow::bail!("bench expression does not parse");
    };
    let before = current_rss_kb();
    let mut evaluator = RuleEvaluator::new(&expr, EvaluatorOptions { max_groups: groups, ..EvaluatorOptions::default() });
    for i in 0..groups {
        let line = format!(r#"{{"user":"u{i}"}}"#);
        evaluator.observe(Entry { at: now + (i as i64 % 600_000), stream: &labels, line: &line });
    }
    let after = current_rss_kb();
    println!(
        "  memory                   {groups} groups: {:.1} MB ({:.0} bytes per group), dropped {}",
        (after.saturating_sub(before)) as f64 / 1024.0,
        (after.saturating_sub(before)) as f64 * 1024.0 / groups.max(1) as f64,
        evaluator.stats().dropped_groups
    );
    println!("reproduce: cargo build --release -p vigil && target/release/vigil bench rules --alerts {alerts} --groups {groups}");
    Ok(())
}

/// Five slow requests of `user`, then the sixth that crosses `> 5`: a bench's warm-up
/// batch and the batch whose handling it measures.
pub(crate) fn five_then_sixth(user: usize, labels: &Labels, now: i64) -> (LogBatch, LogBatch) {
    let line = |n: usize| format!(r#"{{"user":"u{user}","duration":"4s","n":{n}}}"#);
    let warm: Vec<(i64, String)> = (0..5).map(|n| (now + n as i64, line(n))).collect();
    let batch = |entries| LogBatch { streams: vec![LogStream { labels: labels.clone(), entries }], checkpoint: None };
    (batch(warm), batch(vec![(now + 5, line(5))]))
}

fn current_rss_kb() -> u64 {
    super::bench::proc_status_kb("VmRSS:")
}
