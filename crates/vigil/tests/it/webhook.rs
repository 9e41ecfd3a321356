//! The webhook notifier through the in-process app: JSON payload, episode key, and an
//! HMAC-SHA256 signature the receiver can check with the shared secret.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use vigil_core::SystemClock;

use crate::helpers::{fake_api, WAIT};

pub type Received = Arc<Mutex<Vec<(HeaderMap, String)>>>;

pub async fn receiver() -> (Received, SocketAddr) {
    let received: Received = Arc::default();
    let store = received.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: String| async move {
            store.lock().expect("lock").push((headers, body));
            "ok"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (received, address)
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_payloads_are_signed_and_keyed_by_episode() {
    let (api, api_address) = fake_api().await;
    let (received, hook_address) = receiver().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let yaml = format!(
        "storage: sqlite://{db}\nlisten: 127.0.0.1:0\n\
         notifiers:\n  hook:\n    type: webhook\n    url: http://{hook_address}/hook\n    secret: ${{HOOK_SECRET}}\n\
         monitors:\n  - name: api\n    url: http://{api_address}/health\n    interval: 100ms\n    timeout: 90ms\n    notify: [hook]\n",
        db = dir.path().join("vigil.db").display()
    );
    let lookup = |name: &str| (name == "HOOK_SECRET").then(|| "s3cret".to_owned());
    let config = vigil_config::load_str(Path::new("vigil.yaml"), &yaml, &lookup).expect("config");
    let running = vigil::run::start(config, Arc::new(SystemClock)).await.expect("start");

    api.set_failing(true);
    let deadline = Instant::now() + WAIT;
    while received.lock().expect("lock").is_empty() {
        assert!(Instant::now() < deadline, "no webhook arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.stop().await.expect("clean stop");

    let (headers, body) = received.lock().expect("lock")[0].clone();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"s3cret").expect("key");
    mac.update(body.as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(headers.get("x-vigil-signature").and_then(|v| v.to_str().ok()), Some(expected.as_str()));
    let payload: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(payload["state"], "down");
    assert_eq!(payload["monitor"], "api");
    assert_eq!(payload["failures"][0], "[STATUS] (500) == 200");
    let key = payload["idempotency_key"].as_str().expect("key");
    assert!(key.starts_with("transition:") && key.ends_with(":hook"), "{key}");
    assert_eq!(headers.get("x-vigil-idempotency-key").and_then(|v| v.to_str().ok()), Some(key));
    assert!(!body.contains("s3cret"), "the secret never travels");
}
