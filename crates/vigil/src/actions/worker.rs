//! The action worker: claims queued executions, runs the guard pipeline, takes the
//! target's lease, acts, verifies, and records every step with its notifications and
//! audit entries.
//!
//! Its loop selects over one closed [`Event`]: a wake-up (an execution was queued), the
//! next deadline (a hold, a verification or an approval running out), or stop. Several
//! executions run at once; the per-target lease, not this process, keeps two from
//! acting on one target.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use vigil_config::{ActionConfig, DeliveryConfig, RemediationConfig};
use vigil_core::guards::{self, Approval, Breaker, Budget, Decision, Guard, GuardInputs, Outcome};
use vigil_core::{Clock, Timestamp};
use vigil_store::{
    AuditEntry, ExecutionRecord, ExecutionState, ExecutionUpdate, FactWindows, NewExecution, NewNotification, Store, StoreError,
};

use super::execute::Executor;
use super::Planner;
use crate::metrics::{ActionLabels, Metrics};
use crate::notifiers::message::{ActionMessage, AuditMessage};
use crate::notifiers::Message;

/// A target's lease lasts the action's timeout plus this.
const LEASE_MARGIN: Duration = Duration::from_secs(30);
/// Executions run at once by one node.
const CONCURRENCY: usize = 16;
/// Look again at least this often (another node may have queued something).
const POLL: Duration = Duration::from_secs(1);
/// The outbox notifier name of the audit sink, when one is configured.
pub const AUDIT_SINK: &str = "audit:cloudwatch-logs";

/// For an alert's labels and a notifier: the first group (receiver, group key) the
/// alert joins whose receiver notifies through it.
pub type GroupOf = Arc<dyn Fn(&BTreeMap<String, String>, &str) -> Option<(String, String)> + Send + Sync>;

/// What the loop reacts to.
enum Event {
    /// Something was queued or answered: look now.
    Wake,
    /// A deadline or the poll interval passed.
    Tick,
    Stop,
}

/// One node's action worker. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct ActionWorker {
    pub store: Store,
    pub planner: Arc<Planner>,
    pub executor: Executor,
    pub clock: Arc<dyn Clock>,
    /// This node, for leases and the audit log.
    pub node: String,
    pub remediation: RemediationConfig,
    pub delivery: DeliveryConfig,
    pub metrics: Arc<Metrics>,
    pub wake_outbox: Arc<Notify>,
    pub audit_sink: bool,
    /// Inhibition mutes actions as it mutes notifications.
    pub inhibit_rules: Arc<Vec<vigil_alerts::inhibit::InhibitRule>>,
    /// The group an alert's outcomes through a notifier thread under (the routing
    /// tree's, passed in: responders do not import the alert layer).
    pub group_of: GroupOf,
    /// Executions this node is working on, so it does not pick one up twice.
    pub in_flight: Arc<Mutex<HashSet<i64>>>,
}

impl ActionWorker {
    /// Runs until `stop`; executions running then are finished and recorded first.
    pub async fn run(self, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
        let mut running = JoinSet::new();
        loop {
            let wait = match self.store.next_execution_due().await {
                Ok(Some(due)) => Duration::from_millis(u64::try_from(due.0 - self.clock.now().0).unwrap_or(0)).min(POLL),
                Ok(None) => POLL,
                Err(error) => {
                    tracing::warn!(%error, "reading the action queue failed");
                    POLL
                }
            };
            let event = tokio::select! {
                () = wake.notified() => Event::Wake,
                () = self.clock.sleep(wait) => Event::Tick,
                () = crate::node::stopped(&mut stop) => Event::Stop,
            };
            match event {
                Event::Wake | Event::Tick => {
                    while running.try_join_next().is_some() {}
                    if let Err(error) = self.pass(&mut running).await {
                        tracing::warn!(%error, "action pass failed; trying again");
                    }
                }
                Event::Stop => break,
            }
        }
        while running.join_next().await.is_some() {}
    }

    /// Claims due executions and starts them; settles verifications and approvals.
    async fn pass(&self, running: &mut JoinSet<()>) -> Result<(), StoreError> {
        let room = CONCURRENCY.saturating_sub(running.len());
        if room > 0 {
            let now = self.clock.now();
            for record in self.store.due_executions(now, i64::try_from(room).unwrap_or(1)).await? {
                if !self.in_flight.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(record.id) {
                    continue;
                }
                let worker = self.clone();
                running.spawn(async move {
                    let id = record.id;
                    if let Err(error) = worker.process(record).await {
                        tracing::error!(id, %error, "processing an execution failed; it will be claimed again");
                    }
                    worker.in_flight.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&id);
                });
            }
        }
        let now = self.clock.now();
        for (record, cleared) in self.store.due_checks(now, LEASE_MARGIN).await? {
            self.settle(record, cleared, now).await?;
        }
        Ok(())
    }

    /// Runs the guards on a claimed execution and, when they pass, the action.
    async fn process(&self, record: ExecutionRecord) -> Result<(), StoreError> {
        let now = self.clock.now();
        let Some(action) = self.planner.action(&record.action).cloned() else {
            let reason = format!("action `{}` is no longer configured", record.action);
            return self.record(&record, ExecutionState::Suppressed, "suppressed", &reason, Vec::new(), ExecutionUpdate::default()).await;
        };
        if self.store.trigger_cleared(&record.trigger).await? {
            let update = ExecutionUpdate { finished_at: Some(now), ..ExecutionUpdate::default() };
            let reason = "the alert cleared before the action ran".to_owned();
            return self.record(&record, ExecutionState::Cancelled, "cancelled", &reason, Vec::new(), update).await;
        }
        let (mut decisions, outcome) = guards::evaluate(&self.guard_inputs(&record, &action, now).await?);
        match outcome {
            Outcome::Suppressed { reason, .. } => {
                let update = ExecutionUpdate { finished_at: Some(now), ..ExecutionUpdate::default() };
                self.record(&record, ExecutionState::Suppressed, "suppressed", &reason, decisions, update).await
            }
            Outcome::Held { until, reason, .. } => {
                let update = ExecutionUpdate { not_before: Some(until), ..ExecutionUpdate::default() };
                self.record(&record, ExecutionState::Held, "held", &reason, decisions, update).await
            }
            Outcome::AwaitingApproval { deadline } => {
                let reason = format!("approve with `vigil actions approve {}` before {deadline}", record.id);
                let update = ExecutionUpdate { approval_deadline: Some(deadline), ..ExecutionUpdate::default() };
                self.record(&record, ExecutionState::AwaitingApproval, "awaiting-approval", &reason, decisions, update).await
            }
            Outcome::Denied { reason } => {
                let update = ExecutionUpdate { finished_at: Some(now), ..ExecutionUpdate::default() };
                self.record(&record, ExecutionState::Denied, "denied", &reason, decisions, update).await
            }
            Outcome::Proceed if record.dry_run => {
                let holder = format!("{}#{}", self.node, record.id);
                let until = now.saturating_add(action.timeout + LEASE_MARGIN);
                let Some(token) = self.store.acquire_target_lease(&record.target, &holder, now, until).await? else {
                    return self.wait_for_lease(&record, decisions, now).await;
                };
                self.store.release_target_lease(&record.target, token).await?;
                decisions.push(Decision {
                    guard: Guard::Lease,
                    passed: true,
                    reason: format!("fencing token {token} (released: dry run)"),
                });
                let reason = format!("would run {} on {} (dry run: nothing was called)", describe(&action), record.target);
                let update = ExecutionUpdate { finished_at: Some(now), fencing_token: Some(token), ..ExecutionUpdate::default() };
                self.record(&record, ExecutionState::DryRun, "dry-run", &reason, decisions, update).await
            }
            Outcome::Proceed => self.act(record, &action, decisions).await,
        }
    }

    /// Another execution holds the target's lease: go back to pending until it lapses.
    async fn wait_for_lease(&self, record: &ExecutionRecord, mut decisions: Vec<Decision>, now: Timestamp) -> Result<(), StoreError> {
        let (owner, expires) = self.store.target_lease_holder(&record.target, now).await?.unwrap_or_default();
        decisions.push(Decision { guard: Guard::Lease, passed: false, reason: format!("target leased by {owner} until {expires}") });
        let not_before = if expires > now { expires } else { now.saturating_add(Duration::from_secs(1)) };
        let update = ExecutionUpdate { not_before: Some(not_before), ..ExecutionUpdate::default() };
        self.record_quietly(record, ExecutionState::Pending, decisions, update).await
    }

    /// Takes the target's lease and records the run as started in one transaction, runs
    /// the action, lets the lease go and records the result.
    async fn act(&self, record: ExecutionRecord, action: &ActionConfig, decisions: Vec<Decision>) -> Result<(), StoreError> {
        let now = self.clock.now();
        let holder = format!("{}#{}", self.node, record.id);
        let until = now.saturating_add(action.timeout + LEASE_MARGIN);
        let mut stored_decisions = String::new();
        let started = |token: i64| {
            let mut decisions = decisions.clone();
            decisions.push(Decision { guard: Guard::Lease, passed: true, reason: format!("fencing token {token}") });
            let mut audit = self.decision_audit(&record, &decisions, now);
            let detail = format!("{} on {} with fencing token {token}", describe(action), record.target);
            audit.push(self.audit_entry(&record, now, "started", detail));
            stored_decisions = serde_json::to_string(&decisions).unwrap_or_default();
            ExecutionUpdate {
                state: Some(ExecutionState::Running),
                decisions: Some(stored_decisions.clone()),
                started_at: Some(now),
                outcome: "started".to_owned(),
                notifications: self.audit_notifications(&audit),
                audit,
                ..ExecutionUpdate::default()
            }
        };
        let give_up_after = self.delivery.give_up_after;
        let Some(token) =
            self.store.start_execution(record.id, record.state, &record.target, &holder, until, started, now, give_up_after).await?
        else {
            if self.store.target_lease_holder(&record.target, now).await?.is_some_and(|(owner, _)| owner != holder) {
                return self.wait_for_lease(&record, decisions, now).await;
            }
            // Another node took this execution over; it is theirs to run.
            return Ok(());
        };
        let latency = now.0 - record.created_at.0;
        self.metrics.action_start_latency.observe(Duration::from_millis(u64::try_from(latency).unwrap_or(0)).as_secs_f64());
        tracing::warn!(id = record.id, action = %record.action, target = %record.target, attempt = record.attempt, "running remediation");
        let clock = Instant::now();
        let span = tracing::info_span!(
            "action",
            action = %record.action,
            target = %record.target,
            execution = record.id,
            trace_id = tracing::field::Empty
        );
        crate::telemetry::record_trace_id(&span);
        let result = tracing::Instrument::instrument(self.executor.run(action, &record), span).await;
        self.store.release_target_lease(&record.target, token).await?;
        let finished = self.clock.now();
        let record = ExecutionRecord {
            state: ExecutionState::Running,
            started_at: Some(now),
            fencing_token: Some(token),
            decisions: stored_decisions,
            ..record
        };
        match result {
            Ok(output) => {
                tracing::info!(id = record.id, action = %record.action, target = %record.target, elapsed_ms = clock.elapsed().as_millis() as u64, %output, "remediation ran");
                match action.verify {
                    Some(verify) => {
                        let update = ExecutionUpdate {
                            verify_deadline: Some(finished.saturating_add(verify)),
                            result: Some(output.clone()),
                            ..ExecutionUpdate::default()
                        };
                        let reason =
                            format!("{output}; verifying: the alert must clear within {}", vigil_core::time::format_duration(verify));
                        self.record(&record, ExecutionState::Verifying, "executed", &reason, Vec::new(), update).await
                    }
                    None => {
                        let update =
                            ExecutionUpdate { finished_at: Some(finished), result: Some(output.clone()), ..ExecutionUpdate::default() };
                        self.record(&record, ExecutionState::Executed, "executed", &output, Vec::new(), update).await
                    }
                }
            }
            Err(error) => {
                tracing::error!(id = record.id, action = %record.action, target = %record.target, %error, "remediation failed");
                let update = ExecutionUpdate { finished_at: Some(finished), result: Some(error.clone()), ..ExecutionUpdate::default() };
                self.record(&record, ExecutionState::Failed, "failed", &error, Vec::new(), update).await?;
                self.after_failure(&record, action).await
            }
        }
    }

    /// Settles an execution waiting on its trigger (verifying) or on a person (approval).
    async fn settle(&self, record: ExecutionRecord, cleared: bool, now: Timestamp) -> Result<(), StoreError> {
        match record.state {
            ExecutionState::Verifying if cleared => {
                let after =
                    record.started_at.map(|started| format!(" {} after the run", vigil_core::time::format_duration(now.since(started))));
                let reason = format!("the alert cleared{}", after.unwrap_or_default());
                let update = ExecutionUpdate { finished_at: Some(now), ..ExecutionUpdate::default() };
                self.record(&record, ExecutionState::Verified, "verified", &reason, Vec::new(), update).await
            }
            ExecutionState::Verifying => {
                let Some(action) = self.planner.action(&record.action).cloned() else { return Ok(()) };
                let reason = format!(
                    "the alert did not clear within {} of the run",
                    action.verify.map(vigil_core::time::format_duration).unwrap_or_default()
                );
                let update = ExecutionUpdate { finished_at: Some(now), result: Some(reason.clone()), ..ExecutionUpdate::default() };
                self.record(&record, ExecutionState::Failed, "failed", &reason, Vec::new(), update).await?;
                self.after_failure(&record, &action).await
            }
            ExecutionState::Running => {
                // Only a run that outlived its timeout and the lease margin: the node that
                // ran it stopped before recording how it went.
                let Some(action) = self.planner.action(&record.action).cloned() else { return Ok(()) };
                let started = record.started_at.unwrap_or(now);
                if now < started.saturating_add(action.timeout + LEASE_MARGIN) || self.in_flight_contains(record.id) {
                    return Ok(());
                }
                let reason = "outcome unknown: Vigil stopped while the action ran".to_owned();
                let update = ExecutionUpdate { finished_at: Some(now), result: Some(reason.clone()), ..ExecutionUpdate::default() };
                self.record(&record, ExecutionState::Failed, "failed", &reason, Vec::new(), update).await?;
                self.after_failure(&record, &action).await
            }
            ExecutionState::AwaitingApproval => {
                let reason = "no approval before the deadline".to_owned();
                let update = ExecutionUpdate { finished_at: Some(now), ..ExecutionUpdate::default() };
                self.record(&record, ExecutionState::Denied, "denied", &reason, Vec::new(), update).await
            }
            _ => Ok(()),
        }
    }

    /// After an attempt that did not cure: open the breaker (once, with an escalation)
    /// when it was the last allowed, else queue the next attempt for after the cooldown
    /// while the trigger still fires.
    async fn after_failure(&self, record: &ExecutionRecord, action: &ActionConfig) -> Result<(), StoreError> {
        let now = self.clock.now();
        let facts = self.store.guard_facts(&record.action, &record.target, now, self.windows(action)).await?;
        if facts.failures >= action.max_attempts {
            if self.store.open_breaker(&record.action, &record.target, now).await? {
                self.metrics.actions.get_or_create(&ActionLabels { action: record.action.clone(), outcome: "breaker-open".into() }).inc();
                let reason = format!(
                    "{} attempts within {} did not cure {}; stopped until someone runs `vigil actions reset {}`",
                    facts.failures,
                    vigil_core::time::format_duration(action.breaker_window),
                    record.target,
                    record.action
                );
                tracing::error!(action = %record.action, target = %record.target, failures = facts.failures, "circuit breaker open: a human is needed");
                let message = self.message(record, "breaker-open", &reason, Vec::new(), now);
                let mut notifications = self.notifications(record, &message).await?;
                let audit = vec![self.audit_entry(record, now, "breaker-open", reason)];
                notifications.extend(self.audit_notifications(&audit));
                let update = ExecutionUpdate { outcome: "breaker-open".to_owned(), notifications, audit, ..ExecutionUpdate::default() };
                self.store.update_execution(record.id, None, &update, now, self.delivery.give_up_after).await?;
                self.wake_outbox.notify_one();
            }
            return Ok(());
        }
        if self.store.trigger_cleared(&record.trigger).await? {
            return Ok(());
        }
        let started = record.started_at.unwrap_or(now);
        let follow_up = NewExecution {
            action: record.action.clone(),
            target: Ok(record.target.clone()),
            summary: record.summary.clone(),
            labels: record.labels.clone(),
            notify: record.notify.clone(),
            dry_run: record.dry_run,
            attempt: record.attempt + 1,
            not_before: Some(started.saturating_add(action.cooldown).max(now)),
        };
        self.store.enqueue_executions(&[follow_up], &record.trigger, now).await?;
        Ok(())
    }

    fn in_flight_contains(&self, id: i64) -> bool {
        self.in_flight.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).contains(&id)
    }

    async fn guard_inputs(&self, record: &ExecutionRecord, action: &ActionConfig, now: Timestamp) -> Result<GuardInputs, StoreError> {
        let facts = self.store.guard_facts(&record.action, &record.target, now, self.windows(action)).await?;
        let labels: BTreeMap<String, String> = serde_json::from_str(&record.labels).unwrap_or_default();
        let mut silenced_by = self
            .store
            .silences(now, false)
            .await?
            .into_iter()
            .find(|silence| silence.silence().mutes(&labels, now.0))
            .map(|silence| silence.describe());
        if silenced_by.is_none() && !self.inhibit_rules.is_empty() {
            let firing = self.store.firing_episodes(None).await?;
            let sources: Vec<vigil_alerts::inhibit::Source<'_>> = firing
                .iter()
                .map(|episode| vigil_alerts::inhibit::Source {
                    fingerprint: vigil_alerts::alert::parse_fingerprint(&episode.fingerprint).unwrap_or(0),
                    labels: &episode.labels,
                })
                .collect();
            silenced_by = vigil_alerts::inhibit::muted_by(&self.inhibit_rules, &labels, &sources).map(|(rule, source)| {
                format!("inhibited by alert {source:016x} (inhibit rule {})", if rule.name.is_empty() { "unnamed" } else { &rule.name })
            });
        }
        let mut budgets = vec![(
            "global".to_owned(),
            Budget { used: facts.global_used, max: self.remediation.budget, window: self.remediation.budget_window },
        )];
        if let Some((max, window)) = action.budget {
            budgets.push((format!("action {}", action.name), Budget { used: facts.action_used, max, window }));
        }
        let approval = match (&record.approved_by, action.approval) {
            (Some(by), _) => match by.strip_prefix('!') {
                Some(refused_by) => Approval::Refused { by: refused_by.to_owned() },
                None => Approval::Approved { by: by.clone() },
            },
            (None, false) => Approval::NotRequired,
            (None, true) => Approval::Required { requested_at: None, timeout: action.approval_timeout },
        };
        Ok(GuardInputs {
            now,
            paused: facts.paused,
            silenced_by,
            target: match &record.target_error {
                Some(error) => Err(error.clone()),
                None => Ok(record.target.clone()),
            },
            budgets,
            cooldown: action.cooldown,
            last_started: facts.last_started,
            breaker: Breaker {
                open: facts.breaker_open,
                failures: facts.failures,
                max_attempts: action.max_attempts,
                window: action.breaker_window,
            },
            approval,
        })
    }

    fn windows(&self, action: &ActionConfig) -> FactWindows {
        FactWindows {
            global_budget: self.remediation.budget_window,
            action_budget: action.budget.map_or(self.remediation.budget_window, |(_, window)| window),
            breaker: action.breaker_window,
        }
    }

    /// Moves `record` to `state` and tells its notifiers (`outcome` names the message).
    async fn record(
        &self,
        record: &ExecutionRecord,
        state: ExecutionState,
        outcome: &str,
        reason: &str,
        decisions: Vec<Decision>,
        update: ExecutionUpdate,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let mut audit = self.decision_audit(record, &decisions, now);
        audit.push(self.audit_entry(record, now, outcome, reason.to_owned()));
        let stored_decisions = if decisions.is_empty() { None } else { Some(serde_json::to_string(&decisions).unwrap_or_default()) };
        let shown_decisions = if decisions.is_empty() { serde_json::from_str(&record.decisions).unwrap_or_default() } else { decisions };
        let message = self.message(record, outcome, reason, shown_decisions, now);
        let mut notifications = self.notifications(record, &message).await?;
        notifications.extend(self.audit_notifications(&audit));
        let notify = !notifications.is_empty();
        let update = ExecutionUpdate {
            state: Some(state),
            decisions: stored_decisions,
            outcome: outcome.to_owned(),
            notifications,
            audit,
            ..update
        };
        if self.store.update_execution(record.id, Some(record.state), &update, now, self.delivery.give_up_after).await? {
            self.metrics.actions.get_or_create(&ActionLabels { action: record.action.clone(), outcome: outcome.to_owned() }).inc();
            tracing::info!(id = record.id, action = %record.action, target = %record.target, outcome, reason, "execution recorded");
            if notify {
                self.wake_outbox.notify_one();
            }
        }
        Ok(())
    }

    /// Records a change nobody needs telling about (waiting for a target's lease).
    async fn record_quietly(
        &self,
        record: &ExecutionRecord,
        state: ExecutionState,
        decisions: Vec<Decision>,
        update: ExecutionUpdate,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let audit = self.decision_audit(record, &decisions, now);
        let update = ExecutionUpdate {
            state: Some(state),
            decisions: Some(serde_json::to_string(&decisions).unwrap_or_default()),
            outcome: "waiting".into(),
            audit,
            ..update
        };
        self.store.update_execution(record.id, Some(record.state), &update, now, self.delivery.give_up_after).await?;
        Ok(())
    }

    fn message(&self, record: &ExecutionRecord, outcome: &str, reason: &str, decisions: Vec<Decision>, now: Timestamp) -> Message {
        Message::Action(ActionMessage {
            execution_id: record.id,
            action: record.action.clone(),
            target: if record.target.is_empty() { "(no target)".to_owned() } else { record.target.clone() },
            outcome: outcome.to_owned(),
            reason: reason.to_owned(),
            trigger: record.summary.clone(),
            episode: record.episode.clone(),
            attempt: record.attempt,
            dry_run: record.dry_run,
            at: now.0,
            decisions,
            thread: None,
        })
    }

    /// One notification per notifier of the action, each answering the mail its episode
    /// was announced in through that notifier, so outcomes thread under it.
    async fn notifications(&self, record: &ExecutionRecord, message: &Message) -> Result<Vec<NewNotification>, StoreError> {
        let mut notifications = Vec::with_capacity(record.notify.len());
        for notifier in &record.notify {
            let mut message = message.clone();
            if let Message::Action(action) = &mut message {
                action.thread = self.thread(record, notifier).await?;
            }
            let payload = serde_json::to_string(&message).unwrap_or_default();
            notifications.push(NewNotification { notifier: notifier.clone(), payload });
        }
        Ok(notifications)
    }

    /// The mail an outcome through `notifier` answers: the one that announced its episode,
    /// else its group's thread, which the group's first notification will start when
    /// the outcome goes out before it (remediation does not wait for group-wait).
    async fn thread(&self, record: &ExecutionRecord, notifier: &str) -> Result<Option<String>, StoreError> {
        if let Some(thread) = self.store.mail_thread(&record.trigger, notifier).await? {
            return Ok(Some(thread));
        }
        let Some(episode) = self.store.trigger_episode(&record.trigger).await? else { return Ok(None) };
        let Some(episode) = self.store.episode(episode).await? else { return Ok(None) };
        let Some((receiver, group_key)) = (self.group_of)(&episode.labels, notifier) else { return Ok(None) };
        let proposed = crate::notifiers::group::new_thread(&receiver, &group_key, self.clock.now());
        Ok(Some(self.store.group_thread(&receiver, &group_key, &proposed).await?))
    }

    fn audit_notifications(&self, audit: &[AuditEntry]) -> Vec<NewNotification> {
        if !self.audit_sink || audit.is_empty() {
            return Vec::new();
        }
        let payload = serde_json::to_string(&Message::Audit(AuditMessage { entries: audit.to_vec() })).unwrap_or_default();
        vec![NewNotification { notifier: AUDIT_SINK.to_owned(), payload }]
    }

    fn decision_audit(&self, record: &ExecutionRecord, decisions: &[Decision], now: Timestamp) -> Vec<AuditEntry> {
        decisions
            .iter()
            .map(|decision| {
                let verdict = if decision.passed { "pass" } else { "stop" };
                self.audit_entry(record, now, "decision", format!("{} {verdict}: {}", decision.guard.as_str(), decision.reason))
            })
            .collect()
    }

    fn audit_entry(&self, record: &ExecutionRecord, now: Timestamp, event: &str, detail: String) -> AuditEntry {
        AuditEntry {
            at: now,
            execution_id: Some(record.id),
            action: record.action.clone(),
            target: record.target.clone(),
            event: event.to_owned(),
            detail,
            node: self.node.clone(),
        }
    }
}

/// `RebootInstances`, `POST http://...`, `/usr/bin/restart-api`.
fn describe(action: &ActionConfig) -> String {
    match &action.kind {
        vigil_config::ActionKind::Ec2Reboot { .. } => "ec2:RebootInstances".to_owned(),
        vigil_config::ActionKind::Http { method, .. } => format!("HTTP {method}"),
        vigil_config::ActionKind::Exec { command, .. } => format!("`{}`", command.join(" ")),
    }
}
