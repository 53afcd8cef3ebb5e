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
