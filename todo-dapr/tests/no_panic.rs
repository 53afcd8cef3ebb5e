//! What daprd delivers never makes the app panic: any body decodes into a message or is refused
//! ([`todo_dapr::cloudevent::message_from_delivery`]), and the delivery and job routes answer every
//! body with a status daprd understands (a delivery always 200 with `SUCCESS`, `RETRY` or `DROP`; a
//! job 200, 404 or 503). Arbitrary bytes, arbitrary JSON and near misses of the CloudEvents our
//! publisher and Dapr itself make.

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use serde_json::{json, Value};
use todo_core::events::{topics, Message};
use todo_core::ports::{HandleError, MessageHandler};
use todo_core::usecases::decode_task_event;
use todo_dapr::cloudevent::message_from_delivery;
use todo_dapr::{job_fn, DaprApp, Subscription};
use tower::ServiceExt;

/// A runner of `cases` cases that keeps no failure file (the seed is printed on failure).
fn runner(cases: u32) -> TestRunner {
    TestRunner::new(RunnerConfig {
        cases,
        failure_persistence: None,
        ..RunnerConfig::default()
    })
}

/// Strings a decoder may meet whole, among the random ones.
const NOTABLE: &[&str] = &[
    "1.0",
    "com.dapr.event.sent",
    "com.todo.task.completed",
    "task-events",
    "",
    "00000000-0000-0000-0000-000000000000",
    "0193f0a0-0000-7000-8000-000000000000",
    "not-a-uuid",
    "eyJldmVudF9pZCI6MX0=",
    "e30",
    "{\"event_id\":1}",
    "[1,2]",
    "%%%",
];

fn any_json() -> impl Strategy<Value = Value> {
    todo_core::testkit::any_json(NOTABLE)
}

/// A CloudEvent as our publisher or Dapr makes it, with one attribute replaced or removed.
fn near_cloud_event() -> impl Strategy<Value = Value> {
    let event = json!({
        "event_id": "0193f0a0-0000-7000-8000-000000000000", "schema_version": 1,
        "event_type": "completed", "task_id": 7, "user_id": "00000000-0000-0000-0000-000000000000",
        "timestamp": "2030-01-01T00:00:00Z", "task_data": {"id": 7, "title": "x"}
    });
    let envelope = json!({
        "specversion": "1.0", "id": "0193f0a0-0000-7000-8000-000000000000",
        "type": "com.todo.task.completed", "source": "todo-api", "topic": "task-events",
        "pubsubname": "kafka-pubsub", "partitionkey": "7", "datacontenttype": "application/json",
        "data": event,
    });
    (
        prop::sample::select(vec![
            "specversion",
            "id",
            "type",
            "source",
            "topic",
            "partitionkey",
            "data",
            "data_base64",
            "datacontenttype",
            "traceparent",
        ]),
        prop_oneof![
            any_json(),
            prop::collection::vec(any::<u8>(), 0..40).prop_map(|b| {
                use base64::Engine;
                Value::from(base64::engine::general_purpose::STANDARD.encode(b))
            }),
        ],
        any::<bool>(),
    )
        .prop_map(move |(field, value, remove)| {
            let mut envelope = envelope.clone();
            if let Some(object) = envelope.as_object_mut() {
                if remove {
                    object.remove(field);
                } else {
                    object.insert(field.to_owned(), value);
                }
            }
            envelope
        })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<Vec<u8>>(),
        any_json().prop_map(|v| v.to_string().into_bytes()),
        near_cloud_event().prop_map(|v| v.to_string().into_bytes()),
        "[ -~]{0,60}".prop_map(String::into_bytes),
    ]
}

#[test]
fn any_delivered_body_decodes_into_a_message_or_is_refused() {
    runner(1024)
        .run(
            &(
                body(),
                prop::sample::select(vec![topics::TASK_EVENTS, topics::REMINDERS, "x"]),
            ),
            |(body, topic)| {
                if let Ok(message) = message_from_delivery(&body, topic) {
                    // What decodes is handed to consumers, whose decoders refuse or accept it.
                    let _ = decode_task_event(&message);
                }
                Ok(())
            },
        )
        .unwrap_or_else(|failure| panic!("{failure}"));
}

/// A consumer that decodes like the real ones and drops what it cannot read.
struct Decoding;

#[async_trait]
impl MessageHandler for Decoding {
    async fn handle(&self, message: &Message) -> Result<(), HandleError> {
        decode_task_event(message).map(|_| ())
    }
}

#[test]
fn the_routes_daprd_calls_answer_any_body_with_a_status_daprd_understands() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let router = DaprApp::new()
        .subscribe(Subscription::new(
            "kafka-pubsub",
            topics::TASK_EVENTS,
            "audit-service",
            Arc::new(Decoding),
        ))
        .on_jobs(
            "reminder-task-",
            job_fn(|_, data| async move {
                serde_json::from_value::<todo_core::events::ReminderEvent>(data)
                    .map(|_| ())
                    .map_err(|e| HandleError::dropped("decoding the job", e))
            }),
        )
        .router();
    let route = DaprApp::new()
        .subscribe(Subscription::new(
            "kafka-pubsub",
            topics::TASK_EVENTS,
            "audit-service",
            Arc::new(Decoding),
        ))
        .subscriptions()[0]["route"]
        .as_str()
        .expect("a route")
        .to_owned();
    let job = prop_oneof![
        Just("reminder-task-1".to_owned()),
        "reminder-task-[ -~&&[^/?#%]]{0,20}",
        "[a-zA-Z0-9_-]{1,20}",
    ];
    runner(256)
        .run(&(body(), job), |(body, job)| {
            runtime.block_on(async {
                let call = |uri: String, body: Vec<u8>| {
                    let router = router.clone();
                    async move {
                        let request = Request::post(uri)
                            .header("content-type", "application/cloudevents+json")
                            .body(Body::from(body))
                            .ok()?;
                        let response = router.oneshot(request).await.ok()?;
                        let status = response.status();
                        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                            .await
                            .ok()?;
                        Some((status, String::from_utf8_lossy(&bytes).into_owned()))
                    }
                };
                let (status, answer) = call(route.clone(), body.clone())
                    .await
                    .expect("the delivery route answers");
                prop_assert_eq!(status, StatusCode::OK, "{}", answer);
                let answer: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
                prop_assert!(
                    matches!(
                        answer["status"].as_str(),
                        Some("SUCCESS" | "RETRY" | "DROP")
                    ),
                    "{}",
                    answer
                );
                if let Some((status, answer)) = call(format!("/job/{job}"), body).await {
                    prop_assert!(
                        [
                            StatusCode::OK,
                            StatusCode::NOT_FOUND,
                            StatusCode::SERVICE_UNAVAILABLE
                        ]
                        .contains(&status),
                        "{} {}",
                        status,
                        answer
                    );
                }
                Ok(())
            })
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
}
