//! Log intake: where lines enter Vigil. Each source turns its input into [`LogBatch`]es
//! for the rule engine; when the engine's queue is full the source pushes back (HTTP 429)
//! instead of buffering without bound.

pub mod loki;
pub mod otlp;

use vigil_logql::eval::pipeline::Labels;

/// Lines of one or more streams, in arrival order.
#[derive(Debug, Default)]
pub struct LogBatch {
    pub streams: Vec<LogStream>,
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
