//! `vigil run`: wires store, engine, scheduler, log sources and rules, the action worker,
//! the alert dispatcher, the outbox dispatcher and the HTTP server, and shuts them down in order: stop
//! scheduling, finish and record checks in flight, finish running actions, make a last
//! delivery pass, record the run's end.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;
use vigil_config::Config;
use vigil_core::Clock;
use vigil_store::Store;

use crate::actions::execute::Executor;
use crate::actions::worker::ActionWorker;
use crate::actions::Planner;
use crate::alerts::dispatcher::AlertDispatcher;
use crate::alerts::inbound::Inbound;
use crate::alerts::Routing;
use crate::aws::AwsClient;
use crate::effects::Effects;
use crate::http::AppState;
use crate::metrics::Metrics;
use crate::monitor::engine::{Engine, MAX_BATCH};
use crate::monitor::{scheduler, Monitor, Monitors};
use crate::node::stopped;
use crate::notifiers::build_all;
use crate::notifiers::outbox::Dispatcher;
use crate::probes::HttpClient;
use crate::rules::RuleEngine;

const HEARTBEAT: Duration = Duration::from_secs(10);
/// Hourly response times are stored every this many heartbeats (a minute), and at stop.
const HISTORY_EVERY_BEATS: u64 = 6;
/// Batches of pushed lines waiting for the rule engine.
const LOG_QUEUE: usize = 256;

/// A running Vigil.
pub struct Running {
    pub http_address: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Stops gracefully and waits until everything is finished and recorded.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.task.await.context("vigil task panicked")?
    }
}

/// Starts Vigil on `config`; returns once the HTTP server listens.
pub async fn start(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Running> {
    let store =
        Store::open(&config.storage).await.with_context(|| format!("opening store {}", vigil_core::redact::url(&config.storage)))?;
    let listener = tokio::net::TcpListener::bind(config.listen).await.with_context(|| format!("cannot listen on {}", config.listen))?;
    let http_address = listener.local_addr()?;
    let node = crate::node::NodeId::new(config.node_id.as_deref(), http_address.port()).to_string();
    let run = store.start_run(&node, clock.now()).await?;
    // One probe thread per core unless `probe-threads` says; never more than monitors.
    let probe_threads = config
        .probe_threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
        .clamp(1, config.monitors.len().max(1));
    tracing::info!(
        listen = %http_address,
        storage = %vigil_core::redact::url(&config.storage),
        monitors = config.monitors.len(),
        probe_threads,
        node = %node,
        "vigil started"
    );
    for warning in &config.warnings {
        tracing::warn!(%warning, "config");
    }
    if !config.rules.is_empty() {
        let since = clock.now().saturating_sub(HEARTBEAT * 3);
        match store.other_live_nodes(&node, since).await {
            Ok(others) if !others.is_empty() => tracing::warn!(
                others = %others.join(", "),
                "other nodes run on this store: log rules count only the lines each node receives, so send each log stream to one node"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "looking for other nodes failed"),
        }
    }

    let metrics = Arc::new(Metrics::new());
    let client = HttpClient::new();
    let aws = AwsClient::new(client.clone());
    let monitors: Monitors = config.monitors.iter().cloned().map(Monitor::new).collect::<Vec<_>>().into();
    let effects = Effects {
        delivery: config.delivery,
        planner: Planner::new(config.actions.clone(), config.remediation.dry_run),
        routing: Arc::new(Routing::new(&config)),
        wake_outbox: Arc::new(Notify::new()),
        wake_actions: Arc::new(Notify::new()),
        wake_alerts: Arc::new(Notify::new()),
        wake_incidents: Arc::new(Notify::new()),
    };
    if config.remediation.dry_run {
        tracing::warn!("dry run: every action runs its guards and records what it would do; nothing is called");
    }
    let mut engine = Engine::restore(Arc::clone(&monitors), store.clone(), metrics.clone(), effects.clone())
        .await?
        .with_slos(&config.slos, &node, clock.clone())
        .on_node(&node);
    let mut burning = engine.restore_slos().await?;
    engine.restore_history(clock.now()).await?;
    let history = engine.history();

    let ready = Arc::new(AtomicBool::new(false));
    let (stop_tx, mut stop_rx) = watch::channel(false);
    // Log intake feeds the rule engine through a bounded queue; full means HTTP 429.
    let reads_logs = !config.rules.is_empty() || config.slos.iter().any(|slo| matches!(slo.sli, vigil_config::Sli::Logs { .. }));
    let (logs, rules_task) = if !reads_logs {
        (None, None)
    } else {
        let mut engine = RuleEngine::new(&config.rules, store.clone(), clock.clone(), metrics.clone(), effects.clone())
            .await?
            .with_slos(&config.slos, &node);
        burning.extend(engine.restore_slos().await?);
        let (sender, receiver) = mpsc::channel(LOG_QUEUE);
        crate::logs::start_sources(&config.sources, &store, &sender, &clock, &metrics, &stop_rx).await?;
        (Some(sender), Some(tokio::spawn(engine.run(receiver))))
    };
    crate::slos::resolve_left_firing(&store, &effects, clock.now(), &burning).await?;
    if !reads_logs && !config.sources.is_empty() {
        tracing::warn!(sources = config.sources.len(), "log sources are configured but no rules or log slos: their lines are not read");
    }
    let inbound = Arc::new(Inbound {
        config: config.inbound.alertmanager.clone(),
        store: store.clone(),
        effects: effects.clone(),
        clock: clock.clone(),
    });
    // Loaded now, so the first listing does not wait for every firing row.
    let episodes = Arc::new(crate::alerts::cache::EpisodeCache::new(store.clone()));
    episodes.firing().await?;
    {
        // Kept warm, so a listing after a burst reads no more than a second of changes.
        let (episodes, mut stop, clock) = (Arc::clone(&episodes), stop_rx.clone(), clock.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = clock.sleep(Duration::from_secs(1)) => {
                        if let Err(error) = episodes.firing().await {
                            tracing::debug!(%error, "refreshing the firing alerts failed; the next listing reads them");
                        }
                    }
                    () = stopped(&mut stop) => break,
                }
            }
        });
    }
    // Where links in pages and the status page's feed point: `incidents.external-url`,
    // else this listener when it has a specific address.
    let external_url = config
        .on_call
        .incidents
        .external_url
        .clone()
        .or_else(|| (!http_address.ip().is_unspecified()).then(|| format!("http://{http_address}")));
    let subscriptions = crate::subscriptions::Subscriptions::from_config(&config, store.clone(), clock.clone(), external_url.as_deref())?;
    let incidents = crate::incidents::Incidents {
        store: store.clone(),
        on_call: Arc::new(config.on_call.clone()),
        clock: clock.clone(),
        give_up_after: config.delivery.give_up_after,
        wake: effects.wake_incidents.clone(),
        slos: config.slos.iter().map(|slo| slo.name.as_str().to_owned()).collect(),
        subscriptions: subscriptions.clone(),
    };
    let status = config.status_page.clone().map(|page| {
        Arc::new(
            crate::statuspage::StatusPage::new(page, store.clone(), clock.clone(), external_url.clone())
                .with_subscriptions(subscriptions.clone()),
        )
    });
    let status_server = match (&status, config.status_page.as_ref().and_then(|page| page.listen)) {
        (Some(page), Some(address)) => {
            let listener =
                tokio::net::TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address} for the status page"))?;
            tracing::info!(listen = %address, "status page listening");
            let mut stop = stop_rx.clone();
            Some(crate::http::serve_status(listener, Arc::clone(page), async move { stopped(&mut stop).await }))
        }
        _ => None,
    };
    // The overview's uptime bars: past days computed now and again as each day begins,
    // so no request waits for 90 days of transitions.
    let bars = Arc::new(crate::monitor::bars::UptimeBars::new(
        store.clone(),
        config.monitors.iter().map(|monitor| monitor.name.as_str().to_owned()).collect(),
        crate::http::ui::DAYS,
    ));
    {
        let (bars, mut stop, clock) = (Arc::clone(&bars), stop_rx.clone(), clock.clone());
        tokio::spawn(async move {
            loop {
                let now = clock.now();
                if let Err(error) = bars.bars(now).await {
                    tracing::warn!(%error, "computing the overview's uptime bars failed; the next overview retries");
                }
                let next_day = Duration::from_millis(u64::try_from(86_400_000 - now.0.rem_euclid(86_400_000)).unwrap_or(0) + 1_000);
                tokio::select! {
                    () = clock.sleep(next_day) => {}
                    () = stopped(&mut stop) => break,
                }
            }
        });
    }
    let state = AppState {
        status,
        incidents: incidents.clone(),
        metrics: metrics.clone(),
        store: store.clone(),
        ready: ready.clone(),
        logs,
        inbound,
        episodes: Arc::clone(&episodes),
        monitors: Arc::clone(&monitors),
        clock: clock.clone(),
        alertmanager_open: config.api.alertmanager_auth_none,
        node: node.clone(),
        started: clock.now(),
        history,
        slos: config.slos.clone().into(),
        secure_cookies: external_url.as_deref().is_some_and(|url| url.starts_with("https://")),
        bars: Arc::clone(&bars),
    };
    let mut http_stop = stop_rx.clone();
    let server = crate::http::serve(listener, state, async move { stopped(&mut http_stop).await });

    let worker = ActionWorker {
        store: store.clone(),
        planner: effects.planner.clone(),
        executor: Executor { http: client.clone(), aws: aws.clone() },
        clock: clock.clone(),
        node: node.clone(),
        remediation: config.remediation,
        delivery: config.delivery,
        metrics: metrics.clone(),
        wake_outbox: effects.wake_outbox.clone(),
        audit_sink: config.audit.cloudwatch_logs.is_some(),
        inhibit_rules: Arc::new(config.inhibit_rules.clone()),
        group_of: {
            let routing = effects.routing.clone();
            Arc::new(move |labels, notifier| routing.group_of(labels, notifier))
        },
        in_flight: Arc::default(),
    };
    let (worker_stop, worker_stop_rx) = watch::channel(false);
    let worker_task = tokio::spawn(worker.run(effects.wake_actions.clone(), worker_stop_rx));
    let dispatcher = Arc::new(Dispatcher {
        store: store.clone(),
        notifiers: build_all(&config, &client, &aws),
        clock: clock.clone(),
        delivery: config.delivery,
        owner: node,
        metrics: metrics.clone(),
        wake: effects.wake_outbox.clone(),
        links: external_url
            .clone()
            .map(|base_url| crate::incidents::links::LinkSettings { base_url, lifetime: config.on_call.incidents.link_lifetime }),
    });
    let (dispatcher_stop, dispatcher_stop_rx) = watch::channel(false);
    let dispatcher_task = tokio::spawn(Arc::clone(&dispatcher).run(dispatcher_stop_rx));
    let alerts = AlertDispatcher::new(
        store.clone(),
        effects.routing.clone(),
        clock.clone(),
        config.delivery.give_up_after,
        effects.wake_outbox.clone(),
    )
    .with_flapping(config.flapping);
    let escalator = crate::incidents::escalator::Escalator {
        store: store.clone(),
        on_call: Arc::clone(&incidents.on_call),
        clock: clock.clone(),
        give_up_after: config.delivery.give_up_after,
        wake: effects.wake_incidents.clone(),
        wake_outbox: effects.wake_outbox.clone(),
    };
    let (escalator_stop, escalator_stop_rx) = watch::channel(false);
    let escalator_task = tokio::spawn(escalator.run(escalator_stop_rx));
    let (alerts_stop, alerts_stop_rx) = watch::channel(false);
    let alerts_task = tokio::spawn(alerts.run(effects.wake_alerts.clone(), alerts_stop_rx));

    let (events_tx, mut events) = mpsc::channel(1024);
    let checks = scheduler::spawn(
        monitors,
        engine.states(),
        client,
        config.max_concurrent_checks,
        probe_threads,
        clock.clone(),
        events_tx.clone(),
        stop_rx.clone(),
    )
    .context("starting the probe threads")?;
    ready.store(true, Ordering::SeqCst);

    let task = tokio::spawn(async move {
        // The loop holds a sender until stop, so the channel closes only after every
        // monitor task has reported its last check.
        let mut own_sender = Some(events_tx);
        let mut heartbeat = clock.sleep(Duration::ZERO);
        let mut beats: u64 = 0;
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Some(done) => {
                        // Decide every check already waiting, then commit them together.
                        engine.handle_check(done);
                        while engine.pending() < MAX_BATCH {
                            let Ok(more) = events.try_recv() else { break };
                            engine.handle_check(more);
                        }
                        engine.flush().await;
                    }
                    None => break,
                },
                () = &mut heartbeat => {
                    heartbeat = clock.sleep(HEARTBEAT);
                    if let Err(error) = store.heartbeat(run, clock.now()).await {
                        tracing::warn!(%error, "recording heartbeat failed");
                    }
                    beats += 1;
                    // The first 10 s after start, then every minute.
                    if beats % HISTORY_EVERY_BEATS == 2 {
                        engine.save_history(clock.now()).await;
                    }
                }
                () = stopped(&mut stop_rx), if own_sender.is_some() => {
                    tracing::info!("stopping: no new checks; finishing checks in flight");
                    ready.store(false, Ordering::SeqCst);
                    own_sender = None;
                }
            }
        }
        checks.join().await;
        engine.save_slos().await;
        engine.save_history(clock.now()).await;
        // The server has stopped taking pushes; its sender is gone once it exits.
        server.await.context("http server panicked")?.context("http server failed")?;
        if let Some(status_server) = status_server {
            status_server.await.context("status page server panicked")?.context("status page server failed")?;
        }
        if let Some(rules_task) = rules_task {
            rules_task.await.context("rule engine panicked")?;
        }
        // The last group notifications are written before the outbox's last pass.
        let _ = alerts_stop.send(true);
        alerts_task.await.context("alert dispatcher panicked")?;
        let _ = escalator_stop.send(true);
        escalator_task.await.context("escalator panicked")?;
        // Actions running now finish and are recorded; their notifications go out below.
        let _ = worker_stop.send(true);
        worker_task.await.context("action worker panicked")?;
        let _ = dispatcher_stop.send(true);
        dispatcher_task.await.context("outbox dispatcher panicked")?;
        store.stop_run(run, clock.now()).await?;
        store.close().await;
        tracing::info!("vigil stopped");
        Ok(())
    });
    Ok(Running { http_address, stop: stop_tx, task })
}
