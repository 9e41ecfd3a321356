//! Log intake from real clients and hostile ones, through the real binary: the
//! OpenTelemetry Python SDK's OTLP/HTTP exporter (protobuf, plain and gzip) firing a
//! rule, an export built to amplify memory, and uploads over the limit.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{Vigil, WAIT};
use crate::webhook::receiver;

/// Emits `count` records of "payment failed" through the SDK's `logging` bridge and
/// its `OTLPLogExporter` (protobuf), with `compression` `none` or `gzip`; fails unless
/// every export succeeded.
const EXPORTER: &str = r#"
import logging, sys
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

endpoint, compression, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
results = []

class Checked(OTLPLogExporter):
    def export(self, batch):
        result = super().export(batch)
        results.append(result)
        return result

exporter = Checked(endpoint=endpoint, compression=Compression.Gzip if compression == "gzip" else Compression.NoCompression)
provider = LoggerProvider(resource=Resource.create({"service.name": "checkout"}))
provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
log = logging.getLogger("checkout")
log.addHandler(LoggingHandler(level=logging.INFO, logger_provider=provider))
log.setLevel(logging.INFO)
for index in range(count):
    log.error("payment failed", extra={"order.id": index})
provider.shutdown()
if len(results) != count or any(result.name != "SUCCESS" for result in results):
    sys.exit(f"exports failed: {results}")
print("exported", len(results))
"#;

fn sdk_available() -> bool {
    let check = "import opentelemetry.sdk._logs, opentelemetry.exporter.otlp.proto.http._log_exporter";
    Command::new("python3").args(["-c", check]).stderr(Stdio::null()).status().is_ok_and(|status| status.success())
}

fn export(port: u16, compression: &str, count: usize) {
    let output = Command::new("python3")
        .args(["-c", EXPORTER, &format!("http://127.0.0.1:{port}/v1/logs"), compression, &count.to_string()])
        .output()
        .expect("run python3");
    assert!(
        output.status.success(),
        "exporter failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_opentelemetry_sdk_exporter_fires_a_rule_over_protobuf() {
    if !sdk_available() {
        vigil_testkit::skip_or_fail("the OpenTelemetry Python SDK (pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http)");
        return;
    }
    let (received, hook) = receiver().await;
    let vigil = Vigil::start(|port, _| {
        format!(
            "listen: 127.0.0.1:{port}\n\
             notifiers:\n  hook:\n    type: webhook\n    url: http://{hook}/hook\n\
             rules:\n  - name: payments-failing\n    expr: sum(count_over_time({{service_name=\"checkout\", level=\"ERROR\"}} |= \"payment failed\" [1m])) > 2\n\
             \x20   notify: [hook]\n"
        )
    });
    export(vigil.port, "none", 2);
    vigil.wait_for_metric("vigil_log_lines_total", 2.0).await;
    assert!(received.lock().expect("lock").is_empty(), "two failures are not an alert");
    export(vigil.port, "gzip", 1);
    let deadline = Instant::now() + WAIT;
    while received.lock().expect("lock").is_empty() {
        assert!(Instant::now() < deadline, "no alert arrived:\n{}", vigil.logs());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let alert: serde_json::Value = serde_json::from_str(&received.lock().expect("lock")[0].1).expect("json");
    assert_eq!(
        (alert["rule"].as_str(), alert["state"].as_str(), alert["value"].as_f64()),
        (Some("payments-failing"), Some("firing"), Some(3.0))
    );
}

/// The peak resident memory of a process, from `/proc/PID/status`, in MiB.
fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    kib / 1024.0
}

/// Sends `body` on a new connection and returns the whole answer; the body is written
/// from another thread while the answer is read, as a client streaming an upload does.
/// Fails unless the whole body could be written: a server that closes in the middle
/// of an upload resets it, and clients such as curl then report the reset, not the
/// answer.
fn raw_request(port: u16, head: &str, body: Vec<u8>) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(WAIT)).expect("timeout");
    stream.write_all(head.as_bytes()).expect("head");
    let mut writer = stream.try_clone().expect("clone");
    let upload = std::thread::spawn(move || {
        for chunk in body.chunks(64 * 1024) {
            if writer.write_all(chunk).is_err() {
                return false;
            }
        }
        true
    });
    let mut answer = Vec::new();
    #[allow(clippy::disallowed_methods, reason = "bounded by take(1 MiB)")]
    let outcome = (&mut stream).take(1024 * 1024).read_to_end(&mut answer);
    let uploaded = upload.join().expect("upload thread");
    let answer = String::from_utf8_lossy(&answer).into_owned();
    if let Err(error) = outcome {
        panic!("reading the answer failed: {error} (uploaded all: {uploaded}); got so far: {answer:?}");
    }
    assert!(uploaded, "the upload was cut off; the answer was {answer:?}");
    answer
}

/// `size` bytes of spaces in 1 MiB chunks of HTTP/1.1 chunked encoding.
fn chunked(size: usize) -> Vec<u8> {
    let mut body = Vec::new();
    for _ in 0..(size / (1024 * 1024)) {
        body.extend_from_slice(format!("{:x}\r\n", 1024 * 1024).as_bytes());
        body.extend(std::iter::repeat_n(b' ', 1024 * 1024));
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    body
}

/// Regression: an 885 KiB OTLP export of 20,000 resource attributes and 600 records
/// took 1.2 GiB, unauthenticated. And bodies over the limit were answered by a reset
/// in the middle of the upload instead of a 413.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_uploads_get_answers_and_bounded_memory() {
    let vigil = Vigil::start(|port, _| {
        format!("listen: 127.0.0.1:{port}\nrules:\n  - name: any\n    expr: sum(count_over_time({{app=\"api\"}}[1m])) > 100\n")
    });
    let attributes: Vec<String> =
        (0..20_000).map(|index| format!(r#"{{"key":"attribute.{index}","value":{{"stringValue":"v"}}}}"#)).collect();
    let records: Vec<String> = (0..600)
        .map(|index| format!(r#"{{"body":{{"stringValue":"x"}},"attributes":[{{"key":"n","value":{{"intValue":"{index}"}}}}]}}"#))
        .collect();
    let body = format!(
        r#"{{"resourceLogs":[{{"resource":{{"attributes":[{}]}},"scopeLogs":[{{"logRecords":[{}]}}]}}]}}"#,
        attributes.join(","),
        records.join(",")
    );
    let before = peak_rss_mib(vigil.pid());
    let head = format!(
        "POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let answer = raw_request(vigil.port, &head, body.clone().into_bytes());
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("the limit is 256"), "the answer names the limit: {answer}");
    let peak = peak_rss_mib(vigil.pid());
    assert!(
        peak < before + 16.0 * body.len() as f64 / 1024.0 / 1024.0 + 32.0,
        "peak RSS {peak:.0} MiB (was {before:.0} MiB) for a {} KiB body",
        body.len() / 1024
    );

    // Over the limit by Content-Length: answered once the upload is read, not reset.
    let size = vigil::logs::loki::MAX_BODY_BYTES * 2;
    let head = format!("POST /loki/api/v1/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n");
    let answer = raw_request(vigil.port, &head, vec![b' '; size]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(&format!("body larger than the limit of {} bytes", vigil::logs::loki::MAX_BODY_BYTES)), "{answer}");

    // Over the limit while streaming, without a length.
    let head = "POST /api/v1/alertmanager HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    let answer = raw_request(vigil.port, head, chunked(size));
    assert!(answer.starts_with("HTTP/1.1 404"), "no inbound configured: refused once the upload is read: {answer}");
    let head = "POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    let answer = raw_request(vigil.port, head, chunked(size));
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}
