//! What an operator watches, at `/metrics`: jobs done and failed by reason, processing
//! time, the queue's backlog and dead letters, inputs against outputs, and the
//! on-the-fly path's requests and cache.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// `done`, `retried`, `failed`.
    pub result: String,
    /// Why it failed: `corrupt`, `unsupported`, `too_large`, `unavailable`, ...
    pub reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub status: String,
}

pub struct Metrics {
    registry: Registry,
    pub jobs: Family<ResultLabels, Counter>,
    pub processing_seconds: Histogram,
    pub backlog: Gauge,
    pub dead_letters: Gauge,
    pub inputs: Gauge,
    pub inputs_skipped: Gauge,
    pub outputs_missing: Gauge,
    pub requests: Family<StatusLabels, Counter>,
    pub cache_hits: Counter,
    pub cache_misses: Counter,
    pub coalesced: Counter,
    pub render_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("thumbs");
        let jobs = Family::<ResultLabels, Counter>::default();
        registry.register("jobs", "Jobs finished, by result (done, retried, failed) and reason", jobs.clone());
        let processing_seconds = Histogram::new(exponential_buckets(0.005, 2.0, 14));
        registry.register("processing_seconds", "Time per job: fetch, every size, store", processing_seconds.clone());
        let backlog = Gauge::default();
        registry.register("queue_backlog", "Jobs pending or running", backlog.clone());
        let dead_letters = Gauge::default();
        registry.register("dead_letters", "Jobs in the dead-letter queue", dead_letters.clone());
        let inputs = Gauge::default();
        registry.register("inputs", "Inputs seen by the last reconciliation scan", inputs.clone());
        let inputs_skipped = Gauge::default();
        registry.register("inputs_skipped", "Objects the last scan skipped: their names cannot be object keys", inputs_skipped.clone());
        let outputs_missing = Gauge::default();
        registry.register("inputs_missing_outputs", "Inputs the last scan found without all their outputs", outputs_missing.clone());
        let requests = Family::<StatusLabels, Counter>::default();
        registry.register("image_requests", "On-the-fly /img requests, by HTTP status", requests.clone());
        let cache_hits = Counter::default();
        registry.register("cache_hits", "On-the-fly requests served from the cache", cache_hits.clone());
        let cache_misses = Counter::default();
        registry.register("cache_misses", "On-the-fly requests rendered", cache_misses.clone());
        let coalesced = Counter::default();
        registry.register("coalesced", "On-the-fly requests that waited for an identical one in flight", coalesced.clone());
        let render_seconds = Histogram::new(exponential_buckets(0.002, 2.0, 14));
        registry.register("render_seconds", "Time to render an on-the-fly thumbnail", render_seconds.clone());
        Metrics {
            registry,
            jobs,
            processing_seconds,
            backlog,
            dead_letters,
            inputs,
            inputs_skipped,
            outputs_missing,
            requests,
            cache_hits,
            cache_misses,
            coalesced,
            render_seconds,
        }
    }

    pub fn count_job(&self, result: &str, reason: &str) {
        self.jobs.get_or_create(&ResultLabels { result: result.to_owned(), reason: reason.to_owned() }).inc();
    }

    pub fn encode(&self) -> String {
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(%error, "encoding metrics failed");
        }
        text
    }
}
