//! `type: stdin`: lines from standard input, e.g. `tail -F app.log | vigil run`.
//!
//! A thread reads (a blocking read cannot be cancelled), batching whatever is already
//! buffered; a task forwards the batches to the rule engine and lets go of its sender on
//! stop, so a quiet pipe never holds up shutdown. End of input ends the source only.

use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use vigil_config::StdinSourceConfig;
use vigil_core::Clock;

use super::event_time::{event_time, TimeFields};
use super::file::MAX_LINE;
use super::{LogBatch, LogStream};
use crate::metrics::Metrics;

/// Lines per batch at most.
const BATCH_LINES: usize = 1000;

pub fn spawn(
    config: StdinSourceConfig,
    sender: mpsc::Sender<LogBatch>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let (lines_tx, mut lines_rx) = mpsc::channel::<Vec<String>>(4);
    std::thread::Builder::new()
        .name("vigil-stdin".to_owned())
        .spawn(move || read(BufReader::with_capacity(1 << 16, std::io::stdin()), &lines_tx))?;
    Ok(tokio::spawn(async move {
        let time_fields = TimeFields::new(config.timestamp_field.as_deref());
        loop {
            let lines = tokio::select! {
                lines = lines_rx.recv() => match lines {
                    Some(lines) => lines,
                    None => {
                        tracing::info!("standard input ended");
                        return;
                    }
                },
                () = crate::node::stopped(&mut stop) => return,
            };
            metrics.log_lines.inc_by(lines.len() as u64);
            let now = clock.now().0;
            let entries = lines.into_iter().map(|line| (event_time(&line, &time_fields).unwrap_or(now), line)).collect();
            let batch = LogBatch { streams: vec![LogStream { labels: config.labels.clone(), entries }], checkpoint: None };
            if sender.send(batch).await.is_err() {
                return;
            }
        }
    }))
}

/// Reads lines until end of input, handing them on whenever nothing more is buffered.
fn read(mut input: BufReader<impl Read>, lines_tx: &mpsc::Sender<Vec<String>>) {
    let mut batch = Vec::new();
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        let read = match (&mut input).take(MAX_LINE as u64 + 1).read_until(b'\n', &mut buffer) {
            Ok(read) => read,
            Err(error) => {
                tracing::warn!(%error, "reading standard input failed");
                0
            }
        };
        if read == 0 {
            break;
        }
        if buffer.len() > MAX_LINE && buffer.last() != Some(&b'\n') {
            tracing::warn!(max_bytes = MAX_LINE, "skipped a line longer than the limit on standard input");
            skip_line(&mut input);
        } else {
            let line = String::from_utf8_lossy(&buffer);
            let line = line.trim_end_matches(['\n', '\r']);
            if !line.is_empty() {
                batch.push(line.to_owned());
            }
        }
        let flush = !batch.is_empty() && (batch.len() >= BATCH_LINES || input.buffer().is_empty());
        if flush && lines_tx.blocking_send(std::mem::take(&mut batch)).is_err() {
            return;
        }
    }
    if !batch.is_empty() {
        let _ = lines_tx.blocking_send(batch);
    }
}

fn skip_line(input: &mut impl BufRead) {
    loop {
        let Ok(available) = input.fill_buf() else { return };
        if available.is_empty() {
            return;
        }
        match available.iter().position(|&byte| byte == b'\n') {
            Some(newline) => {
                input.consume(newline + 1);
                return;
            }
            None => {
                let length = available.len();
                input.consume(length);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::mpsc;

    #[test]
    fn lines_are_batched_and_over_long_lines_skipped() {
        let mut input = String::from("a\r\n\nb\n");
        input.push_str(&"x".repeat(super::MAX_LINE + 5));
        input.push_str("\nc");
        let (sender, mut receiver) = mpsc::channel(16);
        super::read(std::io::BufReader::with_capacity(4, input.as_bytes()), &sender);
        drop(sender);
        let mut lines = Vec::new();
        while let Ok(batch) = receiver.try_recv() {
            lines.extend(batch);
        }
        assert_eq!(lines, ["a", "b", "c"]);
    }
}
