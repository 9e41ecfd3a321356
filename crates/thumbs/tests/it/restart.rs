//! A restart mid-queue: thumbs is killed (SIGKILL) while working through a backlog and
//! started again; every input ends with its thumbnails, none in the dead-letter queue.

use std::process::Command;

use thumbs::image::fixtures;

use crate::helpers::{local_config, metric, spawn, wait_until};

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_mid_queue_loses_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = vigil_testkit::free_port();
    let config = local_config(dir.path(), "workers: 1\n").replace("listen: 127.0.0.1:0", &format!("listen: 127.0.0.1:{port}"));
    std::fs::write(dir.path().join("thumbs.yaml"), config).expect("config");
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).expect("dir");
    let inputs = 30;
    for index in 0..inputs {
        std::fs::write(input.join(format!("photo-{index:02}.jpg")), fixtures::jpeg(1200, 900, None)).expect("write");
    }
    let mut first = spawn(dir.path(), port, 1);
    wait_until("a few jobs done", async || metric(port, "thumbs_jobs_total{result=\"done\",reason=\"\"}").await >= 3.0).await;
    first.kill().expect("kill -9");
    let _ = first.wait();
    let done_before = std::fs::read_dir(dir.path().join("out/small")).map(|entries| entries.count()).unwrap_or(0);
    assert!(done_before < inputs, "killed mid-queue ({done_before} done)");

    let mut second = spawn(dir.path(), port, 2);
    let out = dir.path().join("out");
    let complete =
        || (0..inputs).all(|index| ["small", "square"].iter().all(|size| out.join(format!("{size}/photo-{index:02}.jpg")).exists()));
    wait_until("every input processed", async || complete()).await;
    assert_eq!(metric(port, "thumbs_dead_letters").await, 0.0);
    let _ = Command::new("kill").args(["-TERM", &second.id().to_string()]).status();
    let status = second.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "{}", std::fs::read_to_string(dir.path().join("run-2.log")).unwrap_or_default());
}
