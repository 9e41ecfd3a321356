//! The outbox dispatcher: claims due notifications under a lease, delivers each one in
//! its own task, bounded by its notifier's timeout, and records each attempt with its
//! outcome (delivered, retry at a backoff, or failed).
//!
//! Deliveries are independent: a mail server that accepts a connection and never
//! answers holds up only its own attempts, never another notifier's, and claiming goes
//! on while deliveries are in flight. The store hands out one notification at a time
//! per monitor (alert, execution) and notifier, so those arrive in order. On shutdown,
//! deliveries still in flight after [`GRACE`] are abandoned and their leases released,
//! so the next start (or another node) sends them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use vigil_config::DeliveryConfig;
use vigil_core::{Clock, Timestamp};
use vigil_store::{AttemptOutcome, OutboxItem, Store};

use super::{DeliveryError, Message, Notifiers};
use crate::metrics::Metrics;

/// How long a claimed notification stays ours; longer than any notifier's timeout.
const LEASE: Duration = Duration::from_secs(120);
/// At most this many deliveries in flight at once.
const MAX_IN_FLIGHT: usize = 256;
/// Longest idle wait, so notifications queued by other nodes are picked up.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// How long shutdown waits for deliveries in flight.
pub const GRACE: Duration = Duration::from_secs(5);

/// Decides what follows a failed attempt: retry after an exponential backoff with
/// jitter, or give up once the retry period is over. `jitter` is in `[0, 1)`. Refused
/// credentials are retried like a transient failure: someone may fix them.
pub fn after_failure(item: &OutboxItem, error: &DeliveryError, now: Timestamp, delivery: &DeliveryConfig, jitter: f64) -> AttemptOutcome {
    let attempts = item.attempts + 1;
    match error {
        DeliveryError::Permanent(message) => AttemptOutcome::Failed { error: message.clone() },
        DeliveryError::Transient(message) | DeliveryError::Refused(message) if now >= item.give_up_at => {
            AttemptOutcome::Failed { error: format!("gave up after {attempts} attempts: {message}") }
        }
        DeliveryError::Transient(message) | DeliveryError::Refused(message) => {
            let exponent = u32::try_from(item.attempts.clamp(0, 30)).unwrap_or(30);
            let backoff = delivery.initial_backoff.saturating_mul(2u32.saturating_pow(exponent)).min(delivery.max_backoff);
            let backoff = backoff.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0));
            let next_attempt_at = now.saturating_add(backoff).min(item.give_up_at).max(now);
            AttemptOutcome::Retry { next_attempt_at, error: message.clone() }
        }
    }
}

pub struct Dispatcher {
    pub store: Store,
    pub notifiers: Notifiers,
    pub clock: Arc<dyn Clock>,
    pub delivery: DeliveryConfig,
    /// This node's id; the first claim after a start takes this node's leases back.
    pub owner: String,
    pub metrics: Arc<Metrics>,
    pub wake: Arc<Notify>,
    /// Where incidents' acknowledgement links point; without it, pages carry none.
    pub links: Option<crate::incidents::links::LinkSettings>,
}

/// Deliveries in flight: the task of each, by the notification it delivers.
struct InFlight {
    tasks: JoinSet<()>,
    ids: HashMap<tokio::task::Id, i64>,
}

impl InFlight {
    fn spawn(&mut self, dispatcher: &Arc<Dispatcher>, item: OutboxItem) {
        let id = item.id;
        let dispatcher = Arc::clone(dispatcher);
        let task = self.tasks.spawn(async move { dispatcher.deliver(item).await });
        self.ids.insert(task.id(), id);
    }

    /// Waits for the next delivery to end; forever when none is in flight.
    async fn next(&mut self) {
        match self.tasks.join_next_with_id().await {
            Some(Ok((task, ()))) => {
                self.ids.remove(&task);
            }
            Some(Err(error)) => {
                self.ids.remove(&error.id());
                tracing::error!(%error, "a delivery task failed");
            }
            None => std::future::pending().await,
        }
    }
}

impl Dispatcher {
    /// Delivers until `stop` turns true; then hands out what is due once more and waits
    /// up to [`GRACE`] for deliveries in flight.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut in_flight = InFlight { tasks: JoinSet::new(), ids: HashMap::new() };
        let mut reclaim_own = true;
        loop {
            let claimed = self.claim(&mut in_flight, std::mem::take(&mut reclaim_own)).await;
            self.update_backlog().await;
            if *stop.borrow() {
                break;
            }
            if claimed && in_flight.ids.len() < MAX_IN_FLIGHT {
                continue;
            }
            let wait = match self.store.next_due_at().await {
                Ok(Some(due)) => Duration::from_millis(u64::try_from(due.0 - self.clock.now().0).unwrap_or(0)).min(IDLE_POLL),
                _ => IDLE_POLL,
            };
            tokio::select! {
                () = self.wake.notified() => {}
                () = self.clock.sleep(wait) => {}
                () = in_flight.next() => {}
                _ = stop.changed() => {}
            }
        }
        let deadline = tokio::time::Instant::now() + GRACE;
        while !in_flight.ids.is_empty() {
            tokio::select! {
                () = in_flight.next() => {}
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        if !in_flight.ids.is_empty() {
            let abandoned: Vec<i64> = in_flight.ids.values().copied().collect();
            in_flight.tasks.abort_all();
            tracing::warn!(count = abandoned.len(), "deliveries still in flight at shutdown are left for the next start");
            if let Err(error) = self.store.release_leases(&self.owner, &abandoned).await {
                tracing::error!(%error, "releasing the leases of abandoned deliveries failed; they are retried when the leases end");
            }
        }
        self.update_backlog().await;
    }

    /// Claims due notifications, as many as there is room for, and starts delivering
    /// them; returns whether anything was claimed.
    async fn claim(self: &Arc<Self>, in_flight: &mut InFlight, reclaim_own: bool) -> bool {
        let room = MAX_IN_FLIGHT.saturating_sub(in_flight.ids.len());
        if room == 0 {
            return false;
        }
        let now = self.clock.now();
        let items = match self.store.claim_due(&self.owner, now, LEASE, room as i64, reclaim_own).await {
            Ok(items) => items,
            Err(error) => {
                tracing::error!(%error, "claiming notifications failed");
                return false;
            }
        };
        let claimed = !items.is_empty();
        for item in items {
            in_flight.spawn(self, item);
        }
        claimed
    }

    /// Pending notifications, those in flight included.
    async fn update_backlog(&self) {
        if let Ok(backlog) = self.store.outbox_backlog().await {
            self.metrics.outbox_backlog.set(backlog);
        }
    }

    /// Makes the acknowledgement links a page asks for, now: the outbox never holds a
    /// usable link, and a retried page gets fresh ones.
    async fn make_links(&self, message: &mut Message) -> Result<(), DeliveryError> {
        let (Message::Incident(incident), Some(settings)) = (message, &self.links) else { return Ok(()) };
        let Some(person) = incident.person.clone() else { return Ok(()) };
        for action in std::mem::take(&mut incident.links) {
            let url = crate::incidents::links::mint(&self.store, settings, incident.incident, &person, &action, self.clock.now())
                .await
                .map_err(|error| DeliveryError::Transient(format!("making the acknowledgement link failed: {error}")))?;
            incident.made.push((action, url));
        }
        Ok(())
    }

    async fn deliver(&self, item: OutboxItem) {
        let span = tracing::info_span!(
            "notify",
            notifier = %item.notifier,
            outbox_id = item.id,
            delivered = tracing::field::Empty,
            trace_id = tracing::field::Empty
        );
        crate::telemetry::record_trace_id(&span);
        let result = tracing::Instrument::instrument(self.attempt(&item), span.clone()).await;
        span.record("delivered", result.is_ok());
        tracing::Instrument::instrument(self.record(item, result), span).await;
    }

    /// One delivery attempt of `item`.
    async fn attempt(&self, item: &OutboxItem) -> Result<(), DeliveryError> {
        match (self.notifiers.get(&item.notifier), Message::from_payload(&item.payload)) {
            (None, _) => Err(DeliveryError::Permanent(format!("notifier `{}` is no longer configured", item.notifier))),
            (_, Err(error)) => Err(DeliveryError::Permanent(format!("unreadable payload: {error}"))),
            (Some(notifier), Ok(mut message)) => match self.make_links(&mut message).await {
                Ok(()) => notifier.send(&item.idempotency_key, &message).await,
                Err(error) => Err(error),
            },
        }
    }

    /// Records what an attempt of `item` came to.
    async fn record(&self, item: OutboxItem, result: Result<(), DeliveryError>) {
        let now = self.clock.now();
        let outcome = match &result {
            Ok(()) => AttemptOutcome::Delivered,
            Err(error) => after_failure(&item, error, now, &self.delivery, fastrand::f64()),
        };
        // Count and log only what is recorded, so the metrics never run ahead of the store.
        match self.store.finish_attempt(item.id, &self.owner, now, &outcome).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(key = %item.idempotency_key, "lease lost before the attempt was recorded");
                return;
            }
            Err(error) => {
                tracing::error!(%error, key = %item.idempotency_key, "recording a delivery attempt failed");
                return;
            }
        }
        let refused = matches!(result, Err(DeliveryError::Refused(_)));
        self.metrics.set_refusing(&item.notifier, refused);
        let attempt = item.attempts + 1;
        match &outcome {
            AttemptOutcome::Delivered => {
                self.metrics.count_attempt(&item.notifier, "delivered");
                tracing::info!(notifier = %item.notifier, key = %item.idempotency_key, attempt, "notification delivered");
            }
            AttemptOutcome::Retry { next_attempt_at, error } if refused => {
                self.metrics.count_attempt(&item.notifier, "refused");
                tracing::error!(
                    notifier = %item.notifier, key = %item.idempotency_key, attempt, %error, retry_at = %next_attempt_at,
                    "the notifier refuses Vigil's credentials; fix them in the config, retrying meanwhile"
                );
            }
            AttemptOutcome::Retry { next_attempt_at, error } => {
                self.metrics.count_attempt(&item.notifier, "retry");
                tracing::warn!(notifier = %item.notifier, key = %item.idempotency_key, attempt, %error, retry_at = %next_attempt_at, "notification failed, will retry");
            }
            AttemptOutcome::Failed { error } => {
                self.metrics.count_attempt(&item.notifier, "failed");
                tracing::error!(notifier = %item.notifier, key = %item.idempotency_key, attempt, %error, "notification failed for good");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_store::OutboxStatus;

    fn item(attempts: i64, give_up_at: i64) -> OutboxItem {
        OutboxItem {
            id: 1,
            idempotency_key: "transition:1:oncall".to_owned(),
            notifier: "oncall".to_owned(),
            payload: "{}".to_owned(),
            status: OutboxStatus::Pending,
            attempts,
            created_at: Timestamp(0),
            give_up_at: Timestamp(give_up_at),
            last_error: None,
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_stops_at_give_up() {
        let delivery = DeliveryConfig {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            give_up_after: Duration::from_secs(3600),
        };
        let transient = DeliveryError::Transient("connection refused".to_owned());
        let now = Timestamp(10_000);
        // jitter 0.5 is the midpoint: exactly the nominal backoff.
        let cases = [(0, 11_000), (1, 12_000), (2, 14_000), (5, 42_000), (6, 70_000), (20, 70_000)];
        for (attempts, expected) in cases {
            let outcome = after_failure(&item(attempts, 3_600_000), &transient, now, &delivery, 0.5);
            assert_eq!(
                outcome,
                AttemptOutcome::Retry { next_attempt_at: Timestamp(expected), error: "connection refused".to_owned() },
                "{attempts}"
            );
        }
        let near_end = after_failure(&item(10, 20_000), &transient, now, &delivery, 0.5);
        assert_eq!(near_end, AttemptOutcome::Retry { next_attempt_at: Timestamp(20_000), error: "connection refused".to_owned() });
        let over = after_failure(&item(10, 10_000), &transient, now, &delivery, 0.5);
        assert_eq!(over, AttemptOutcome::Failed { error: "gave up after 11 attempts: connection refused".to_owned() });
        let permanent = after_failure(&item(0, 3_600_000), &DeliveryError::Permanent("550 no such user".to_owned()), now, &delivery, 0.5);
        assert_eq!(permanent, AttemptOutcome::Failed { error: "550 no such user".to_owned() });
        // Regression: SMTP 535 failed a mail for good after one attempt.
        let refused = after_failure(&item(0, 3_600_000), &DeliveryError::Refused("535 bad credentials".to_owned()), now, &delivery, 0.5);
        assert_eq!(refused, AttemptOutcome::Retry { next_attempt_at: Timestamp(11_000), error: "535 bad credentials".to_owned() });
    }
}
