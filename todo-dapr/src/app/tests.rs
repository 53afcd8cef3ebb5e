//! The routes daprd calls, driven in-process: subscription listing, delivery statuses, job callbacks,
//! the app API token, and idempotent handling of a redelivered event.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};
use todo_core::events::Message;
use todo_core::model::EventId;
use todo_core::ports::{HandleError, MessageHandler};
use tower::ServiceExt;
use uuid::Uuid;

use super::*;
use crate::cloudevent::to_cloud_event;

/// Answers with a fixed outcome and records what it saw.
struct Scripted {
    outcome: Result<(), HandleError>,
    seen: Mutex<Vec<Message>>,
}

impl Scripted {
    fn new(outcome: Result<(), HandleError>) -> Arc<Self> {
        Arc::new(Self {
            outcome,
            seen: Mutex::new(Vec::new()),
        })
    }

    fn seen(&self) -> Vec<Message> {
        self.seen.lock().unwrap().clone()
    }
}

#[async_trait]
impl MessageHandler for Scripted {
    async fn handle(&self, message: &Message) -> Result<(), HandleError> {
        self.seen.lock().unwrap().push(message.clone());
        // A fresh error each call: errors keep their (boxed) source and are not `Clone`.
        match &self.outcome {
            Ok(()) => Ok(()),
            Err(e @ HandleError::Retry { .. }) => Err(HandleError::retry("test", e.to_string())),
            Err(e) => Err(HandleError::dropped("test", e.to_string())),
        }
    }
}

struct Panics;

#[async_trait]
impl MessageHandler for Panics {
    async fn handle(&self, _: &Message) -> Result<(), HandleError> {
        panic!("a bug in a handler");
    }
}

fn message(topic: &str) -> Message {
    let id = EventId(Uuid::now_v7());
    Message {
        id,
        topic: topic.into(),
        key: "42".into(),
        event_type: "com.todo.task.updated".into(),
        payload: json!({ "event_id": id, "schema_version": 1, "task_id": 42 }),
    }
}

fn delivered(message: &Message) -> Vec<u8> {
    let mut event = to_cloud_event(message, "todo-api");
    event["topic"] = json!(message.topic);
    event["pubsubname"] = json!("kafka-pubsub");
    serde_json::to_vec(&event).unwrap()
}

async fn call(router: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, body)
}

fn post(uri: &str, body: Vec<u8>) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/cloudevents+json")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn the_subscription_list_has_one_entry_per_topic_with_its_dead_letter_topic() {
    let router = DaprApp::new()
        .subscribe(
            Subscription::new(
                "kafka-pubsub",
                "task-events",
                "recurring",
                Scripted::new(Ok(())),
            )
            .with_dead_letter_topic("task-events.dlq"),
        )
        .subscribe(Subscription::new(
            "kafka-pubsub",
            "task-events",
            "audit",
            Scripted::new(Ok(())),
        ))
        .subscribe(
            Subscription::new(
                "kafka-pubsub",
                "reminders",
                "notification",
                Scripted::new(Ok(())),
            )
            .with_metadata("rawPayload", "false"),
        )
        .router();
    let (status, body) = call(
        &router,
        Request::get("/dapr/subscribe").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!([
            { "pubsubname": "kafka-pubsub", "topic": "reminders",
              "route": "/dapr/pubsub/kafka-pubsub/reminders", "metadata": { "rawPayload": "false" } },
            { "pubsubname": "kafka-pubsub", "topic": "task-events",
              "route": "/dapr/pubsub/kafka-pubsub/task-events", "deadLetterTopic": "task-events.dlq" },
        ])
    );
}

#[tokio::test]
async fn a_handled_event_is_success_and_reaches_the_handler_intact() {
    let handler = Scripted::new(Ok(()));
    let router = DaprApp::new()
        .subscribe(Subscription::new("kafka-pubsub", "t", "c", handler.clone()))
        .router();
    let sent = message("t");
    let (status, body) = call(
        &router,
        post("/dapr/pubsub/kafka-pubsub/t", delivered(&sent)),
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({ "status": "SUCCESS" }))
    );
    assert_eq!(handler.seen(), vec![sent]);
}

#[tokio::test]
async fn a_retry_is_answered_retry_and_a_drop_drop() {
    for (outcome, expected) in [
        (Err(HandleError::retry("test", "db down")), "RETRY"),
        (Err(HandleError::dropped("test", "unknown version")), "DROP"),
    ] {
        let router = DaprApp::new()
            .subscribe(Subscription::new("p", "t", "c", Scripted::new(outcome)))
            .router();
        let (status, body) =
            call(&router, post("/dapr/pubsub/p/t", delivered(&message("t")))).await;
        assert_eq!(
            (status, body),
            (StatusCode::OK, json!({ "status": expected }))
        );
    }
}

#[tokio::test]
async fn malformed_deliveries_are_dropped_without_calling_the_handler() {
    let handler = Scripted::new(Ok(()));
    let router = DaprApp::new()
        .subscribe(Subscription::new("p", "t", "c", handler.clone()))
        .router();
    for body in [
        b"not json".to_vec(),
        b"[]".to_vec(),
        br#"{"specversion":"1.0","id":"x","type":"t"}"#.to_vec(),
        br#"{"specversion":"1.0","id":"not-a-uuid","type":"t","data":{"task_id":1}}"#.to_vec(),
    ] {
        let (status, answer) = call(&router, post("/dapr/pubsub/p/t", body)).await;
        assert_eq!(
            (status, answer),
            (StatusCode::OK, json!({ "status": "DROP" }))
        );
    }
    assert!(handler.seen().is_empty());
}

#[tokio::test]
async fn a_raw_event_without_an_envelope_is_handled() {
    let handler = Scripted::new(Ok(()));
    let router = DaprApp::new()
        .subscribe(Subscription::new("p", "t", "c", handler.clone()))
        .router();
    let sent = message("t");
    let (_, answer) = call(
        &router,
        post(
            "/dapr/pubsub/p/t",
            serde_json::to_vec(&sent.payload).unwrap(),
        ),
    )
    .await;
    assert_eq!(answer, json!({ "status": "SUCCESS" }));
    assert_eq!(handler.seen()[0].id, sent.id);
    assert_eq!(handler.seen()[0].key, "42");
}

#[tokio::test]
async fn a_panicking_handler_is_contained_and_dropped() {
    let router = DaprApp::new()
        .subscribe(Subscription::new("p", "t", "c", Arc::new(Panics)))
        .router();
    let (status, answer) = call(&router, post("/dapr/pubsub/p/t", delivered(&message("t")))).await;
    assert_eq!(
        (status, answer),
        (StatusCode::OK, json!({ "status": "DROP" }))
    );
}

#[tokio::test]
async fn every_consumer_of_a_topic_is_called_and_the_worst_outcome_wins() {
    let ok = Scripted::new(Ok(()));
    let drops = Scripted::new(Err(HandleError::dropped("test", "x")));
    let retries = Scripted::new(Err(HandleError::retry("test", "y")));
    let router = DaprApp::new()
        .subscribe(Subscription::new("p", "t", "a", ok.clone()))
        .subscribe(Subscription::new("p", "t", "b", drops.clone()))
        .subscribe(Subscription::new("p", "t", "c", retries.clone()))
        .router();
    let (_, answer) = call(&router, post("/dapr/pubsub/p/t", delivered(&message("t")))).await;
    assert_eq!(answer, json!({ "status": "RETRY" }));
    assert_eq!(
        (ok.seen().len(), drops.seen().len(), retries.seen().len()),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn a_topic_this_app_does_not_consume_is_not_found() {
    let router = DaprApp::new()
        .subscribe(Subscription::new("p", "t", "c", Scripted::new(Ok(()))))
        .router();
    let (status, _) = call(
        &router,
        post("/dapr/pubsub/p/other", delivered(&message("other"))),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn jobs_go_to_the_handler_of_the_longest_prefix_with_their_data() {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let record = |tag: &'static str| {
        let calls = calls.clone();
        job_fn(move |name, data| {
            let calls = calls.clone();
            async move {
                calls.lock().unwrap().push((tag, name, data));
                Ok(())
            }
        })
    };
    let router = DaprApp::new()
        .on_jobs("", record("any"))
        .on_jobs("reminder-task-", record("reminder"))
        .router();
    let (status, _) = call(
        &router,
        Request::post("/job/reminder-task-7")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"task_id":7}"#))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        &router,
        Request::post("/job/other").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        *calls.lock().unwrap(),
        vec![
            (
                "reminder",
                "reminder-task-7".to_owned(),
                json!({ "task_id": 7 })
            ),
            ("any", "other".to_owned(), Value::Null),
        ]
    );
}

#[tokio::test]
async fn job_outcomes_map_to_statuses_the_scheduler_understands() {
    let router = DaprApp::new()
        .on_jobs(
            "retry-",
            job_fn(|_, _| async { Err(HandleError::retry("test", "db down")) }),
        )
        .on_jobs(
            "drop-",
            job_fn(|_, _| async { Err(HandleError::dropped("test", "stale")) }),
        )
        .on_jobs("ok-", job_fn(|_, _| async { Ok(()) }))
        .router();
    let job = |name: &str, body: &'static str| {
        Request::post(format!("/job/{name}"))
            .body(Body::from(body))
            .unwrap()
    };
    assert_eq!(
        call(&router, job("retry-1", "{}")).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        call(&router, job("drop-1", "{}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&router, job("ok-1", "{bad")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&router, job("unknown", "{}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(call(&router, job("ok-2", "{}")).await.0, StatusCode::OK);
}

#[tokio::test]
async fn with_an_app_token_only_calls_carrying_it_are_served() {
    let handled = Arc::new(AtomicUsize::new(0));
    let counter = handled.clone();
    let router = DaprApp::new()
        .with_app_api_token(Some("s3cret"))
        .on_jobs(
            "",
            job_fn(move |_, _| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            }),
        )
        .router();
    let request = |token: Option<&str>, uri: &str| {
        let mut builder = Request::post(uri);
        if let Some(token) = token {
            builder = builder.header("dapr-api-token", token);
        }
        builder.body(Body::from("{}")).unwrap()
    };
    assert_eq!(
        call(&router, request(None, "/job/j")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&router, request(Some("wrong"), "/job/j")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(
            &router,
            Request::get("/dapr/subscribe").body(Body::empty()).unwrap()
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&router, request(Some("s3cret"), "/job/j")).await.0,
        StatusCode::OK
    );
    assert_eq!(handled.load(Ordering::SeqCst), 1);
    // An empty token means no check.
    let open = DaprApp::new().with_app_api_token(Some("")).router();
    assert_eq!(
        call(
            &open,
            Request::get("/dapr/subscribe").body(Body::empty()).unwrap()
        )
        .await
        .0,
        StatusCode::OK
    );
}

#[test]
fn tokens_are_compared_in_full() {
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"ab"));
    assert!(!constant_time_eq(b"", b"a"));
}

#[tokio::test]
async fn each_subscription_listing_tells_that_a_sidecar_started() {
    let started = Arc::new(AtomicUsize::new(0));
    let counter = started.clone();
    let router = DaprApp::new()
        .on_sidecar_start(Arc::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }))
        .router();
    for expected in 1..=2 {
        let (status, _) = call(
            &router,
            Request::get("/dapr/subscribe").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(started.load(Ordering::SeqCst), expected);
    }
}
