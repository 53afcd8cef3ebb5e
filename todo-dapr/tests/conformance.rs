//! The `todo-core` conformance suites, run on the Dapr adapters against real daprd 1.18.2: pub/sub on
//! Kafka, the Jobs API with the Dapr scheduler, state on PostgreSQL, secrets from the local file.

mod support;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use todo_core::error::PortError;
use todo_core::events::Message;
use todo_core::ports::{Concurrency, EventBus, HandleError, Scheduler, StateStore};
use todo_core::testkit::{
    BusHarness, EventBusSuite, FiredJob, FiredJobs, SchedulerHarness, SchedulerSuite,
    SecretStoreSuite, SeededSecret, StateStoreSuite,
};
use todo_dapr::{
    job_fn, DaprApp, DaprEventBus, DaprScheduler, DaprSecretStore, DaprStateStore, StateOperation,
    Subscription, DEFAULT_PUBSUB, DEFAULT_SECRET_STORE, DEFAULT_STATE_STORE,
};
use todo_testkit::{PubSubBroker, Sidecar, TestDatabase, TestTopic};
use tokio::sync::{mpsc, Mutex};

use support::{client, sidecar, sidecar_for, Forward, Served};

/// One app + sidecar per consumer group (a Dapr consumer group is an app id), created on the group's
/// first subscription and kept for the whole suite; publishing goes through a sidecar of its own.
struct DaprBus {
    topic: TestTopic,
    bus: Arc<DaprEventBus>,
    _publisher: Sidecar,
    groups: Mutex<HashMap<String, Group>>,
}

struct Group {
    forward: Arc<Forward>,
    _sidecar: Sidecar,
    _app: Served,
}

impl DaprBus {
    async fn start() -> Self {
        let topic = TestTopic::create("dapr-conformance", 3)
            .await
            .expect("a Kafka topic");
        let publisher = sidecar("bus-publisher").await;
        let bus = Arc::new(DaprEventBus::new(client(&publisher), DEFAULT_PUBSUB));
        Self {
            topic,
            bus,
            _publisher: publisher,
            groups: Mutex::new(HashMap::new()),
        }
    }
}

#[async_trait]
impl BusHarness for DaprBus {
    fn bus(&self) -> Arc<dyn EventBus> {
        self.bus.clone()
    }

    async fn subscribe(&self, topic: &str, group: &str) -> mpsc::UnboundedReceiver<Message> {
        let mut groups = self.groups.lock().await;
        if !groups.contains_key(group) {
            let forward = Arc::new(Forward::default());
            let router = DaprApp::new()
                .subscribe(Subscription::new(
                    DEFAULT_PUBSUB,
                    topic,
                    group,
                    forward.clone(),
                ))
                .router();
            let app = Served::start(router).await;
            let sidecar = sidecar_for(group, app.port, PubSubBroker::Kafka).await;
            groups.insert(
                group.to_owned(),
                Group {
                    forward,
                    _sidecar: sidecar,
                    _app: app,
                },
            );
        }
        groups[group].forward.listen()
    }

    fn topic(&self) -> String {
        self.topic.name().to_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dapr_event_bus_conforms_over_kafka() {
    EventBusSuite::new(DaprBus::start().await).run_all().await;
}

/// The scheduler of one sidecar whose app reports every job callback.
struct DaprJobs {
    scheduler: Arc<DaprScheduler>,
    fired: FiredJobs,
    _sidecar: Sidecar,
    _app: Served,
}

#[async_trait]
impl SchedulerHarness for DaprJobs {
    fn scheduler(&self) -> Arc<dyn Scheduler> {
        self.scheduler.clone()
    }

    async fn fired(&self) -> mpsc::UnboundedReceiver<FiredJob> {
        self.fired.subscribe()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dapr_scheduler_conforms() {
    let fired = FiredJobs::new();
    let fan_out = fired.clone();
    let router = DaprApp::new()
        .on_jobs(
            "",
            job_fn(move |name, payload| {
                fan_out.fire(FiredJob { name, payload });
                async { Ok::<(), HandleError>(()) }
            }),
        )
        .router();
    let app = Served::start(router).await;
    let sidecar = sidecar_for("jobs", app.port, PubSubBroker::Kafka).await;
    let harness = DaprJobs {
        scheduler: Arc::new(DaprScheduler::new(client(&sidecar))),
        fired,
        _sidecar: sidecar,
        _app: app,
    };
    SchedulerSuite::new(harness).run_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dapr_state_store_conforms_on_postgresql() {
    let db = TestDatabase::create().await.expect("a database");
    let sidecar = support::start(Sidecar::builder("state").state_database(db.url())).await;
    let store = Arc::new(DaprStateStore::new(client(&sidecar), DEFAULT_STATE_STORE));
    StateStoreSuite::new(store.clone()).run_all().await;

    // Transactions: all or nothing.
    let ok = [
        StateOperation::upsert("tx-a", serde_json::json!(1), Concurrency::IfAbsent),
        StateOperation::upsert(
            "tx-b",
            serde_json::json!({ "b": true }),
            Concurrency::Overwrite,
        ),
    ];
    store
        .transaction(&ok)
        .await
        .expect("a transaction of two upserts");
    let a = store.get("tx-a").await.unwrap().expect("tx-a saved");
    assert_eq!(a.value, serde_json::json!(1));
    assert_eq!(
        store.get("tx-b").await.unwrap().map(|i| i.value),
        Some(serde_json::json!({ "b": true }))
    );
    let conflicting = [
        StateOperation::upsert("tx-c", serde_json::json!("c"), Concurrency::Overwrite),
        StateOperation::upsert("tx-a", serde_json::json!(2), Concurrency::IfAbsent),
    ];
    let result = store.transaction(&conflicting).await;
    assert!(
        matches!(result, Err(PortError::Conflict { .. })),
        "an IfAbsent over an existing key fails the transaction: {result:?}"
    );
    assert_eq!(
        store.get("tx-c").await.unwrap(),
        None,
        "nothing of it applied"
    );
    let stale = [
        StateOperation::upsert("tx-d", serde_json::json!("d"), Concurrency::Overwrite),
        StateOperation::delete("tx-b", Some(todo_core::ports::ETag("1".into()))),
    ];
    let result = store.transaction(&stale).await;
    assert!(
        matches!(result, Err(PortError::Conflict { .. })),
        "a stale ETag fails the transaction: {result:?}"
    );
    assert_eq!(
        store.get("tx-d").await.unwrap(),
        None,
        "nothing of it applied"
    );
    store
        .transaction(&[StateOperation::delete("tx-a", Some(a.etag))])
        .await
        .expect("a delete with the current ETag");
    assert_eq!(store.get("tx-a").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dapr_secret_store_conforms_on_the_local_file_store() {
    let sidecar = sidecar("secrets").await;
    let store = Arc::new(DaprSecretStore::new(client(&sidecar), DEFAULT_SECRET_STORE));
    // deploy/dapr/local/secrets.json, multi-valued: "smtp" is a secret with several keys.
    let seeded = SeededSecret {
        name: "smtp".into(),
        key: "password".into(),
        value: "dev-only-smtp-password".into(),
    };
    SecretStoreSuite::new(store.clone(), seeded).run_all().await;
    let key =
        todo_core::ports::SecretStore::value(store.as_ref(), "jwt-signing-key", "jwt-signing-key")
            .await
            .expect("a single-valued secret");
    assert_eq!(key, "dev-only-jwt-signing-key-not-for-production");
}
