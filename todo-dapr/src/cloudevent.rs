//! Messages as CloudEvents 1.0: how a [`Message`] is wrapped for Dapr's publish API, and how a delivery
//! from Dapr becomes a [`Message`] again.
//!
//! Outbound, the event is sent in CloudEvents' *structured* JSON mode
//! (`application/cloudevents+json`), so Dapr keeps our attributes instead of inventing its own:
//!
//! | attribute | value |
//! |---|---|
//! | `id` | the event's `event_id` |
//! | `type` | `com.todo.task.completed`, `com.todo.reminder.due`, ... ([`Message::event_type`]) |
//! | `source` | the publishing service (default `todo`) |
//! | `subject`, `partitionkey` | the task id, the partition key (CloudEvents' partitioning extension) |
//! | `datacontenttype`, `data` | `application/json`, the event JSON exactly as SPEC §4 defines it |
//!
//! Dapr adds `topic`, `pubsubname`, `time` and trace context. Inbound, [`message_from_delivery`] reads
//! that envelope back (with `data` or `data_base64`), and also accepts a bare event JSON (a raw
//! payload, or a record another producer wrote without an envelope).

use base64::Engine;
use serde_json::{json, Map, Value};
use todo_core::error::BoxError;
use todo_core::events::{DomainEvent, Message};
use todo_core::model::EventId;
use uuid::Uuid;

/// The media type of a structured-mode CloudEvent.
pub const CLOUDEVENTS_CONTENT_TYPE: &str = "application/cloudevents+json";

/// The `type` Dapr gives events it wrapped itself; it says nothing about the event.
const DAPR_DEFAULT_TYPE: &str = "com.dapr.event.sent";

/// The CloudEvent that carries `message`, published by `source`.
#[must_use]
pub fn to_cloud_event(message: &Message, source: &str) -> Value {
    json!({
        "specversion": "1.0",
        "id": message.id.to_string(),
        "source": source,
        "type": message.event_type,
        "subject": message.key,
        "partitionkey": message.key,
        "datacontenttype": "application/json",
        "data": message.payload,
    })
}

/// Why a delivery could not be read as a message. Such a delivery can never be handled: it is
/// answered `DROP` (and so goes to the dead-letter topic, if one is configured).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// The body is not JSON.
    #[error("the body is not JSON")]
    NotJson(#[source] serde_json::Error),
    /// The body is JSON but not an object.
    #[error("the body is not a JSON object")]
    NotAnObject,
    /// A CloudEvent without `data`, or whose `data_base64` is not base64 of JSON.
    #[error("unreadable CloudEvent data: {reason}")]
    BadData {
        /// What is wrong with the data.
        reason: &'static str,
        /// The decoder's error, when there was one.
        #[source]
        source: Option<BoxError>,
    },
    /// Neither the event's `event_id` nor the CloudEvent `id` is a UUID.
    #[error("no event id: neither data.event_id nor the CloudEvent id is a UUID")]
    NoEventId,
}

/// The message in a body Dapr delivered for `topic`: a structured CloudEvent, or a bare event JSON.
///
/// The id is the CloudEvent `id` (our publisher sets it to the event's `event_id`); for an envelope
/// Dapr made itself (type `com.dapr.event.sent`, random id) and for a bare event it is the event's
/// own `event_id`. The key is the `partitionkey` extension, else the event's `task_id`.
pub fn message_from_delivery(body: &[u8], topic: &str) -> Result<Message, DeliveryError> {
    let value: Value = serde_json::from_slice(body).map_err(DeliveryError::NotJson)?;
    let Value::Object(envelope) = value else {
        return Err(DeliveryError::NotAnObject);
    };
    if envelope.contains_key("specversion") {
        from_cloud_event(&envelope, topic)
    } else {
        from_bare_event(Value::Object(envelope), topic)
    }
}

fn from_cloud_event(envelope: &Map<String, Value>, topic: &str) -> Result<Message, DeliveryError> {
    let payload = cloud_event_data(envelope)?;
    let text = |name: &str| envelope.get(name).and_then(Value::as_str);
    let topic = text("topic").unwrap_or(topic).to_owned();
    let envelope_id = text("id")
        .and_then(|id| Uuid::parse_str(id).ok())
        .map(EventId);
    // An envelope Dapr made itself has a random id: the event's own id is the one that repeats on
    // redelivery and republication. An envelope made by a publisher (ours) carries the event id.
    let made_by_dapr = text("type").is_none_or(|kind| kind == DAPR_DEFAULT_TYPE);
    let id = if made_by_dapr {
        event_id_of(&payload).or(envelope_id)
    } else {
        envelope_id.or_else(|| event_id_of(&payload))
    }
    .ok_or(DeliveryError::NoEventId)?;
    let key = text("partitionkey")
        .map(str::to_owned)
        .or_else(|| task_id_of(&payload))
        .unwrap_or_default();
    let event_type = match text("type") {
        Some(kind) if kind != DAPR_DEFAULT_TYPE => kind.to_owned(),
        _ => derived_type(&topic, &payload),
    };
    Ok(Message {
        id,
        topic,
        key,
        event_type,
        payload,
    })
}

fn from_bare_event(payload: Value, topic: &str) -> Result<Message, DeliveryError> {
    let id = event_id_of(&payload).ok_or(DeliveryError::NoEventId)?;
    Ok(Message {
        id,
        topic: topic.to_owned(),
        key: task_id_of(&payload).unwrap_or_default(),
        event_type: derived_type(topic, &payload),
        payload,
    })
}

/// `data`, or `data_base64` decoded; a string holding a JSON object or array is unwrapped (some
/// publishers send JSON as text).
fn cloud_event_data(envelope: &Map<String, Value>) -> Result<Value, DeliveryError> {
    if let Some(encoded) = envelope.get("data_base64") {
        let encoded = encoded.as_str().ok_or(DeliveryError::BadData {
            reason: "data_base64 is not a string",
            source: None,
        })?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| DeliveryError::BadData {
                reason: "data_base64 is not base64",
                source: Some(e.into()),
            })?;
        return serde_json::from_slice(&bytes).map_err(|e| DeliveryError::BadData {
            reason: "data_base64 is not JSON",
            source: Some(e.into()),
        });
    }
    match envelope.get("data") {
        Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
            Ok(parsed @ (Value::Object(_) | Value::Array(_))) => Ok(parsed),
            _ => Ok(Value::String(text.clone())),
        },
        Some(data) => Ok(data.clone()),
        None => Err(DeliveryError::BadData {
            reason: "the CloudEvent has no data",
            source: None,
        }),
    }
}

fn event_id_of(payload: &Value) -> Option<EventId> {
    payload
        .get("event_id")?
        .as_str()
        .and_then(|id| Uuid::parse_str(id).ok())
        .map(EventId)
}

fn task_id_of(payload: &Value) -> Option<String> {
    match payload.get("task_id")? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// The CloudEvents type our publisher would have given this event, or empty for a foreign event.
fn derived_type(topic: &str, payload: &Value) -> String {
    DomainEvent::decode(topic, payload)
        .map(|event| event.cloud_event_type())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Message {
        Message {
            id: EventId(Uuid::now_v7()),
            topic: "task-events".into(),
            key: "42".into(),
            event_type: "com.todo.task.completed".into(),
            payload: json!({ "event_id": Uuid::nil(), "schema_version": 1, "task_id": 42,
                             "big": 9_007_199_254_740_993_i64, "f": 1.5 }),
        }
    }

    /// What daprd delivers for an event we published: our envelope plus its own attributes.
    fn as_delivered(message: &Message) -> Value {
        let mut event = to_cloud_event(message, "todo-api");
        let map = event.as_object_mut().unwrap();
        map.insert("topic".into(), json!(message.topic));
        map.insert("pubsubname".into(), json!("kafka-pubsub"));
        map.insert("traceid".into(), json!("00-abc-def-01"));
        map.insert("time".into(), json!("2026-01-01T00:00:00Z"));
        event
    }

    #[test]
    fn a_published_message_comes_back_unchanged() {
        let mut sent = message();
        sent.payload["event_id"] = json!(sent.id);
        let body = serde_json::to_vec(&as_delivered(&sent)).unwrap();
        assert_eq!(message_from_delivery(&body, "ignored").unwrap(), sent);
    }

    #[test]
    fn the_envelope_has_the_documented_attributes() {
        let sent = message();
        let event = to_cloud_event(&sent, "todo-api");
        assert_eq!(event["specversion"], "1.0");
        assert_eq!(event["id"], sent.id.to_string());
        assert_eq!(event["type"], "com.todo.task.completed");
        assert_eq!(event["source"], "todo-api");
        assert_eq!(event["subject"], "42");
        assert_eq!(event["partitionkey"], "42");
        assert_eq!(event["datacontenttype"], "application/json");
        assert_eq!(event["data"], sent.payload);
    }

    #[test]
    fn an_envelope_id_that_is_no_uuid_falls_back_to_the_event_id() {
        let sent = message();
        let mut delivered = as_delivered(&sent);
        delivered["id"] = json!("not-a-uuid");
        let body = serde_json::to_vec(&delivered).unwrap();
        assert_eq!(
            message_from_delivery(&body, "t").unwrap().id,
            EventId(Uuid::nil())
        );
    }

    #[test]
    fn the_random_id_of_an_envelope_dapr_made_is_ignored() {
        let sent = message();
        let mut delivered = as_delivered(&sent);
        delivered["type"] = json!("com.dapr.event.sent");
        let body = serde_json::to_vec(&delivered).unwrap();
        assert_eq!(
            message_from_delivery(&body, "t").unwrap().id,
            EventId(Uuid::nil())
        );
    }

    #[test]
    fn base64_data_and_json_in_a_string_are_read() {
        let sent = message();
        let mut delivered = as_delivered(&sent);
        let map = delivered.as_object_mut().unwrap();
        let data = map.remove("data").unwrap();
        map.insert(
            "data_base64".into(),
            json!(base64::engine::general_purpose::STANDARD.encode(data.to_string())),
        );
        let body = serde_json::to_vec(&delivered).unwrap();
        assert_eq!(
            message_from_delivery(&body, "t").unwrap().payload,
            sent.payload
        );

        let mut delivered = as_delivered(&sent);
        delivered["data"] = json!(sent.payload.to_string());
        let body = serde_json::to_vec(&delivered).unwrap();
        assert_eq!(
            message_from_delivery(&body, "t").unwrap().payload,
            sent.payload
        );
    }

    #[test]
    fn a_bare_event_is_tolerated() {
        let payload = json!({ "event_id": Uuid::nil(), "schema_version": 1, "task_id": 7 });
        let body = serde_json::to_vec(&payload).unwrap();
        let message = message_from_delivery(&body, "reminders").unwrap();
        assert_eq!(message.id, EventId(Uuid::nil()));
        assert_eq!(message.key, "7");
        assert_eq!(message.topic, "reminders");
        assert_eq!(message.payload, payload);
    }

    #[test]
    fn the_type_of_a_dapr_wrapped_event_is_derived_from_the_event() {
        let event = json!({
            "event_id": Uuid::nil(), "schema_version": 1, "task_id": 1, "user_id": Uuid::nil(),
            "title": "x", "due_at": "2025-12-31T18:00:00Z", "remind_at": "2025-12-31T17:00:00Z"
        });
        let delivered = json!({ "specversion": "1.0", "id": Uuid::new_v4(), "source": "x",
                                "type": "com.dapr.event.sent", "topic": "reminders", "data": event });
        let body = serde_json::to_vec(&delivered).unwrap();
        assert_eq!(
            message_from_delivery(&body, "reminders")
                .unwrap()
                .event_type,
            "com.todo.reminder.due"
        );
    }

    #[test]
    fn undecodable_deliveries_say_why() {
        assert!(matches!(
            message_from_delivery(b"{nope", "t"),
            Err(DeliveryError::NotJson(_))
        ));
        assert!(matches!(
            message_from_delivery(b"[1]", "t"),
            Err(DeliveryError::NotAnObject)
        ));
        assert!(matches!(
            message_from_delivery(br#"{"task_id": 1}"#, "t"),
            Err(DeliveryError::NoEventId)
        ));
        assert!(matches!(
            message_from_delivery(br#"{"specversion":"1.0","id":"x"}"#, "t"),
            Err(DeliveryError::BadData { .. })
        ));
        assert!(matches!(
            message_from_delivery(br#"{"specversion":"1.0","id":"x","data_base64":"%%"}"#, "t"),
            Err(DeliveryError::BadData { .. })
        ));
    }
}
