//! The one clock abstraction: production reads the system clock, tests set the time.
//! Long-running loops wait on it too ([`Clock::sleep_until`]), so a test that moves a
//! [`TestClock`] drives them without waiting in real time.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::time::Timestamp;

/// What [`Clock::sleep_until`] returns.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Source of the current wall-clock time for every time-dependent decision.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;

    /// Resolves once [`Clock::now`] has reached `at` (at once when it already has).
    fn sleep_until(&self, at: Timestamp) -> Sleep;

    /// [`Clock::sleep_until`] `now + wait`.
    fn sleep(&self, wait: Duration) -> Sleep {
        self.sleep_until(self.now().saturating_add(wait))
    }
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Timestamp(i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX))
    }

    fn sleep_until(&self, at: Timestamp) -> Sleep {
        let wait = u64::try_from(at.0.saturating_sub(self.now().0)).unwrap_or(0);
        Box::pin(tokio::time::sleep(Duration::from_millis(wait)))
    }
}

/// A clock that only moves when a test moves it. Clones share the same time.
/// Moving it wakes whoever sleeps on it.
#[derive(Debug, Clone, Default)]
pub struct TestClock {
    millis: Arc<AtomicI64>,
    sleepers: Arc<Mutex<Vec<Waker>>>,
}

impl TestClock {
    pub fn at(start: Timestamp) -> Self {
        TestClock { millis: Arc::new(AtomicI64::new(start.0)), sleepers: Arc::default() }
    }

    pub fn advance(&self, by: Duration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.millis.fetch_add(millis, Ordering::SeqCst);
        self.wake_sleepers();
    }

    pub fn set(&self, to: Timestamp) {
        self.millis.store(to.0, Ordering::SeqCst);
        self.wake_sleepers();
    }

    /// How many futures sleep on this clock now; a test waits for a loop to be idle.
    pub fn sleepers(&self) -> usize {
        self.sleepers.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).len()
    }

    fn wake_sleepers(&self) {
        let woken = std::mem::take(&mut *self.sleepers.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        for waker in woken {
            waker.wake();
        }
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.millis.load(Ordering::SeqCst))
    }

    fn sleep_until(&self, at: Timestamp) -> Sleep {
        Box::pin(TestSleep { clock: self.clone(), at })
    }
}

/// A sleep on a [`TestClock`]: ready once the clock reaches `at`.
struct TestSleep {
    clock: TestClock,
    at: Timestamp,
}

impl Future for TestSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        // Registered before the time is read, so a move in between still wakes it.
        let mut sleepers = self.clock.sleepers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.clock.now() >= self.at {
            return Poll::Ready(());
        }
        if !sleepers.iter().any(|waker| waker.will_wake(context.waker())) {
            sleepers.push(context.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_test_sleep_wakes_when_the_clock_reaches_it_and_not_before() {
        let clock = TestClock::at(Timestamp(1_000));
        let (done, mut finished) = tokio::sync::watch::channel(false);
        let sleeper = clock.clone();
        let task = tokio::spawn(async move {
            sleeper.sleep_until(Timestamp(5_000)).await;
            let _ = done.send(true);
        });
        while clock.sleepers() == 0 {
            tokio::task::yield_now().await;
        }
        clock.advance(Duration::from_millis(3_999));
        while clock.sleepers() == 0 {
            tokio::task::yield_now().await;
        }
        assert!(!*finished.borrow(), "one millisecond early");
        clock.advance(Duration::from_millis(1));
        finished.changed().await.expect("woken");
        task.await.expect("task");
        clock.sleep_until(Timestamp(0)).await;
        clock.sleep(Duration::ZERO).await;
    }
}
