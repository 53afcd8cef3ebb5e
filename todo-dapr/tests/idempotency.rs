//! At-least-once delivery: the same `completed` event delivered again — republished through daprd and
//! Kafka, and posted again to the app's route as daprd does on redelivery — reaches the consumer every
//! time, and the recurring-task use case still creates exactly one next occurrence.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{Duration as Days, SubsecRound, Utc};
use serde_json::json;
use todo_core::events::{consumers, topics, Message};
use todo_core::memory::{InMemoryScheduler, InMemoryStateStore, InMemoryTaskRepository};
use todo_core::model::{NewTask, TaskInput, UserId};
use todo_core::ports::{
    EventBus, HandleError, MessageHandler, SystemClock, TaskRepository, UuidV7Generator,
};
use todo_core::usecases::{RecurringConsumer, RecurringTaskHandler, TaskService};
use todo_dapr::cloudevent::to_cloud_event;
use todo_dapr::{DaprApp, DaprEventBus, Subscription, DEFAULT_PUBSUB};
use todo_testkit::{PubSubBroker, TestTopic};
use uuid::Uuid;

use support::{client, sidecar_for, Counting, Served};

/// The test's topic stands in for `task-events`: the consumer decodes by topic name, and the shared
/// broker's real `task-events` may hold other tests' events.
struct AsTaskEvents<H>(H);

#[async_trait]
impl<H: MessageHandler> MessageHandler for AsTaskEvents<H> {
    async fn handle(&self, message: &Message) -> Result<(), HandleError> {
        let mut message = message.clone();
        message.topic = topics::TASK_EVENTS.to_owned();
        self.0.handle(&message).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_completed_event_creates_one_next_occurrence() {
    let repo = Arc::new(InMemoryTaskRepository::new());
    let service = TaskService::new(
        repo.clone(),
        Arc::new(InMemoryScheduler::new()),
        Arc::new(SystemClock),
        Arc::new(UuidV7Generator),
    );
    let user = UserId(Uuid::new_v4());
    let due = (Utc::now() + Days::days(1)).trunc_subsecs(0);
    let task = service
        .create_task(
            user,
            NewTask::parse(TaskInput {
                title: "Water the plants".into(),
                due_date: Some(due.to_rfc3339()),
                recurrence: Some(json!("weekly")),
                ..TaskInput::default()
            })
            .expect("valid input"),
        )
        .await
        .expect("created");
    service
        .complete_task(user, task.id)
        .await
        .expect("completed");
    let topic = TestTopic::create("dapr-recurring", 3)
        .await
        .expect("a topic");
    let mut completed = repo
        .outbox()
        .into_iter()
        .map(|entry| entry.message)
        .find(|m| m.event_type == "com.todo.task.completed")
        .expect("completing wrote a `completed` event");
    completed.topic = topic.name().to_owned();

    let calls = Arc::new(AtomicUsize::new(0));
    let consumer = RecurringConsumer(RecurringTaskHandler::new(
        repo.clone(),
        Arc::new(InMemoryStateStore::new()),
        Arc::new(SystemClock),
        Arc::new(UuidV7Generator),
    ));
    let router = DaprApp::new()
        .subscribe(Subscription::new(
            DEFAULT_PUBSUB,
            topic.name(),
            consumers::RECURRING,
            Arc::new(Counting {
                calls: calls.clone(),
                inner: AsTaskEvents(consumer),
            }),
        ))
        .router();
    let app = Served::start(router).await;
    let sidecar = sidecar_for("recurring", app.port, PubSubBroker::Kafka).await;
    let bus = DaprEventBus::new(client(&sidecar), DEFAULT_PUBSUB);

    // The same event, published twice (a relay that crashed before marking it sent does this).
    bus.publish(&completed).await.expect("publish");
    bus.publish(&completed).await.expect("publish again");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while calls.load(Ordering::SeqCst) < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "both deliveries reached the consumer"
    );

    // And once more as daprd redelivers: the same CloudEvent posted to the route.
    let mut envelope = to_cloud_event(&completed, "todo-api");
    envelope["topic"] = json!(topic.name());
    envelope["pubsubname"] = json!(DEFAULT_PUBSUB);
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!(
            "http://127.0.0.1:{}/dapr/pubsub/{DEFAULT_PUBSUB}/{}",
            app.port,
            topic.name()
        ))
        .header("content-type", "application/cloudevents+json")
        .body(envelope.to_string())
        .send()
        .await
        .expect("the app answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        answer,
        json!({ "status": "SUCCESS" }),
        "a duplicate is a success, not a retry"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    let tasks = repo.tasks();
    assert_eq!(
        tasks.len(),
        2,
        "the completed task and exactly one next occurrence: {tasks:#?}"
    );
    let next = repo
        .successor(user, task.id)
        .await
        .expect("a successor lookup")
        .expect("a next occurrence");
    assert_eq!(next.due_date, Some(due + Days::weeks(1)));
}
