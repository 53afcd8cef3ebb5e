//! Publishing through daprd and consuming through the app routes, on the real brokers: Kafka, and
//! Redis with only the component file swapped; dead letters for `DROP`, redelivery for `RETRY`.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{SubsecRound, Utc};
use serde_json::{json, Value};
use todo_core::events::{DomainEvent, Message, TaskEvent, TaskEventType};
use todo_core::model::{EventId, NewTask, SeriesId, Task, TaskId, UserId};
use todo_core::ports::{EventBus, HandleError, MessageHandler};
use todo_dapr::{DaprApp, DaprEventBus, Subscription, DEFAULT_PUBSUB};
use todo_testkit::{unique_name, PubSubBroker, Stack, TestTopic};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use support::{client, next_of, sidecar_for, Forward, Served};

/// A real `task-events` event about a recurring task with tags and a due date, on `topic`.
fn task_event(topic: &str) -> (TaskEvent, Message) {
    let now = Utc::now().trunc_subsecs(6);
    let input = todo_core::model::TaskInput {
        title: "Buy groceries — milk & «bread» 🥛".into(),
        description: Some("two litres".into()),
        tags: Some(vec!["home".into(), "errands".into()]),
        due_date: Some("2030-01-06T09:00:00Z".into()),
        timezone: Some("Europe/Paris".into()),
        recurrence: Some(json!("weekly")),
        ..Default::default()
    };
    let task = Task::create(
        TaskId(4242),
        UserId(Uuid::new_v4()),
        NewTask::parse(input).expect("valid input"),
        SeriesId(Uuid::new_v4()),
        now,
    );
    let event = TaskEvent::new(EventId(Uuid::now_v7()), TaskEventType::Created, &task, now);
    let mut message = DomainEvent::Task(event.clone()).to_message();
    message.topic = topic.to_owned();
    (event, message)
}

/// Publishes a task event through the sidecar of an app that consumes the topic, and checks that the
/// handler receives exactly that event.
async fn a_task_event_arrives_intact(broker: PubSubBroker, topic: &str) -> Message {
    let forward = Arc::new(Forward::default());
    let mut received = forward.listen();
    let router = DaprApp::new()
        .subscribe(Subscription::new(
            DEFAULT_PUBSUB,
            topic,
            "checker",
            forward.clone(),
        ))
        .router();
    let app = Served::start(router).await;
    let sidecar = sidecar_for("subscriber", app.port, broker).await;
    let bus = DaprEventBus::new(client(&sidecar), DEFAULT_PUBSUB).with_source("todo-api");

    let (event, sent) = task_event(topic);
    bus.publish(&sent).await.expect("publish");
    let arrived = next_of(
        &mut received,
        |m| m.id == sent.id,
        Duration::from_secs(30),
        "the published event",
    )
    .await;
    assert_eq!(arrived, sent, "the message arrives exactly as published");
    assert_eq!(
        DomainEvent::decode("task-events", &arrived.payload).expect("a task event"),
        DomainEvent::Task(event),
        "the event decodes to what was published (schema intact)"
    );
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_event_published_through_kafka_arrives_intact() {
    let topic = TestTopic::create("dapr-task-events", 3)
        .await
        .expect("a topic");
    let sent = a_task_event_arrives_intact(PubSubBroker::Kafka, topic.name()).await;

    // On the wire: a structured CloudEvent, keyed by the task id.
    let records = topic
        .consume_all(1, Duration::from_secs(10))
        .await
        .expect("reading the topic");
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].key.as_deref(),
        Some(b"4242".as_slice()),
        "keyed by task id"
    );
    let envelope: Value =
        serde_json::from_slice(records[0].value.as_deref().unwrap_or_default()).expect("JSON");
    assert_eq!(envelope["specversion"], "1.0");
    assert_eq!(envelope["id"], sent.id.to_string());
    assert_eq!(envelope["type"], "com.todo.task.created");
    assert_eq!(envelope["source"], "todo-api");
    assert_eq!(envelope["subject"], "4242");
    assert_eq!(envelope["partitionkey"], "4242");
    assert_eq!(envelope["topic"], topic.name());
    assert_eq!(envelope["pubsubname"], "kafka-pubsub");
    assert_eq!(envelope["data"], sent.payload);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_event_arrives_intact_through_redis_with_only_the_component_swapped() {
    let topic = unique_name("dapr-task-events");
    a_task_event_arrives_intact(PubSubBroker::Redis, &topic).await;
    // It went through Redis: pubsub.redis keeps each topic as a stream.
    let redis = Stack::get()
        .expect("the stack")
        .redis_addr()
        .expect("redis");
    assert_eq!(redis_stream_length(redis, &topic).await, 1);
}

/// `XLEN stream`, in RESP over a plain socket.
async fn redis_stream_length(addr: &str, stream: &str) -> i64 {
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("redis");
    let command = format!("*2\r\n$4\r\nXLEN\r\n${}\r\n{stream}\r\n", stream.len());
    conn.write_all(command.as_bytes()).await.expect("write");
    let mut reply = Vec::new();
    let mut buf = [0_u8; 64];
    while !reply.ends_with(b"\r\n") {
        let n = conn.read(&mut buf).await.expect("read");
        assert!(n > 0, "redis closed the connection");
        reply.extend_from_slice(&buf[..n]);
    }
    let reply = String::from_utf8(reply).expect("text");
    reply
        .strip_prefix(':')
        .and_then(|n| n.trim_end().parse().ok())
        .unwrap_or_else(|| panic!("unexpected reply {reply:?}"))
}

/// Drops messages asking for it, fails the first two deliveries of those asking for a retry.
struct Picky {
    retries: AtomicUsize,
    calls: AtomicUsize,
}

#[async_trait]
impl MessageHandler for Picky {
    async fn handle(&self, message: &Message) -> Result<(), HandleError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match message.payload["action"].as_str() {
            Some("drop") => Err(HandleError::dropped("test", "poison")),
            Some("retry") if self.retries.fetch_add(1, Ordering::SeqCst) < 2 => {
                Err(HandleError::retry("test", "not yet"))
            }
            _ => Ok(()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_message_is_dead_lettered_and_a_retried_one_is_redelivered_until_handled() {
    let topic = TestTopic::create("dapr-picky", 1).await.expect("a topic");
    let dead_letters = TestTopic::create("dapr-picky-dlq", 1)
        .await
        .expect("a dead-letter topic");
    let picky = Arc::new(Picky {
        retries: AtomicUsize::new(0),
        calls: AtomicUsize::new(0),
    });
    let dlq = Arc::new(Forward::default());
    let mut dead = dlq.listen();
    let router = DaprApp::new()
        .subscribe(
            Subscription::new(DEFAULT_PUBSUB, topic.name(), "picky", picky.clone())
                .with_dead_letter_topic(dead_letters.name()),
        )
        .subscribe(Subscription::new(
            DEFAULT_PUBSUB,
            dead_letters.name(),
            "dead-letters",
            dlq.clone(),
        ))
        .router();
    let app = Served::start(router).await;
    let sidecar = sidecar_for("picky", app.port, PubSubBroker::Kafka).await;
    let bus = DaprEventBus::new(client(&sidecar), DEFAULT_PUBSUB);

    let message = |action: &str| {
        let id = EventId(Uuid::now_v7());
        Message {
            id,
            topic: topic.name().to_owned(),
            key: "1".into(),
            event_type: "com.todo.test.picky".into(),
            payload: json!({ "event_id": id, "action": action }),
        }
    };
    let (retried, dropped, fine) = (message("retry"), message("drop"), message("ok"));
    for sent in [&retried, &dropped, &fine] {
        bus.publish(sent).await.expect("publish");
    }

    let dead_letter = next_of(
        &mut dead,
        |_| true,
        Duration::from_secs(30),
        "the dropped message on the dead-letter topic",
    )
    .await;
    assert_eq!(dead_letter.id, dropped.id);
    assert_eq!(dead_letter.payload, dropped.payload, "dead-lettered intact");

    // One partition, so the three are handled in order: the retried one until it succeeds (two
    // RETRY answers, then SUCCESS), the dropped one, the fine one.
    todo_testkit::wait_until(
        "five calls: the retried message three times, then the other two",
        Duration::from_secs(20),
        || async {
            match picky.calls.load(Ordering::SeqCst) {
                calls if calls >= 5 => Ok(()),
                calls => Err(format!("{calls} calls\n{}", sidecar.log_tail(30))),
            }
        },
    )
    .await;
    assert!(
        picky.retries.load(Ordering::SeqCst) >= 3,
        "the retried message was redelivered until handled\n{}",
        sidecar.log_tail(30)
    );
    // Everything was handled: a sentinel published to the dead-letter topic now is the next
    // thing there, unless another message was dead-lettered before it.
    let sentinel = Message {
        topic: dead_letters.name().to_owned(),
        ..message("sentinel")
    };
    bus.publish(&sentinel).await.expect("publish the sentinel");
    let next = next_of(
        &mut dead,
        |_| true,
        Duration::from_secs(30),
        "the sentinel on the dead-letter topic",
    )
    .await;
    assert_eq!(
        next.id, sentinel.id,
        "only the dropped message reached the dead-letter topic"
    );
}

/// A resiliency policy that leaves `kafka-pubsub` alone.
const POLICY_FOR_ANOTHER_COMPONENT: &str = r#"apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: todo-pubsub-resiliency
spec:
  policies:
    retries:
      once:
        policy: constant
        duration: 1s
        maxRetries: 0
  targets:
    components:
      some-other-pubsub:
        inbound:
          retry: once
"#;

/// Why [`todo_dapr::RESILIENCY`] exists: without an inbound retry policy, daprd sends a message the
/// app answered `RETRY` straight to the dead-letter topic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_resiliency_policy_a_retried_message_is_dead_lettered_at_once() {
    let topic = TestTopic::create("dapr-no-policy", 1)
        .await
        .expect("a topic");
    let dead_letters = TestTopic::create("dapr-no-policy-dlq", 1)
        .await
        .expect("a dead-letter topic");
    let picky = Arc::new(Picky {
        retries: AtomicUsize::new(0),
        calls: AtomicUsize::new(0),
    });
    let dlq = Arc::new(Forward::default());
    let mut dead = dlq.listen();
    let router = DaprApp::new()
        .subscribe(
            Subscription::new(DEFAULT_PUBSUB, topic.name(), "picky", picky.clone())
                .with_dead_letter_topic(dead_letters.name()),
        )
        .subscribe(Subscription::new(
            DEFAULT_PUBSUB,
            dead_letters.name(),
            "dead-letters",
            dlq.clone(),
        ))
        .router();
    let app = Served::start(router).await;
    // deploy/dapr/local loads the policy; this file replaces it with one that targets another
    // component, leaving kafka-pubsub without an inbound retry policy.
    let sidecar = support::start(
        todo_testkit::Sidecar::builder("no-policy")
            .app_port(app.port)
            .pubsub(PubSubBroker::Kafka)
            .component("resiliency.yaml", POLICY_FOR_ANOTHER_COMPONENT),
    )
    .await;
    let bus = DaprEventBus::new(client(&sidecar), DEFAULT_PUBSUB);
    let id = EventId(Uuid::now_v7());
    let retried = Message {
        id,
        topic: topic.name().to_owned(),
        key: "1".into(),
        event_type: "com.todo.test.picky".into(),
        payload: json!({ "event_id": id, "action": "retry" }),
    };
    bus.publish(&retried).await.expect("publish");
    let dead_letter = next_of(
        &mut dead,
        |_| true,
        Duration::from_secs(30),
        "a dead letter",
    )
    .await;
    assert_eq!(dead_letter.id, retried.id);
    assert_eq!(
        picky.calls.load(Ordering::SeqCst),
        1,
        "delivered once, then dead-lettered"
    );
}
