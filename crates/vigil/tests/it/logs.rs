//! Log intake to alert: lines pushed over Loki's push API (JSON, gzip JSON, and
//! Snappy-compressed protobuf as Promtail sends it) reach the rule engine, the seed rule
//! fires on the sixth slow request, and the alert arrives by webhook with the last
//! matching lines.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use vigil::probes::{HttpClient, HttpRequest, ProbeResult};
use vigil_core::{Clock, SystemClock};

use crate::helpers::WAIT;
use crate::webhook::receiver;

async fn push(port: u16, body: impl Into<Bytes>, headers: &[(&str, &str)]) -> ProbeResult {
    let request = HttpRequest {
        method: http::Method::POST,
        url: format!("http://127.0.0.1:{port}/loki/api/v1/push").parse().expect("url"),
        headers: headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        body: Some(body.into()),
        timeout: Duration::from_secs(5),
        follow_redirects: false,
        verify_tls: true,
        host_from_address: false,
    };
    HttpClient::new().send(&request).await
}

#[tokio::test(flavor = "multi_thread")]
async fn pushed_lines_fire_the_seed_rule_and_the_alert_carries_its_lines() {
    let (received, hook) = receiver().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let yaml = format!(
        "storage: sqlite://{db}\nlisten: 127.0.0.1:0\n\
         notifiers:\n  hook:\n    type: webhook\n    url: http://{hook}/hook\n\
         rules:\n  - name: slow-api-data\n    expr: sum(count_over_time({{app=\"api\"}} | json | path = \"/api/data\" | duration > 3s [10m])) > 5\n\
         \x20   summary: \"{{{{ $value }}}} slow /api/data requests\"\n    notify: [hook]\n",
        db = dir.path().join("vigil.db").display()
    );
    let config = vigil_config::load_str(Path::new("vigil.yaml"), &yaml, &|_| None).expect("config");
    let running = vigil::run::start(config, Arc::new(SystemClock)).await.expect("start");
    let port = running.http_address.port();

    let now_ns = SystemClock.now().0 as i128 * 1_000_000;
    let line = |i: i128, path: &str, duration: &str| {
        format!(r#"["{}", "{{\"path\":\"{path}\",\"duration\":\"{duration}\",\"n\":{i}}}"]"#, now_ns + i * 1_000_000)
    };
    let mut values: Vec<String> = (0..5).map(|i| line(i, "/api/data", "3.5s")).collect();
    values.push(line(5, "/api/other", "9s"));
    values.push(line(6, "/api/data", "0.1s"));
    let body = format!(r#"{{"streams":[{{"stream":{{"app":"api"}},"values":[{}]}}]}}"#, values.join(","));
    assert_eq!(push(port, body, &[("content-type", "application/json")]).await.status, Some(204));
    assert!(received.lock().expect("lock").is_empty(), "five slow requests are not an alert");

    // A gzip-compressed JSON push of a line that does not match.
    let other = format!(r#"{{"streams":[{{"stream":{{"app":"api"}},"values":[{}]}}]}}"#, line(6, "/api/other", "5s"));
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gzip, other.as_bytes()).expect("gzip");
    let gzipped = gzip.finish().expect("gzip");
    assert_eq!(push(port, gzipped, &[("content-encoding", "gzip")]).await.status, Some(204));
    assert!(received.lock().expect("lock").is_empty());

    // The sixth slow request as Promtail sends it: protobuf, Snappy block-compressed.
    let at_ms = (now_ns / 1_000_000) as i64 + 7;
    let sixth = protobuf_push(r#"{app="api"}"#, at_ms, r#"{"path":"/api/data","duration":"4s","n":7}"#);
    let compressed = snap::raw::Encoder::new().compress_vec(&sixth).expect("snappy");
    assert_eq!(push(port, compressed, &[("content-type", "application/x-protobuf")]).await.status, Some(204));
    let deadline = Instant::now() + WAIT;
    while received.lock().expect("lock").is_empty() {
        assert!(Instant::now() < deadline, "no alert arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, body) = received.lock().expect("lock")[0].clone();
    let alert: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(alert["kind"], "alert");
    assert_eq!(alert["rule"], "slow-api-data");
    assert_eq!(alert["state"], "firing");
    assert_eq!(alert["value"], 6.0);
    assert_eq!(alert["description"], "6 slow /api/data requests");
    let samples = alert["sample_lines"].as_array().expect("sample lines");
    assert_eq!(samples.len(), 5, "the last five matching lines");
    assert!(samples.last().and_then(|s| s.as_str()).is_some_and(|s| s.contains(r#""n":7"#)), "{samples:?}");

    // OTLP/HTTP JSON lands in the same engine.
    let otlp = format!(
        r#"{{"resourceLogs":[{{"resource":{{"attributes":[{{"key":"app","value":{{"stringValue":"api"}}}}]}},"scopeLogs":[{{"logRecords":[{{"timeUnixNano":"{}","body":{{"stringValue":"hello"}}}}]}}]}}]}}"#,
        now_ns + 9_000_000
    );
    let request = HttpRequest {
        method: http::Method::POST,
        url: format!("http://127.0.0.1:{port}/v1/logs").parse().expect("url"),
        headers: [("content-type".to_owned(), "application/json".to_owned())].into(),
        body: Some(otlp.into()),
        timeout: Duration::from_secs(5),
        follow_redirects: false,
        verify_tls: true,
        host_from_address: false,
    };
    let response = HttpClient::new().send(&request).await;
    assert_eq!((response.status, &response.body[..]), (Some(200), &b"{}"[..]));

    // Bad input is an answer, not a crash.
    assert_eq!(push(port, "{not json", &[]).await.status, Some(400));
    assert_eq!(push(port, vec![b' '; vigil::logs::loki::MAX_BODY_BYTES + 1], &[]).await.status, Some(413));
    assert_eq!(push(port, "x", &[("content-type", "application/x-protobuf")]).await.status, Some(400));
    assert_eq!(push(port, "x", &[("content-encoding", "br")]).await.status, Some(415));
    running.stop().await.expect("clean stop");
}

/// Encodes Loki's `PushRequest` with one stream and one entry, by hand from the wire
/// format, independently of the decoder under test.
fn protobuf_push(labels: &str, at_ms: i64, line: &str) -> Vec<u8> {
    fn varint(mut value: u64, out: &mut Vec<u8>) {
        while value >= 0x80 {
            out.push((value as u8) | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
    }
    fn field(tag: u64, bytes: &[u8], out: &mut Vec<u8>) {
        varint(tag << 3 | 2, out);
        varint(bytes.len() as u64, out);
        out.extend_from_slice(bytes);
    }
    let mut timestamp = Vec::new();
    varint(1 << 3, &mut timestamp);
    varint((at_ms / 1000) as u64, &mut timestamp);
    varint(2 << 3, &mut timestamp);
    varint(((at_ms % 1000) * 1_000_000) as u64, &mut timestamp);
    let mut entry = Vec::new();
    field(1, &timestamp, &mut entry);
    field(2, line.as_bytes(), &mut entry);
    let mut stream = Vec::new();
    field(1, labels.as_bytes(), &mut stream);
    field(2, &entry, &mut stream);
    let mut request = Vec::new();
    field(1, &stream, &mut request);
    request
}

const EVALUATED: &str = "vigil_log_lines_evaluated_total";

fn append(path: &Path, lines: &[&str]) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("open log");
    for line in lines {
        writeln!(file, "{line}").expect("append");
    }
}

/// A tailed file through `vigil run`: rotation by rename, a SIGTERM, lines written while
/// stopped, a restart that reads each of them once, then the seed rule firing.
#[tokio::test(flavor = "multi_thread")]
async fn a_tailed_file_is_read_once_across_rotation_and_restart() {
    let (received, hook) = receiver().await;
    let mut vigil = crate::helpers::Vigil::start(|port, dir| {
        std::fs::write(dir.join("api.log"), "").expect("create log");
        format!(
            "listen: 127.0.0.1:{port}\n\
             notifiers:\n  hook:\n    type: webhook\n    url: http://{hook}/hook\n\
             sources:\n  - type: file\n    path: api.log\n    labels: {{app: api}}\n    start-at: beginning\n    poll-interval: 50ms\n\
             rules:\n  - name: slow-api-data\n    expr: sum(count_over_time({{app=\"api\"}} | json | path = \"/api/data\" | duration > 3s [10m])) > 5\n\
             \x20   notify: [hook]\n"
        )
    });
    let log = vigil.dir.path().join("api.log");
    let slow = r#"{"path":"/api/data","duration":"4s"}"#;
    let fast = r#"{"path":"/api/data","duration":"10ms"}"#;
    append(&log, &[slow, slow, slow]);
    vigil.wait_for_metric(EVALUATED, 3.0).await;

    std::fs::rename(&log, vigil.dir.path().join("api.log.1")).expect("rotate");
    append(&log, &[fast]);
    vigil.wait_for_metric(EVALUATED, 4.0).await;
    assert_eq!(vigil.metric("vigil_log_file_events_total{event=\"renamed\"}").await, 1.0);
    assert_eq!(vigil.terminate().code(), Some(0), "{}", vigil.logs());

    // Written while Vigil is down; then a marker, so that once the marker is counted
    // every line before it has been read.
    append(&log, &[slow, slow, r#"{"path":"/api/data", cut short"#, r#"{"marker":true}"#]);
    vigil.restart();
    vigil.wait_for_metric(EVALUATED, 4.0).await;
    assert_eq!(vigil.metric(EVALUATED).await, 4.0, "the four new lines, none of the old ones again:\n{}", vigil.logs());
    assert_eq!(vigil.metric("vigil_rule_lines_total{rule=\"slow-api-data\",outcome=\"parse_error\"}").await, 1.0);
    assert_eq!(vigil.metric("vigil_rule_lines_total{rule=\"slow-api-data\",outcome=\"matched\"}").await, 2.0);
    assert_eq!(vigil.metric("vigil_log_file_events_total{event=\"resumed\"}").await, 1.0);
    assert!(received.lock().expect("lock").is_empty(), "windows start empty: two slow requests are not an alert");

    append(&log, &[slow, slow, slow, slow, slow, fast, slow]);
    let deadline = Instant::now() + WAIT;
    while received.lock().expect("lock").is_empty() {
        assert!(Instant::now() < deadline, "no alert arrived:\n{}", vigil.logs());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let alert: serde_json::Value = serde_json::from_str(&received.lock().expect("lock")[0].1).expect("json");
    assert_eq!((alert["state"].as_str(), alert["value"].as_f64()), (Some("firing"), Some(6.0)), "fires on the sixth slow line");
    assert_eq!(vigil.terminate().code(), Some(0), "{}", vigil.logs());
}

/// Log rules count per node (each node the lines it receives), so a second node with
/// rules on the same store says so when it starts.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_node_with_rules_warns_that_rules_count_per_node() {
    let db = tempfile::tempdir().expect("temp dir");
    let storage = format!("sqlite://{}", db.path().join("shared.db").display());
    let config = |port: u16, _: &Path| {
        format!(
            "storage: {storage}\nlisten: 127.0.0.1:{port}\nrules:\n  - name: r\n    expr: sum(count_over_time({{app=\"api\"}}[1m])) > 5\n"
        )
    };
    let first = crate::helpers::Vigil::start(config);
    assert!(!first.logs().contains("other nodes run on this store"), "{}", first.logs());
    let second = crate::helpers::Vigil::start(config);
    let deadline = Instant::now() + WAIT;
    while !second.logs().contains("other nodes run on this store") {
        assert!(Instant::now() < deadline, "no warning:\n{}", second.logs());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(second.logs().contains(&format!(":{}~", first.port)), "names the other node:\n{}", second.logs());
}
