//! In-process [`Locks`]: exclusive within this process (and its clones), which is all an embedded
//! store or a per-process scheduler needs.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::lock;
use crate::ports::{HeldLock, Locks, PortResult};

/// Named locks held in this process; clones share them.
#[derive(Debug, Clone, Default)]
pub struct InMemoryLocks {
    held: Arc<Mutex<HashSet<String>>>,
}

impl InMemoryLocks {
    /// No lock held.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Locks for InMemoryLocks {
    async fn try_lock(&self, name: &str) -> PortResult<Option<Box<dyn HeldLock>>> {
        if !lock(&self.held).insert(name.to_owned()) {
            return Ok(None);
        }
        Ok(Some(Box::new(InMemoryHeldLock {
            held: self.held.clone(),
            name: name.to_owned(),
        })))
    }
}

/// Gives its name back when released or dropped.
struct InMemoryHeldLock {
    held: Arc<Mutex<HashSet<String>>>,
    name: String,
}

#[async_trait]
impl HeldLock for InMemoryHeldLock {
    async fn release(self: Box<Self>) -> PortResult<()> {
        Ok(())
    }
}

impl Drop for InMemoryHeldLock {
    fn drop(&mut self) {
        lock(&self.held).remove(&self.name);
    }
}
