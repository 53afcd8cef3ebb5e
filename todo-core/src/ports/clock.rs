//! Time and identity: the two sources of non-determinism, behind ports so tests can fix them.

use chrono::{DateTime, SubsecRound, Utc};
use uuid::Uuid;

/// The current time. Nothing else in the domain reads the wall clock.
pub trait Clock: Send + Sync {
    /// Now, truncated to microseconds (what every store can hold exactly).
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }
}

/// New UUIDs for event and series ids.
pub trait IdGenerator: Send + Sync {
    /// A new unique id.
    fn new_uuid(&self) -> Uuid;
}

/// UUID v7: unique and ordered by creation time.
#[derive(Debug, Clone, Copy, Default)]
pub struct UuidV7Generator;

impl IdGenerator for UuidV7Generator {
    fn new_uuid(&self) -> Uuid {
        Uuid::now_v7()
    }
}

/// Waits a while: the in-process bus's pause between redeliveries. A pure crate has no timer of its
/// own, so the server passes its runtime's, and tests pass one that does not wait at all.
#[async_trait::async_trait]
pub trait Timer: Send + Sync {
    /// Returns after `duration`.
    async fn sleep(&self, duration: std::time::Duration);
}

/// A [`Timer`] that does not wait: redeliveries follow each other at once (deterministic tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoWait;

#[async_trait::async_trait]
impl Timer for NoWait {
    async fn sleep(&self, _: std::time::Duration) {}
}
