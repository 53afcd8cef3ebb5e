//! Exclusive locks: one holder at a time per name, taken without waiting, so that work every replica
//! could do (the reminder reconciliation) is done by one of them at a time.

use async_trait::async_trait;

use super::PortResult;

/// Named, exclusive, non-blocking locks, shared by everyone who uses the same store.
#[async_trait]
pub trait Locks: Send + Sync {
    /// Takes the lock `name`, or `None` at once when someone else holds it.
    async fn try_lock(&self, name: &str) -> PortResult<Option<Box<dyn HeldLock>>>;
}

/// A lock held until [`HeldLock::release`]. Dropped without releasing, it is still given up (without
/// waiting), so a failed or cancelled holder never keeps it.
#[async_trait]
pub trait HeldLock: Send {
    /// Gives the lock up.
    async fn release(self: Box<Self>) -> PortResult<()>;
}
