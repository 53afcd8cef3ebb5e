//! How a [`Message`] travels as a Kafka record: CloudEvents' Kafka protocol binding in binary mode.
//!
//! | record part | carries |
//! |---|---|
//! | key | `Message::key` (the task id), so one task's events share a partition |
//! | value | `Message::payload`, the event JSON of SPEC §4 |
//! | header `ce_id` | `Message::id` (the event id, a UUID) |
//! | header `ce_type` | `Message::event_type` (`com.todo.task.completed`, ...) |
//! | header `ce_specversion` | `1.0` |
//! | header `ce_source` | [`KafkaConfig::source`](crate::KafkaConfig::source) |
//! | header `content-type` | `application/json` |
//!
//! The topic is the record's topic. A record that cannot be turned back into a [`Message`] is
//! *poison*; [`decode`] says why, and the consumer runner dead-letters it. A structured-mode
//! CloudEvent (the whole envelope JSON in the value, as Dapr publishes it) is accepted too.

use rdkafka::message::{Header, Headers, OwnedHeaders};
use todo_core::error::BoxError;
use todo_core::events::Message;
use todo_core::model::EventId;
use uuid::Uuid;

/// Header carrying the event id.
pub const HEADER_ID: &str = "ce_id";
/// Header carrying the event type.
pub const HEADER_TYPE: &str = "ce_type";
/// Header carrying the CloudEvents spec version.
pub const HEADER_SPEC_VERSION: &str = "ce_specversion";
/// Header carrying the CloudEvents source.
pub const HEADER_SOURCE: &str = "ce_source";
/// Header carrying the payload's media type.
pub const HEADER_CONTENT_TYPE: &str = "content-type";

/// The CloudEvents version written in [`HEADER_SPEC_VERSION`].
pub const SPEC_VERSION: &str = "1.0";

/// Why a record is not a [`Message`]: it will never decode, however often it is redelivered.
#[derive(Debug, thiserror::Error)]
pub enum PoisonReason {
    /// The record has no value.
    #[error("the record has no value")]
    NoPayload,
    /// The value is not JSON.
    #[error("the value is not JSON")]
    NotJson(#[source] serde_json::Error),
    /// A header the envelope needs is missing.
    #[error("header `{0}` is missing")]
    MissingHeader(&'static str),
    /// A header is present but unusable.
    #[error("header `{name}` is invalid")]
    InvalidHeader {
        /// The header.
        name: &'static str,
        /// What is wrong with it.
        #[source]
        source: BoxError,
    },
    /// The key is not UTF-8.
    #[error("the key is not UTF-8")]
    KeyNotUtf8,
}

/// The headers of a published message.
pub fn headers(message: &Message, source: &str) -> OwnedHeaders {
    let id = message.id.to_string();
    OwnedHeaders::new_with_capacity(5)
        .insert(Header {
            key: HEADER_ID,
            value: Some(id.as_bytes()),
        })
        .insert(Header {
            key: HEADER_TYPE,
            value: Some(message.event_type.as_bytes()),
        })
        .insert(Header {
            key: HEADER_SPEC_VERSION,
            value: Some(SPEC_VERSION.as_bytes()),
        })
        .insert(Header {
            key: HEADER_SOURCE,
            value: Some(source.as_bytes()),
        })
        .insert(Header {
            key: HEADER_CONTENT_TYPE,
            value: Some("application/json".as_bytes()),
        })
}

/// The value of a published message.
pub fn payload(message: &Message) -> Vec<u8> {
    serde_json::to_vec(&message.payload).expect("a serde_json::Value always serialises")
}

/// The last value of header `name`, if present.
pub fn header<'a, H: Headers>(headers: Option<&'a H>, name: &str) -> Option<&'a [u8]> {
    let headers = headers?;
    (0..headers.count())
        .rev()
        .map(|i| headers.get(i))
        .find(|h| h.key == name)
        .and_then(|h| h.value)
}

/// Rebuilds the [`Message`] a record carries, or says why it is poison.
pub fn decode<H: Headers>(
    topic: &str,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: Option<&H>,
) -> Result<Message, PoisonReason> {
    let key = match key {
        Some(bytes) => std::str::from_utf8(bytes)
            .map_err(|_| PoisonReason::KeyNotUtf8)?
            .to_owned(),
        None => String::new(),
    };
    let value = value.ok_or(PoisonReason::NoPayload)?;
    let payload: serde_json::Value =
        serde_json::from_slice(value).map_err(PoisonReason::NotJson)?;

    let Some(id) = header(headers, HEADER_ID) else {
        return decode_structured(topic, key, payload);
    };
    let id = parse_id(id, HEADER_ID)?;
    let event_type =
        header(headers, HEADER_TYPE).ok_or(PoisonReason::MissingHeader(HEADER_TYPE))?;
    let event_type = std::str::from_utf8(event_type)
        .map_err(|e| PoisonReason::InvalidHeader {
            name: HEADER_TYPE,
            source: e.into(),
        })?
        .to_owned();
    Ok(Message {
        id,
        topic: topic.to_owned(),
        key,
        event_type,
        payload,
    })
}

/// A structured-mode CloudEvent: `{"specversion","id","type","data",...}` in the value.
fn decode_structured(
    topic: &str,
    key: String,
    mut envelope: serde_json::Value,
) -> Result<Message, PoisonReason> {
    let is_cloud_event = envelope.get("specversion").is_some() && envelope.get("data").is_some();
    if !is_cloud_event {
        return Err(PoisonReason::MissingHeader(HEADER_ID));
    }
    let id = match envelope.get("id").and_then(|v| v.as_str()) {
        Some(id) => parse_id(id.as_bytes(), HEADER_ID)?,
        None => return Err(PoisonReason::MissingHeader(HEADER_ID)),
    };
    let event_type = envelope
        .get("type")
        .and_then(|v| v.as_str())
        .ok_or(PoisonReason::MissingHeader(HEADER_TYPE))?
        .to_owned();
    let payload = envelope
        .get_mut("data")
        .map(serde_json::Value::take)
        .unwrap_or_default();
    Ok(Message {
        id,
        topic: topic.to_owned(),
        key,
        event_type,
        payload,
    })
}

fn parse_id(bytes: &[u8], name: &'static str) -> Result<EventId, PoisonReason> {
    let text = std::str::from_utf8(bytes).map_err(|e| PoisonReason::InvalidHeader {
        name,
        source: e.into(),
    })?;
    Uuid::parse_str(text)
        .map(EventId)
        .map_err(|e| PoisonReason::InvalidHeader {
            name,
            source: e.into(),
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn message() -> Message {
        Message {
            id: EventId(Uuid::now_v7()),
            topic: "task-events".to_owned(),
            key: "42".to_owned(),
            event_type: "com.todo.task.completed".to_owned(),
            payload: json!({"task_id": 42, "title": "Buy groceries — «bread» 🥛"}),
        }
    }

    #[test]
    fn a_message_survives_the_trip_through_headers_and_value() {
        let sent = message();
        let headers = headers(&sent, "todo-api");
        let value = payload(&sent);
        let decoded = decode(
            "task-events",
            Some(sent.key.as_bytes()),
            Some(&value),
            Some(&headers),
        );
        assert_eq!(decoded.unwrap(), sent);
        assert_eq!(
            header(Some(&headers), HEADER_SOURCE),
            Some("todo-api".as_bytes())
        );
    }

    #[test]
    fn records_without_an_envelope_are_poison() {
        let sent = message();
        let headers = headers(&sent, "s");
        let none: Option<&OwnedHeaders> = None;
        assert!(matches!(
            decode("t", Some(b"1"), None, Some(&headers)),
            Err(PoisonReason::NoPayload)
        ));
        assert!(matches!(
            decode("t", Some(b"1"), Some(b"{not json"), Some(&headers)),
            Err(PoisonReason::NotJson(_))
        ));
        assert!(matches!(
            decode("t", Some(b"1"), Some(b"{}"), none),
            Err(PoisonReason::MissingHeader(HEADER_ID))
        ));
        assert!(matches!(
            decode("t", Some(&[0xff, 0xfe]), Some(b"{}"), Some(&headers)),
            Err(PoisonReason::KeyNotUtf8)
        ));
        let bad_id = OwnedHeaders::new().insert(Header {
            key: HEADER_ID,
            value: Some("not-a-uuid"),
        });
        assert!(matches!(
            decode("t", None, Some(b"{}"), Some(&bad_id)),
            Err(PoisonReason::InvalidHeader { name: "ce_id", .. })
        ));
        let no_type = OwnedHeaders::new().insert(Header {
            key: HEADER_ID,
            value: Some(sent.id.to_string().as_str()),
        });
        assert!(matches!(
            decode("t", None, Some(b"{}"), Some(&no_type)),
            Err(PoisonReason::MissingHeader(HEADER_TYPE))
        ));
    }

    #[test]
    fn a_structured_cloud_event_is_understood() {
        let id = Uuid::now_v7();
        let value = serde_json::to_vec(&json!({
            "specversion": "1.0", "id": id.to_string(), "type": "com.todo.reminder.due",
            "source": "api", "datacontenttype": "application/json", "data": {"task_id": 7}
        }))
        .unwrap();
        let none: Option<&OwnedHeaders> = None;
        let decoded = decode("reminders", Some(b"7"), Some(&value), none).unwrap();
        assert_eq!(decoded.id, EventId(id));
        assert_eq!(decoded.event_type, "com.todo.reminder.due");
        assert_eq!(decoded.payload, json!({"task_id": 7}));
        assert_eq!(decoded.key, "7");
    }
}
