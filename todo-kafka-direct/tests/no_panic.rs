//! A record from the broker never makes a consumer panic: whatever its key, value and headers,
//! [`todo_kafka_direct::envelope::decode`] rebuilds the message or names why it is poison (it then
//! goes to the dead-letter topic). Arbitrary bytes, and near misses of the binary-mode CloudEvent
//! headers and structured-mode JSON our producer and others write.

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use rdkafka::message::{Header, OwnedHeaders};
use serde_json::{json, Value};
use todo_core::usecases::decode_task_event;
use todo_kafka_direct::envelope::{
    decode, HEADER_ID, HEADER_SOURCE, HEADER_SPEC_VERSION, HEADER_TYPE,
};

/// Strings a decoder may meet whole, among the random ones.
const NOTABLE: &[&str] = &[
    "1.0",
    "0193f0a0-0000-7000-8000-000000000000",
    "not-a-uuid",
    "",
];

fn any_json() -> impl Strategy<Value = Value> {
    todo_core::testkit::any_json(NOTABLE)
}

/// Header values: valid ids and types, garbage bytes, invalid UTF-8, or absent.
fn header_value() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop::option::of(prop_oneof![
        Just(b"0193f0a0-0000-7000-8000-000000000000".to_vec()),
        Just(b"com.todo.task.completed".to_vec()),
        Just(vec![0xff, 0xfe, 0xfd]),
        any::<Vec<u8>>(),
    ])
}

fn headers() -> impl Strategy<Value = Option<Vec<(String, Option<Vec<u8>>)>>> {
    let name = prop_oneof![
        prop::sample::select(vec![
            HEADER_ID,
            HEADER_TYPE,
            HEADER_SPEC_VERSION,
            HEADER_SOURCE
        ])
        .prop_map(str::to_owned),
        "[a-z_]{1,8}",
    ];
    prop::option::of(prop::collection::vec((name, header_value()), 0..6))
}

/// A record value: bytes, JSON, or a structured CloudEvent with one attribute changed.
fn value() -> impl Strategy<Value = Option<Vec<u8>>> {
    let structured = json!({"specversion": "1.0", "id": "0193f0a0-0000-7000-8000-000000000000",
        "type": "com.todo.task.completed", "source": "todo-api",
        "data": {"event_id": "0193f0a0-0000-7000-8000-000000000000", "schema_version": 1}});
    let near = (
        prop::sample::select(vec!["specversion", "id", "type", "data"]),
        any_json(),
        any::<bool>(),
    )
        .prop_map(move |(field, value, remove)| {
            let mut event = structured.clone();
            if let Some(object) = event.as_object_mut() {
                if remove {
                    object.remove(field);
                } else {
                    object.insert(field.to_owned(), value);
                }
            }
            event.to_string().into_bytes()
        });
    prop::option::of(prop_oneof![
        any::<Vec<u8>>(),
        any_json().prop_map(|v| v.to_string().into_bytes()),
        near,
    ])
}

#[test]
fn any_record_decodes_into_a_message_or_is_named_poison() {
    let mut runner = TestRunner::new(RunnerConfig {
        cases: 1024,
        failure_persistence: None,
        ..RunnerConfig::default()
    });
    let record = (
        prop::option::of(any::<Vec<u8>>()),
        value(),
        headers(),
        prop::sample::select(vec!["task-events", "reminders", ""]),
    );
    runner
        .run(&record, |(key, value, headers, topic)| {
            let headers = headers.map(|list| {
                list.iter().fold(OwnedHeaders::new(), |all, (name, value)| {
                    all.insert(Header {
                        key: name,
                        value: value.as_deref(),
                    })
                })
            });
            match decode(topic, key.as_deref(), value.as_deref(), headers.as_ref()) {
                Ok(message) => {
                    prop_assert_eq!(message.topic.as_str(), topic);
                    let _ = decode_task_event(&message);
                }
                Err(reason) => prop_assert!(!reason.to_string().is_empty()),
            }
            Ok(())
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
}
