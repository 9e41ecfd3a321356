//! The public status page through the real binary: components follow their monitors;
//! an incident shows only once someone writes a public update, and only what they wrote;
//! a maintenance silence puts its components under maintenance; the Statuspage JSON, the
//! Atom feed and the badges say the same; nothing internal (monitor names, URLs,
//! hostnames, error texts, private updates) leaks; the page's own listener serves the
//! page and nothing else.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::helpers::{fake_api, get, Vigil, WAIT};

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).expect("json")
}

async fn summary(port: u16) -> serde_json::Value {
    let answer = get(port, "/status/api/v2/summary.json", BTreeMap::new()).await;
    assert_eq!(answer.status, Some(200), "{}", String::from_utf8_lossy(&answer.body));
    json(&answer.body)
}

/// Waits until the summary satisfies `check` (the page is read again every 2 s).
async fn summary_until(vigil: &Vigil, what: &str, check: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let body = summary(vigil.port).await;
        if check(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "waited in vain for {what}: {body:#}\n{}", vigil.logs());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn component<'a>(body: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    body["components"].as_array().and_then(|all| all.iter().find(|component| component["name"] == name)).expect("component")
}

/// The response head of `GET PATH`, lowercased.
fn raw_head(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: status\r\nConnection: close\r\n\r\n").expect("write");
    let mut buffer = vec![0u8; 1 << 20];
    let mut length = 0;
    while length < buffer.len() {
        match stream.read(&mut buffer[length..]).expect("read") {
            0 => break,
            read => length += read,
        }
    }
    let answer = String::from_utf8_lossy(&buffer[..length]).into_owned();
    answer.split("\r\n\r\n").next().unwrap_or_default().to_lowercase()
}

/// Nothing internal in a public answer: monitor names and addresses, error texts,
/// private updates, people.
fn leaks_nothing(text: &str, what: &str, internal: &[String]) {
    let fixed = ["int-api-7", "int-web-3", "/health", "[STATUS]", "db host 10.1.2.3", "alice", "severity"];
    for secret in fixed.iter().copied().chain(internal.iter().map(String::as_str)) {
        assert!(!text.contains(secret), "{what} shows `{secret}`:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_follows_monitors_public_updates_and_maintenance() {
    let (api, api_address) = fake_api().await;
    let (_web, web_address) = fake_api().await;
    let own_port = vigil_testkit::free_port();
    let vigil = Vigil::start(|port, dir| {
        format!(
            "storage: sqlite://{}/vigil.db\nlisten: 127.0.0.1:{port}\n\
             monitors:\n  - name: int-api-7\n    url: http://{api_address}/health\n    interval: 200ms\n    timeout: 150ms\n\
             \x20   conditions: [\"[STATUS] == 200\"]\n    failure-threshold: 2\n    success-threshold: 2\n\
             \x20 - name: int-web-3\n    url: http://{web_address}/health\n    interval: 200ms\n    timeout: 150ms\n\
             status-page:\n  title: Example Inc. status\n  listen: 127.0.0.1:{own_port}\n  components:\n\
             \x20   - name: Public API\n      monitors: [int-api-7]\n    - name: Website\n      description: The shop\n      monitors: [int-web-3]\n",
            dir.display()
        )
    });

    let body = summary_until(&vigil, "both components operational", |body| {
        body["status"]["indicator"] == "none"
            && body["components"].as_array().is_some_and(|all| all.iter().all(|component| component["status"] == "operational"))
            && component(body, "Public API")["updated_at"].is_string()
    })
    .await;
    assert_eq!(body["status"]["description"], "All Systems Operational");
    assert_eq!(body["page"]["name"], "Example Inc. status");
    for key in ["page", "components", "incidents", "scheduled_maintenances", "status"] {
        assert!(body.get(key).is_some(), "Statuspage's summary has `{key}`: {body:#}");
    }
    assert_eq!(component(&body, "Website")["description"], "The shop");
    assert_eq!(component(&body, "Public API")["id"], "public-api");

    // An outage: the component and the page say so; the incident stays internal.
    api.set_failing(true);
    let body = summary_until(&vigil, "a major outage", |body| component(body, "Public API")["status"] == "major_outage").await;
    assert_eq!(
        (body["status"]["indicator"].as_str(), body["status"]["description"].as_str()),
        (Some("critical"), Some("Major System Outage"))
    );
    assert_eq!(body["incidents"], serde_json::json!([]), "no public update, no public incident");
    let (code, out, err) = vigil.command(&["incidents", "list", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let id = serde_json::from_str::<serde_json::Value>(out.lines().next().expect("an incident")).expect("json")["id"].as_i64().expect("id");

    // Updates: a private one stays inside, a public one is published as written.
    let (code, _, err) =
        vigil.command(&["incident", "update", &id.to_string(), "internal: db host 10.1.2.3 is out of disk", "--as", "alice"]);
    assert_eq!(code, Some(0), "{err}");
    let public = "We are investigating elevated error rates on the API.";
    let (code, _, err) =
        vigil.command(&["incident", "update", &id.to_string(), public, "--public", "--status", "identified", "--as", "alice"]);
    assert_eq!(code, Some(0), "{err}");
    let body = summary_until(&vigil, "the public incident", |body| body["incidents"].as_array().is_some_and(|all| !all.is_empty())).await;
    let incident = &body["incidents"][0];
    assert_eq!((incident["status"].as_str(), incident["impact"].as_str()), (Some("identified"), Some("major")), "{incident:#}");
    assert_eq!(incident["name"], "Public API: partial outage");
    assert_eq!(incident["incident_updates"].as_array().map(Vec::len), Some(1), "only the public update");
    assert_eq!(incident["incident_updates"][0]["body"], public);
    assert_eq!(incident["components"][0]["name"], "Public API");

    // Maintenance: a silence whose comment starts with `maintenance`.
    let (code, _, err) =
        vigil.command(&["silence", "add", "monitor=int-web-3", "--comment", "maintenance: Database upgrade", "--duration", "1h"]);
    assert_eq!(code, Some(0), "{err}");
    let body = summary_until(&vigil, "maintenance", |body| component(body, "Website")["status"] == "under_maintenance").await;
    let window = &body["scheduled_maintenances"][0];
    assert_eq!((window["name"].as_str(), window["status"].as_str()), (Some("Database upgrade"), Some("in_progress")), "{window:#}");
    assert_eq!(window["components"][0]["name"], "Website");

    // The page, the feed and the badges; nothing internal anywhere.
    let internal = [api_address.to_string(), web_address.to_string()];
    leaks_nothing(&body.to_string(), "summary.json", &internal);
    let page = get(vigil.port, "/status", BTreeMap::new()).await;
    assert_eq!(page.status, Some(200));
    let html = String::from_utf8_lossy(&page.body).into_owned();
    for says in [
        "Example Inc. status",
        "Major System Outage",
        "Public API",
        "Major outage",
        "Under maintenance",
        public,
        "Database upgrade",
        "Uptime is the share of time",
    ] {
        assert!(html.contains(says), "the page says `{says}`:\n{html}");
    }
    assert!(!html.contains("<script"), "no script");
    leaks_nothing(&html, "the page", &internal);
    let head = raw_head(vigil.port, "/status");
    assert!(head.contains("content-security-policy: default-src 'none'") && head.contains("frame-ancestors 'none'"), "{head}");
    assert!(head.contains("referrer-policy: no-referrer"), "{head}");
    let feed = get(vigil.port, "/status/history.atom", BTreeMap::new()).await;
    let feed = String::from_utf8_lossy(&feed.body).into_owned();
    assert!(feed.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\">") && feed.contains(public), "{feed}");
    leaks_nothing(&feed, "the feed", &internal);

    let badge = get(vigil.port, "/badge/int-api-7/uptime/30d.svg", BTreeMap::new()).await;
    assert_eq!(badge.status, Some(200));
    let svg = String::from_utf8_lossy(&badge.body).into_owned();
    assert!(svg.starts_with("<svg") && svg.contains("uptime 30d"), "{svg}");
    let state = get(vigil.port, "/badge/int-api-7/state.svg", BTreeMap::new()).await;
    assert!(String::from_utf8_lossy(&state.body).contains(">down<"));
    // The response time comes from the hourly sums stored each heartbeat (10 s).
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let timing = loop {
        let badge = get(vigil.port, "/badge/int-api-7/response-time.svg", BTreeMap::new()).await;
        assert_eq!(badge.status, Some(200));
        let svg = String::from_utf8_lossy(&badge.body).into_owned();
        if svg.contains(" ms<") || std::time::Instant::now() > deadline {
            break svg;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(timing.contains("response time 24h") && timing.contains(" ms<"), "{timing}");
    assert_eq!(get(vigil.port, "/badge/secret-db/state.svg", BTreeMap::new()).await.status, Some(404), "only the page's monitors");
    assert_eq!(get(vigil.port, "/badge/secret-db/response-time.svg", BTreeMap::new()).await.status, Some(404));
    assert_eq!(get(vigil.port, "/badge/int-api-7/uptime/5y.svg", BTreeMap::new()).await.status, Some(400));

    // Its own listener: the page, and nothing else.
    assert_eq!(get(own_port, "/status/api/v2/status.json", BTreeMap::new()).await.status, Some(200));
    assert_eq!(get(own_port, "/api/v1/monitors", BTreeMap::new()).await.status, Some(404));
    assert_eq!(get(own_port, "/metrics", BTreeMap::new()).await.status, Some(404));

    // Recovery: partial outage while its public incident is open, operational once resolved.
    api.set_failing(false);
    summary_until(&vigil, "the incident's partial outage", |body| component(body, "Public API")["status"] == "partial_outage").await;
    let (code, _, err) = vigil.command(&["incident", "resolve", &id.to_string(), "--as", "alice"]);
    assert_eq!(code, Some(0), "{err}");
    let body = summary_until(&vigil, "the API operational", |body| component(body, "Public API")["status"] == "operational").await;
    assert_eq!(body["incidents"], serde_json::json!([]), "resolved incidents are past ones");
    let html = String::from_utf8_lossy(&get(vigil.port, "/status", BTreeMap::new()).await.body).into_owned();
    assert!(html.contains("Past incidents") && html.contains(public), "{html}");
}
