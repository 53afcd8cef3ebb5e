//! An in-process [`EventBus`]: publishing delivers to every consumer group's handler before it returns,
//! so the embedded mode (`todo-server all`) runs its whole event pipeline in one process.
//!
//! # When a message counts as handled
//!
//! Nothing this bus holds survives the process, so it never acknowledges a message it merely holds:
//! `publish` answers `Ok` only once every consumer group's handler has taken the message (each
//! handler commits its effect, with the event marked processed, in its own store transaction), or
//! dropped it as poison and the dead letter is stored ([`DeadLetterStore`]). Only then does the outbox
//! relay mark the row sent. A crash at any point before leaves the row unsent, and the next start
//! delivers it again (handlers are idempotent: delivery is at least once).
//!
//! # Transient failures are waited out
//!
//! A handler answering `Retry` (its store is down, SQLite is busy) is called again after an
//! exponential, jittered, capped pause ([`Redelivery`]), for as long as [`Redelivery::patience`]
//! allows. Past that, `publish` fails with `Unavailable`: the message is not lost, it stays in the
//! outbox, and the relay tries again later with its own backoff (each pass stops at the first failed
//! publish, so an outage costs one waiting message, not one timeout per message). The groups that
//! had already handled it are remembered, so a redelivery reaches only those that had not (the memory
//! is bounded: forgetting only means an idempotent handler sees the message twice).
//!
//! # Memory and order
//!
//! Delivery is sequential: one message at a time, to one group after the other. The only queue is
//! the relay's claimed batch, bounded by its size; while a handler waits out an outage, the relay is
//! blocked in `publish` and claims nothing more, so the backlog stays in the outbox (back-pressure).
//! Each consumer group therefore sees each task's events in outbox order. A queue per group would let
//! a healthy consumer run ahead of a failing one, but an outbox row has one "sent" mark, not one per
//! group, and in `all` every consumer writes to the same store, so they fail together anyway.
//!
//! # Poison messages
//!
//! A handler answering `Drop` can never handle the message: it is recorded in the
//! [`DeadLetterStore`] (durably in the server: [`super::StateDeadLetters`]) and counts as handled for
//! that group. If the dead letter cannot be stored, the message is treated as a transient failure.
//!
//! # Shutdown
//!
//! [`InMemoryEventBus::close`] makes every wait end at once: a handler call in flight is abandoned and
//! a message whose handler asks for a retry fails to publish, so it stays in the outbox for the next
//! start. After `close`, messages are still delivered, but no failure is waited out.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::future::{select, Either};
use tokio::sync::Notify;

use super::{lock, InMemoryDeadLetters};
use crate::error::{chain, PortError};
use crate::events::Message;
use crate::model::EventId;
use crate::ports::{
    DeadLetter, DeadLetterStore, EventBus, HandleError, MessageHandler, NoWait, PortResult, Timer,
};
use crate::usecases::{backoff_delay, Backoff};

/// How the bus redelivers a message whose handler asked for a retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redelivery {
    /// The pause before each new call: exponential from `base`, capped at `max`, jittered.
    pub backoff: Backoff,
    /// How long one `publish` waits out a failing handler (the pauses added up) before it gives the
    /// message back to the outbox, whose relay retries it later.
    pub patience: Duration,
}

impl Default for Redelivery {
    /// Pauses of 100 ms doubling up to 5 s, for up to 30 s per publish.
    fn default() -> Self {
        Self {
            backoff: Backoff {
                base: Duration::from_millis(100),
                max: Duration::from_secs(5),
            },
            patience: Duration::from_secs(30),
        }
    }
}

/// Publishes to in-process handlers, waiting out their transient failures; records what was published.
pub struct InMemoryEventBus {
    state: Mutex<BusState>,
    redelivery: Redelivery,
    timer: Arc<dyn Timer>,
    dead_letters: Arc<dyn DeadLetterStore>,
    /// The default dead-letter store, readable through [`InMemoryEventBus::dead_letters`].
    own_dead_letters: Arc<InMemoryDeadLetters>,
    keep_history: bool,
    closing: AtomicBool,
    closed: Notify,
}

/// A consumer group's name and its handler.
type Group = (String, Arc<dyn MessageHandler>);

#[derive(Default)]
struct BusState {
    /// Topic → its consumer groups in subscription order.
    groups: HashMap<String, Vec<Group>>,
    published: Vec<Message>,
    /// The groups that already handled a message whose publish failed, so that its redelivery skips
    /// them; at most [`InMemoryEventBus::PROGRESS_CAPACITY`] messages, the oldest forgotten first.
    progress: HashMap<EventId, HashSet<String>>,
    progress_order: VecDeque<EventId>,
    down: bool,
    failures_left: usize,
}

impl BusState {
    fn remember(&mut self, id: EventId, handled: Vec<String>) {
        if handled.is_empty() {
            return;
        }
        let groups = self.progress.entry(id).or_insert_with(|| {
            self.progress_order.push_back(id);
            HashSet::new()
        });
        groups.extend(handled);
        while self.progress_order.len() > InMemoryEventBus::PROGRESS_CAPACITY {
            if let Some(oldest) = self.progress_order.pop_front() {
                self.progress.remove(&oldest);
            }
        }
    }

    fn forget(&mut self, id: EventId) {
        if self.progress.remove(&id).is_some() {
            self.progress_order.retain(|kept| *kept != id);
        }
    }
}

impl std::fmt::Debug for InMemoryEventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("InMemoryEventBus")
            .field("published", &state.published.len())
            .field("in_progress", &state.progress.len())
            .field("down", &state.down)
            .field("redelivery", &self.redelivery)
            .finish_non_exhaustive()
    }
}

impl Default for InMemoryEventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryEventBus {
    /// How many partly delivered messages the bus remembers the handled groups of.
    pub const PROGRESS_CAPACITY: usize = 4096;

    /// A bus with no subscribers, the default [`Redelivery`] without real pauses ([`NoWait`]: give it
    /// a timer with [`Self::with_timer`]), and dead letters kept in memory.
    pub fn new() -> Self {
        let own_dead_letters = Arc::new(InMemoryDeadLetters::default());
        Self {
            state: Mutex::new(BusState::default()),
            redelivery: Redelivery::default(),
            timer: Arc::new(NoWait),
            dead_letters: own_dead_letters.clone(),
            own_dead_letters,
            keep_history: true,
            closing: AtomicBool::new(false),
            closed: Notify::new(),
        }
    }

    /// Redelivers as `redelivery` says.
    #[must_use]
    pub fn with_redelivery(mut self, redelivery: Redelivery) -> Self {
        self.redelivery = redelivery;
        self
    }

    /// Pauses between redeliveries with `timer`.
    #[must_use]
    pub fn with_timer(mut self, timer: Arc<dyn Timer>) -> Self {
        self.timer = timer;
        self
    }

    /// Records dropped messages in `store` ([`Self::dead_letters`] then stays empty).
    #[must_use]
    pub fn with_dead_letters(mut self, store: Arc<dyn DeadLetterStore>) -> Self {
        self.dead_letters = store;
        self
    }

    /// Stops recording published messages ([`Self::published`] stays empty): for a long-running
    /// process, where the record would only grow.
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

    /// Every message accepted so far, in publish order (a redelivery is not recorded again).
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

    /// The messages a consumer group dropped, oldest first, when the bus keeps its own dead letters
    /// (the default; empty with [`Self::with_dead_letters`]).
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        self.own_dead_letters.letters()
    }

    /// How many partly delivered messages the bus remembers (at most [`Self::PROGRESS_CAPACITY`]).
    pub fn in_progress(&self) -> usize {
        lock(&self.state).progress.len()
    }

    /// Takes the broker down (`publish` answers `Unavailable`) or brings it back up.
    pub fn set_available(&self, available: bool) {
        lock(&self.state).down = !available;
    }

    /// Makes the next `count` publishes fail with `Unavailable`, as a flaky broker would.
    pub fn fail_next(&self, count: usize) {
        lock(&self.state).failures_left = count;
    }

    /// Stops waiting out failures, at once and from now on (shutdown): handler calls in flight are
    /// abandoned, and a message whose handler asks for a retry fails to publish and stays in the
    /// outbox. Later messages are still delivered.
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.closed.notify_waiters();
    }

    fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    /// Runs `work` unless [`Self::close`] is called meanwhile (`None`).
    async fn unless_closed<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        let closed = std::pin::pin!(self.closed.notified());
        let work = std::pin::pin!(work);
        match select(work, closed).await {
            Either::Left((done, _)) => Some(done),
            Either::Right(_) => None,
        }
    }

    /// Hands `message` to `group`'s handler until it takes it or drops it (then stored as a dead
    /// letter), pausing between calls; fails once the pauses would exceed the patience, or on close.
    async fn deliver(
        &self,
        group: &str,
        handler: &dyn MessageHandler,
        message: &Message,
    ) -> PortResult<()> {
        let mut attempts: u32 = 0;
        let mut waited = Duration::ZERO;
        loop {
            attempts += 1;
            let Some(answer) = self.unless_closed(handler.handle(message)).await else {
                return Err(PortError::unavailable(format!(
                    "the in-process bus closed while consumer group {group} handled the message"
                )));
            };
            let failure: crate::error::BoxError = match answer {
                Ok(()) => return Ok(()),
                Err(error @ HandleError::Drop { .. }) => {
                    match self.bury(group, message, &error, attempts).await {
                        Ok(()) => return Ok(()),
                        Err(not_stored) => Box::new(not_stored),
                    }
                }
                Err(error) => Box::new(error),
            };
            let gave_up =
                |why: String, failure| Err(PortError::unavailable(why).caused_by(failure));
            if self.is_closing() {
                let why =
                    format!("consumer group {group} failed and the in-process bus is closing");
                return gave_up(why, failure);
            }
            let pause = backoff_delay(self.redelivery.backoff, attempts - 1, rand::random());
            if waited + pause > self.redelivery.patience {
                let why = format!(
                    "consumer group {group} kept failing for {waited:?} ({attempts} attempts)"
                );
                return gave_up(why, failure);
            }
            waited += pause;
            tracing::debug!(group, event_id = %message.id, attempts, ?pause, error = %chain(&*failure), "redelivering");
            if self.unless_closed(self.timer.sleep(pause)).await.is_none() {
                let why = format!("consumer group {group} failed and the in-process bus closed");
                return gave_up(why, failure);
            }
        }
    }

    /// Stores a dropped message as a dead letter.
    async fn bury(
        &self,
        group: &str,
        message: &Message,
        error: &HandleError,
        attempts: u32,
    ) -> PortResult<()> {
        let rendered = chain(error).to_string();
        tracing::warn!(group, event_id = %message.id, attempts, error = %rendered, "dead-lettered");
        self.dead_letters
            .record(&DeadLetter {
                group: group.to_owned(),
                message: message.clone(),
                error: rendered,
                attempts,
            })
            .await
    }
}

#[async_trait]
impl EventBus for InMemoryEventBus {
    /// Delivers `message` to every consumer group of its topic (those that handled it in an earlier,
    /// failed publish excepted); `Ok` once all have handled it or stored it as a dead letter.
    async fn publish(&self, message: &Message) -> PortResult<()> {
        let (handlers, done) = {
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
            let done = state.progress.get(&message.id).cloned();
            if self.keep_history && done.is_none() {
                state.published.push(message.clone());
            }
            let handlers = state
                .groups
                .get(&message.topic)
                .cloned()
                .unwrap_or_default();
            (handlers, done.unwrap_or_default())
        };
        // Delivered outside the lock: a handler may publish in turn.
        let mut handled = Vec::new();
        for (group, handler) in handlers {
            if done.contains(&group) {
                continue;
            }
            match self.deliver(&group, handler.as_ref(), message).await {
                Ok(()) => handled.push(group),
                Err(error) => {
                    lock(&self.state).remember(message.id, handled);
                    return Err(error);
                }
            }
        }
        lock(&self.state).forget(message.id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{InMemoryTaskRepository, ManualClock};
    use crate::ports::{Changes, OutboxStore, TaskRepository};
    use crate::usecases::OutboxRelay;
    use std::sync::atomic::AtomicU32;
    use uuid::Uuid;

    fn message(topic: &str) -> Message {
        keyed(topic, "1")
    }

    fn keyed(topic: &str, key: &str) -> Message {
        Message {
            id: EventId(Uuid::new_v4()),
            topic: topic.into(),
            key: key.into(),
            event_type: "com.todo.task.created".into(),
            payload: serde_json::json!({}),
        }
    }

    /// Answers `Retry` (or `Drop`) for its first `failures` calls, then takes messages; counts calls
    /// and keeps the messages it took.
    struct Flaky {
        calls: AtomicU32,
        failures: AtomicU32,
        retry: bool,
        taken: Mutex<Vec<Message>>,
    }

    #[async_trait]
    impl MessageHandler for Flaky {
        async fn handle(&self, message: &Message) -> Result<(), HandleError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let failing = self
                .failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if !failing {
                lock(&self.taken).push(message.clone());
                return Ok(());
            }
            Err(if self.retry {
                HandleError::retry("storing", "db down")
            } else {
                HandleError::dropped("decoding", "malformed")
            })
        }
    }

    impl Flaky {
        fn calls(&self) -> u32 {
            self.calls.load(Ordering::SeqCst)
        }
        fn fail_next(&self, failures: u32) {
            self.failures.store(failures, Ordering::SeqCst);
        }
        fn taken(&self) -> Vec<Message> {
            lock(&self.taken).clone()
        }
    }

    fn flaky(failures: u32, retry: bool) -> Arc<Flaky> {
        Arc::new(Flaky {
            calls: AtomicU32::new(0),
            failures: AtomicU32::new(failures),
            retry,
            taken: Mutex::new(Vec::new()),
        })
    }

    /// Does not wait; records the pauses asked for.
    #[derive(Default)]
    struct RecordedPauses(Mutex<Vec<Duration>>);

    #[async_trait]
    impl Timer for RecordedPauses {
        async fn sleep(&self, duration: Duration) {
            lock(&self.0).push(duration);
        }
    }

    /// Waits for real, on tokio's timer.
    struct TokioTimer;

    #[async_trait]
    impl Timer for TokioTimer {
        async fn sleep(&self, duration: Duration) {
            tokio::time::sleep(duration).await;
        }
    }

    fn redelivery(patience: Duration) -> Redelivery {
        Redelivery {
            backoff: Backoff {
                base: Duration::from_millis(100),
                max: Duration::from_secs(1),
            },
            patience,
        }
    }

    #[tokio::test]
    async fn a_handler_failing_many_times_then_recovering_takes_the_message_once() {
        let pauses = Arc::new(RecordedPauses::default());
        let bus = InMemoryEventBus::new()
            .with_redelivery(redelivery(Duration::from_secs(3600)))
            .with_timer(pauses.clone());
        let recovers = flaky(12, true);
        let healthy = flaky(0, true);
        bus.subscribe("t", "recovers", recovers.clone());
        bus.subscribe("t", "healthy", healthy.clone());
        let sent = message("t");
        bus.publish(&sent).await.unwrap();
        assert_eq!(recovers.calls(), 13);
        assert_eq!(recovers.taken(), std::slice::from_ref(&sent));
        assert_eq!(healthy.taken(), [sent]);
        assert!(
            bus.dead_letters().is_empty(),
            "a transient failure is no poison"
        );
        let pauses = lock(&pauses.0).clone();
        assert_eq!(pauses.len(), 12);
        // Exponential from 100 ms (jittered down to half), capped at 1 s.
        assert!(pauses[0] >= Duration::from_millis(50) && pauses[0] <= Duration::from_millis(100));
        assert!(pauses[3] >= Duration::from_millis(400), "{pauses:?}");
        assert!(
            pauses.iter().all(|p| *p <= Duration::from_secs(1)),
            "{pauses:?}"
        );
    }

    #[tokio::test]
    async fn a_handler_failing_past_the_patience_fails_the_publish_and_nothing_is_dead_lettered() {
        let bus = InMemoryEventBus::new().with_redelivery(redelivery(Duration::from_secs(2)));
        let first = flaky(0, true);
        let failing = flaky(u32::MAX, true);
        let last = flaky(0, true);
        bus.subscribe("t", "first", first.clone());
        bus.subscribe("t", "failing", failing.clone());
        bus.subscribe("t", "last", last.clone());
        let sent = message("t");
        let error = bus.publish(&sent).await.unwrap_err();
        assert!(error.is_transient(), "{error}");
        assert!(
            chain(&error).to_string().contains("db down"),
            "{}",
            chain(&error)
        );
        assert!(bus.dead_letters().is_empty());
        assert!(failing.calls() > 1);
        assert_eq!(last.calls(), 0, "the delivery stops at the failing group");

        // Redelivered once the store is back: only the groups that had not taken it get it.
        failing.fail_next(0);
        bus.publish(&sent).await.unwrap();
        assert_eq!(first.taken(), std::slice::from_ref(&sent));
        assert_eq!(failing.taken(), std::slice::from_ref(&sent));
        assert_eq!(last.taken(), std::slice::from_ref(&sent));
        assert_eq!(bus.in_progress(), 0);
        assert_eq!(bus.published(), [sent], "a redelivery is not a new message");
    }

    #[tokio::test]
    async fn a_dropped_message_is_dead_lettered_at_once_and_counts_as_handled() {
        let bus = InMemoryEventBus::new();
        let poison = flaky(1, false);
        bus.subscribe("t", "g", poison.clone());
        let sent = message("t");
        bus.publish(&sent).await.unwrap();
        assert_eq!(poison.calls(), 1);
        assert_eq!(
            bus.dead_letters(),
            [DeadLetter {
                group: "g".into(),
                message: sent,
                error: "decoding: malformed".into(),
                attempts: 1,
            }]
        );
    }

    /// Refuses to store anything, as a database that is down would.
    struct Unstorable;

    #[async_trait]
    impl DeadLetterStore for Unstorable {
        async fn record(&self, _: &DeadLetter) -> PortResult<()> {
            Err(PortError::unavailable("the dead-letter store is down"))
        }
    }

    #[tokio::test]
    async fn a_dead_letter_that_cannot_be_stored_fails_the_publish() {
        let bus = InMemoryEventBus::new()
            .with_redelivery(redelivery(Duration::ZERO))
            .with_dead_letters(Arc::new(Unstorable));
        bus.subscribe("t", "g", flaky(u32::MAX, false));
        let error = bus.publish(&message("t")).await.unwrap_err();
        assert!(
            chain(&error)
                .to_string()
                .contains("dead-letter store is down"),
            "{}",
            chain(&error)
        );
    }

    type OutboxWorld = (
        Arc<InMemoryTaskRepository>,
        Arc<InMemoryEventBus>,
        OutboxRelay,
        Arc<ManualClock>,
    );

    fn outbox_world() -> OutboxWorld {
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let repo = Arc::new(InMemoryTaskRepository::with_clock(clock.clone()));
        let bus = Arc::new(
            InMemoryEventBus::new()
                .with_redelivery(redelivery(Duration::from_millis(500)))
                .with_timer(Arc::new(TokioTimer)),
        );
        let relay = OutboxRelay::new(repo.clone(), bus.clone(), clock.clone());
        (repo, bus, relay, clock)
    }

    async fn commit(repo: &InMemoryTaskRepository, messages: &[Message]) {
        for m in messages {
            repo.commit(Changes {
                outbox: vec![m.clone()],
                ..Changes::default()
            })
            .await
            .unwrap();
        }
    }

    #[tokio::test]
    async fn an_outage_longer_than_the_patience_loses_nothing_and_keeps_each_tasks_order() {
        let (repo, bus, relay, clock) = outbox_world();
        let audit = flaky(0, true);
        let inbox = flaky(0, true);
        bus.subscribe("t", "audit", audit.clone());
        bus.subscribe("t", "inbox", inbox.clone());
        let events: Vec<Message> = (0..10).map(|n| keyed("t", &(n % 3).to_string())).collect();
        commit(&repo, &events[..4]).await;
        relay.relay_once(100).await.unwrap();

        // The audit store goes down for longer than the bus waits.
        audit.fail_next(u32::MAX);
        commit(&repo, &events[4..]).await;
        for _ in 0..3 {
            let report = relay.relay_once(100).await.unwrap();
            assert_eq!(report.sent, 0);
        }
        assert_eq!(
            repo.backlog().await.unwrap().0,
            6,
            "every unhandled event waits"
        );

        audit.fail_next(0);
        for _ in 0..20 {
            if repo.backlog().await.unwrap().0 == 0 {
                break;
            }
            // Past the relay's backoff and the leases of what the failed passes held.
            clock.advance(chrono::Duration::minutes(5));
            relay.relay_once(100).await.unwrap();
        }
        assert_eq!(repo.backlog().await.unwrap().0, 0);
        let ids = |ms: Vec<Message>| ms.into_iter().map(|m| m.id).collect::<Vec<_>>();
        let per_key =
            |ms: Vec<Message>, key: &str| ids(ms.into_iter().filter(|m| m.key == key).collect());
        for key in ["0", "1", "2"] {
            let expected = per_key(events.clone(), key);
            assert_eq!(per_key(audit.taken(), key), expected, "audit, task {key}");
            assert_eq!(per_key(inbox.taken(), key), expected, "inbox, task {key}");
        }
        assert!(bus.dead_letters().is_empty());
    }

    /// Holds every message until the gate opens.
    struct Gated {
        gate: Notify,
        open: AtomicBool,
        taken: AtomicU32,
    }

    #[async_trait]
    impl MessageHandler for Gated {
        async fn handle(&self, _: &Message) -> Result<(), HandleError> {
            while !self.open.load(Ordering::SeqCst) {
                let opened = self.gate.notified();
                if self.open.load(Ordering::SeqCst) {
                    break;
                }
                opened.await;
            }
            self.taken.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_waiting_consumer_holds_the_relay_back_and_the_backlog_stays_in_the_outbox() {
        let (repo, bus, relay, _) = outbox_world();
        let gated = Arc::new(Gated {
            gate: Notify::new(),
            open: AtomicBool::new(false),
            taken: AtomicU32::new(0),
        });
        bus.subscribe("t", "g", gated.clone());
        let events: Vec<Message> = (0..50).map(|n| keyed("t", &n.to_string())).collect();
        commit(&repo, &events).await;
        let pass = tokio::spawn({
            let relay = relay.clone();
            async move { relay.relay_once(10).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let other = relay.clone();
        let blocked = tokio::time::timeout(Duration::from_millis(200), other.relay_once(10)).await;
        assert!(
            blocked.is_err(),
            "no second pass claims while the first waits"
        );
        assert_eq!(repo.backlog().await.unwrap().0, 50);
        assert_eq!(bus.in_progress(), 0, "the bus itself holds nothing");

        gated.open.store(true, Ordering::SeqCst);
        gated.gate.notify_waiters();
        assert_eq!(pass.await.unwrap().unwrap().sent, 10);
        relay.drain(10, 10).await.unwrap();
        assert_eq!(repo.backlog().await.unwrap().0, 0);
        assert_eq!(gated.taken.load(Ordering::SeqCst), 50);
    }

    #[tokio::test]
    async fn the_progress_of_failed_publishes_is_bounded() {
        let bus = InMemoryEventBus::new().with_redelivery(redelivery(Duration::ZERO));
        bus.subscribe("t", "ok", flaky(0, true));
        bus.subscribe("t", "down", flaky(u32::MAX, true));
        for _ in 0..InMemoryEventBus::PROGRESS_CAPACITY + 100 {
            assert!(bus.publish(&message("t")).await.is_err());
        }
        assert_eq!(bus.in_progress(), InMemoryEventBus::PROGRESS_CAPACITY);
    }

    #[tokio::test]
    async fn closing_the_bus_abandons_a_wait_at_once() {
        let bus = Arc::new(
            InMemoryEventBus::new()
                .with_redelivery(redelivery(Duration::from_secs(3600)))
                .with_timer(Arc::new(TokioTimer)),
        );
        let down = flaky(u32::MAX, true);
        bus.subscribe("t", "g", down.clone());
        let publish = tokio::spawn({
            let bus = bus.clone();
            async move { bus.publish(&message("t")).await }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = std::time::Instant::now();
        bus.close();
        let outcome = tokio::time::timeout(Duration::from_secs(1), publish)
            .await
            .expect("the publish ends soon after close")
            .unwrap();
        assert!(outcome.unwrap_err().is_transient());
        assert!(started.elapsed() < Duration::from_millis(500));
        // Still delivering afterwards, without waiting out failures.
        let calls = down.calls();
        assert!(bus.publish(&message("t")).await.is_err());
        assert_eq!(down.calls(), calls + 1);
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
        assert_eq!(handler.calls(), 1);
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
        assert_eq!(old.calls(), 0);
        assert_eq!(new.calls(), 1);
    }

    #[tokio::test]
    async fn a_bus_without_history_delivers_but_records_nothing() {
        let bus = InMemoryEventBus::new().without_history();
        let handler = flaky(0, false);
        bus.subscribe("t", "g", handler.clone());
        bus.publish(&message("t")).await.unwrap();
        assert_eq!(handler.calls(), 1);
        assert!(bus.published().is_empty());
    }
}
