//! The S3 path against moto on loopback: an S3 event notification queues a new object;
//! the reconciliation scan finds one that came without an event; thumbnails land in
//! the output bucket.

use std::process::{Command, Stdio};

use thumbs::image::fixtures;
use vigil_testkit::MotoServer;

use crate::helpers::{metric, wait_until};

#[tokio::test(flavor = "multi_thread")]
async fn s3_inputs_become_s3_thumbnails() {
    let Some(moto) = MotoServer::start() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let (evented, scanned) = (dir.path().join("evented.jpg"), dir.path().join("scanned.jpg"));
    std::fs::write(&evented, fixtures::jpeg(800, 600, None)).expect("write");
    std::fs::write(&scanned, fixtures::jpeg(600, 800, None)).expect("write");
    moto.boto3(&format!(
        "s3 = boto3.client('s3', **kw)\n\
         s3.create_bucket(Bucket='originals')\n\
         s3.create_bucket(Bucket='thumbs')\n\
         s3.upload_file('{}', 'originals', 'uploads/new cat.jpg')\n\
         s3.upload_file('{}', 'originals', 'uploads/quiet.jpg')\n\
         s3.upload_file('{}', 'originals', 'uploads/uml-ü #?%20.jpg')",
        evented.display(),
        scanned.display(),
        scanned.display()
    ));
    let port = vigil_testkit::free_port();
    std::fs::write(
        dir.path().join("thumbs.yaml"),
        format!(
            "input: s3://originals/uploads\noutput: s3://thumbs/small-images\nendpoint: {}\nregion: us-east-1\nlisten: 127.0.0.1:{port}\n\
             scan-interval: 1h\nsigning-key: k\nsizes:\n  - {{name: small, width: 100}}\n",
            moto.endpoint()
        ),
    )
    .expect("config");
    let log = std::fs::File::create(dir.path().join("run.log")).expect("log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_thumbs"))
        .args(["run", "-c"])
        .arg(dir.path().join("thumbs.yaml"))
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn");
    assert!(vigil_testkit::wait_for_port(port, crate::helpers::WAIT), "thumbs did not listen");
    let listed =
        || moto.boto3("print(sorted(o['Key'] for o in boto3.client('s3', **kw).list_objects_v2(Bucket='thumbs').get('Contents', [])))");
    // The scan at start finds both; an event for a changed object queues it again.
    wait_until("the scan's thumbnails", async || listed().contains("small-images/small/quiet.jpg")).await;
    // A name that needs encoding on the wire round-trips as it is (regression: such keys
    // were encoded twice and looked "gone").
    wait_until("the odd name's thumbnail", async || listed().contains("small-images/small/uml-ü #?%20.jpg")).await;
    let event = serde_json::json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "originals"}, "object": {"key": "uploads/new+cat.jpg"}}}]});
    let request = vigil::probes::HttpRequest {
        method: http::Method::POST,
        url: format!("http://127.0.0.1:{port}/events/s3").parse().expect("url"),
        headers: [("content-type".to_owned(), "application/json".to_owned())].into(),
        body: Some(event.to_string().into()),
        timeout: std::time::Duration::from_secs(10),
        follow_redirects: false,
        verify_tls: true,
        host_from_address: false,
    };
    let answer = vigil::probes::HttpClient::new().send(&request).await;
    assert_eq!((answer.status, String::from_utf8_lossy(&answer.body).into_owned()), (Some(200), "{\"queued\":1}".to_owned()));
    wait_until("the evented job done again", async || metric(port, "thumbs_jobs_total{result=\"done\",reason=\"\"}").await >= 4.0).await;
    let keys = listed();
    assert!(keys.contains("small-images/small/new cat.jpg") && keys.contains("small-images/small/quiet.jpg"), "{keys}");
    let _ = child.kill();
    let _ = child.wait();
}
