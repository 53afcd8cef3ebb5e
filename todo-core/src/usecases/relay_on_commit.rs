//! [`RelayOnCommit`]: relays a completion's events before the commit returns, so that with an
//! in-process bus every consumer has handled them by then (the embedded default's "complete returns
//! `next`", SPEC §6).

use async_trait::async_trait;
use tracing::warn;

use super::{AfterCommit, OutboxRelay};
use crate::error::chain;
use crate::events::{topics, TaskEventType};
use crate::ports::Changes;

/// How many messages one relay pass publishes.
const BATCH: usize = 200;
/// A bound on passes per commit, against a consumer that keeps producing events forever.
const MAX_PASSES: usize = 64;

/// After a commit that completes a task, runs relay passes until a pass sends nothing (an
/// [`AfterCommit`] hook: use it as `OnCommit::new(repo, RelayOnCommit::new(relay))`). With
/// [`crate::memory::InMemoryEventBus`], which delivers inside `publish`, every in-process consumer has
/// then handled the commit's events, and the events those consumers committed in turn (the next
/// occurrence and its own `created` event), before `commit` returns, so `complete` can answer `next`.
///
/// Other commits leave their events to the background relay: a create or an update needs no
/// consumer's effect to answer, and waiting for the consumers would put every write behind them
/// (measured on PostgreSQL: creates fell from thousands to 650 a second).
///
/// Passes are serialised by the relay's async mutex (`tokio::sync::Mutex`, shared by the relay's
/// clones; give the background relay a clone of the same [`OutboxRelay`], so that a pass finding
/// nothing means that nothing is still being delivered).
///
/// **Give consumers the inner repository, never the decorated one**: a consumer's commit runs inside
/// a relay pass, and relaying again from there would wait for that very pass (deadlock).
///
/// A relay failure after a successful commit does not fail the commit: it is logged, and the events
/// stay in the outbox for the background relay to retry.
#[derive(Clone)]
pub struct RelayOnCommit {
    relay: OutboxRelay,
}

impl RelayOnCommit {
    /// Relays with `relay` after each commit with events.
    pub fn new(relay: OutboxRelay) -> Self {
        Self { relay }
    }
}

impl std::fmt::Debug for RelayOnCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayOnCommit").finish_non_exhaustive()
    }
}

#[async_trait]
impl AfterCommit for RelayOnCommit {
    /// Commits that carry a `completed` task event.
    fn applies_to(&self, changes: &Changes) -> bool {
        changes.outbox.iter().any(|message| {
            message.topic == topics::TASK_EVENTS
                && message.payload.get("event_type").and_then(|t| t.as_str())
                    == Some(TaskEventType::Completed.as_str())
        })
    }

    /// Runs relay passes until one sends nothing (or fails).
    async fn events_committed(&self) {
        for _ in 0..MAX_PASSES {
            match self.relay.relay_once(BATCH).await {
                Ok(report) if report.sent == 0 => return,
                Ok(_) => {}
                Err(error) => {
                    warn!(error = %chain(&error), "relaying committed events failed; the background relay will retry");
                    return;
                }
            }
        }
        warn!(
            passes = MAX_PASSES,
            "events kept coming while relaying a commit; the background relay takes over"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use std::sync::Arc;

    use super::*;
    use crate::events::topics;
    use crate::events::TaskEventType;
    use crate::memory::{InMemoryEventBus, InMemoryTaskRepository, ManualClock};
    use crate::model::{EventId, Task, TaskId};
    use crate::model::{NewTask, SeriesId};
    use crate::ports::{Changes, TaskRepository};
    use crate::ports::{HandleError, MessageHandler, OutboxStore, TaskWrite};
    use crate::usecases::mocks::{alice, noon};
    use crate::usecases::OnCommit;

    /// Counts the messages it is handed.
    #[derive(Default)]
    struct Counter(AtomicUsize);

    #[async_trait]
    impl MessageHandler for Counter {
        async fn handle(&self, _: &crate::events::Message) -> Result<(), HandleError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    /// A new task with one task event of `kind` in the outbox.
    fn insert(id: i64, kind: TaskEventType) -> Changes {
        let task = Task::create(
            TaskId(id),
            alice(),
            NewTask::titled("Relay me").unwrap(),
            SeriesId(uuid::Uuid::nil()),
            noon(),
        );
        let event = crate::events::DomainEvent::Task(crate::events::TaskEvent::new(
            EventId(uuid::Uuid::from_u128(id.unsigned_abs().into())),
            kind,
            &task,
            noon(),
        ));
        Changes {
            writes: vec![TaskWrite::Insert(task)],
            outbox: vec![event.to_message()],
            ..Changes::default()
        }
    }

    fn setup() -> (
        Arc<InMemoryTaskRepository>,
        Arc<InMemoryEventBus>,
        OnCommit<RelayOnCommit>,
    ) {
        let clock = Arc::new(ManualClock::new(noon()));
        let repo = Arc::new(InMemoryTaskRepository::with_clock(clock.clone()));
        let bus = Arc::new(InMemoryEventBus::new());
        let relay = OutboxRelay::new(repo.clone(), bus.clone(), clock);
        let relaying = OnCommit::new(repo.clone(), RelayOnCommit::new(relay));
        (repo, bus, relaying)
    }

    #[tokio::test]
    async fn a_completion_returns_after_its_consumers_handled_it() {
        let (repo, bus, relaying) = setup();
        let counter = Arc::new(Counter::default());
        bus.subscribe(topics::TASK_EVENTS, "counter", counter.clone());
        relaying
            .commit(insert(1, TaskEventType::Completed))
            .await
            .unwrap();
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert_eq!(repo.backlog().await.unwrap().0, 0, "nothing left to relay");
    }

    #[tokio::test]
    async fn a_relay_failure_after_the_commit_does_not_fail_it_and_keeps_the_events() {
        let (repo, bus, relaying) = setup();
        bus.set_available(false);
        relaying
            .commit(insert(1, TaskEventType::Completed))
            .await
            .unwrap();
        assert_eq!(repo.tasks().len(), 1, "the commit stands");
        assert_eq!(
            repo.backlog().await.unwrap().0,
            1,
            "the event waits for the background relay"
        );
    }

    #[tokio::test]
    async fn other_commits_leave_their_events_to_the_background_relay() {
        let (repo, bus, relaying) = setup();
        let counter = Arc::new(Counter::default());
        bus.subscribe(topics::TASK_EVENTS, "counter", counter.clone());
        relaying
            .commit(insert(1, TaskEventType::Created))
            .await
            .unwrap();
        let mut quiet = insert(2, TaskEventType::Completed);
        quiet.outbox.clear();
        relaying.commit(quiet).await.unwrap();
        assert_eq!(counter.0.load(Ordering::SeqCst), 0);
        assert_eq!(
            repo.backlog().await.unwrap().0,
            1,
            "the create's event waits"
        );
        // The next completion relays everything pending, in order.
        relaying
            .commit(insert(3, TaskEventType::Completed))
            .await
            .unwrap();
        assert_eq!(counter.0.load(Ordering::SeqCst), 2);
        assert_eq!(repo.backlog().await.unwrap().0, 0);
    }
}
