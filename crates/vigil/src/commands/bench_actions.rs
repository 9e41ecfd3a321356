//! `vigil bench actions`: from a rule firing to its action starting, through the real
//! rule engine, store (SQLite), action worker, guard pipeline and lease, to an HTTP
//! action's request arriving at a local target.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::post;
use tokio::sync::{mpsc, watch};
use vigil_core::{Clock, SystemClock};
use vigil_logql::eval::pipeline::Labels;
use vigil_store::Store;

use crate::actions::execute::Executor;
use crate::actions::worker::ActionWorker;
use crate::actions::Planner;
use crate::aws::AwsClient;
use crate::effects::Effects;
use crate::metrics::Metrics;
use crate::probes::HttpClient;
use crate::rules::RuleEngine;

pub async fn actions(alerts: usize) -> anyhow::Result<()> {
    // The target: tells the bench when each action's request arrives.
    let (arrived_tx, mut arrived) = mpsc::unbounded_channel::<Instant>();
    let app = axum::Router::new().route(
        "/act",
        post(move || {
            let arrived_tx = arrived_tx.clone();
            async move {
                let _ = arrived_tx.send(Instant::now());
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let target = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir()?;
    let store = Store::open(&format!("sqlite://{}", dir.path().join("bench.db").display())).await?;
    let yaml = format!(
        "remediation:\n  budget: 1000000\n\
         actions:\n  act:\n    type: http\n    url: 'http://{target}/act?user={{{{ $labels.user }}}}'\n    cooldown: 1h\n\
         rules:\n  - name: per-user\n    expr: 'sum by (user) (count_over_time({{app=\"api\"}} | json | duration > 3s [10m])) > 5'\n    actions: [act]\n"
    );
    let config = vigil_config::load_str(Path::new("bench.yaml"), &yaml, &|_| None).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    let metrics = Arc::new(Metrics::new());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let effects = Effects { planner: Planner::new(config.actions.clone(), false), ..Effects::new(config.delivery) };
    let mut engine = RuleEngine::new(&config.rules, store.clone(), clock.clone(), metrics.clone(), effects.clone()).await?;
    let http = HttpClient::new();
    let worker = ActionWorker {
        store,
        planner: effects.planner.clone(),
        executor: Executor { http: http.clone(), aws: AwsClient::new(http) },
        clock,
        node: "bench".to_owned(),
        remediation: config.remediation,
        delivery: config.delivery,
        metrics: metrics.clone(),
        wake_outbox: effects.wake_outbox.clone(),
        audit_sink: false,
        inhibit_rules: Arc::default(),
        group_of: Arc::new(|_, _| None),
        in_flight: Arc::default(),
    };
    let (stop, stop_rx) = watch::channel(false);
    let worker_task = tokio::spawn(worker.run(effects.wake_actions.clone(), stop_rx));

    let labels: Labels = Labels::from([("app".to_owned(), "api".to_owned())]);
    let now = SystemClock.now().0;
    let mut latencies = Vec::with_capacity(alerts);
    for user in 0..alerts {
        let (warm, crossing) = super::bench_logs::five_then_sixth(user, &labels, now);
        engine.ingest(warm).await;
        let fired = Instant::now();
        engine.ingest(crossing).await;
        let arrival = tokio::time::timeout(Duration::from_secs(10), arrived.recv()).await?.ok_or_else(|| anyhow::anyhow!("target gone"))?;
        latencies.push(arrival.duration_since(fired));
    }
    let _ = stop.send(true);
    worker_task.await?;
    latencies.sort_unstable();
    let percentile = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)].as_secs_f64() * 1e3;
    println!("vigil bench actions: {alerts} alerts, each fired by its sixth line and remediated by an HTTP action (SQLite store)");
    println!(
        "  rule firing -> action request at the target   p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(0.5),
        percentile(0.9),
        percentile(0.99),
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    println!(
        "  (alert + execution committed, worker woken, 8 guard decisions read from the store, lease taken, run recorded, HTTP request)"
    );
    println!("reproduce: cargo build --release -p vigil && target/release/vigil bench actions --alerts {alerts}");
    Ok(())
}
