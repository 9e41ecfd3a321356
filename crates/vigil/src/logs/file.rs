//! `type: file`: follows a log file as `tail -F` does.
//!
//! - Rotation by rename (logrotate's default): the path names a new file. The old one is
//!   read to its end first, and kept open a little longer for a writer that has not
//!   reopened yet, then the new file is read from its start.
//! - Rotation by copytruncate: the file shrinks below the read position (or its first
//!   bytes change); reading starts again at 0. Lines written between the copy and the
//!   truncation are lost, as with every tailer: the file never holds them.
//! - Restart: the position of the last whole line handed on is stored with the file's
//!   identity (device, inode) and a digest of its first bytes. If the path names another
//!   file by then, the old file is looked for in the same directory (`app.log.1`) and its
//!   rest read first. A file truncated or rewritten meanwhile, or a reused inode (told
//!   apart by the digest), is read from its start.
//!
//! A [`Tailer`] does the reading, one [`Tailer::poll`] at a time, so tests drive it
//! step by step; [`spawn`] runs one on its own thread for `vigil run`.

use std::fs::{File, Metadata};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, watch};
use vigil_config::{FileSourceConfig, StartAt};
use vigil_core::Clock;
use vigil_store::SourceOffset;

use super::event_time::{event_time, TimeFields};
use super::{LogBatch, LogStream};
use crate::metrics::Metrics;

/// Lines longer than this are skipped and counted.
pub const MAX_LINE: usize = 1024 * 1024;
/// Bytes whose digest identifies a file beside its inode.
const HEAD_BYTES: u64 = 64;
/// How long a renamed-away file is still read after its last new line.
const DRAIN_QUIET: Duration = Duration::from_secs(5);
/// Most bytes read in one poll, so a batch stays bounded.
const POLL_BYTES: usize = 4 * 1024 * 1024;
const READ_CHUNK: usize = 64 * 1024;

/// A file's identity: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    device: u64,
    inode: u64,
}

impl FileId {
    fn of(metadata: &Metadata) -> FileId {
        FileId { device: metadata.dev(), inode: metadata.ino() }
    }

    fn text(self) -> String {
        format!("{}:{}", self.device, self.inode)
    }
}

/// What happened to the file, for logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TailNote {
    /// The path names a new file; the old one is drained.
    Renamed,
    /// The file was truncated or rewritten in place; reading starts again at 0.
    Truncated,
    /// Resumed at the stored position.
    Resumed { position: u64 },
    /// The file was rotated while Vigil was down; the old one was found and is read first.
    ResumedRotated { old: PathBuf, position: u64 },
    /// The file was rotated while Vigil was down and the old one is gone: its lines after
    /// the stored position cannot be read.
    RotatedAway,
    /// A line over [`MAX_LINE`] was skipped.
    SkippedLong,
}

/// One open file and where reading is in it.
struct Reader {
    file: File,
    id: FileId,
    /// Next byte to read.
    read_to: u64,
    /// End of the last whole line: what a checkpoint stores.
    committed: u64,
    /// The start of a line not ended yet.
    partial: Vec<u8>,
    /// Inside an over-long line: drop bytes until its newline.
    skipping: bool,
    /// Digest of the first [`HEAD_BYTES`], once that many are committed.
    head: Option<String>,
}

impl Reader {
    fn open(path: &Path, position: u64) -> std::io::Result<Reader> {
        let mut file = File::open(path)?;
        let id = FileId::of(&file.metadata()?);
        file.seek(SeekFrom::Start(position))?;
        Ok(Reader { file, id, read_to: position, committed: position, partial: Vec::new(), skipping: false, head: None })
    }

    fn restart(&mut self) -> std::io::Result<()> {
        self.file.seek(SeekFrom::Start(0))?;
        self.read_to = 0;
        self.committed = 0;
        self.partial.clear();
        self.skipping = false;
        self.head = None;
        Ok(())
    }

    /// Reads what is there now, up to `budget` bytes; whole lines go to `lines`. Returns
    /// the bytes read (0 at the end of the file).
    fn read(&mut self, buffer: &mut [u8], budget: usize, lines: &mut Vec<String>, notes: &mut Vec<TailNote>) -> std::io::Result<usize> {
        let mut total = 0;
        while total < budget {
            let read = match self.file.read(buffer) {
                Ok(read) => read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            if read == 0 {
                break;
            }
            total += read;
            self.take(&buffer[..read], lines, notes);
        }
        if self.head.is_none() && self.committed >= HEAD_BYTES {
            // From now on the first bytes are known, so a rewrite in place can be noticed.
            self.head = Some(head_digest(&self.file, HEAD_BYTES)?);
        }
        Ok(total)
    }

    fn take(&mut self, mut bytes: &[u8], lines: &mut Vec<String>, notes: &mut Vec<TailNote>) {
        self.read_to += bytes.len() as u64;
        while let Some(newline) = bytes.iter().position(|&byte| byte == b'\n') {
            let (line, rest) = bytes.split_at(newline);
            if self.skipping {
                self.skipping = false;
            } else if self.partial.len() + line.len() > MAX_LINE {
                notes.push(TailNote::SkippedLong);
                self.partial.clear();
            } else if self.partial.is_empty() {
                push_line(line, lines);
            } else {
                self.partial.extend_from_slice(line);
                push_line(&self.partial, lines);
                self.partial.clear();
            }
            bytes = &rest[1..];
            self.committed = self.read_to - bytes.len() as u64;
        }
        if self.skipping {
            return;
        }
        if self.partial.len() + bytes.len() > MAX_LINE {
            notes.push(TailNote::SkippedLong);
            self.partial.clear();
            self.skipping = true;
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    /// Hands on a last line that never got its newline (the writer has moved on).
    fn finish(&mut self, lines: &mut Vec<String>) {
        if !self.skipping && !self.partial.is_empty() {
            push_line(&self.partial, lines);
        }
        self.partial.clear();
        self.committed = self.read_to;
    }

    /// The digest of the first `min(committed, HEAD_BYTES)` bytes.
    fn head(&mut self) -> std::io::Result<String> {
        if let Some(head) = &self.head {
            return Ok(head.clone());
        }
        let head = head_digest(&self.file, self.committed.min(HEAD_BYTES))?;
        if self.committed >= HEAD_BYTES {
            self.head = Some(head.clone());
        }
        Ok(head)
    }
}

fn push_line(line: &[u8], lines: &mut Vec<String>) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        return;
    }
    lines.push(match std::str::from_utf8(line) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(line).into_owned(),
    });
}

fn head_digest(file: &File, length: u64) -> std::io::Result<String> {
    let mut bytes = vec![0; usize::try_from(length).unwrap_or(0)];
    file.read_exact_at(&mut bytes, 0)?;
    Ok(hex::encode(&Sha256::digest(&bytes)[..8]))
}

/// Follows one path.
pub struct Tailer {
    path: PathBuf,
    current: Option<Reader>,
    /// The file before a rename, read until it has been quiet for [`DRAIN_QUIET`].
    rotated: Option<(Reader, Instant)>,
    buffer: Vec<u8>,
}

impl Tailer {
    /// Opens `path` where the last run stopped (`stored`), or by `start_at` when it has
    /// not been read before. A missing file is read from its start once it appears.
    pub fn open(path: &Path, stored: Option<&SourceOffset>, start_at: StartAt) -> (Tailer, Vec<TailNote>) {
        let mut tailer = Tailer { path: path.to_owned(), current: None, rotated: None, buffer: vec![0; READ_CHUNK] };
        let mut notes = Vec::new();
        let metadata = std::fs::metadata(path).ok();
        let Some(stored) = stored else {
            let position = match (&metadata, start_at) {
                (Some(metadata), StartAt::End) => metadata.len(),
                _ => 0,
            };
            tailer.current = Reader::open(path, position).ok();
            return (tailer, notes);
        };
        if let Some(metadata) = &metadata {
            if FileId::of(metadata).text() == stored.file_id {
                // The same inode: resumed, unless it was truncated or rewritten (or the
                // inode reused by another file) meanwhile.
                let position = if metadata.len() >= stored.position && head_matches(path, stored) {
                    notes.push(TailNote::Resumed { position: stored.position });
                    stored.position
                } else {
                    notes.push(TailNote::Truncated);
                    0
                };
                tailer.current = Reader::open(path, position).ok();
                return (tailer, notes);
            }
        }
        match find_rotated(path, stored) {
            Some(old) => {
                if let Ok(reader) = Reader::open(&old, stored.position) {
                    notes.push(TailNote::ResumedRotated { old, position: stored.position });
                    tailer.rotated = Some((reader, Instant::now()));
                }
            }
            None => notes.push(TailNote::RotatedAway),
        }
        tailer.current = Reader::open(path, 0).ok();
        (tailer, notes)
    }

    /// Reads the lines written since the last poll (at most about 4 MiB of them) and
    /// notices rotation. Returns whether more may be waiting.
    pub fn poll(&mut self, lines: &mut Vec<String>, notes: &mut Vec<TailNote>) -> std::io::Result<bool> {
        if let Some((reader, last_data)) = &mut self.rotated {
            let read = reader.read(&mut self.buffer, POLL_BYTES, lines, notes)?;
            if read > 0 {
                *last_data = Instant::now();
                return Ok(true);
            }
            if last_data.elapsed() >= DRAIN_QUIET {
                reader.finish(lines);
                self.rotated = None;
            }
        }
        let Some(reader) = &mut self.current else {
            // Not there yet (or removed): a file that appears is new, read from its start.
            self.current = Reader::open(&self.path, 0).ok();
            return Ok(self.current.is_some());
        };
        // Truncated or rewritten in place since the last poll? Checked before reading, so
        // the new content is never read from the old position.
        let length = reader.file.metadata()?.len();
        let rewritten = reader.head.is_some() && reader.head.clone() != head_digest(&reader.file, HEAD_BYTES).ok();
        if length < reader.read_to || rewritten {
            notes.push(TailNote::Truncated);
            reader.restart()?;
        }
        let read = reader.read(&mut self.buffer, POLL_BYTES, lines, notes)?;
        if read >= POLL_BYTES {
            return Ok(true);
        }
        // At the end of the file: does the path name another file now?
        match std::fs::metadata(&self.path) {
            Ok(metadata) if FileId::of(&metadata) != reader.id => {
                notes.push(TailNote::Renamed);
                if let Some((mut previous, _)) = self.rotated.take() {
                    previous.finish(lines);
                }
                let new = Reader::open(&self.path, 0)?;
                let old = std::mem::replace(reader, new);
                self.rotated = Some((old, Instant::now()));
                Ok(true)
            }
            _ => Ok(read > 0),
        }
    }

    /// Where a restart should resume: the current file up to its last whole line.
    pub fn checkpoint(&mut self) -> Option<SourceOffset> {
        let reader = self.current.as_mut()?;
        let head = reader.head().ok()?;
        Some(SourceOffset { file_id: reader.id.text(), head, position: reader.committed })
    }
}

fn head_matches(path: &Path, stored: &SourceOffset) -> bool {
    File::open(path).and_then(|file| head_digest(&file, stored.position.min(HEAD_BYTES))).is_ok_and(|head| head == stored.head)
}

/// The file in `path`'s directory that is the stored one, renamed (`app.log.1`).
fn find_rotated(path: &Path, stored: &SourceOffset) -> Option<PathBuf> {
    let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::read_dir(dir).ok()?.filter_map(Result::ok).map(|entry| entry.path()).find(|candidate| {
        candidate.as_path() != path
            && std::fs::metadata(candidate).is_ok_and(|metadata| metadata.is_file() && FileId::of(&metadata).text() == stored.file_id)
            && head_matches(candidate, stored)
    })
}

/// The store key of a file source: files are local to a host.
pub fn source_key(path: &Path) -> String {
    format!("file:{}:{}", crate::node::hostname(), path.display())
}

/// Opens `config.path` and runs a [`Tailer`] on its own thread until `stop`, handing lines to the rule engine with
/// their checkpoint. Before exiting it reads what is already written.
pub fn spawn(
    config: FileSourceConfig,
    stored: Option<SourceOffset>,
    sender: mpsc::Sender<LogBatch>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    stop: watch::Receiver<bool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let key = source_key(&config.path);
    // Opened before returning: whatever is written once Vigil is up gets read.
    let (mut tailer, notes) = Tailer::open(&config.path, stored.as_ref(), config.start_at);
    std::thread::Builder::new().name("vigil-file".to_owned()).spawn(move || {
        let time_fields = TimeFields::new(config.timestamp_field.as_deref());
        let mut last_checkpoint = stored;
        report(&config.path, &metrics, notes);
        loop {
            let stopping = *stop.borrow();
            let mut lines = Vec::new();
            let mut notes = Vec::new();
            let more = match tailer.poll(&mut lines, &mut notes) {
                Ok(more) => more,
                Err(error) => {
                    tracing::warn!(path = %config.path.display(), %error, "reading log file failed; trying again");
                    false
                }
            };
            report(&config.path, &metrics, notes);
            let checkpoint = tailer.checkpoint();
            if !lines.is_empty() || checkpoint != last_checkpoint {
                metrics.log_lines.inc_by(lines.len() as u64);
                let now = clock.now().0;
                let entries = lines.into_iter().map(|line| (event_time(&line, &time_fields).unwrap_or(now), line)).collect();
                let stream = LogStream { labels: config.labels.clone(), entries };
                let batch = LogBatch { streams: vec![stream], checkpoint: checkpoint.clone().map(|offset| (key.clone(), offset)) };
                if sender.blocking_send(batch).is_err() {
                    return;
                }
                last_checkpoint = checkpoint;
            }
            if stopping && !more {
                return;
            }
            if !more {
                std::thread::sleep(config.poll_interval);
            }
        }
    })
}

fn report(path: &Path, metrics: &Metrics, notes: Vec<TailNote>) {
    for note in notes {
        let path = path.display();
        match &note {
            TailNote::Renamed => tracing::info!(%path, "log file rotated (renamed); draining the old file"),
            TailNote::Truncated => tracing::info!(%path, "log file truncated; reading from its start"),
            TailNote::Resumed { position } => tracing::info!(%path, position, "resuming log file"),
            TailNote::ResumedRotated { old, position } => {
                tracing::info!(%path, old = %old.display(), position, "log file rotated while stopped; reading the old file's rest first")
            }
            TailNote::RotatedAway => {
                tracing::warn!(%path, "log file rotated while stopped and the old file is gone; its unread lines are lost")
            }
            TailNote::SkippedLong => tracing::warn!(%path, max_bytes = MAX_LINE, "skipped a log line longer than the limit"),
        }
        let event = match note {
            TailNote::Renamed => "renamed",
            TailNote::Truncated => "truncated",
            TailNote::Resumed { .. } => "resumed",
            TailNote::ResumedRotated { .. } => "resumed_rotated",
            TailNote::RotatedAway => "rotated_away",
            TailNote::SkippedLong => "line_too_long",
        };
        metrics.log_file_events.get_or_create(&crate::metrics::EventLabels { event: event.to_owned() }).inc();
    }
}

#[cfg(test)]
mod tests;
