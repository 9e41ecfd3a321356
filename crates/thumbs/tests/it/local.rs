//! Local buckets: files dropped into the input become thumbnails; hostile ones land in
//! the dead-letter queue with a reason while the service stays up; /img needs valid
//! signatures, answers from its cache, honours ETags and Accept, and renders identical
//! requests once.

use thumbs::image::fixtures;

use crate::helpers::{get, metric, start, wait_until};

fn jpeg_size(bytes: &[u8]) -> (u32, u32) {
    let pixels = thumbs::image::jpeg::decode(bytes, 8, false, &thumbs::image::Limits::default())
        .expect("a JPEG")
        .image
        .into_pixels()
        .expect("pixels");
    (pixels.width, pixels.height)
}

#[tokio::test(flavor = "multi_thread")]
async fn dropped_files_become_thumbnails_and_hostile_ones_dead_letters() {
    let dir = tempfile::tempdir().expect("temp dir");
    let running = start(dir.path(), "").await;
    let input = dir.path().join("in");
    std::fs::create_dir_all(input.join("deep")).expect("dirs");
    std::fs::write(input.join("deep/portrait.jpg"), fixtures::jpeg(400, 200, Some(6))).expect("write");
    std::fs::write(input.join("alpha.png"), fixtures::png_rgba(128, 64)).expect("write");
    let hostile = fixtures::hostile();
    for (name, bytes) in &hostile {
        std::fs::write(input.join(name), bytes).expect("write");
    }
    let queue = running.service.queue.clone();
    wait_until("every file handled", async || queue.counts().await.is_ok_and(|c| c.done == 2 && c.dead == hostile.len() as u64)).await;

    let out = dir.path().join("out");
    let small = std::fs::read(out.join("small/deep/portrait.jpg")).expect("small");
    assert_eq!(jpeg_size(&small), (64, 128), "oriented upright before resizing");
    let square = std::fs::read(out.join("square/deep/portrait.jpg")).expect("square");
    assert_eq!(jpeg_size(&square), (32, 32));
    let png = image::load_from_memory(&std::fs::read(out.join("small/alpha.png")).expect("png")).expect("decode");
    assert_eq!((png.width(), png.height(), png.color().has_alpha()), (64, 32, true));

    let dead = queue.dead_letters(100).await.expect("dlq");
    let reasons: Vec<(String, String)> = dead.iter().map(|letter| (letter.key.clone(), letter.reason.clone())).collect();
    for (name, reason) in [
        ("empty.jpg", "corrupt"),
        ("not-an-image.jpg", "unsupported"),
        ("truncated.jpg", "corrupt"),
        ("huge.png", "too_large"),
        ("bomb.png", "too_large"),
    ] {
        assert!(reasons.contains(&(name.to_owned(), reason.to_owned())), "{name}: {reasons:?}");
    }
    assert_eq!(get(running.http_address.port(), "/healthz", &[]).await.status, Some(200), "still up");
    assert_eq!(metric(running.http_address.port(), "thumbs_dead_letters").await, hostile.len() as f64);

    // Replayed, they fail again the same way; purged, they are gone.
    assert_eq!(queue.replay(None, vigil_core::Clock::now(&vigil_core::SystemClock)).await.expect("replay"), hostile.len() as u64);
    running.service.wake.notify_one();
    wait_until("dead again", async || queue.counts().await.is_ok_and(|c| c.dead == hostile.len() as u64)).await;
    running.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_urls_are_required_and_answers_are_cached() {
    let dir = tempfile::tempdir().expect("temp dir");
    let running = start(dir.path(), "").await;
    let port = running.http_address.port();
    std::fs::create_dir_all(dir.path().join("in/p")).expect("dir");
    std::fs::write(dir.path().join("in/p/cat.jpg"), fixtures::jpeg(1600, 1200, None)).expect("write");
    let signed = |url: &str| thumbs::sign::sign_url(b"k3y", url);

    assert_eq!(get(port, "/img/p/cat.jpg?w=300", &[]).await.status, Some(403), "unsigned");
    let tampered = signed("/img/p/cat.jpg?w=300").replace("w=300", "w=3000");
    assert_eq!(get(port, &tampered, &[]).await.status, Some(403), "tampered");
    assert_eq!(get(port, &signed("/img/p/missing.jpg?w=300"), &[]).await.status, Some(404));
    assert_eq!(get(port, &signed("/img/p/cat.jpg?w=0"), &[]).await.status, Some(400));

    let url = signed("/img/p/cat.jpg?w=300");
    let first = get(port, &url, &[]).await;
    assert_eq!(first.status, Some(200));
    assert_eq!(jpeg_size(&first.body), (300, 225));
    assert_eq!(metric(port, "thumbs_cache_misses_total").await, 1.0);
    let second = get(port, &url, &[]).await;
    assert_eq!((second.status, second.body.clone()), (Some(200), first.body.clone()));
    assert_eq!(metric(port, "thumbs_cache_hits_total").await, 1.0, "the second came from the cache");

    let raw = raw_get(port, &url, "").await;
    let etag =
        raw.lines().find_map(|line| line.strip_prefix("etag: ").or_else(|| line.strip_prefix("ETag: "))).expect("etag").trim().to_owned();
    assert!(raw.to_ascii_lowercase().contains("cache-control: public, max-age=31536000, immutable"), "{raw}");
    let revalidated = get(port, &url, &[("if-none-match", &etag)]).await;
    assert_eq!(revalidated.status, Some(304));

    let auto = signed("/img/p/cat.jpg?w=120&format=auto");
    let webp = get(port, &auto, &[("accept", "image/avif,image/webp,*/*")]).await;
    assert!(webp.body.starts_with(b"RIFF"), "WebP for a client that takes it");
    let jpeg = get(port, &auto, &[("accept", "image/*")]).await;
    assert!(jpeg.body.starts_with(&[0xFF, 0xD8]), "JPEG otherwise");

    // Identical requests in flight share one render.
    let misses = metric(port, "thumbs_cache_misses_total").await;
    let burst = signed("/img/p/cat.jpg?w=800&h=600&fit=cover");
    let answers = futures_join(port, &burst, 6).await;
    assert!(answers.iter().all(|status| *status == Some(200)));
    assert_eq!(metric(port, "thumbs_cache_misses_total").await, misses + 1.0, "rendered once for six requests");
    running.stop().await.expect("stop");
}

async fn futures_join(port: u16, path: &str, count: usize) -> Vec<Option<u16>> {
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            let path = path.to_owned();
            tokio::spawn(async move { get(port, &path, &[]).await.status })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("request task"));
    }
    statuses
}

/// The response head of a GET, as text (status line and headers).
async fn raw_get(port: u16, path: &str, extra_headers: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{extra_headers}\r\n").as_bytes())
        .await
        .expect("write");
    let mut response = Vec::new();
    let _ = (&mut stream).take(1 << 20).read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response);
    text.split("\r\n\r\n").next().unwrap_or_default().replace("\r\n", "\n")
}

/// Regression: a config nested 30,000 levels deep (`- - - … x`) overflowed the stack of
/// `thumbs check` (exit 134).
#[test]
fn a_deeply_nested_config_is_a_located_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("thumbs.yaml");
    std::fs::write(&path, format!("sizes:\n  {}x\n", "- ".repeat(30_000))).expect("write");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_thumbs")).args(["check", "-c"]).arg(&path).output().expect("thumbs check");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("thumbs.yaml:2:") && stderr.contains("nested too deeply"), "{stderr}");
}

/// Regressions: valid JPEGs named `uml-ü.jpg`, `写真.jpg`, `tilde~.jpg`, `hash#.jpg`,
/// `pct%20.jpg`, `brace{.jpg`, `star*.jpg` and `q?.jpg` were logged "input is gone",
/// recorded done and never thumbnailed, and `/img` answered 404 for them; one file named
/// with a control character stopped the scan (and `thumbs backfill`) for every input;
/// `dup.gif` and `dup.png` silently shared one thumbnail.
#[tokio::test(flavor = "multi_thread")]
async fn every_name_round_trips_and_bad_names_or_collisions_are_refused_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("in");
    std::fs::create_dir_all(input.join("sub dir")).expect("dirs");
    let names = ["uml-ü.jpg", "写真.jpg", "tilde~.jpg", "hash#.jpg", "pct%20.jpg", "brace{.jpg", "star*.jpg", "q?.jpg", "sub dir/a b.jpg"];
    for name in names {
        std::fs::write(input.join(name), fixtures::jpeg(200, 100, None)).expect("write");
    }
    std::fs::write(input.join("ctrl\u{1}char.jpg"), fixtures::jpeg(200, 100, None)).expect("write");
    std::fs::write(input.join("dup.gif"), fixtures::png_rgba(40, 40)).expect("write");
    let running = start(dir.path(), "").await;
    let queue = running.service.queue.clone();
    wait_until("every input handled", async || queue.counts().await.is_ok_and(|c| c.done == names.len() as u64 + 1)).await;
    for name in names {
        let small = std::fs::read(dir.path().join("out/small").join(name)).unwrap_or_else(|error| panic!("{name}: {error}"));
        assert_eq!(jpeg_size(&small), (64, 32), "{name}");
    }
    let port = running.http_address.port();
    assert_eq!(metric(port, "thumbs_inputs_skipped").await, 1.0, "the control character, reported");

    // A second input for the same thumbnail is refused by name, not written over it.
    std::fs::write(input.join("dup.png"), fixtures::png_rgba(40, 40)).expect("write");
    wait_until("the collision refused", async || queue.counts().await.is_ok_and(|c| c.dead == 1)).await;
    let dead = queue.dead_letters(10).await.expect("dlq");
    assert_eq!((dead[0].key.as_str(), dead[0].reason.as_str()), ("dup.png", "output_collision"));
    assert!(dead[0].error.contains("small/dup.png is already made from dup.gif"), "{}", dead[0].error);

    // /img with the key percent-encoded, signed by `thumbs sign` from either form.
    for url in ["/img/uml-%C3%BC.jpg?w=50", "/img/写真.jpg?w=50", "/img/hash%23.jpg?w=50", "/img/q%3F.jpg?w=50", "/img/pct%2520.jpg?w=50"]
    {
        let signed = thumbs::sign::sign_url(b"k3y", url);
        let answer = get(port, &signed, &[]).await;
        assert_eq!(answer.status, Some(200), "{url} as {signed}");
    }
    running.stop().await.expect("stop");

    // `thumbs backfill` skips and reports the bad name, and queues the rest.
    std::fs::remove_dir_all(dir.path().join("out")).expect("clean outputs");
    std::fs::write(dir.path().join("thumbs.yaml"), crate::helpers::local_config(dir.path(), "")).expect("config");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_thumbs"))
        .args(["backfill", "-c"])
        .arg(dir.path().join("thumbs.yaml"))
        .output()
        .expect("thumbs backfill");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stderr.contains(r#""ctrl\u{1}char.jpg": not a valid object key"#), "{stderr}");
    assert!(stdout.contains(&format!("{0} of {0} inputs queued", names.len() + 2)) && stdout.contains("1 skipped"), "{stdout}");
}

/// The example config passes `thumbs check`.
#[test]
fn the_example_config_passes_check() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/thumbs.yaml");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_thumbs"))
        .args(["check", "-c"])
        .arg(&path)
        .env("THUMBS_SIGNING_KEY", "example-key")
        .output()
        .expect("thumbs check");
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
}
