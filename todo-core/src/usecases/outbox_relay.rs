//! The outbox relay: publishes committed events, marks them sent only after the bus acknowledged them,
//! and backs off exponentially with jitter while the bus is down. Nothing is lost: an event stays in
//! the outbox until it is acknowledged.
//!
//! What "acknowledged" means is the bus's to say: a broker's durable write (Kafka, Dapr), or, for the
//! in-process bus, every consumer having handled the event (see [`crate::memory::InMemoryEventBus`]),
//! since nothing held only in memory may count as sent.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::warn;

use crate::error::{chain, TaskError};
use crate::model::EventId;
use crate::ports::{Clock, EventBus, OutboxStore};

/// Exponential backoff with jitter, capped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failure.
    pub base: Duration,
    /// Longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(200),
            max: Duration::from_secs(60),
        }
    }
}

/// The delay before attempt `attempts + 1`: `min(max, base * 2^attempts)`, scaled by `jitter` in
/// `[0, 1)` to a value in `[delay / 2, delay)` ("equal jitter"), so relays don't retry in lock-step.
pub fn backoff_delay(backoff: Backoff, attempts: u32, jitter: f64) -> Duration {
    let exponential = backoff.base.saturating_mul(1u32 << attempts.min(20));
    let capped = exponential.min(backoff.max);
    let jitter = jitter.clamp(0.0, 1.0);
    capped.mul_f64(0.5 + jitter / 2.0)
}

/// How one relay pass went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RelayReport {
    /// Acknowledged and marked sent.
    pub sent: usize,
    /// Failed, to be retried later.
    pub failed: usize,
}

/// Relays the outbox to the event bus.
///
/// Clones share one async mutex (`tokio::sync::Mutex`), so passes of one relay and its clones run
/// one at a time: a pass that finds nothing to send knows that every message claimed before it was
/// published (and, with an in-process bus, handled). [`super::RelayOnCommit`] relies on it.
#[derive(Clone)]
pub struct OutboxRelay {
    outbox: Arc<dyn OutboxStore>,
    bus: Arc<dyn EventBus>,
    clock: Arc<dyn Clock>,
    backoff: Backoff,
    lease: Duration,
    passes: Arc<tokio::sync::Mutex<()>>,
}

impl OutboxRelay {
    /// Builds the relay.
    pub fn new(
        outbox: Arc<dyn OutboxStore>,
        bus: Arc<dyn EventBus>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            outbox,
            bus,
            clock,
            backoff: Backoff::default(),
            lease: Duration::from_secs(30),
            passes: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Sets the retry backoff.
    #[must_use]
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Publishes up to `batch` due messages once, and marks sent those the bus acknowledged. The
    /// first failed publish ends the pass: it and the rest of the batch are given a retry time, so
    /// per-task order is kept. Waits for a pass of a clone to finish first.
    #[tracing::instrument(skip(self))]
    pub async fn relay_once(&self, batch: usize) -> Result<RelayReport, TaskError> {
        let _pass = self.passes.lock().await;
        let now = self.clock.now();
        let lease_until = now + chrono::Duration::from_std(self.lease).unwrap_or_default();
        let entries = self.outbox.claim(now, lease_until, batch).await?;
        let mut sent: Vec<EventId> = Vec::new();
        let mut blocked_keys: HashSet<String> = HashSet::new();
        let mut report = RelayReport::default();
        // A failed publish ends the pass: the bus is most likely down for every key, and each
        // further attempt would cost another timeout (or, in process, another wait for a store that
        // is down). The rest of the batch is released with a retry time of its own.
        let mut bus_failed = false;
        for entry in entries {
            let key = (entry.message.topic.clone(), entry.message.key.clone());
            let result = if bus_failed {
                Err("not attempted: an earlier publish of this pass failed".to_owned())
            } else if blocked_keys.contains(&format!("{}/{}", key.0, key.1)) {
                Err("an earlier event of this task is not yet published".to_owned())
            } else {
                self.bus.publish(&entry.message).await.map_err(|e| {
                    bus_failed = true;
                    chain(&e).to_string()
                })
            };
            match result {
                Ok(()) => sent.push(entry.message.id),
                Err(error) => {
                    blocked_keys.insert(format!("{}/{}", key.0, key.1));
                    report.failed += 1;
                    let delay = backoff_delay(self.backoff, entry.attempts, rand::random::<f64>());
                    let retry_at = retry_time(now, delay);
                    warn!(event_id = %entry.message.id, attempts = entry.attempts + 1, %error, "publish failed; will retry");
                    self.outbox
                        .mark_failed(entry.message.id, retry_at, &error)
                        .await?;
                }
            }
        }
        if !sent.is_empty() {
            self.outbox.mark_sent(&sent, self.clock.now()).await?;
        }
        report.sent = sent.len();
        Ok(report)
    }

    /// Relays until the outbox has nothing due (or `max_passes` passes), e.g. on shutdown.
    pub async fn drain(&self, batch: usize, max_passes: usize) -> Result<RelayReport, TaskError> {
        let mut total = RelayReport::default();
        for _ in 0..max_passes {
            let report = self.relay_once(batch).await?;
            total.sent += report.sent;
            total.failed += report.failed;
            if report.sent + report.failed == 0 || report.failed > 0 {
                break;
            }
        }
        Ok(total)
    }
}

fn retry_time(now: DateTime<Utc>, delay: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::seconds(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_jittered_within_half() {
        let b = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(10),
        };
        assert_eq!(backoff_delay(b, 0, 1.0), Duration::from_millis(100));
        assert_eq!(backoff_delay(b, 0, 0.0), Duration::from_millis(50));
        assert_eq!(backoff_delay(b, 3, 1.0), Duration::from_millis(800));
        assert_eq!(backoff_delay(b, 30, 1.0), Duration::from_secs(10));
        assert_eq!(backoff_delay(b, u32::MAX, 0.0), Duration::from_secs(5));
    }
}
