//! Vigil's own traces through the binary: with `telemetry.otlp-endpoint` set, spans of
//! checks, alert routing, notifications and API requests reach an OTLP/HTTP receiver as
//! protobuf, and the webhook a notification calls carries a W3C `traceparent` whose
//! trace is among them and in the JSON log line of the delivery.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;

use crate::helpers::{fake_api, get, Vigil, WAIT};

#[derive(Clone, Default)]
struct Received {
    traces: Arc<Mutex<Vec<Bytes>>>,
    hooks: Arc<Mutex<Vec<BTreeMap<String, String>>>>,
}

async fn receiver() -> (Received, u16) {
    let received = Received::default();
    let app = Router::new()
        .route(
            "/v1/traces",
            post(|State(received): State<Received>, body: Bytes| async move {
                received.traces.lock().expect("lock").push(body);
                ""
            }),
        )
        .route(
            "/hook",
            post(|State(received): State<Received>, headers: HeaderMap| async move {
                let headers =
                    headers.iter().map(|(name, value)| (name.to_string(), value.to_str().unwrap_or_default().to_owned())).collect();
                received.hooks.lock().expect("lock").push(headers);
                ""
            }),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (received, port)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_an_otlp_receiver_and_webhooks_carry_their_trace() {
    let (received, port) = receiver().await;
    let (api, api_address) = fake_api().await;
    let vigil = Vigil::start_with(
        |listen, dir| {
            format!(
                "storage: sqlite://{}/vigil.db\nlisten: 127.0.0.1:{listen}\n\
                 telemetry:\n  otlp-endpoint: http://127.0.0.1:{port}\n  service-name: vigil-under-test\n\
                 notifiers:\n  hook:\n    type: webhook\n    url: http://127.0.0.1:{port}/hook\n\
                 monitors:\n  - name: api\n    url: http://{api_address}/health\n    interval: 200ms\n    timeout: 150ms\n\
                 \x20   failure-threshold: 2\n    notify: [hook]\n",
                dir.display()
            )
        },
        &[("OTEL_BSP_SCHEDULE_DELAY", "200")],
        &["--log-format", "json"],
    );
    vigil_testkit::wait_for_port(vigil.port, WAIT);
    assert_eq!(get(vigil.port, "/healthz", BTreeMap::new()).await.status, Some(200));
    api.set_failing(true);

    let deadline = Instant::now() + WAIT;
    let traceparent = loop {
        let found = received.hooks.lock().expect("lock").iter().find_map(|headers| headers.get("traceparent").cloned());
        if let Some(found) = found {
            break found;
        }
        assert!(Instant::now() < deadline, "no webhook with a traceparent\n{}", vigil.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // 00-TRACE(32 hex)-SPAN(16 hex)-FLAGS
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts.iter().map(|part| part.len()).collect::<Vec<_>>(), [2, 32, 16, 2], "{traceparent}");
    let trace_id = hex::decode(parts[1]).expect("hex");

    // The JSON log of the delivery names the webhook's trace. Vigil writes it once the
    // webhook has answered, which can be after the receiver has recorded the call.
    let delivered = format!("\"trace_id\":\"{}\"", parts[1]);
    loop {
        let logs = vigil.logs();
        if logs.lines().any(|line| line.contains("notification delivered") && line.contains(&delivered)) {
            break;
        }
        assert!(Instant::now() < deadline, "no delivery log with trace {}:\n{logs}", parts[1]);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let names: [&[u8]; 5] = [b"check", b"alert.route", b"notify", b"http.request", b"vigil-under-test"];
    loop {
        let bodies = received.traces.lock().expect("lock").clone();
        let all: Vec<u8> = bodies.iter().flat_map(|body| body.iter().copied()).collect();
        let missing: Vec<String> =
            names.iter().filter(|name| !contains(&all, name)).map(|name| String::from_utf8_lossy(name).into_owned()).collect();
        if missing.is_empty() && contains(&all, &trace_id) {
            break;
        }
        assert!(Instant::now() < deadline, "spans missing: {missing:?}, the webhook's trace {}\n{}", parts[1], vigil.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
