//! An in-memory [`StateStore`] whose ETags are an increasing counter, as Dapr's stores hand out versions.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::lock;
use crate::error::PortError;
use crate::ports::{Concurrency, ETag, PortResult, StateItem, StateStore};

/// Keyed JSON values with optimistic concurrency.
#[derive(Debug, Default)]
pub struct InMemoryStateStore {
    state: Mutex<Values>,
}

#[derive(Debug, Default)]
struct Values {
    items: HashMap<String, StateItem>,
    last_etag: u64,
}

impl InMemoryStateStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The stored keys, sorted (for tests).
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = lock(&self.state).items.keys().cloned().collect();
        keys.sort();
        keys
    }
}

fn stale(key: &str) -> PortError {
    PortError::conflict(format!("state `{key}` changed since it was read"))
}

#[async_trait]
impl StateStore for InMemoryStateStore {
    async fn get(&self, key: &str) -> PortResult<Option<StateItem>> {
        Ok(lock(&self.state).items.get(key).cloned())
    }

    async fn save(
        &self,
        key: &str,
        value: serde_json::Value,
        concurrency: Concurrency,
    ) -> PortResult<()> {
        let mut state = lock(&self.state);
        let current = state.items.get(key).map(|item| &item.etag);
        match (&concurrency, current) {
            (Concurrency::Overwrite, _) | (Concurrency::IfAbsent, None) => {}
            (Concurrency::IfMatch(expected), Some(current)) if expected == current => {}
            (Concurrency::IfAbsent, Some(_)) => {
                return Err(PortError::conflict(format!("state `{key}` already exists")))
            }
            (Concurrency::IfMatch(_), _) => return Err(stale(key)),
        }
        state.last_etag += 1;
        let etag = ETag(state.last_etag.to_string());
        state
            .items
            .insert(key.to_owned(), StateItem { value, etag });
        Ok(())
    }

    async fn delete(&self, key: &str, etag: Option<ETag>) -> PortResult<()> {
        let mut state = lock(&self.state);
        match (etag, state.items.get(key)) {
            (Some(expected), Some(item)) if expected != item.etag => Err(stale(key)),
            _ => {
                state.items.remove(key);
                Ok(())
            }
        }
    }
}
