//! `thumbs run`: opens the buckets and the queue, serves HTTP, runs the worker, the
//! reconciliation scans and (for a local input) the file watcher; on stop, takes no new
//! work, finishes the jobs in flight and exits.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use vigil_core::Clock;

use crate::cache::Cache;
use crate::config::Config;
use crate::http::{router, HttpState};
use crate::service::{stopped, Service};

pub struct Running {
    pub http_address: SocketAddr,
    pub service: Service,
    stop: watch::Sender<bool>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Stops gracefully: jobs in flight finish and are recorded.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.task.await.context("thumbs task panicked")?
    }
}

pub async fn start(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Running> {
    let listener = tokio::net::TcpListener::bind(config.listen).await.with_context(|| format!("cannot listen on {}", config.listen))?;
    let http_address = listener.local_addr()?;
    let cache = Arc::new(
        Cache::open(&config.cache_dir, config.cache_max_bytes)
            .with_context(|| format!("opening the cache {}", config.cache_dir.display()))?,
    );
    let service = Service::open(config, clock).await?;
    let (input, output) = (vigil_core::redact::url(&service.input.url), vigil_core::redact::url(&service.output.url));
    tracing::info!(listen = %http_address, %input, %output, workers = service.config.workers, "thumbs started");
    let ready = Arc::new(AtomicBool::new(false));
    let (stop_tx, stop_rx) = watch::channel(false);
    let app = router(HttpState::new(service.clone(), cache, ready.clone()));
    let mut http_stop = stop_rx.clone();
    let server =
        tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(async move { stopped(&mut http_stop).await }).await });
    let watcher = service.watch(stop_rx.clone()).context("watching the input folder")?;
    let scans = tokio::spawn(service.clone().run_scans(stop_rx.clone()));
    let worker = tokio::spawn(service.clone().run_worker(stop_rx.clone()));
    ready.store(true, Ordering::SeqCst);
    let task_service = service.clone();
    let mut stop_wait = stop_rx;
    let task = tokio::spawn(async move {
        stopped(&mut stop_wait).await;
        ready.store(false, Ordering::SeqCst);
        drop(watcher);
        scans.await.context("scan task panicked")?;
        worker.await.context("worker panicked")?;
        server.await.context("http server panicked")?.context("http server failed")?;
        task_service.queue.close().await;
        tracing::info!("thumbs stopped");
        Ok(())
    });
    Ok(Running { http_address, service, stop: stop_tx, task })
}
