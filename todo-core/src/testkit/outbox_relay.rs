//! The transactional outbox end to end, through [`OutboxRelay`]: events commit with their change,
//! survive a crash between commit and publish, are relayed once by concurrent relays, and keep
//! per-task order.
//!
//! Unlike the port cases of [`TaskRepositorySuite`](super::TaskRepositorySuite), these need an empty
//! outbox, other handles on the same data (replicas, a restarted process) and a look at the stored
//! rows, which the adapter test supplies through an [`OutboxHarness`].

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{Duration, Utc};
use uuid::Uuid;

use crate::events::Message;
use crate::memory::{InMemoryEventBus, InMemoryScheduler, ManualClock};
use crate::model::{EventId, NewTask, TaskPatch, Title, UserId};
use crate::ports::{
    Changes, OutboxEntry, OutboxStore, SystemClock, TaskRepository, TaskWrite, UuidV7Generator,
};
use crate::usecases::{OutboxRelay, TaskService};

/// One handle on a task store, seen through the two ports that share its transactions.
#[derive(Clone)]
pub struct OutboxStoreHandle {
    /// The store's tasks.
    pub tasks: Arc<dyn TaskRepository>,
    /// The store's outbox, written in the same transactions.
    pub outbox: Arc<dyn OutboxStore>,
}

impl OutboxStoreHandle {
    /// A handle on one object implementing both ports (the usual shape: one database).
    pub fn new<S>(store: Arc<S>) -> Self
    where
        S: TaskRepository + OutboxStore + 'static,
    {
        Self {
            tasks: store.clone(),
            outbox: store,
        }
    }
}

/// What an adapter test supplies to [`OutboxRelaySuite`], fresh for every case: a store with an empty
/// outbox, and the adapter-specific ways to look at and reopen it.
#[async_trait]
pub trait OutboxHarness: Send + Sync {
    /// The store under test.
    fn store(&self) -> OutboxStoreHandle;

    /// Another handle on the same data, as a second replica or relay process opens it.
    async fn replica(&self) -> OutboxStoreHandle;

    /// The process dies after a commit: every connection of [`store`](Self::store) goes away, and
    /// the data is opened again as a new process would. Only
    /// [`OutboxRelaySuite::events_committed_before_a_crash_are_relayed_after_restart`] calls it, and
    /// uses nothing but the returned handle afterwards.
    async fn restart(&self) -> OutboxStoreHandle;

    /// Every stored outbox row, sent or not, in commit order: event id, key and payload as stored.
    async fn rows(&self) -> Vec<(Uuid, String, serde_json::Value)>;

    /// The error recorded with the last failed attempt of an unsent message.
    async fn last_error(&self, id: EventId) -> Option<String>;
}

/// The outbox relay cases; each opens a harness of its own (an empty outbox) with `fresh`.
pub struct OutboxRelaySuite<F> {
    fresh: F,
}

fn service(repo: Arc<dyn TaskRepository>) -> TaskService {
    TaskService::new(
        repo,
        Arc::new(InMemoryScheduler::new()),
        Arc::new(SystemClock),
        Arc::new(UuidV7Generator),
    )
}

fn message(key: &str) -> Message {
    Message {
        id: EventId(Uuid::now_v7()),
        topic: "task-events".to_owned(),
        key: key.to_owned(),
        event_type: "com.todo.task.created".to_owned(),
        payload: serde_json::json!({ "key": key, "list": [1, "two", null], "nested": { "ok": true } }),
    }
}

impl<F, H> OutboxRelaySuite<F>
where
    F: AsyncFn() -> H,
    H: OutboxHarness,
{
    /// A suite whose cases each open a new, empty store with `fresh`.
    pub fn new(fresh: F) -> Self {
        Self { fresh }
    }

    /// Runs every case, one after the other, each on a fresh store. Call it on a multi-threaded
    /// runtime, so the concurrent relays really overlap.
    pub async fn run_all(&self) {
        self.events_are_written_in_the_transaction_of_their_change()
            .await;
        self.events_committed_before_a_crash_are_relayed_after_restart()
            .await;
        self.a_relay_that_dies_holding_a_lease_leaves_its_rows_to_the_next_relay()
            .await;
        self.concurrent_relays_publish_each_event_once().await;
        self.an_unsent_event_holds_back_the_later_events_of_its_task()
            .await;
        self.sent_rows_are_kept_until_purged().await;
    }

    /// A change and its events commit together; a refused unit leaves no event behind.
    pub async fn events_are_written_in_the_transaction_of_their_change(&self) {
        let harness = (self.fresh)().await;
        let repo = harness.store();
        let tasks = service(repo.tasks.clone());
        let user = UserId(Uuid::new_v4());

        let task = tasks
            .create_task(user, NewTask::titled("Buy milk").expect("a valid title"))
            .await
            .expect("creating a task");
        let rows = harness.rows().await;
        assert_eq!(rows.len(), 1, "one created event with the created task");
        assert_eq!(rows[0].1, task.id.to_string(), "keyed by task id");
        assert_eq!(rows[0].2["event_type"], "created");
        assert_eq!(rows[0].2["task_data"]["title"], "Buy milk");

        // A unit whose write is refused leaves no event behind.
        let mut stale = task.clone();
        stale.title = Title::parse("A stale edit").expect("a valid title");
        stale.version = 9;
        let refused = repo
            .tasks
            .commit(Changes {
                writes: vec![TaskWrite::Update {
                    task: stale,
                    expected_version: 8,
                }],
                outbox: vec![message(&task.id.to_string())],
                ..Changes::default()
            })
            .await;
        assert!(refused.is_err(), "a stale update must fail: {refused:?}");
        assert_eq!(
            harness.rows().await.len(),
            1,
            "the refused unit wrote an event"
        );

        // A completion writes the task change and both of its events together.
        tasks
            .complete_task(user, task.id)
            .await
            .expect("completing the task");
        let types: Vec<_> = harness
            .rows()
            .await
            .into_iter()
            .map(|(_, _, payload)| {
                payload["event_type"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        assert_eq!(types, ["created", "completed", "status_changed"]);
    }

    /// Events committed by a process that dies before publishing are relayed, once, by the next
    /// process: each task's in commit order (different tasks' events may be published at the same
    /// time, as on a partitioned broker).
    pub async fn events_committed_before_a_crash_are_relayed_after_restart(&self) {
        let harness = (self.fresh)().await;
        let user = UserId(Uuid::new_v4());
        let mut expected = Vec::new();
        {
            let tasks = service(harness.store().tasks);
            for title in ["Pay rent", "Call mom", "Water plants"] {
                let task = tasks
                    .create_task(user, NewTask::titled(title).expect("a valid title"))
                    .await
                    .expect("creating a task");
                expected.push(task.id);
            }
            tasks
                .update_task(
                    user,
                    expected[0],
                    TaskPatch {
                        title: Some(Title::parse("Pay rent today").expect("a valid title")),
                        ..TaskPatch::default()
                    },
                )
                .await
                .expect("updating a task");
            tasks
                .complete_task(user, expected[1])
                .await
                .expect("completing a task");
        }
        let committed: Vec<(Uuid, String)> = harness
            .rows()
            .await
            .into_iter()
            .map(|r| (r.0, r.1))
            .collect();
        assert_eq!(
            committed.len(),
            6,
            "3 created, 1 updated, 1 completed, 1 status_changed"
        );

        // The process dies after commit and before any publish; a new process relays.
        let restarted = harness.restart().await;
        let bus = Arc::new(InMemoryEventBus::new());
        let relay = OutboxRelay::new(restarted.outbox.clone(), bus.clone(), Arc::new(SystemClock));
        let report = relay.drain(100, 10).await.expect("draining the outbox");
        assert_eq!(report.sent, 6);
        let published: Vec<(Uuid, String)> = bus
            .published()
            .iter()
            .map(|m| (m.id.0, m.key.clone()))
            .collect();
        let mut once = published.clone();
        once.sort();
        let mut expected_once = committed.clone();
        expected_once.sort();
        assert_eq!(once, expected_once, "every committed event, once");
        for id in &expected {
            let key = id.to_string();
            let of_task = |events: &[(Uuid, String)]| -> Vec<Uuid> {
                events
                    .iter()
                    .filter(|(_, k)| *k == key)
                    .map(|(e, _)| *e)
                    .collect()
            };
            assert_eq!(
                of_task(&published),
                of_task(&committed),
                "task {key}'s events in commit order"
            );
        }
        assert_eq!(
            restarted.outbox.backlog().await.expect("the backlog"),
            (0, None)
        );
    }

    /// Rows claimed by a relay that dies are left alone until its lease runs out, then relayed by
    /// another one, their payloads intact.
    pub async fn a_relay_that_dies_holding_a_lease_leaves_its_rows_to_the_next_relay(&self) {
        let harness = (self.fresh)().await;
        let repo = harness.store();
        let messages: Vec<Message> = (0..3).map(|n| message(&format!("task-{n}"))).collect();
        repo.tasks
            .commit(Changes {
                outbox: messages.clone(),
                ..Changes::default()
            })
            .await
            .expect("committing messages");

        // The first relay claims everything and dies before publishing.
        let now = Utc::now();
        let claimed = repo
            .outbox
            .claim(now, now + Duration::seconds(30), 10)
            .await
            .expect("claiming");
        assert_eq!(claimed.len(), 3);
        drop(repo);

        let clock = Arc::new(ManualClock::new(now));
        let bus = Arc::new(InMemoryEventBus::new());
        let successor = harness.replica().await;
        let relay = OutboxRelay::new(successor.outbox, bus.clone(), clock.clone());
        assert_eq!(
            relay.relay_once(10).await.expect("a relay pass").sent,
            0,
            "leased rows wait for the lease to run out"
        );
        clock.advance(Duration::seconds(31));
        assert_eq!(relay.relay_once(10).await.expect("a relay pass").sent, 3);
        assert_eq!(
            bus.published(),
            messages,
            "payloads round-trip through the store"
        );
    }

    /// Three relays on their own replicas share the work, publish every event once and each task's
    /// events in commit order. Run it on a multi-threaded runtime, so the relays really overlap.
    pub async fn concurrent_relays_publish_each_event_once(&self) {
        let harness = (self.fresh)().await;
        let repo = harness.store();
        const EVENTS: usize = 600;
        let messages: Vec<Message> = (0..EVENTS)
            .map(|n| message(&format!("task-{}", n % 97)))
            .collect();
        for chunk in messages.chunks(50) {
            repo.tasks
                .commit(Changes {
                    outbox: chunk.to_vec(),
                    ..Changes::default()
                })
                .await
                .expect("committing messages");
        }

        let bus = Arc::new(InMemoryEventBus::new());
        let mut relays = Vec::new();
        // The relays start together: where a pass never waits (in memory), the first one spawned
        // would otherwise finish before the others are scheduled.
        let start = Arc::new(tokio::sync::Barrier::new(3));
        // And each makes its first pass before any makes a second: on a loaded machine the first
        // relay scheduled could otherwise drain the outbox alone, and nothing would have raced.
        let first_pass = Arc::new(tokio::sync::Barrier::new(3));
        for _ in 0..3 {
            let replica = harness.replica().await;
            let relay = OutboxRelay::new(replica.outbox, bus.clone(), Arc::new(SystemClock));
            let start = start.clone();
            let first_pass = first_pass.clone();
            relays.push(tokio::spawn(async move {
                start.wait().await;
                let mut sent = 0;
                let mut passes = 0;
                loop {
                    let report = relay.relay_once(25).await.expect("relay pass");
                    passes += 1;
                    if passes == 1 {
                        first_pass.wait().await;
                    }
                    if report.sent + report.failed == 0 {
                        return sent;
                    }
                    sent += report.sent;
                    // Let the other relays in between passes, even where a pass never waits.
                    tokio::task::yield_now().await;
                }
            }));
        }
        let mut per_relay = Vec::new();
        for relay in relays {
            per_relay.push(relay.await.expect("a relay panicked"));
        }

        let mut times_published: HashMap<EventId, usize> = HashMap::new();
        for published in bus.published() {
            *times_published.entry(published.id).or_default() += 1;
        }
        let twice: Vec<_> = times_published.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            twice.is_empty(),
            "events published more than once: {twice:?}"
        );
        assert_eq!(times_published.len(), EVENTS, "every event published");
        assert_eq!(per_relay.iter().sum::<usize>(), EVENTS);
        assert!(
            per_relay.iter().filter(|n| **n > 0).count() >= 2,
            "the relays shared the work: {per_relay:?}"
        );
        // Each task's events left in commit order, whichever relay sent them.
        let mut by_key: HashMap<String, Vec<EventId>> = HashMap::new();
        for published in bus.published() {
            by_key
                .entry(published.key.clone())
                .or_default()
                .push(published.id);
        }
        for (key, ids) in by_key {
            let committed: Vec<EventId> = messages
                .iter()
                .filter(|m| m.key == key)
                .map(|m| m.id)
                .collect();
            assert_eq!(ids, committed, "order of the events of {key}");
        }
        assert_eq!(repo.outbox.backlog().await.expect("the backlog"), (0, None));
    }

    /// A task's event that is leased or backing off holds back its later events; other tasks'
    /// events go out meanwhile.
    pub async fn an_unsent_event_holds_back_the_later_events_of_its_task(&self) {
        let harness = (self.fresh)().await;
        let repo = harness.store();
        let (first, second, other) = (message("7"), message("7"), message("8"));
        for m in [&first, &second, &other] {
            repo.tasks
                .commit(Changes {
                    outbox: vec![m.clone()],
                    ..Changes::default()
                })
                .await
                .expect("committing a message");
        }
        let t0 = Utc::now();
        let ids = |entries: Vec<OutboxEntry>| {
            entries
                .into_iter()
                .map(|e| e.message.id)
                .collect::<Vec<_>>()
        };
        let outbox = &*repo.outbox;

        // Another relay holds the task's first event: its second one waits, other tasks do not.
        let held = outbox
            .claim(t0, t0 + Duration::seconds(5), 1)
            .await
            .expect("claiming");
        assert_eq!(ids(held), [first.id]);
        let claimed = outbox
            .claim(t0, t0 + Duration::seconds(5), 10)
            .await
            .expect("claiming");
        assert_eq!(ids(claimed), [other.id]);
        outbox
            .mark_sent(&[other.id], t0)
            .await
            .expect("marking sent");

        // The first event failed and backs off: the second still waits.
        outbox
            .mark_failed(first.id, t0 + Duration::seconds(10), "broker down")
            .await
            .expect("marking failed");
        assert_eq!(
            harness.last_error(first.id).await.as_deref(),
            Some("broker down")
        );
        let waiting = outbox
            .claim(t0 + Duration::seconds(6), t0 + Duration::seconds(7), 10)
            .await
            .expect("claiming");
        assert!(waiting.is_empty(), "claimed {:?}", ids(waiting));

        // Once the first is due again, both go out together, in order.
        let retried = outbox
            .claim(t0 + Duration::seconds(11), t0 + Duration::seconds(12), 10)
            .await
            .expect("claiming");
        assert_eq!(retried[0].attempts, 1);
        assert_eq!(ids(retried), [first.id, second.id]);
    }

    /// A sent row stays in the table until [`OutboxStore::purge_sent`] removes it (a store that
    /// forgets sent rows at once, as the in-memory one does, skips this case).
    pub async fn sent_rows_are_kept_until_purged(&self) {
        let harness = (self.fresh)().await;
        let repo = harness.store();
        let m = message("1");
        repo.tasks
            .commit(Changes {
                outbox: vec![m.clone()],
                ..Changes::default()
            })
            .await
            .expect("committing a message");
        let now = Utc::now();
        let outbox = &*repo.outbox;
        outbox
            .claim(now, now + Duration::seconds(5), 10)
            .await
            .expect("claiming");
        outbox.mark_sent(&[m.id], now).await.expect("marking sent");
        assert_eq!(harness.rows().await.len(), 1, "a sent row is kept");
        assert_eq!(
            outbox
                .purge_sent(now - Duration::hours(1))
                .await
                .expect("purging"),
            0
        );
        assert_eq!(
            outbox
                .purge_sent(now + Duration::seconds(1))
                .await
                .expect("purging"),
            1
        );
        assert!(harness.rows().await.is_empty());
    }
}
