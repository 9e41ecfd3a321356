//! The rule engine: feeds every line to every rule's evaluator, turns firings and
//! resolutions into alert episodes stored with their notifications, and moves time on
//! once a second so windows slide (and alerts resolve) without new lines.
//!
//! An open alert is one per rule and label set (its fingerprint). Alerts left open by an
//! earlier run are adopted: firing again continues the same episode, and an adopted
//! alert that does not fire again within the rule's longest range of fresh lines is
//! resolved.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use vigil_config::RuleConfig;
use vigil_core::{Clock, Timestamp};
use vigil_logql::eval::pipeline::Labels;
use vigil_logql::eval::{AlertState, Entry, EvaluatorOptions, EvaluatorStats, RuleEvaluator, RuleEvent};
use vigil_store::{AlertSource, Applied, Store};

use crate::alerts::AlertChange;
use crate::effects::Effects;
use crate::logs::LogBatch;
use crate::metrics::{Metrics, RuleLabels, RuleLineLabels, StateLabels};
use crate::notifiers::message::render_summary;
use crate::notifiers::{AlertMessage, Message};
use crate::slos::SloDetector;

/// Matching lines carried into an alert's notifications.
const SAMPLE_LINES: usize = 5;
const TICK: Duration = Duration::from_secs(1);

struct Rule {
    config: RuleConfig,
    evaluator: RuleEvaluator,
    /// Per range of the evaluator: its query in the SLO detector's set, which reads each
    /// line once for the SLIs and every rule (`None`: the rule's own pipeline reads it).
    queries: Vec<Option<usize>>,
    samples: VecDeque<String>,
    /// Stats already added to the metrics.
    exported: EvaluatorStats,
}

struct OpenAlert {
    id: i64,
    /// The episode's fingerprint, which its resolution names.
    fingerprint: String,
    fired_at: Timestamp,
    /// Adopted from an earlier run and not confirmed by this one yet.
    adopted: bool,
}

pub struct RuleEngine {
    rules: Vec<Rule>,
    open: HashMap<String, OpenAlert>,
    store: Store,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    effects: Effects,
    started: Timestamp,
    /// Positions of tailed files whose lines the rules have seen, not yet stored.
    offsets: HashMap<String, vigil_store::SourceOffset>,
    /// The log SLOs, fed the same lines.
    slos: SloDetector,
}

/// The evaluator for one configured rule.
pub fn evaluator(config: &RuleConfig) -> RuleEvaluator {
    RuleEvaluator::new(
        &config.expr,
        EvaluatorOptions {
            for_ms: i64::try_from(config.for_.as_millis()).unwrap_or(i64::MAX),
            lateness_ms: i64::try_from(config.lateness.as_millis()).unwrap_or(i64::MAX),
            max_groups: config.max_groups,
        },
    )
}

fn fingerprint(rule: &str, labels: &Labels) -> String {
    format!("{rule}{}", serde_json::to_string(labels).unwrap_or_default())
}

impl RuleEngine {
    pub async fn new(
        configs: &[RuleConfig],
        store: Store,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        effects: Effects,
    ) -> Result<RuleEngine, vigil_store::StoreError> {
        let rules = configs
            .iter()
            .map(|config| Rule {
                evaluator: evaluator(config),
                queries: Vec::new(),
                config: config.clone(),
                samples: VecDeque::with_capacity(SAMPLE_LINES),
                exported: EvaluatorStats::default(),
            })
            .collect();
        let open = store
            .firing_episodes(Some(AlertSource::Rule))
            .await?
            .into_iter()
            .map(|alert| {
                let open = OpenAlert { id: alert.id, fingerprint: alert.fingerprint, fired_at: alert.starts_at, adopted: true };
                (alert.source_key, open)
            })
            .collect::<HashMap<_, _>>();
        if !open.is_empty() {
            tracing::info!(alerts = open.len(), "alerts still firing from the last run adopted");
        }
        let started = clock.now();
        let mut engine =
            RuleEngine { rules, open, store, clock, metrics, effects, started, offsets: HashMap::new(), slos: SloDetector::logs(&[]) };
        engine.share_queries();
        Ok(engine)
    }

    /// Feeds the log SLOs of `configs` too (see [`crate::slos`]), saving their windows as
    /// `node`'s.
    pub fn with_slos(mut self, configs: &[vigil_config::SloConfig], node: &str) -> RuleEngine {
        self.slos = SloDetector::logs(configs).on_node(node, self.clock.clone());
        self.share_queries();
        self
    }

    /// Puts every rule's queries into the SLO detector's set.
    fn share_queries(&mut self) {
        for rule in &mut self.rules {
            rule.queries = rule.evaluator.log_queries().into_iter().map(|query| self.slos.logs_mut().add_query(query)).collect();
        }
    }

    /// Rebuilds the log SLOs' windows from the store; the source keys of the burn alerts
    /// that fire on them.
    pub async fn restore_slos(&mut self) -> Result<std::collections::BTreeSet<String>, vigil_store::StoreError> {
        self.slos.restore(&self.store, &self.effects).await
    }

    async fn apply_slo_changes(&mut self, changes: Vec<AlertChange>) {
        crate::slos::store_changes(&self.store, &self.effects, changes, self.clock.now()).await;
    }

    /// Runs until the intake channel closes (every sender dropped at shutdown).
    pub async fn run(mut self, mut batches: mpsc::Receiver<LogBatch>) {
        // Kept across batches; a new one only once it has fired.
        let mut tick = self.clock.sleep(Duration::ZERO);
        loop {
            tokio::select! {
                batch = batches.recv() => match batch {
                    Some(batch) => self.ingest(batch).await,
                    None => break,
                },
                () = &mut tick => {
                    tick = self.clock.sleep(TICK);
                    self.advance().await;
                    self.save_offsets().await;
                }
            }
        }
        self.save_offsets().await;
        self.slos.sync(&self.store, &self.effects, &self.metrics, true).await;
    }

    /// Stores how far each tailed file has been read. Once a second, not per batch: after
    /// a crash up to a second of lines is read again, into windows that start empty.
    pub async fn save_offsets(&mut self) {
        if self.offsets.is_empty() {
            return;
        }
        let offsets: Vec<(String, vigil_store::SourceOffset)> = self.offsets.drain().collect();
        if let Err(error) = self.store.save_source_offsets(&offsets, self.clock.now()).await {
            tracing::warn!(%error, "storing log file offsets failed; will try again");
            for (key, offset) in offsets {
                self.offsets.entry(key).or_insert(offset);
            }
        }
    }

    pub async fn ingest(&mut self, batch: LogBatch) {
        let mut events = Vec::new();
        let mut burns = Vec::new();
        let now = self.clock.now();
        for stream in &batch.streams {
            self.slos.select(&stream.labels);
            for (at, line) in &stream.entries {
                // The SLOs first: the line is begun and read once for them and the rules.
                self.slos.observe_line(*at, &stream.labels, line, now, &mut burns);
                let logs = self.slos.logs_mut();
                for (index, rule) in self.rules.iter_mut().enumerate() {
                    let matched_before = rule.evaluator.stats().matched;
                    let entry = Entry { at: *at, stream: &stream.labels, line };
                    let queries = &rule.queries;
                    let changes = rule.evaluator.observe_asking(entry, |range| {
                        queries.get(range).copied().flatten().map(|query| logs.ask(query, &stream.labels, line))
                    });
                    if rule.evaluator.stats().matched > matched_before {
                        if rule.samples.len() == SAMPLE_LINES {
                            rule.samples.pop_front();
                        }
                        rule.samples.push_back(line.clone());
                    }
                    events.extend(changes.into_iter().map(|event| (index, event)));
                }
            }
        }
        self.export_stats();
        self.metrics.log_lines_evaluated.inc_by(batch.lines() as u64);
        if let Some((key, offset)) = batch.checkpoint {
            self.offsets.insert(key, offset);
        }
        for (index, event) in events {
            self.apply(index, event).await;
        }
        self.apply_slo_changes(burns).await;
    }

    /// Adds what each rule's evaluator counted since the last call to the metrics.
    fn export_stats(&mut self) {
        for rule in &mut self.rules {
            let stats = rule.evaluator.stats();
            let name = rule.config.name.as_str();
            let deltas = [
                ("matched", stats.matched - rule.exported.matched),
                ("late", stats.late - rule.exported.late),
                ("over_group_limit", stats.dropped_groups - rule.exported.dropped_groups),
                ("unwrap_error", stats.unwrap_errors - rule.exported.unwrap_errors),
                ("parse_error", stats.parse_errors - rule.exported.parse_errors),
            ];
            for (outcome, delta) in deltas.into_iter().filter(|(_, delta)| *delta > 0) {
                let labels = RuleLineLabels { rule: name.to_owned(), outcome: outcome.to_owned() };
                self.metrics.rule_lines.get_or_create(&labels).inc_by(delta);
            }
            if stats.dropped_groups > rule.exported.dropped_groups && rule.exported.dropped_groups == 0 {
                tracing::warn!(rule = %name, max_groups = rule.config.max_groups, "rule reached its group limit; lines for more groups are dropped");
            }
            let groups = i64::try_from(rule.evaluator.group_count()).unwrap_or(i64::MAX);
            self.metrics.rule_groups.get_or_create(&RuleLabels { rule: name.to_owned() }).set(groups);
            rule.exported = stats;
        }
    }

    /// Moves every rule to the current time; resolves adopted alerts that did not
    /// come back within a full window.
    pub async fn advance(&mut self) {
        let now = self.clock.now();
        let mut events = Vec::new();
        for (index, rule) in self.rules.iter_mut().enumerate() {
            events.extend(rule.evaluator.advance(now.0).into_iter().map(|event| (index, event)));
        }
        self.export_stats();
        for (index, event) in events {
            self.apply(index, event).await;
        }
        let burns = self.slos.advance(now);
        self.apply_slo_changes(burns).await;
        self.slos.sync(&self.store, &self.effects, &self.metrics, false).await;
        let mut stale = Vec::new();
        for rule in &self.rules {
            if now.0 - self.started.0 < rule.evaluator.max_range_ms() {
                continue;
            }
            let firing: Vec<String> = rule.evaluator.firing().map(|labels| fingerprint(rule.config.name.as_str(), labels)).collect();
            let prefix = rule.config.name.as_str();
            for (key, alert) in &self.open {
                let labels_part = &key[prefix.len().min(key.len())..];
                if alert.adopted && key.starts_with(prefix) && labels_part.starts_with('{') && !firing.contains(key) {
                    stale.push((key.clone(), rule.config.clone(), labels_part.to_owned()));
                }
            }
        }
        for (key, config, labels) in stale {
            let labels: Labels = serde_json::from_str(&labels).unwrap_or_default();
            self.resolve(&key, &config, RuleEvent { state: AlertState::Resolved, at: now.0, labels, value: 0.0 }, Vec::new()).await;
        }
    }

    async fn apply(&mut self, index: usize, event: RuleEvent) {
        let config = self.rules[index].config.clone();
        let samples: Vec<String> = self.rules[index].samples.iter().cloned().collect();
        let key = fingerprint(config.name.as_str(), &event.labels);
        match event.state {
            AlertState::Firing => {
                if let Some(open) = self.open.get_mut(&key) {
                    // Still the same episode (for example after a restart): no second notice.
                    open.adopted = false;
                    return;
                }
                let span = tracing::info_span!("rule.fire", rule = %config.name, trace_id = tracing::field::Empty);
                crate::telemetry::record_trace_id(&span);
                let _entered = span.enter();
                let change = self.effects.decide(self.change(&config, &event, samples, true, Timestamp(event.at)));
                drop(_entered);
                let stored = self.store.apply_changes(std::slice::from_ref(&change), self.clock.now(), self.effects.delivery.give_up_after);
                match tracing::Instrument::instrument(stored, span).await {
                    Ok(applied) => {
                        let id = match applied.first() {
                            Some(Applied::Started(record)) => record.id,
                            Some(Applied::Refreshed(id)) => *id,
                            _ => 0,
                        };
                        tracing::warn!(rule = %config.name, id, labels = ?event.labels, value = event.value, severity = config.severity.as_str(), receivers = ?change.receivers, "alert firing");
                        let open = OpenAlert { id, fingerprint: change.fingerprint.clone(), fired_at: Timestamp(event.at), adopted: false };
                        self.open.insert(key, open);
                        self.metrics.rule_alerts.get_or_create(&StateLabels { state: "firing".to_owned() }).inc();
                        self.effects.stored(!change.notifications.is_empty(), !change.executions.is_empty());
                        self.effects.episodes_stored();
                    }
                    Err(error) => tracing::error!(rule = %config.name, %error, "storing an alert failed"),
                }
            }
            AlertState::Resolved => self.resolve(&key, &config, event, samples).await,
        }
    }

    async fn resolve(&mut self, key: &str, config: &RuleConfig, event: RuleEvent, samples: Vec<String>) {
        let Some(open) = self.open.remove(key) else { return };
        let mut change = self.effects.decide(self.change(config, &event, samples, false, open.fired_at));
        change.fingerprint = open.fingerprint.clone();
        match self.store.apply_changes(std::slice::from_ref(&change), self.clock.now(), self.effects.delivery.give_up_after).await {
            Ok(_) => {
                tracing::info!(rule = %config.name, id = open.id, "alert resolved");
                self.metrics.rule_alerts.get_or_create(&StateLabels { state: "resolved".to_owned() }).inc();
                // A resolution may be what a verifying execution waits for.
                self.effects.stored(!change.notifications.is_empty(), true);
                self.effects.episodes_stored();
            }
            Err(error) => {
                tracing::error!(rule = %config.name, %error, "storing a resolution failed; it will be tried again");
                self.open.insert(key.to_owned(), open);
            }
        }
    }

    /// The alert change of a rule's firing or resolution: its labels are the rule's
    /// `labels:`, the group's labels, `alertname` and `rule` (the rule's name) and
    /// `severity`; its shorthand notification is the rule's alert message.
    fn change(&self, config: &RuleConfig, event: &RuleEvent, samples: Vec<String>, firing: bool, started_at: Timestamp) -> AlertChange {
        let mut message_labels: BTreeMap<String, String> = config.labels.clone();
        message_labels.extend(event.labels.clone());
        let summary_text = config.summary.as_ref().map(|template| render_summary(template, &message_labels, event.value));
        let message = AlertMessage {
            rule: config.name.as_str().to_owned(),
            state: if firing { "firing" } else { "resolved" }.to_owned(),
            severity: config.severity.as_str().to_owned(),
            at: event.at,
            labels: message_labels.clone(),
            value: event.value,
            expr: config.expr_text.clone(),
            summary: summary_text.clone(),
            sample_lines: samples.clone(),
            started_at: started_at.0,
        };
        let payload = serde_json::to_string(&Message::Alert(message)).unwrap_or_else(|_| unreachable!("the message serializes"));
        let mut labels = message_labels.clone();
        labels.insert("rule".to_owned(), config.name.as_str().to_owned());
        let summary = match &summary_text {
            Some(text) => format!("{} firing: {text}", config.name),
            None => format!("{} firing (value {})", config.name, event.value),
        };
        labels.insert("alertname".to_owned(), config.name.as_str().to_owned());
        labels.insert("severity".to_owned(), config.severity.as_str().to_owned());
        let mut annotations = BTreeMap::from([("expr".to_owned(), config.expr_text.clone())]);
        if let Some(text) = summary_text {
            annotations.insert("summary".to_owned(), text);
        }
        AlertChange {
            source: AlertSource::Rule,
            source_key: fingerprint(config.name.as_str(), &event.labels),
            labels,
            annotations,
            firing,
            at: Timestamp(event.at),
            ends_at: None,
            received_at: self.clock.now(),
            generator_url: String::new(),
            value: event.value,
            evidence: serde_json::json!(samples),
            notify: config.notify.clone(),
            payload: Some(payload),
            actions: config.actions.clone(),
            summary,
            template_labels: None,
            signal_at: None,
        }
    }
}
