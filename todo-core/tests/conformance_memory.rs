//! Every conformance suite of `todo_core::testkit`, run on the in-memory adapters.
#![cfg(feature = "testing")]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use todo_core::events::Message;
use todo_core::memory::{
    InMemoryEventBus, InMemoryScheduler, InMemorySecretStore, InMemoryStateStore,
    InMemoryTaskRepository,
};
use todo_core::ports::{EventBus, Scheduler};
use todo_core::testkit::{
    BusHarness, ChannelHandler, EventBusSuite, FiredJob, FiredJobs, SchedulerHarness,
    SchedulerSuite, SecretStoreSuite, SeededSecret, StateStoreSuite, TaskRepositorySuite,
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
