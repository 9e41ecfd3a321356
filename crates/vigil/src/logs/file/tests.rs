//! The tailer against real files: appends, partial lines, rotation by rename and by
//! copytruncate, restarts from a stored position (also across rotation), over-long lines.
//! Every case checks that each line is read exactly once.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use vigil_config::StartAt;
use vigil_store::SourceOffset;

use super::{TailNote, Tailer, MAX_LINE};

fn append(path: &Path, text: &str) {
    let mut file = OpenOptions::new().create(true).append(true).open(path).expect("open for append");
    file.write_all(text.as_bytes()).expect("append");
}

/// Polls until nothing more is waiting; returns the lines and what was noticed.
fn drain(tailer: &mut Tailer) -> (Vec<String>, Vec<TailNote>) {
    let (mut lines, mut notes) = (Vec::new(), Vec::new());
    for _ in 0..100 {
        if !tailer.poll(&mut lines, &mut notes).expect("poll") {
            return (lines, notes);
        }
    }
    panic!("the tailer never caught up")
}

fn numbered(range: std::ops::RangeInclusive<u32>) -> String {
    range.map(|n| format!("{{\"n\":{n},\"msg\":\"line number {n} with some padding to make it longer\"}}\n")).collect()
}

fn numbers(lines: &[String]) -> Vec<u32> {
    lines
        .iter()
        .map(|line| line.split_once("\"n\":").and_then(|(_, rest)| rest.split(',').next()?.parse().ok()).expect("numbered line"))
        .collect()
}

#[test]
fn appended_lines_are_read_once_and_partial_lines_wait() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("app.log");
    append(&path, "old line\n");
    let (mut tailer, _) = Tailer::open(&path, None, StartAt::End);
    assert!(drain(&mut tailer).0.is_empty(), "start-at end skips what is there");
    append(&path, "one\ntwo\r\nthr");
    assert_eq!(drain(&mut tailer).0, ["one", "two"]);
    append(&path, "ee\n\n");
    assert_eq!(drain(&mut tailer).0, ["three"], "the partial line completes; empty lines are dropped");
    assert!(drain(&mut tailer).0.is_empty());

    let (mut from_start, _) = Tailer::open(&path, None, StartAt::Beginning);
    assert_eq!(drain(&mut from_start).0, ["old line", "one", "two", "three"]);
}

#[test]
fn a_file_that_appears_later_is_read_from_its_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("late.log");
    let (mut tailer, _) = Tailer::open(&path, None, StartAt::End);
    assert!(drain(&mut tailer).0.is_empty());
    append(&path, &numbered(1..=2));
    assert_eq!(numbers(&drain(&mut tailer).0), [1, 2]);
}

#[test]
fn rotation_by_rename_drains_the_old_file_then_reads_the_new_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("app.log");
    let rotated = dir.path().join("app.log.1");
    append(&path, &numbered(1..=3));
    let (mut tailer, _) = Tailer::open(&path, None, StartAt::Beginning);
    let mut seen = drain(&mut tailer).0;
    append(&path, &numbered(4..=4));
    std::fs::rename(&path, &rotated).expect("rotate");
    append(&rotated, &numbered(5..=5)); // the writer has not reopened yet
    append(&path, &numbered(6..=7));
    let (lines, notes) = drain(&mut tailer);
    seen.extend(lines);
    assert_eq!(notes, [TailNote::Renamed]);
    append(&rotated, &numbered(8..=8)); // a late write to the old file is still read
    append(&path, &numbered(9..=9));
    seen.extend(drain(&mut tailer).0);
    let mut got = numbers(&seen);
    got.sort_unstable();
    assert_eq!(got, (1..=9).collect::<Vec<_>>(), "every line exactly once");
}

#[test]
fn copytruncate_starts_again_at_zero() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("app.log");
    append(&path, &numbered(1..=3));
    let (mut tailer, _) = Tailer::open(&path, None, StartAt::Beginning);
    assert_eq!(numbers(&drain(&mut tailer).0), [1, 2, 3]);
    std::fs::copy(&path, dir.path().join("app.log.1")).expect("copy");
    std::fs::File::create(&path).expect("truncate");
    append(&path, &numbered(4..=4));
    let (lines, notes) = drain(&mut tailer);
    assert_eq!((numbers(&lines), notes), (vec![4], vec![TailNote::Truncated]));

    // Truncated and written past the old position before the next poll: the first bytes
    // changed, so it is still noticed.
    std::fs::File::create(&path).expect("truncate");
    append(&path, &format!("{{\"n\":5,\"msg\":\"{}\"}}\n", "x".repeat(400)));
    let (lines, notes) = drain(&mut tailer);
    assert_eq!((numbers(&lines), notes), (vec![5], vec![TailNote::Truncated]));
}

#[test]
fn a_restart_resumes_after_the_last_whole_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("app.log");
    append(&path, &numbered(1..=3));
    append(&path, "{\"n\":4,");
    let (mut tailer, _) = Tailer::open(&path, None, StartAt::Beginning);
    assert_eq!(numbers(&drain(&mut tailer).0), [1, 2, 3]);
    let checkpoint = tailer.checkpoint().expect("checkpoint");
    drop(tailer);
    append(&path, "\"msg\":\"four\"}\n");
    append(&path, &numbered(5..=5));
    let (mut resumed, notes) = Tailer::open(&path, Some(&checkpoint), StartAt::End);
    assert_eq!(notes, [TailNote::Resumed { position: checkpoint.position }]);
    assert_eq!(numbers(&drain(&mut resumed).0), [4, 5], "the partial line is read whole, nothing twice");
}

#[test]
fn a_restart_after_rotation_reads_the_old_files_rest_first() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("app.log");
    append(&path, &numbered(1..=2));
    let (mut tailer, _) = Tailer::open(&path, None, StartAt::Beginning);
    assert_eq!(numbers(&drain(&mut tailer).0), [1, 2]);
    let checkpoint = tailer.checkpoint().expect("checkpoint");
    drop(tailer);
    // While Vigil is down: more lines, a rotation, more lines in the new file.
    append(&path, &numbered(3..=4));
    let old = dir.path().join("app.log.1");
    std::fs::rename(&path, &old).expect("rotate");
    append(&path, &numbered(5..=6));
    let (mut resumed, notes) = Tailer::open(&path, Some(&checkpoint), StartAt::End);
    assert_eq!(notes, [TailNote::ResumedRotated { old, position: checkpoint.position }]);
    assert_eq!(numbers(&drain(&mut resumed).0), [3, 4, 5, 6]);

    // The old file is gone too (compressed away): the new file is read from its start.
    let checkpoint = resumed.checkpoint().expect("checkpoint");
    drop(resumed);
    std::fs::rename(&path, dir.path().join("app.log.2")).expect("rotate");
    std::fs::remove_file(dir.path().join("app.log.2")).expect("compressed and removed");
    append(&path, &numbered(7..=7));
    let (mut resumed, notes) = Tailer::open(&path, Some(&checkpoint), StartAt::End);
    // The file system may give the new file the freed inode; the digest tells them apart.
    assert!(matches!(notes[..], [TailNote::RotatedAway] | [TailNote::Truncated]), "{notes:?}");
    assert_eq!(numbers(&drain(&mut resumed).0), [7]);
}

#[test]
fn a_restart_after_truncation_or_inode_reuse_starts_at_zero() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("app.log");
    append(&path, &numbered(1..=3));
    let (mut tailer, _) = Tailer::open(&path, None, StartAt::Beginning);
    drain(&mut tailer);
    let checkpoint = tailer.checkpoint().expect("checkpoint");
    drop(tailer);
    std::fs::File::create(&path).expect("truncate");
    append(&path, &numbered(4..=4)[..20]);
    append(&path, "\n");
    let (_, notes) = Tailer::open(&path, Some(&checkpoint), StartAt::End);
    assert_eq!(notes, [TailNote::Truncated], "shorter than the stored position");

    // Same inode, other first bytes (rewritten, or a deleted file's inode reused).
    let reused = SourceOffset { head: "0000000000000000".to_owned(), ..checkpoint };
    std::fs::File::create(&path).expect("truncate");
    append(&path, &numbered(5..=9));
    let (mut reopened, notes) = Tailer::open(&path, Some(&reused), StartAt::End);
    assert_eq!(notes, [TailNote::Truncated]);
    assert_eq!(numbers(&drain(&mut reopened).0), [5, 6, 7, 8, 9]);
}

#[test]
fn an_over_long_line_is_skipped_and_counted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("app.log");
    let (mut tailer, _) = Tailer::open(&path, None, StartAt::Beginning);
    append(&path, &numbered(1..=1));
    append(&path, &"y".repeat(MAX_LINE + 10));
    let (lines, notes) = drain(&mut tailer);
    assert_eq!((numbers(&lines), notes), (vec![1], vec![TailNote::SkippedLong]));
    append(&path, &format!("{}\n", "y".repeat(100)));
    append(&path, &numbered(2..=2));
    let (lines, notes) = drain(&mut tailer);
    assert_eq!((numbers(&lines), notes), (vec![2], vec![]), "the rest of the long line is dropped, the next is read");
}
