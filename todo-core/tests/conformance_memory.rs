//! Every conformance suite of `todo_core::testkit`, run on the in-memory adapters.
#![cfg(feature = "testing")]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use todo_core::events::Message;
use todo_core::memory::{
    InMemoryEventBus, InMemoryLocks, InMemoryScheduler, InMemorySecretStore, InMemoryStateStore,
    InMemoryTaskRepository,
};
use todo_core::model::EventId;
use todo_core::ports::{EventBus, Scheduler};
use todo_core::testkit::{
    BusHarness, ChannelHandler, EventBusSuite, FiredJob, FiredJobs, LocksSuite, OutboxHarness,
    OutboxRelaySuite, OutboxStoreHandle, RaceSuite, SchedulerHarness, SchedulerSuite,
    SecretStoreSuite, SeededSecret, StateStoreSuite, TaskRepositorySuite,
};
use tokio::sync::mpsc;

#[tokio::test]
async fn the_in_memory_repository_conforms() {
    TaskRepositorySuite::new(Arc::new(InMemoryTaskRepository::new()))
        .run_all()
        .await;
}

/// Subscribes channel handlers on an [`InMemoryEventBus`].
struct MemoryBus(Arc<InMemoryEventBus>);

#[async_trait]
impl BusHarness for MemoryBus {
    fn bus(&self) -> Arc<dyn EventBus> {
        self.0.clone()
    }

    async fn subscribe(&self, topic: &str, group: &str) -> mpsc::UnboundedReceiver<Message> {
        let (handler, receiver) = ChannelHandler::new();
        self.0.subscribe(topic, group, handler);
        receiver
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(1)
    }
}

#[tokio::test]
async fn the_in_memory_event_bus_conforms() {
    let bus = Arc::new(InMemoryEventBus::new());
    EventBusSuite::new(MemoryBus(bus.clone())).run_all().await;
    assert!(bus.dead_letters().is_empty());
}

/// Drives an [`InMemoryScheduler`] on the system clock, as the embedded server does.
struct MemoryScheduler {
    scheduler: Arc<InMemoryScheduler>,
    fired: FiredJobs,
}

impl MemoryScheduler {
    fn start() -> Self {
        let scheduler = Arc::new(InMemoryScheduler::new());
        let fired = FiredJobs::new();
        let (driven, fan_out) = (scheduler.clone(), fired.clone());
        tokio::spawn(async move {
            loop {
                for job in driven.take_due(Utc::now()) {
                    fan_out.fire(FiredJob {
                        name: job.name,
                        payload: job.payload,
                    });
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        Self { scheduler, fired }
    }
}

#[async_trait]
impl SchedulerHarness for MemoryScheduler {
    fn scheduler(&self) -> Arc<dyn Scheduler> {
        self.scheduler.clone()
    }

    async fn fired(&self) -> mpsc::UnboundedReceiver<FiredJob> {
        self.fired.subscribe()
    }

    fn max_delay(&self) -> Duration {
        Duration::from_millis(500)
    }
}

#[tokio::test]
async fn the_in_memory_scheduler_conforms() {
    let harness = MemoryScheduler::start();
    let scheduler = harness.scheduler.clone();
    SchedulerSuite::new(harness).run_all().await;
    assert!(
        scheduler.jobs().is_empty(),
        "every job fired or was cancelled"
    );
}

#[tokio::test]
async fn the_in_memory_state_store_conforms() {
    StateStoreSuite::new(Arc::new(InMemoryStateStore::new()))
        .run_all()
        .await;
}

#[tokio::test]
async fn in_memory_locks_conform() {
    let locks = InMemoryLocks::new();
    LocksSuite::new(Arc::new(locks.clone()), Arc::new(locks))
        .run_all()
        .await;
}

#[tokio::test]
async fn the_in_memory_secret_store_conforms() {
    let store = InMemorySecretStore::default().with_secret("smtp", "password", "s3cret");
    let seeded = SeededSecret {
        name: "smtp".into(),
        key: "password".into(),
        value: "s3cret".into(),
    };
    SecretStoreSuite::new(Arc::new(store), seeded)
        .run_all()
        .await;
}

#[tokio::test]
async fn in_memory_user_repository_conforms() {
    todo_core::testkit::UserRepositorySuite::new(Arc::new(
        todo_core::memory::InMemoryUserRepository::new(),
    ))
    .run_all()
    .await;
}

#[tokio::test]
async fn the_in_memory_notification_store_conforms() {
    let suite = todo_core::testkit::NotificationStoreSuite::new(Arc::new(
        todo_core::memory::InMemoryNotificationStore::new(),
    ));
    suite.run_all().await;
    // Fresh users and ids per case: a second run on the same store passes too.
    suite.run_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_records_of_one_firing_store_it_once_in_memory() {
    let store = Arc::new(todo_core::memory::InMemoryNotificationStore::new());
    todo_core::testkit::NotificationStoreSuite::new(store.clone())
        .concurrent_records_of_one_firing_store_it_once(store)
        .await;
}

#[test]
fn in_memory_pages_equal_the_reference_evaluation() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    todo_core::testkit::QueryDifferential::new(Arc::new(InMemoryTaskRepository::new()))
        .run(&runtime);
}

/// The in-memory store as an outbox harness: replicas share its one state, and its rows are the
/// unsent messages.
///
/// Not every relay case applies: sent messages are dropped at once (no purge case) and nothing
/// outlives the process (no crash case).
struct MemoryOutbox(Arc<InMemoryTaskRepository>);

#[async_trait]
impl OutboxHarness for MemoryOutbox {
    fn store(&self) -> OutboxStoreHandle {
        OutboxStoreHandle::new(self.0.clone())
    }

    async fn replica(&self) -> OutboxStoreHandle {
        OutboxStoreHandle::new(self.0.clone())
    }

    async fn restart(&self) -> OutboxStoreHandle {
        unreachable!("an in-memory outbox does not outlive its process: the crash case is not run")
    }

    async fn rows(&self) -> Vec<(uuid::Uuid, String, serde_json::Value)> {
        self.0
            .outbox()
            .into_iter()
            .map(|entry| (entry.message.id.0, entry.message.key, entry.message.payload))
            .collect()
    }

    async fn last_error(&self, id: EventId) -> Option<String> {
        self.0.outbox_last_error(id)
    }
}

fn memory_outbox() -> OutboxRelaySuite<impl AsyncFn() -> MemoryOutbox> {
    OutboxRelaySuite::new(async || MemoryOutbox(Arc::new(InMemoryTaskRepository::new())))
}

#[tokio::test]
async fn in_memory_events_are_written_in_the_transaction_of_their_change() {
    memory_outbox()
        .events_are_written_in_the_transaction_of_their_change()
        .await;
}

#[tokio::test]
async fn in_memory_a_relay_that_dies_holding_a_lease_leaves_its_rows_to_the_next_relay() {
    memory_outbox()
        .a_relay_that_dies_holding_a_lease_leaves_its_rows_to_the_next_relay()
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_concurrent_relays_publish_each_event_once() {
    memory_outbox()
        .concurrent_relays_publish_each_event_once()
        .await;
}

#[tokio::test]
async fn in_memory_an_unsent_event_holds_back_the_later_events_of_its_task() {
    memory_outbox()
        .an_unsent_event_holds_back_the_later_events_of_its_task()
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_memory_repository_decides_every_race() {
    RaceSuite::new(Arc::new(InMemoryTaskRepository::new()))
        .run_all()
        .await;
}

#[tokio::test]
async fn the_in_memory_delivery_store_conforms() {
    let suite = todo_core::testkit::DeliveryStoreSuite::new(Arc::new(
        todo_core::memory::InMemoryDeliveryStore::new(),
    ));
    suite.run_all().await;
    suite.run_all().await;
}

#[tokio::test]
async fn the_in_memory_calendar_feeds_conform() {
    todo_core::testkit::CalendarFeedsSuite::new(Arc::new(
        todo_core::memory::InMemoryCalendarFeeds::new(),
    ))
    .run_all()
    .await;
}

#[tokio::test]
async fn the_in_memory_push_subscription_store_conforms() {
    let suite = todo_core::testkit::PushSubscriptionStoreSuite::new(Arc::new(
        todo_core::memory::InMemoryPushSubscriptionStore::new(),
    ));
    suite.run_all().await;
    // Fresh users and endpoints per case: a second run on the same store passes too.
    suite.run_all().await;
}
