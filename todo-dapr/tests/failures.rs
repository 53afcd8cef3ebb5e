//! Failures: the sidecar goes away and comes back on the same port; the broker goes away and comes
//! back; API tokens are enforced in both directions.

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use todo_core::error::{chain, PortError};
use todo_core::events::Message;
use todo_core::model::EventId;
use todo_core::ports::{
    Concurrency, EventBus, Job, PortResult, Scheduler, SecretStore, StateStore,
};
use todo_dapr::{
    job_fn, DaprApp, DaprClient, DaprConfig, DaprError, DaprEventBus, DaprScheduler,
    DaprSecretStore, DaprStateStore, SidecarHealth, Subscription, DEFAULT_PUBSUB,
    DEFAULT_SECRET_STORE, DEFAULT_STATE_STORE,
};
use todo_testkit::rskafka::client::ClientBuilder;
use todo_testkit::{Sidecar, TestTopic};
use tokio::sync::mpsc;
use uuid::Uuid;

use support::{next_of, DedicatedKafka, FixedPortSidecar, Forward, Served};

fn message(topic: &str, n: u32) -> Message {
    let id = EventId(Uuid::now_v7());
    Message {
        id,
        topic: topic.to_owned(),
        key: n.to_string(),
        event_type: "com.todo.test.numbered".into(),
        payload: json!({ "event_id": id, "n": n }),
    }
}

/// Runs `call`, which must fail with `Unavailable` carrying a retry hint, quickly.
async fn unavailable<T: std::fmt::Debug>(
    what: &str,
    call: impl std::future::Future<Output = PortResult<T>>,
) -> Duration {
    let started = Instant::now();
    let result = call.await;
    let took = started.elapsed();
    assert!(
        matches!(
            result,
            Err(PortError::Unavailable {
                retry_after: Some(_),
                ..
            })
        ),
        "{what} with the sidecar down: expected Unavailable with Retry-After, got {result:?}"
    );
    assert!(
        took < Duration::from_secs(2),
        "{what} took {took:?} to give up"
    );
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_sidecar_down_every_adapter_is_unavailable_and_recovers_when_it_restarts() {
    let topic = TestTopic::create("dapr-restart", 1).await.expect("a topic");
    let sidecar = tokio::task::block_in_place(|| FixedPortSidecar::start("restart", None, &[]));
    let dapr = DaprClient::new(DaprConfig::for_port(sidecar.http_port)).expect("a client");
    let bus = DaprEventBus::new(dapr.clone(), DEFAULT_PUBSUB);
    let scheduler = DaprScheduler::new(dapr.clone());
    let state = DaprStateStore::new(dapr.clone(), DEFAULT_STATE_STORE);
    let secrets = DaprSecretStore::new(dapr.clone(), DEFAULT_SECRET_STORE);
    let health = SidecarHealth::new(dapr.clone()).with_ttl(Duration::from_millis(200));
    let key = format!("restart-{}", Uuid::new_v4().simple());
    let job = |due_in: i64| Job {
        name: format!("restart-{key}"),
        due: Utc::now() + chrono::Duration::hours(due_in),
        payload: json!({}),
    };

    assert!(health.is_healthy().await);
    bus.publish(&message(topic.name(), 1))
        .await
        .expect("publish");
    state
        .save(&key, json!({ "v": 1 }), Concurrency::Overwrite)
        .await
        .expect("save");
    secrets.get("smtp").await.expect("a secret");
    scheduler.schedule(job(1)).await.expect("schedule");

    tokio::task::block_in_place(|| sidecar.stop());

    let mut slowest = Duration::ZERO;
    slowest = slowest.max(unavailable("publish", bus.publish(&message(topic.name(), 2))).await);
    slowest = slowest.max(
        unavailable(
            "publish_all",
            bus.publish_all(&[message(topic.name(), 3), message(topic.name(), 4)]),
        )
        .await,
    );
    slowest = slowest.max(unavailable("get state", state.get(&key)).await);
    slowest = slowest.max(
        unavailable(
            "save state",
            state.save(&key, json!(2), Concurrency::Overwrite),
        )
        .await,
    );
    slowest = slowest.max(unavailable("get secret", secrets.get("smtp")).await);
    slowest = slowest.max(unavailable("schedule", scheduler.schedule(job(2))).await);
    slowest = slowest.max(unavailable("cancel", scheduler.cancel("x")).await);
    eprintln!("with daprd down, the slowest call gave up after {slowest:?}");
    // The health answer is cached for its TTL (200 ms): readiness fails once that has run out.
    todo_testkit::wait_until(
        "readiness fails while daprd is down",
        Duration::from_secs(10),
        || async {
            if health.is_healthy().await {
                Err("still reported healthy")
            } else {
                Ok(())
            }
        },
    )
    .await;
    assert!(matches!(
        health.check().await,
        Err(DaprError::Unreachable { .. })
    ));

    // daprd comes back on the same port; the same clients work again.
    tokio::task::block_in_place(|| sidecar.up());
    todo_testkit::wait_until("readiness recovers", Duration::from_secs(10), || async {
        if health.is_healthy().await {
            Ok(())
        } else {
            Err(format!("still unhealthy: {:?}", health.check().await))
        }
    })
    .await;
    bus.publish(&message(topic.name(), 5))
        .await
        .expect("publish after the restart");
    assert_eq!(
        state.get(&key).await.expect("get").map(|item| item.value),
        Some(json!({ "v": 1 })),
        "state written before the outage is there"
    );
    let smtp: BTreeMap<String, String> = secrets.get("smtp").await.expect("a secret");
    assert_eq!(smtp["username"], "todo-dev");
    scheduler
        .schedule(job(1))
        .await
        .expect("schedule after the restart");
    scheduler.cancel(&job(1).name).await.expect("cancel");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_broker_down_publish_fails_then_succeeds_once_kafka_is_back() {
    let kafka = tokio::task::block_in_place(DedicatedKafka::start);
    let topic = todo_testkit::unique_name("dapr-broker-down");
    ClientBuilder::new(vec![kafka.brokers().to_owned()])
        .build()
        .await
        .expect("a client of the dedicated broker")
        .controller_client()
        .expect("a controller")
        .create_topic(topic.clone(), 1, 1, 10_000)
        .await
        .expect("creating the topic");

    let forward = Arc::new(Forward::default());
    let mut received = forward.listen();
    let router = DaprApp::new()
        .subscribe(Subscription::new(
            DEFAULT_PUBSUB,
            &topic,
            "broker-down",
            forward.clone(),
        ))
        .router();
    let app = Served::start(router).await;
    let sidecar = support::start(
        Sidecar::builder("broker-down")
            .app_port(app.port)
            .var("TODO_KAFKA_BROKERS", kafka.brokers()),
    )
    .await;
    let bus = Arc::new(DaprEventBus::new(support::client(&sidecar), DEFAULT_PUBSUB));

    let before = message(&topic, 1);
    bus.publish(&before)
        .await
        .expect("publish with the broker up");
    next_of(
        &mut received,
        |m| m.id == before.id,
        Duration::from_secs(30),
        "before the outage",
    )
    .await;

    tokio::task::block_in_place(|| kafka.stop());

    let during = message(&topic, 2);
    let started = Instant::now();
    let failed = bus.publish(&during).await;
    let gave_up_after = started.elapsed();
    assert!(
        matches!(failed, Err(PortError::Unavailable { .. })),
        "publish with the broker down: {failed:?}"
    );
    eprintln!("with Kafka down, publish gave up after {gave_up_after:?}: {failed:?}");

    // Retry the way the outbox relay does, until the broker is back.
    let failures = Arc::new(AtomicUsize::new(0));
    let relay = tokio::spawn({
        let (bus, failures, during) = (bus.clone(), failures.clone(), during.clone());
        async move {
            while bus.publish(&during).await.is_err() {
                failures.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    });
    // Two more refused attempts show the broker still refuses while it is down.
    todo_testkit::wait_until(
        "two more publish attempts refused",
        Duration::from_secs(120),
        || async {
            match failures.load(Ordering::SeqCst) {
                refused if refused >= 2 => Ok(()),
                refused => Err(format!("{refused} refused")),
            }
        },
    )
    .await;
    assert!(
        !relay.is_finished(),
        "nothing is acknowledged while the broker is down"
    );
    let outage_ends = Instant::now();
    tokio::task::block_in_place(|| kafka.restart());
    tokio::time::timeout(Duration::from_secs(120), relay)
        .await
        .expect("publish succeeds once Kafka is back")
        .expect("the relay task");
    eprintln!(
        "publish succeeded {:?} after the restart began, after {} failed attempts",
        outage_ends.elapsed(),
        failures.load(Ordering::SeqCst) + 1
    );
    next_of(
        &mut received,
        |m| m.id == during.id,
        Duration::from_secs(60),
        "after the outage",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_are_required_in_both_directions() {
    let (sender, mut fired) = mpsc::unbounded_channel();
    let router = DaprApp::new()
        .with_app_api_token(Some("app-token"))
        .on_jobs(
            "",
            job_fn(move |name, _| {
                let _ = sender.send(name);
                async { Ok(()) }
            }),
        )
        .router();
    let app = Served::start(router).await;
    let port = app.port;
    let sidecar = tokio::task::block_in_place(|| {
        FixedPortSidecar::start(
            "tokens",
            Some(port),
            &[
                ("DAPR_API_TOKEN", "dapr-token"),
                ("APP_API_TOKEN", "app-token"),
            ],
        )
    });

    // Without the token, daprd refuses (the health endpoint stays open for probes).
    let anonymous = DaprClient::new(DaprConfig::for_port(sidecar.http_port)).expect("a client");
    let refused = DaprStateStore::new(anonymous.clone(), DEFAULT_STATE_STORE)
        .get("k")
        .await;
    assert!(
        matches!(&refused, Err(e @ PortError::Other { .. }) if chain(e).to_string().contains("401")),
        "{refused:?}"
    );
    assert!(SidecarHealth::new(anonymous).is_healthy().await);

    // With it, calls go through; and daprd presents the app token when it calls the app back.
    let dapr =
        DaprClient::new(DaprConfig::for_port(sidecar.http_port).with_api_token("dapr-token"))
            .expect("a client");
    assert_eq!(
        DaprStateStore::new(dapr.clone(), DEFAULT_STATE_STORE)
            .get("k")
            .await
            .expect("get with the token"),
        None
    );
    let name = format!("token-{}", Uuid::new_v4().simple());
    DaprScheduler::new(dapr)
        .schedule(Job {
            name: name.clone(),
            due: Utc::now(),
            payload: json!({}),
        })
        .await
        .expect("schedule with the token");
    let called = tokio::time::timeout(Duration::from_secs(10), fired.recv())
        .await
        .expect("the job called the app back with the app token")
        .expect("a name");
    assert_eq!(called, name);

    // Anyone else calling the app's routes is refused.
    let direct = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/job/{name}"))
        .body("{}")
        .send()
        .await
        .expect("the app answers");
    assert_eq!(direct.status(), 401);
}
