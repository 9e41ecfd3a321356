//! The outbox dispatcher: claims due notifications under a lease, delivers them, and
//! records each attempt with its outcome (delivered, retry at a backoff, or failed).

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
const BATCH: i64 = 64;
/// Longest idle wait, so notifications queued by other nodes are picked up.
const IDLE_POLL: Duration = Duration::from_secs(1);

/// Decides what follows a failed attempt: retry after an exponential backoff with
/// jitter, or give up once the retry period is over. `jitter` is in `[0, 1)`.
pub fn after_failure(item: &OutboxItem, error: &DeliveryError, now: Timestamp, delivery: &DeliveryConfig, jitter: f64) -> AttemptOutcome {
    let attempts = item.attempts + 1;
    match error {
        DeliveryError::Permanent(message) => AttemptOutcome::Failed { error: message.clone() },
        DeliveryError::Transient(message) if now >= item.give_up_at => {
            AttemptOutcome::Failed { error: format!("gave up after {attempts} attempts: {message}") }
        }
        DeliveryError::Transient(message) => {
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
    /// This node's id; a restarted node takes its own leases back at once.
    pub owner: String,
    pub metrics: Arc<Metrics>,
    pub wake: Arc<Notify>,
}

impl Dispatcher {
    /// Delivers until `stop` turns true, then makes a last pass over what is due.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            let delivered_any = self.pass().await;
            let stopping = *stop.borrow();
            if stopping && !delivered_any {
                break;
            }
            if delivered_any {
                continue;
            }
            let wait = match self.store.next_due_at().await {
                Ok(Some(due)) => Duration::from_millis(u64::try_from(due.0 - self.clock.now().0).unwrap_or(0)).min(IDLE_POLL),
                _ => IDLE_POLL,
            };
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Claims and delivers one batch; returns whether anything was claimed.
    async fn pass(self: &Arc<Self>) -> bool {
        let now = self.clock.now();
        let items = match self.store.claim_due(&self.owner, now, LEASE, BATCH).await {
            Ok(items) => items,
            Err(error) => {
                tracing::error!(%error, "claiming notifications failed");
                return false;
            }
        };
        let claimed = !items.is_empty();
        let mut deliveries = JoinSet::new();
        for item in items {
            let dispatcher = Arc::clone(self);
            deliveries.spawn(async move { dispatcher.deliver(item).await });
        }
        while deliveries.join_next().await.is_some() {}
        if let Ok(summary) = self.store.outbox_summary().await {
            self.metrics.outbox_backlog.set(summary.pending);
        }
        claimed
    }

    async fn deliver(&self, item: OutboxItem) {
        let result = match (self.notifiers.get(&item.notifier), Message::from_payload(&item.payload)) {
            (None, _) => Err(DeliveryError::Permanent(format!("notifier `{}` is no longer configured", item.notifier))),
            (_, Err(error)) => Err(DeliveryError::Permanent(format!("unreadable payload: {error}"))),
            (Some(notifier), Ok(message)) => notifier.send(&item.idempotency_key, &message).await,
        };
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
        let attempt = item.attempts + 1;
        match &outcome {
            AttemptOutcome::Delivered => {
                self.metrics.count_attempt(&item.notifier, "delivered");
                tracing::info!(notifier = %item.notifier, key = %item.idempotency_key, attempt, "notification delivered");
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
    }
}
