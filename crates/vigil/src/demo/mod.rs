//! `vigil demo`: a local fake API with fault injection, Vigil watching and repairing it
//! (an HTTP action with a cooldown and verification), and every transition,
//! notification and remediation shown as it happens: the webhook's, and the e-mails as
//! an in-process SMTP server (`smtp.rs`) receives them. Nothing to set up.

mod smtp;

pub use smtp::quoted_printable;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use vigil_core::SystemClock;

use crate::cli::DemoArgs;

/// A fake API: `GET /health` answers `{"status":"OK"}`, or 500 `{"status":"DOWN"}` while
/// failing. `POST /fail` and `POST /recover` switch it; `POST /notifications` prints
/// what Vigil's webhook sends.
#[derive(Clone, Default)]
pub struct FakeApi {
    failing: Arc<AtomicBool>,
    health_checks: Arc<AtomicU64>,
}

impl FakeApi {
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// How many times `/health` has been asked.
    pub fn health_checks(&self) -> u64 {
        self.health_checks.load(Ordering::SeqCst)
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/health", get(health))
            .route(
                "/fail",
                post(|State(api): State<FakeApi>| async move {
                    api.set_failing(true);
                    "failing\n"
                }),
            )
            .route(
                "/recover",
                post(|State(api): State<FakeApi>| async move {
                    api.set_failing(false);
                    "healthy\n"
                }),
            )
            .route("/notifications", post(print_notification))
            .with_state(self.clone())
    }

    /// Serves on `address` (port 0 picks one); returns the bound address.
    pub async fn serve(&self, address: SocketAddr) -> anyhow::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address}"))?;
        let bound = listener.local_addr()?;
        let router = self.router();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Ok(bound)
    }
}

async fn health(State(api): State<FakeApi>) -> (StatusCode, Json<serde_json::Value>) {
    api.health_checks.fetch_add(1, Ordering::SeqCst);
    if api.failing.load(Ordering::SeqCst) {
        (StatusCode::INTERNAL_SERVER_ERROR, Json(serde_json::json!({"status": "DOWN"})))
    } else {
        (StatusCode::OK, Json(serde_json::json!({"status": "OK"})))
    }
}

async fn print_notification(Json(body): Json<serde_json::Value>) -> StatusCode {
    let summary = body["summary"].as_str().unwrap_or("notification");
    if body["kind"] == "action" {
        println!(">>> remediation: {summary} ({})", body["reason"].as_str().unwrap_or_default());
        return StatusCode::NO_CONTENT;
    }
    let failures = body["failures"].as_array().map(|failures| failures.iter().filter_map(|f| f.as_str()).collect::<Vec<_>>().join("; "));
    let period = body["previous_period_ms"].as_i64().map(|ms| vigil_core::time::format_duration(Duration::from_millis(ms.max(0) as u64)));
    let detail = match (body["state"].as_str(), period) {
        (Some("down"), Some(period)) => format!("was up for {period}; failing: {}", failures.unwrap_or_default()),
        (Some("down"), None) => format!("failing: {}", failures.unwrap_or_default()),
        (_, Some(period)) => format!("the outage lasted {period}"),
        _ => String::new(),
    };
    println!(">>> notification received by the demo webhook: {summary} ({detail})");
    StatusCode::NO_CONTENT
}

/// Where the demo listens: `--listen` as given, else 127.0.0.1:8080 when it is free and
/// any free port when it is not.
fn listen_address(args: &DemoArgs) -> String {
    match &args.listen {
        Some(listen) => listen.clone(),
        None if std::net::TcpListener::bind(DEFAULT_LISTEN).is_ok() => DEFAULT_LISTEN.to_owned(),
        None => {
            println!("(port 8080 is taken; Vigil listens on a free port instead)");
            "127.0.0.1:0".to_owned()
        }
    }
}

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The fake API's first fault comes this soon after start, so the first outage shows
/// within seconds; after it, faults follow `--cycle`.
const FIRST_FAULT_AFTER: Duration = Duration::from_secs(5);

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let api = FakeApi::default();
    let api_address = api.serve(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let smtp = smtp::start().await?;
    let temp;
    let dir = match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            dir.clone()
        }
        None => {
            temp = tempfile::Builder::new().prefix("vigil-demo-").tempdir()?;
            temp.path().to_owned()
        }
    };
    let config_path = dir.join("vigil.yaml");
    let yaml = format!(
        "# Written by `vigil demo`.\n\
         listen: {listen}\n\
         notifiers:\n  console:\n    type: webhook\n    url: http://{api_address}/notifications\n\
         \x20 oncall:\n    type: email\n    smtp-host: 127.0.0.1\n    smtp-port: {smtp_port}\n    tls: none\n\
         \x20   from: vigil-demo@example.com\n    to: [oncall@example.com]\n\
         actions:\n  restart-api:\n    type: http\n    url: http://{api_address}/recover\n    cooldown: 30s\n    verify: 10s\n\
         monitors:\n  - name: demo-api\n    url: http://{api_address}/health\n    interval: 1s\n    timeout: 500ms\n\
         \x20   conditions: [\"[STATUS] == 200\", \"[BODY].status == OK\"]\n    failure-threshold: 2\n    success-threshold: 2\n\
         \x20   notify: [console, oncall]\n    actions: [restart-api]\n\
         status-page:\n  title: Demo status\n  components:\n    - name: Demo API\n      monitors: [demo-api]\n",
        listen = listen_address(&args),
        smtp_port = smtp.port(),
    );
    std::fs::write(&config_path, yaml).with_context(|| format!("writing {}", config_path.display()))?;
    let config = vigil_config::load_file(&config_path).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    // A responder token to sign in to the dashboard with, made for this demo before Vigil
    // starts: one process, one writer of the store at a time.
    let token = {
        let store = crate::commands::record::open(&config).await?;
        let name = format!("demo-{}", crate::auth::random_hex(3).map_err(|_| anyhow::anyhow!("the system's random source failed"))?);
        let (record, token) = crate::auth::mint(&name, vigil_core::auth::Role::Responder, vigil_core::Clock::now(&SystemClock))?;
        store.create_token(&record, "vigil demo").await?;
        store.close().await;
        token
    };
    let running = crate::run::start(config, Arc::new(SystemClock)).await?;

    println!("Vigil demo");
    println!("  dashboard:       http://{}/ui  (sign in with the token below)", running.http_address);
    println!("  token:           {token}  (responder, made for this demo)");
    println!("  status page:     http://{}/status", running.http_address);
    println!("  metrics:         http://{}/metrics", running.http_address);
    println!(
        "  fake API:        http://{api_address}/health  (fails {}s after start, then every {1}s for {1}s)",
        FIRST_FAULT_AFTER.as_secs(),
        args.cycle
    );
    println!("  break it now:    curl -X POST http://{api_address}/fail");
    println!("  fix it:          curl -X POST http://{api_address}/recover");
    println!("  mail:            an SMTP server on {smtp} takes the outage and recovery e-mails");
    println!("  config and store: {}", dir.display());
    println!("  history:         vigil history demo-api -c {}", config_path.display());
    println!("  remediation:     vigil actions history -c {}", config_path.display());
    println!("When it fails, Vigil calls POST /recover (the `restart-api` action), verifies the fix, and");
    println!("holds a second run within 30s (the cooldown). Transitions appear in the log below;");
    println!("notifications, e-mails and remediation print with >>>. Ctrl-C stops.\n");

    let cycle = Duration::from_secs(args.cycle.max(1));
    let injector = {
        let api = api.clone();
        tokio::spawn(async move {
            let mut failing = false;
            let mut wait = FIRST_FAULT_AFTER;
            loop {
                tokio::time::sleep(wait).await;
                wait = cycle;
                failing = !failing;
                api.set_failing(failing);
                println!("--- fault injection: the fake API is now {}", if failing { "failing (500, status DOWN)" } else { "healthy" });
            }
        })
    };
    crate::commands::shutdown_signal().await;
    injector.abort();
    running.stop().await
}
