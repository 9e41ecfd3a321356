//! Memory under hostile files: a backlog of decompression bombs, huge declared sizes,
//! truncated and lying files all go to the dead-letter queue while the process's peak
//! resident memory stays small (limits are checked from headers, before decoding).

use crate::helpers::{local_config, metric, spawn, wait_until};
use thumbs::image::fixtures;

/// A real JPEG whose frame header claims 60000x60000 (3600 MP).
fn lying_jpeg() -> Vec<u8> {
    let mut bytes = fixtures::jpeg(64, 64, None);
    let frame = bytes.windows(2).position(|pair| pair == [0xFF, 0xC0]).expect("baseline frame header");
    bytes[frame + 5..frame + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    bytes
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_backlogs_keep_memory_bounded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = vigil_testkit::free_port();
    let config = local_config(dir.path(), "workers: 2\n").replace("listen: 127.0.0.1:0", &format!("listen: 127.0.0.1:{port}"));
    std::fs::write(dir.path().join("thumbs.yaml"), config).expect("config");
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).expect("dir");
    let mut files = fixtures::hostile();
    files.push(("lying.jpg", lying_jpeg()));
    let copies = 4;
    for copy in 0..copies {
        for (name, bytes) in &files {
            std::fs::write(input.join(format!("{copy}-{name}")), bytes).expect("write");
        }
    }
    let expected = (files.len() * copies) as f64;
    let mut child = spawn(dir.path(), port, 1);
    wait_until("every hostile file dead-lettered", async || metric(port, "thumbs_dead_letters").await >= expected).await;
    let peak = thumbs::bench::process_peak_rss_mb(&child.id().to_string());
    let _ = child.kill();
    let _ = child.wait();
    let Some(peak) = peak else {
        eprintln!("skipped the memory check: no /proc/PID/status here");
        return;
    };
    eprintln!("peak RSS of thumbs after {expected} hostile files: {peak:.0} MB");
    // Decoding any one of these would take 190 MB (the 64 MP bomb) to 10 GB (the lies).
    assert!(peak < 120.0, "peak RSS {peak:.0} MB after {expected} hostile files");
}
