//! An in-process [`EventBus`]: publishing delivers to every consumer group's handler before it returns,
//! so the embedded mode runs its whole event pipeline deterministically.
//!
//! Each consumer group of a topic has one handler and receives every message. A handler asking for a
//! retry is called again, up to a bound; a message it still fails, or one it drops, lands in an
//! inspectable dead-letter list, as a broker's dead-letter topic would hold it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::lock;
use crate::error::{chain, PortError};
use crate::events::Message;
use crate::ports::{EventBus, MessageHandler, PortResult};

/// A message a consumer group could not handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The consumer group that gave up on it.
    pub group: String,
    /// The message, as published.
    pub message: Message,
    /// Whether the handler's last answer was a retry (it kept failing) rather than a drop.
    pub retried: bool,
    /// The handler's last answer with its causes, rendered by [`crate::error::chain`] (a record,
    /// so the dead letter stays comparable and cloneable).
    pub error: String,
    /// How many times the handler was called.
    pub attempts: u32,
}

/// Publishes to in-process handlers; records what was published and what was dead-lettered.
pub struct InMemoryEventBus {
    state: Mutex<BusState>,
    max_attempts: u32,
    keep_history: bool,
}

/// A consumer group's name and its handler.
type Group = (String, Arc<dyn MessageHandler>);

#[derive(Default)]
struct BusState {
    /// Topic → its consumer groups in subscription order.
    groups: HashMap<String, Vec<Group>>,
    published: Vec<Message>,
    dead_letters: Vec<DeadLetter>,
    down: bool,
    failures_left: usize,
}

impl std::fmt::Debug for InMemoryEventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("InMemoryEventBus")
            .field("published", &state.published.len())
            .field("dead_letters", &state.dead_letters.len())
            .field("down", &state.down)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

impl Default for InMemoryEventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryEventBus {
    /// Calls a handler at most this many times per message by default.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

    /// A bus with no subscribers, retrying each handler up to [`Self::DEFAULT_MAX_ATTEMPTS`] times.
    pub fn new() -> Self {
        Self::with_max_attempts(Self::DEFAULT_MAX_ATTEMPTS)
    }

    /// A bus calling a handler at most `max_attempts` times (at least once) per message.
    pub fn with_max_attempts(max_attempts: u32) -> Self {
        Self {
            state: Mutex::new(BusState::default()),
            max_attempts: max_attempts.max(1),
            keep_history: true,
        }
    }

    /// Stops recording published messages ([`Self::published`] stays empty): for a long-running
    /// process, where the record would only grow. Dead letters are still recorded.
    #[must_use]
    pub fn without_history(mut self) -> Self {
        self.keep_history = false;
        self
    }

    /// Delivers every message published on `topic` from now on to `handler`, as consumer group `group`.
    /// Subscribing a group again replaces its handler.
    pub fn subscribe(&self, topic: &str, group: &str, handler: Arc<dyn MessageHandler>) {
        let mut state = lock(&self.state);
        let groups = state.groups.entry(topic.to_owned()).or_default();
        match groups.iter_mut().find(|(name, _)| name == group) {
            Some(slot) => slot.1 = handler,
            None => groups.push((group.to_owned(), handler)),
        }
    }

    /// Removes a consumer group's subscription to `topic`, if any.
    pub fn unsubscribe(&self, topic: &str, group: &str) {
        if let Some(groups) = lock(&self.state).groups.get_mut(topic) {
            groups.retain(|(name, _)| name != group);
        }
    }

    /// Every message accepted so far, in publish order.
    pub fn published(&self) -> Vec<Message> {
        lock(&self.state).published.clone()
    }

    /// The messages accepted on `topic`, in publish order.
    pub fn published_on(&self, topic: &str) -> Vec<Message> {
        lock(&self.state)
            .published
            .iter()
            .filter(|m| m.topic == topic)
            .cloned()
            .collect()
    }

    /// Messages a consumer group dropped or kept failing, oldest first.
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        lock(&self.state).dead_letters.clone()
    }

    /// Takes the broker down (`publish` answers `Unavailable`) or brings it back up.
    pub fn set_available(&self, available: bool) {
        lock(&self.state).down = !available;
    }

    /// Makes the next `count` publishes fail with `Unavailable`, as a flaky broker would.
    pub fn fail_next(&self, count: usize) {
        lock(&self.state).failures_left = count;
    }

    async fn deliver(&self, group: &str, handler: &dyn MessageHandler, message: &Message) {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let error = match handler.handle(message).await {
                Ok(()) => return,
                Err(error) if error.is_retry() && attempts < self.max_attempts => {
                    tracing::debug!(group, event_id = %message.id, attempts, error = %chain(&error), "redelivering");
                    continue;
                }
                Err(error) => error,
            };
            let rendered = chain(&error).to_string();
            tracing::warn!(group, event_id = %message.id, attempts, error = %rendered, "dead-lettered");
            lock(&self.state).dead_letters.push(DeadLetter {
                group: group.to_owned(),
                message: message.clone(),
                retried: error.is_retry(),
                error: rendered,
                attempts,
            });
            return;
        }
    }
}

#[async_trait]
impl EventBus for InMemoryEventBus {
    async fn publish(&self, message: &Message) -> PortResult<()> {
        let handlers = {
            let mut state = lock(&self.state);
            if state.down {
                return Err(PortError::unavailable("the in-memory event bus is down"));
            }
            if state.failures_left > 0 {
                state.failures_left -= 1;
                return Err(PortError::unavailable(
                    "the in-memory event bus failed this publish",
                ));
            }
            if self.keep_history {
                state.published.push(message.clone());
            }
            state
                .groups
                .get(&message.topic)
                .cloned()
                .unwrap_or_default()
        };
        // Delivered outside the lock: a handler may publish in turn.
        for (group, handler) in handlers {
            self.deliver(&group, handler.as_ref(), message).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EventId;
    use crate::ports::HandleError;
    use std::sync::atomic::{AtomicU32, Ordering};
    use uuid::Uuid;

    fn message(topic: &str) -> Message {
        Message {
            id: EventId(Uuid::new_v4()),
            topic: topic.into(),
            key: "1".into(),
            event_type: "com.todo.task.created".into(),
            payload: serde_json::json!({}),
        }
    }

    /// Fails with the given error `failures` times, then succeeds; counts calls.
    struct Flaky {
        calls: AtomicU32,
        failures: u32,
        retry: bool,
    }

    #[async_trait]
    impl MessageHandler for Flaky {
        async fn handle(&self, _: &Message) -> Result<(), HandleError> {
            let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            if call <= self.failures {
                Err(if self.retry {
                    HandleError::retry("storing", "db down")
                } else {
                    HandleError::dropped("decoding", "malformed")
                })
            } else {
                Ok(())
            }
        }
    }

    fn flaky(failures: u32, retry: bool) -> Arc<Flaky> {
        Arc::new(Flaky {
            calls: AtomicU32::new(0),
            failures,
            retry,
        })
    }

    #[tokio::test]
    async fn a_retried_message_is_redelivered_until_the_bound_then_dead_lettered() {
        let bus = InMemoryEventBus::with_max_attempts(3);
        let recovers = flaky(2, true);
        let never = flaky(u32::MAX, true);
        bus.subscribe("t", "recovers", recovers.clone());
        bus.subscribe("t", "never", never.clone());
        let sent = message("t");
        bus.publish(&sent).await.unwrap();
        assert_eq!(recovers.calls.load(Ordering::SeqCst), 3);
        assert_eq!(never.calls.load(Ordering::SeqCst), 3);
        assert_eq!(
            bus.dead_letters(),
            vec![DeadLetter {
                group: "never".into(),
                message: sent,
                retried: true,
                error: "storing: db down".into(),
                attempts: 3
            }]
        );
    }

    #[tokio::test]
    async fn a_dropped_message_is_dead_lettered_at_once() {
        let bus = InMemoryEventBus::new();
        let poison = flaky(u32::MAX, false);
        bus.subscribe("t", "g", poison.clone());
        bus.publish(&message("t")).await.unwrap();
        assert_eq!(poison.calls.load(Ordering::SeqCst), 1);
        assert_eq!(bus.dead_letters()[0].attempts, 1);
    }

    #[tokio::test]
    async fn a_down_bus_accepts_nothing_until_it_is_back() {
        let bus = InMemoryEventBus::new();
        let handler = flaky(0, false);
        bus.subscribe("t", "g", handler.clone());
        bus.set_available(false);
        assert!(bus.publish(&message("t")).await.unwrap_err().is_transient());
        bus.set_available(true);
        bus.fail_next(1);
        assert!(bus.publish(&message("t")).await.is_err());
        bus.publish(&message("t")).await.unwrap();
        assert_eq!(bus.published().len(), 1);
        assert_eq!(handler.calls.load(Ordering::SeqCst), 1);
        assert!(bus.published_on("other").is_empty());
    }

    #[tokio::test]
    async fn resubscribing_a_group_replaces_its_handler_and_unsubscribing_stops_delivery() {
        let bus = InMemoryEventBus::new();
        let old = flaky(0, false);
        let new = flaky(0, false);
        bus.subscribe("t", "g", old.clone());
        bus.subscribe("t", "g", new.clone());
        bus.publish(&message("t")).await.unwrap();
        bus.unsubscribe("t", "g");
        bus.publish(&message("t")).await.unwrap();
        assert_eq!(old.calls.load(Ordering::SeqCst), 0);
        assert_eq!(new.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_bus_without_history_delivers_but_records_nothing() {
        let bus = InMemoryEventBus::new().without_history();
        let handler = flaky(0, false);
        bus.subscribe("t", "g", handler.clone());
        bus.publish(&message("t")).await.unwrap();
        assert_eq!(handler.calls.load(Ordering::SeqCst), 1);
        assert!(bus.published().is_empty());
    }
}
