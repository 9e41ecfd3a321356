//! The running service's shared state and its background work: the job worker (claim →
//! fetch → every size → store → done, retry with backoff, or dead letter) and discovery
//! (a file watcher on a local input, the reconciliation scan for every backend).

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch, Notify, Semaphore};
use tokio::task::JoinSet;
use vigil_core::Clock;

use crate::buckets::{Bucket, BucketError};
use crate::config::{BucketUrl, Config};
use crate::image::{self, ImageError, Spec};
use crate::metrics::Metrics;
use crate::queue::{backoff, Job, Queue};

/// A new or changed file is picked up this long after its last change: files are
/// written in pieces, and a half-written one would look corrupt.
pub const SETTLE: Duration = Duration::from_millis(500);
/// Look at the queue at least this often.
const POLL: Duration = Duration::from_secs(1);

/// Everything the worker, discovery and the HTTP server share. Cheap to clone.
#[derive(Clone)]
pub struct Service {
    pub config: Arc<Config>,
    pub input: Bucket,
    pub output: Bucket,
    pub queue: Queue,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
    /// Wakes the worker when a job is queued.
    pub wake: Arc<Notify>,
    /// The CPU-bound work (jobs and on-the-fly renders) at once, at most `workers`.
    pub slots: Arc<Semaphore>,
}

/// How a job ended.
enum Outcome {
    Done,
    /// The input was deleted before the job ran: there is nothing to make.
    Gone,
    Retry(String),
    Dead {
        reason: &'static str,
        error: String,
    },
}

impl Service {
    pub async fn open(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Service> {
        let input = Bucket::open(&config.input, &config)?;
        let output = Bucket::open(&config.output, &config)?;
        let queue = Queue::open(&config.queue).await.map_err(|error| anyhow::anyhow!("opening the queue {}: {error}", config.queue))?;
        let slots = Arc::new(Semaphore::new(config.workers));
        Ok(Service {
            config: Arc::new(config),
            input,
            output,
            queue,
            metrics: Arc::new(Metrics::new()),
            clock,
            wake: Arc::default(),
            slots,
        })
    }

    /// Queues `key` after the settle delay and wakes the worker.
    pub async fn enqueue(&self, key: &str) -> Result<(), sqlx::Error> {
        let now = self.clock.now();
        self.queue.enqueue(key, now.saturating_add(SETTLE), now).await?;
        self.wake.notify_one();
        Ok(())
    }

    /// The job worker, until `stop`; jobs running then are finished and recorded.
    pub async fn run_worker(self, mut stop: watch::Receiver<bool>) {
        let mut running = JoinSet::new();
        loop {
            while running.try_join_next().is_some() {}
            let free = self.slots.available_permits();
            if free > 0 {
                match self.queue.claim(free, self.clock.now()).await {
                    Ok(jobs) => {
                        for job in jobs {
                            let Ok(permit) = Arc::clone(&self.slots).acquire_owned().await else { break };
                            let service = self.clone();
                            running.spawn(async move {
                                service.process(job).await;
                                drop(permit);
                            });
                        }
                    }
                    Err(error) => tracing::warn!(%error, "claiming jobs failed"),
                }
            }
            self.update_gauges().await;
            let wait = match self.queue.next_due().await {
                Ok(Some(due)) => {
                    Duration::from_millis(u64::try_from(due.0 - self.clock.now().0).unwrap_or(0)).clamp(Duration::from_millis(5), POLL)
                }
                _ => POLL,
            };
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
                () = stopped(&mut stop) => break,
            }
        }
        tracing::info!(running = running.len(), "stopping: finishing jobs in flight");
        while running.join_next().await.is_some() {}
    }

    async fn update_gauges(&self) {
        if let Ok(counts) = self.queue.counts().await {
            self.metrics.backlog.set(i64::try_from(counts.pending + counts.running).unwrap_or(i64::MAX));
            self.metrics.dead_letters.set(i64::try_from(counts.dead).unwrap_or(i64::MAX));
        }
    }

    /// One job, recorded.
    async fn process(&self, job: Job) {
        let started = Instant::now();
        let outcome = match tokio::time::timeout(self.config.job_timeout, self.make_outputs(&job.key)).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome::Retry(format!("timed out after {}", vigil_core::time::format_duration(self.config.job_timeout))),
        };
        let elapsed_ms = started.elapsed().as_millis() as u64;
        self.metrics.processing_seconds.observe(started.elapsed().as_secs_f64());
        let now = self.clock.now();
        let recorded = match outcome {
            Outcome::Done => {
                self.metrics.count_job("done", "");
                tracing::info!(key = %job.key, status = "done", attempts = job.attempts, elapsed_ms, "job done");
                self.queue.done(job.id, now).await
            }
            Outcome::Gone => {
                self.metrics.count_job("gone", "");
                tracing::info!(key = %job.key, status = "gone", "input is gone; nothing to make");
                self.queue.gone(job.id, now).await
            }
            Outcome::Retry(error) if job.attempts >= self.config.max_attempts => {
                self.metrics.count_job("failed", "gave_up");
                tracing::error!(key = %job.key, status = "failed", reason = "gave_up", attempts = job.attempts, %error, "job failed: dead letter");
                self.queue.dead(job.id, "gave_up", &format!("gave up after {} attempts: {error}", job.attempts), now).await
            }
            Outcome::Retry(error) => {
                let next = now.saturating_add(backoff(job.attempts, fastrand::f64()));
                self.metrics.count_job("retried", "unavailable");
                tracing::warn!(key = %job.key, status = "retrying", attempts = job.attempts, %error, retry_at = %next, "job will be retried");
                self.queue.retry(job.id, &error, next, now).await
            }
            Outcome::Dead { reason, error } => {
                self.metrics.count_job("failed", reason);
                tracing::error!(key = %job.key, status = "failed", reason, %error, "job failed: dead letter");
                self.queue.dead(job.id, reason, &error, now).await
            }
        };
        if let Err(error) = recorded {
            tracing::error!(key = %job.key, %error, "recording a job's outcome failed; it will run again");
        }
    }

    /// Fetches the input, renders every size, stores them.
    async fn make_outputs(&self, key: &str) -> Outcome {
        let output_keys: Vec<String> = self.config.sizes.iter().map(|size| self.config.output_key(key, size)).collect();
        match self.queue.claim_outputs(key, &output_keys).await {
            Ok(None) => {}
            Ok(Some((output, owner))) => {
                return Outcome::Dead {
                    reason: "output_collision",
                    error: format!("{output} is already made from {owner}; rename one of the two inputs"),
                };
            }
            Err(error) => return Outcome::Retry(format!("claiming the outputs: {error}")),
        }
        let bytes = match self.input.get(key, self.config.limits.max_input_bytes).await {
            Ok(bytes) => bytes,
            Err(BucketError::NotFound(_)) => return Outcome::Gone,
            Err(BucketError::TooLarge { size, limit, .. }) => {
                return Outcome::Dead { reason: "too_large", error: format!("{size} bytes, more than the limit of {limit}") };
            }
            Err(error @ BucketError::InvalidKey { .. }) => return Outcome::Dead { reason: "invalid_key", error: error.to_string() },
            Err(error) => return Outcome::Retry(format!("reading the input: {error}")),
        };
        let config = Arc::clone(&self.config);
        let key_owned = key.to_owned();
        let deadline = std::time::Instant::now() + config.job_timeout;
        let rendered = tokio::task::spawn_blocking(move || render_sizes(&config, &key_owned, &bytes, deadline)).await;
        let outputs = match rendered {
            Ok(Ok(outputs)) => outputs,
            Ok(Err(ImageError::TimedOut)) => {
                return Outcome::Retry(format!("timed out after {}", vigil_core::time::format_duration(self.config.job_timeout)));
            }
            Ok(Err(error)) => return Outcome::Dead { reason: error.kind(), error: error.to_string() },
            Err(join) => return Outcome::Dead { reason: "crashed", error: format!("rendering crashed: {join}") },
        };
        for (output_key, bytes) in outputs {
            if let Err(error) = self.output.put(&output_key, bytes).await {
                return Outcome::Retry(format!("writing {output_key}: {error}"));
            }
        }
        Outcome::Done
    }

    /// Lists the input and output and queues every input whose outputs are not all
    /// there. Returns how many were queued.
    pub async fn scan(&self) -> Result<usize, BucketError> {
        let listing = self.input.list().await?;
        report_skipped(&listing.skipped);
        self.metrics.inputs_skipped.set(i64::try_from(listing.skipped.len()).unwrap_or(i64::MAX));
        let inputs = listing.objects;
        let outputs: HashSet<String> = self.output.list().await?.objects.into_iter().map(|(key, _)| key).collect();
        let now = self.clock.now();
        let mut missing = 0;
        let mut queued = 0;
        for (key, _) in &inputs {
            if !ignored(key) && self.config.sizes.iter().any(|size| !outputs.contains(&self.config.output_key(key, size))) {
                missing += 1;
                match self.queue.reconcile(key, now).await {
                    Ok(true) => queued += 1,
                    Ok(false) => {}
                    Err(error) => tracing::warn!(%error, key, "queueing failed"),
                }
            }
        }
        self.metrics.inputs.set(i64::try_from(inputs.len()).unwrap_or(i64::MAX));
        self.metrics.outputs_missing.set(missing);
        if queued > 0 {
            tracing::info!(inputs = inputs.len(), missing, queued, "reconciliation queued inputs without outputs");
            self.wake.notify_one();
        }
        Ok(queued)
    }

    /// The reconciliation scan, every `scan-interval` (and once at start), until `stop`.
    pub async fn run_scans(self, mut stop: watch::Receiver<bool>) {
        let mut ticks = tokio::time::interval(self.config.scan_interval);
        loop {
            tokio::select! {
                _ = ticks.tick() => {
                    if let Err(error) = self.scan().await {
                        tracing::warn!(%error, "reconciliation scan failed; next one at the next interval");
                    }
                }
                () = stopped(&mut stop) => break,
            }
        }
    }

    /// Watches a local input folder and queues what is created or changed. Returns the
    /// watcher, which must be kept alive; `None` for S3 (events come by webhook).
    pub fn watch(&self, mut stop: watch::Receiver<bool>) -> anyhow::Result<Option<notify::RecommendedWatcher>> {
        let BucketUrl::File(root) = &self.config.input else { return Ok(None) };
        let (sender, mut receiver) = mpsc::unbounded_channel::<String>();
        let base = root.clone();
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let Ok(event) = event else { return };
            if !matches!(event.kind, notify::EventKind::Create(_) | notify::EventKind::Modify(_)) {
                return;
            }
            for path in event.paths {
                if let Some(key) = key_under(&base, &path).filter(|key| !ignored(key)) {
                    if path.is_file() {
                        let _ = sender.send(key);
                    }
                }
            }
        })?;
        notify::Watcher::watch(&mut watcher, root, notify::RecursiveMode::Recursive)?;
        let service = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    key = receiver.recv() => match key {
                        Some(key) => {
                            if let Err(error) = service.enqueue(&key).await {
                                tracing::warn!(%error, key, "queueing a new file failed; the next scan finds it");
                            }
                        }
                        None => break,
                    },
                    () = stopped(&mut stop) => break,
                }
            }
        });
        Ok(Some(watcher))
    }
}

/// The thumbnails of one input: `(output key, bytes)` for every configured size; the
/// JPEG decoder stops at `deadline`.
pub fn render_sizes(config: &Config, key: &str, bytes: &[u8], deadline: std::time::Instant) -> Result<Vec<(String, Vec<u8>)>, ImageError> {
    let format = config.output_format(key);
    let specs: Vec<Spec> = config
        .sizes
        .iter()
        .map(|size| Spec {
            width: size.width,
            height: size.height,
            fit: size.fit,
            format: Some(format),
            quality: config.quality,
            keep_profile: config.keep_profile,
        })
        .collect();
    let limits = image::Limits { deadline: Some(deadline), ..config.limits };
    let thumbnails = image::thumbnails(bytes, &specs, &limits)?;
    Ok(config.sizes.iter().zip(thumbnails).map(|(size, thumbnail)| (config.output_key(key, size), thumbnail.bytes)).collect())
}

/// Logs the objects a listing could not read (their names no key can hold).
pub fn report_skipped(skipped: &[String]) {
    if !skipped.is_empty() {
        tracing::warn!(count = skipped.len(), first = %skipped[0], "inputs skipped: their names cannot be object keys; rename them");
    }
}

/// Resolves once `stop` turns true (or its sender is gone).
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopping| *stopping).await;
}

/// A key for `path` under `root`.
fn key_under(root: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    let key = relative.to_str()?.replace('\\', "/");
    (!key.is_empty()).then_some(key)
}

/// Files that are not inputs: hidden, and the temporary files of writers still at work.
pub fn ignored(key: &str) -> bool {
    let name = key.rsplit('/').next().unwrap_or(key);
    name.starts_with('.') || name.ends_with('~') || [".tmp", ".part", ".crdownload", ".swp"].iter().any(|suffix| name.ends_with(suffix))
}

/// S3 event notifications (as AWS and MinIO send them): the keys created in `bucket`.
pub fn s3_event_keys(body: &serde_json::Value) -> Vec<(String, String)> {
    body["Records"]
        .as_array()
        .map(|records| {
            records
                .iter()
                .filter(|record| record["eventName"].as_str().is_some_and(|name| name.contains("ObjectCreated")))
                .filter_map(|record| {
                    let bucket = record["s3"]["bucket"]["name"].as_str()?;
                    let key = record["s3"]["object"]["key"].as_str()?;
                    // Keys arrive URL-encoded, spaces as `+`.
                    let decoded: String =
                        form_urlencoded::parse(format!("k={key}").as_bytes()).next().map(|(_, value)| value.into_owned())?;
                    Some((bucket.to_owned(), decoded))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_and_hidden_files_are_not_inputs() {
        for key in ["a/.b.jpg", "x.jpg.part", "x.jpg~", "y.tmp"] {
            assert!(ignored(key), "{key}");
        }
        assert!(!ignored("photos/cat.jpg"));
    }

    #[test]
    fn s3_events_name_their_keys() {
        let body = serde_json::json!({"Records": [
            {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "in"}, "object": {"key": "photos/my+cat%281%29.jpg", "size": 1}}},
            {"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": "in"}, "object": {"key": "gone.jpg"}}},
            {"eventName": "s3:ObjectCreated:CompleteMultipartUpload", "s3": {"bucket": {"name": "in"}, "object": {"key": "big.jpg"}}},
        ]});
        assert_eq!(s3_event_keys(&body), [("in".to_owned(), "photos/my cat(1).jpg".to_owned()), ("in".to_owned(), "big.jpg".to_owned())]);
        assert!(s3_event_keys(&serde_json::json!({"nope": 1})).is_empty());
    }
}
