//! Two [`DeadLetterStore`]s: [`InMemoryDeadLetters`] for tests and the in-memory storage, and
//! [`StateDeadLetters`], which keeps each letter in a [`StateStore`] (PostgreSQL's or SQLite's table
//! in the embedded server), so a poison message outlives the process without a schema of its own.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::lock;
use crate::error::PortError;
use crate::ports::{Concurrency, DeadLetter, DeadLetterStore, PortResult, StateStore};

/// Dead letters in memory, the newest `capacity` of them: a record for tests, never a growing list.
#[derive(Debug)]
pub struct InMemoryDeadLetters {
    letters: Mutex<VecDeque<DeadLetter>>,
    capacity: usize,
}

impl Default for InMemoryDeadLetters {
    fn default() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }
}

impl InMemoryDeadLetters {
    /// How many letters [`Self::default`] keeps.
    pub const DEFAULT_CAPACITY: usize = 1024;

    /// Keeps the newest `capacity` letters (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            letters: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
        }
    }

    /// The letters kept, oldest first.
    pub fn letters(&self) -> Vec<DeadLetter> {
        lock(&self.letters).iter().cloned().collect()
    }
}

#[async_trait]
impl DeadLetterStore for InMemoryDeadLetters {
    async fn record(&self, letter: &DeadLetter) -> PortResult<()> {
        let mut letters = lock(&self.letters);
        letters.retain(|l| !(l.group == letter.group && l.message.id == letter.message.id));
        if letters.len() == self.capacity {
            letters.pop_front();
        }
        letters.push_back(letter.clone());
        Ok(())
    }
}

/// Dead letters kept in a [`StateStore`], one key per group and message:
/// `dead-letter||{group}||{event_id}` (see [`StateDeadLetters::key`]), holding the message and why.
#[derive(Clone)]
pub struct StateDeadLetters {
    state: Arc<dyn StateStore>,
}

impl std::fmt::Debug for StateDeadLetters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateDeadLetters").finish_non_exhaustive()
    }
}

impl StateDeadLetters {
    /// The prefix of every dead letter's key.
    pub const PREFIX: &'static str = "dead-letter||";

    /// Keeps dead letters in `state`.
    pub fn new(state: Arc<dyn StateStore>) -> Self {
        Self { state }
    }

    /// The key of `group`'s letter for the message `event_id`.
    pub fn key(group: &str, event_id: &crate::model::EventId) -> String {
        format!("{}{group}||{event_id}", Self::PREFIX)
    }

    /// The letter `group` recorded for `event_id`, if any.
    pub async fn get(
        &self,
        group: &str,
        event_id: &crate::model::EventId,
    ) -> PortResult<Option<DeadLetter>> {
        let Some(item) = self.state.get(&Self::key(group, event_id)).await? else {
            return Ok(None);
        };
        let field = |name: &str| item.value.get(name).cloned().unwrap_or_default();
        let message = serde_json::from_value(field("message"))
            .map_err(|e| PortError::corrupt("decoding a dead letter's message", e))?;
        Ok(Some(DeadLetter {
            group: group.to_owned(),
            message,
            error: field("error").as_str().unwrap_or_default().to_owned(),
            attempts: field("attempts")
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or_default(),
        }))
    }
}

#[async_trait]
impl DeadLetterStore for StateDeadLetters {
    async fn record(&self, letter: &DeadLetter) -> PortResult<()> {
        let value = serde_json::json!({
            "group": letter.group,
            "message": letter.message,
            "error": letter.error,
            "attempts": letter.attempts,
        });
        self.state
            .save(
                &Self::key(&letter.group, &letter.message.id),
                value,
                Concurrency::Overwrite,
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Message;
    use crate::memory::InMemoryStateStore;
    use crate::model::EventId;

    fn letter(group: &str, n: u128) -> DeadLetter {
        DeadLetter {
            group: group.into(),
            message: Message {
                id: EventId(uuid::Uuid::from_u128(n)),
                topic: "task-events".into(),
                key: "1".into(),
                event_type: "com.todo.task.created".into(),
                payload: serde_json::json!({"bad": true}),
            },
            error: "decoding: malformed".into(),
            attempts: 1,
        }
    }

    #[tokio::test]
    async fn the_in_memory_store_keeps_only_the_newest_letters() {
        let store = InMemoryDeadLetters::with_capacity(2);
        for n in 1..=3 {
            store.record(&letter("g", n)).await.unwrap();
        }
        store.record(&letter("g", 3)).await.unwrap();
        let kept: Vec<_> = store.letters().iter().map(|l| l.message.id).collect();
        assert_eq!(
            kept,
            [
                EventId(uuid::Uuid::from_u128(2)),
                EventId(uuid::Uuid::from_u128(3))
            ]
        );
    }

    #[tokio::test]
    async fn a_letter_kept_in_a_state_store_reads_back_whole() {
        let store = StateDeadLetters::new(Arc::new(InMemoryStateStore::new()));
        let sent = letter("audit-service", 7);
        store.record(&sent).await.unwrap();
        store.record(&sent).await.unwrap();
        assert_eq!(
            store.get("audit-service", &sent.message.id).await.unwrap(),
            Some(sent.clone())
        );
        assert_eq!(store.get("other", &sent.message.id).await.unwrap(), None);
    }
}
