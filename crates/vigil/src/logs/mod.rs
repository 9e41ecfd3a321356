//! Log intake: where lines enter Vigil. Each source turns its input into [`LogBatch`]es
//! for the rule engine: pushed over HTTP (`loki`, `otlp`), tailed from a file (`file`) or
//! read from standard input (`stdin`). When the engine's queue is full a source pushes
//! back (HTTP 429, or a reader waits) instead of buffering without bound.

pub mod event_time;
pub mod file;
pub mod loki;
pub mod otlp;
pub mod stdin;

use vigil_logql::eval::pipeline::Labels;

/// Lines of one or more streams, in arrival order.
#[derive(Debug, Default)]
pub struct LogBatch {
    pub streams: Vec<LogStream>,
    /// For a tailed file: its store key and the position after these lines, saved once
    /// the rules have seen them.
    pub checkpoint: Option<(String, vigil_store::SourceOffset)>,
}

#[derive(Debug)]
pub struct LogStream {
    pub labels: Labels,
    /// `(event time in Unix ms, line)`.
    pub entries: Vec<(i64, String)>,
}

impl LogBatch {
    pub fn lines(&self) -> usize {
        self.streams.iter().map(|stream| stream.entries.len()).sum()
    }
}

/// Starts the configured file and stdin sources, feeding `sender`. Each ends on `stop`
/// after handing on what it has read; the rule engine's channel closes when the last
/// one (and the HTTP server) is gone.
pub async fn start_sources(
    configs: &[vigil_config::SourceConfig],
    store: &vigil_store::Store,
    sender: &tokio::sync::mpsc::Sender<LogBatch>,
    clock: &std::sync::Arc<dyn vigil_core::Clock>,
    metrics: &std::sync::Arc<crate::metrics::Metrics>,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    use anyhow::Context;
    for config in configs {
        match config {
            vigil_config::SourceConfig::File(file) => {
                let stored = store.source_offset(&file::source_key(&file.path)).await?;
                tracing::info!(path = %file.path.display(), resume = stored.is_some(), "tailing log file");
                file::spawn(file.clone(), stored, sender.clone(), clock.clone(), metrics.clone(), stop.clone())
                    .context("starting a file source thread")?;
            }
            vigil_config::SourceConfig::Stdin(stdin) => {
                stdin::spawn(stdin.clone(), sender.clone(), clock.clone(), metrics.clone(), stop.clone())
                    .context("starting the stdin source thread")?;
            }
        }
    }
    Ok(())
}
