//! The events of SPEC §4 and the message envelope that carries them over a bus.
//!
//! The JSON of each event is part of the public contract: field names, snake_case enums and RFC 3339 UTC
//! timestamps are exactly as documented, and every event carries `event_id` and `schema_version`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{EventId, Status, Task, TaskId, UserId};

/// The version of the event schemas this crate writes.
pub const SCHEMA_VERSION: u32 = 1;

/// Topic names.
pub mod topics {
    /// Every create/update/complete/delete; consumed by the recurring and audit services.
    pub const TASK_EVENTS: &str = "task-events";
    /// A reminder is due; consumed by the notification service.
    pub const REMINDERS: &str = "reminders";
    /// Status changes, for the real-time UI stream.
    pub const TASK_UPDATES: &str = "task-updates";

    /// Where a consumer parks the messages of `topic` it can never handle: `<topic>.dlq`.
    pub fn dead_letter(topic: &str) -> String {
        format!("{topic}.dlq")
    }
}

/// Consumer group names.
pub mod consumers {
    /// Creates next occurrences.
    pub const RECURRING: &str = "recurring-task-service";
    /// Delivers reminders.
    pub const NOTIFICATION: &str = "notification-service";
    /// Keeps the audit log.
    pub const AUDIT: &str = "audit-service";
    /// The API, scheduling the reminders of occurrences the recurring service created.
    pub const API_REMINDERS: &str = "api-reminders";
    /// Every API replica, feeding its users' live streams from `task-events` (every change of a task).
    pub const API_STREAM_TASK_EVENTS: &str = "api-stream-task-events";
    /// Every API replica, feeding its users' live streams from `task-updates`.
    pub const API_STREAM_TASK_UPDATES: &str = "api-stream-task-updates";
    /// Every API replica, feeding its users' live streams from `reminders`.
    pub const API_STREAM_REMINDERS: &str = "api-stream-reminders";
}

/// Scheduler job names.
pub mod jobs {
    /// The prefix of a task's reminder job: `reminder-task-{task_id}`.
    pub const REMINDER_PREFIX: &str = "reminder-task-";
}

/// What happened to a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskEventType {
    /// Created (including a next occurrence).
    Created,
    /// Changed (including reopened).
    Updated,
    /// Marked completed.
    Completed,
    /// Deleted.
    Deleted,
}

impl TaskEventType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskEventType::Created => "created",
            TaskEventType::Updated => "updated",
            TaskEventType::Completed => "completed",
            TaskEventType::Deleted => "deleted",
        }
    }
}

/// `task-events`: a change to a task, with the full task after the change (before it, for `deleted`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskEvent {
    /// Unique per event.
    pub event_id: EventId,
    /// Always [`SCHEMA_VERSION`] when written by this crate.
    pub schema_version: u32,
    /// What happened.
    pub event_type: TaskEventType,
    /// The task.
    pub task_id: TaskId,
    /// Its owner.
    pub user_id: UserId,
    /// The full task.
    pub task_data: Task,
    /// When it happened.
    pub timestamp: DateTime<Utc>,
}

impl TaskEvent {
    /// An event about `task`.
    pub fn new(
        event_id: EventId,
        event_type: TaskEventType,
        task: &Task,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            event_id,
            schema_version: SCHEMA_VERSION,
            event_type,
            task_id: task.id,
            user_id: task.user_id,
            task_data: task.clone(),
            timestamp: at,
        }
    }
}

/// `reminders`: a reminder is due for a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderEvent {
    /// Unique per event.
    pub event_id: EventId,
    /// Always [`SCHEMA_VERSION`] when written by this crate.
    pub schema_version: u32,
    /// The task.
    pub task_id: TaskId,
    /// Who to remind.
    pub user_id: UserId,
    /// The task's title.
    pub title: String,
    /// The task's due date.
    pub due_at: DateTime<Utc>,
    /// When the reminder was due.
    pub remind_at: DateTime<Utc>,
}

/// The only `task-updates` event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskUpdateType {
    /// The task's status changed.
    StatusChanged,
}

/// `task-updates`: a task's status changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskUpdateEvent {
    /// Unique per event.
    pub event_id: EventId,
    /// Always [`SCHEMA_VERSION`] when written by this crate.
    pub schema_version: u32,
    /// Always `status_changed`.
    pub event_type: TaskUpdateType,
    /// The task.
    pub task_id: TaskId,
    /// Its owner.
    pub user_id: UserId,
    /// Status before.
    pub old_status: Status,
    /// Status after.
    pub new_status: Status,
    /// When it happened.
    pub timestamp: DateTime<Utc>,
}

/// Any event the system publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // short-lived values; boxing would only add noise at every use
pub enum DomainEvent {
    /// On `task-events`.
    Task(TaskEvent),
    /// On `reminders`.
    Reminder(ReminderEvent),
    /// On `task-updates`.
    TaskUpdate(TaskUpdateEvent),
}

impl DomainEvent {
    /// The topic it is published on.
    pub fn topic(&self) -> &'static str {
        match self {
            DomainEvent::Task(_) => topics::TASK_EVENTS,
            DomainEvent::Reminder(_) => topics::REMINDERS,
            DomainEvent::TaskUpdate(_) => topics::TASK_UPDATES,
        }
    }

    /// Its id.
    pub fn event_id(&self) -> EventId {
        match self {
            DomainEvent::Task(e) => e.event_id,
            DomainEvent::Reminder(e) => e.event_id,
            DomainEvent::TaskUpdate(e) => e.event_id,
        }
    }

    /// The task it is about; also the partition key, so events of one task stay in order.
    pub fn task_id(&self) -> TaskId {
        match self {
            DomainEvent::Task(e) => e.task_id,
            DomainEvent::Reminder(e) => e.task_id,
            DomainEvent::TaskUpdate(e) => e.task_id,
        }
    }

    /// The user it concerns.
    pub fn user_id(&self) -> UserId {
        match self {
            DomainEvent::Task(e) => e.user_id,
            DomainEvent::Reminder(e) => e.user_id,
            DomainEvent::TaskUpdate(e) => e.user_id,
        }
    }

    /// The CloudEvents `type`, such as `com.todo.task.completed`.
    pub fn cloud_event_type(&self) -> String {
        match self {
            DomainEvent::Task(e) => format!("com.todo.task.{}", e.event_type.as_str()),
            DomainEvent::Reminder(_) => "com.todo.reminder.due".to_owned(),
            DomainEvent::TaskUpdate(_) => "com.todo.task.status_changed".to_owned(),
        }
    }

    /// The event as a bus message.
    pub fn to_message(&self) -> Message {
        let payload = match self {
            DomainEvent::Task(e) => serde_json::to_value(e),
            DomainEvent::Reminder(e) => serde_json::to_value(e),
            DomainEvent::TaskUpdate(e) => serde_json::to_value(e),
        }
        .expect("events serialise to JSON: every field is a plain value");
        Message {
            id: self.event_id(),
            topic: self.topic().to_owned(),
            key: self.task_id().to_string(),
            event_type: self.cloud_event_type(),
            payload,
        }
    }

    /// Decodes a message's payload by its topic.
    pub fn decode(topic: &str, payload: &serde_json::Value) -> Result<DomainEvent, DecodeError> {
        let event = match topic {
            // Read from the borrowed value: every in-process consumer decodes each message, and
            // `from_value` would first copy the whole tree (the copy and its drop were about 9 % of
            // the server's CPU during creates).
            topics::TASK_EVENTS => DomainEvent::Task(TaskEvent::deserialize(payload)?),
            topics::REMINDERS => DomainEvent::Reminder(ReminderEvent::deserialize(payload)?),
            topics::TASK_UPDATES => DomainEvent::TaskUpdate(TaskUpdateEvent::deserialize(payload)?),
            other => {
                return Err(DecodeError::UnknownTopic {
                    topic: other.to_owned(),
                })
            }
        };
        supported_version(match &event {
            DomainEvent::Task(e) => e.schema_version,
            DomainEvent::Reminder(e) => e.schema_version,
            DomainEvent::TaskUpdate(e) => e.schema_version,
        })?;
        Ok(event)
    }
}

/// Refuses a payload of a schema version this build does not know.
fn supported_version(version: u32) -> Result<(), DecodeError> {
    if version == SCHEMA_VERSION {
        Ok(())
    } else {
        Err(DecodeError::UnsupportedVersion(version))
    }
}

/// What every event carries at its top level, whatever its topic: enough to route it (to its user's
/// live stream) without decoding the rest, such as a task event's whole task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventHeader {
    /// The event id.
    pub event_id: EventId,
    /// The task it is about.
    pub task_id: TaskId,
    /// The task's owner.
    pub user_id: UserId,
}

impl EventHeader {
    /// Reads the header of a message on one of the event topics, refusing an unknown topic or
    /// schema version as [`DomainEvent::decode`] does.
    pub fn decode(topic: &str, payload: &serde_json::Value) -> Result<EventHeader, DecodeError> {
        if ![topics::TASK_EVENTS, topics::REMINDERS, topics::TASK_UPDATES].contains(&topic) {
            return Err(DecodeError::UnknownTopic {
                topic: topic.to_owned(),
            });
        }
        #[derive(Deserialize)]
        struct Versioned {
            event_id: EventId,
            schema_version: u32,
            task_id: TaskId,
            user_id: UserId,
        }
        let read = Versioned::deserialize(payload)?;
        supported_version(read.schema_version)?;
        Ok(EventHeader {
            event_id: read.event_id,
            task_id: read.task_id,
            user_id: read.user_id,
        })
    }
}

impl TaskEventType {
    /// The `event_type` of a `task-events` payload, read without decoding the rest: a consumer that
    /// acts on some types only decodes the events it acts on. `None` when it cannot be read (the
    /// full decode then reports why).
    pub fn peek(payload: &serde_json::Value) -> Option<TaskEventType> {
        payload
            .get("event_type")
            .and_then(|t| TaskEventType::deserialize(t).ok())
    }
}

/// A message could not be decoded into an event; such a message is poison and goes to a dead letter.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON of the expected shape.
    #[error("malformed event: {0}")]
    Malformed(#[from] serde_json::Error),
    /// A topic this crate does not know.
    #[error("unknown topic `{topic}`")]
    UnknownTopic {
        /// The topic the message came from.
        topic: String,
    },
    /// A schema version this crate cannot read.
    #[error("unsupported schema_version {0}")]
    UnsupportedVersion(u32),
}

/// What a bus carries: a keyed JSON payload with an id, ready to wrap in a CloudEvent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// The event id (CloudEvents `id`).
    pub id: EventId,
    /// Topic to publish on.
    pub topic: String,
    /// Partition key: the task id.
    pub key: String,
    /// CloudEvents `type`.
    pub event_type: String,
    /// The event JSON.
    pub payload: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::model::{NewTask, SeriesId, TaskId};

    #[test]
    fn task_update_events_have_the_documented_json() {
        let at = Utc.with_ymd_and_hms(2025, 12, 30, 12, 0, 0).unwrap();
        let event = TaskUpdateEvent {
            event_id: EventId(uuid::Uuid::nil()),
            schema_version: SCHEMA_VERSION,
            event_type: TaskUpdateType::StatusChanged,
            task_id: TaskId(123),
            user_id: UserId(uuid::Uuid::nil()),
            old_status: Status::Pending,
            new_status: Status::Completed,
            timestamp: at,
        };
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            json!({
                "event_id": "00000000-0000-0000-0000-000000000000",
                "schema_version": 1,
                "event_type": "status_changed",
                "task_id": 123,
                "user_id": "00000000-0000-0000-0000-000000000000",
                "old_status": "pending",
                "new_status": "completed",
                "timestamp": "2025-12-30T12:00:00Z"
            })
        );
    }

    #[test]
    fn task_events_round_trip_through_a_message() {
        let at = Utc.with_ymd_and_hms(2025, 12, 30, 12, 0, 0).unwrap();
        let task = Task::create(
            TaskId(9),
            UserId(uuid::Uuid::nil()),
            NewTask::titled("Buy groceries").unwrap(),
            SeriesId(uuid::Uuid::nil()),
            at,
        );
        let event = DomainEvent::Task(TaskEvent::new(
            EventId(uuid::Uuid::now_v7()),
            TaskEventType::Completed,
            &task,
            at,
        ));
        let message = event.to_message();
        assert_eq!(message.key, "9");
        assert_eq!(message.event_type, "com.todo.task.completed");
        assert_eq!(message.payload["event_type"], "completed");
        assert_eq!(message.payload["timestamp"], "2025-12-30T12:00:00Z");
        assert_eq!(message.payload["task_data"]["priority"], "medium");
        assert_eq!(
            DomainEvent::decode(&message.topic, &message.payload).unwrap(),
            event
        );
    }

    #[test]
    fn undecodable_messages_are_errors_not_panics() {
        assert!(matches!(
            DomainEvent::decode("task-events", &json!({"nope": 1})),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(
            DomainEvent::decode("other", &json!({})),
            Err(DecodeError::UnknownTopic { .. })
        ));
        let mut reminder = json!({
            "event_id": uuid::Uuid::nil(), "schema_version": 2, "task_id": 1,
            "user_id": uuid::Uuid::nil(), "title": "x",
            "due_at": "2025-12-31T18:00:00Z", "remind_at": "2025-12-31T17:00:00Z"
        });
        assert!(matches!(
            DomainEvent::decode("reminders", &reminder),
            Err(DecodeError::UnsupportedVersion(2))
        ));
        reminder["schema_version"] = json!(1);
        assert!(DomainEvent::decode("reminders", &reminder).is_ok());
    }

    #[test]
    fn the_header_and_the_peeked_type_agree_with_the_full_decode() {
        let at = Utc.with_ymd_and_hms(2025, 12, 30, 12, 0, 0).unwrap();
        let owner = UserId(uuid::Uuid::from_u128(7));
        let task = Task::create(
            TaskId(9),
            owner,
            NewTask::titled("Buy groceries").unwrap(),
            SeriesId(uuid::Uuid::nil()),
            at,
        );
        let events = [
            DomainEvent::Task(TaskEvent::new(
                EventId(uuid::Uuid::now_v7()),
                TaskEventType::Deleted,
                &task,
                at,
            )),
            DomainEvent::TaskUpdate(TaskUpdateEvent {
                event_id: EventId(uuid::Uuid::now_v7()),
                schema_version: SCHEMA_VERSION,
                event_type: TaskUpdateType::StatusChanged,
                task_id: task.id,
                user_id: owner,
                old_status: Status::Pending,
                new_status: Status::Completed,
                timestamp: at,
            }),
            DomainEvent::Reminder(ReminderEvent {
                event_id: EventId(uuid::Uuid::now_v7()),
                schema_version: SCHEMA_VERSION,
                task_id: task.id,
                user_id: owner,
                title: "Buy groceries".into(),
                due_at: at,
                remind_at: at,
            }),
        ];
        for event in &events {
            let message = event.to_message();
            let header = EventHeader::decode(&message.topic, &message.payload).unwrap();
            assert_eq!(header.event_id, event.event_id(), "{}", message.topic);
            assert_eq!(header.user_id, owner, "{}", message.topic);
            assert_eq!(header.task_id, task.id, "{}", message.topic);
        }
        let payload = events[0].to_message().payload;
        assert_eq!(TaskEventType::peek(&payload), Some(TaskEventType::Deleted));
        assert_eq!(
            TaskEventType::peek(&json!({"event_type": "exploded"})),
            None
        );
        assert_eq!(TaskEventType::peek(&json!([1])), None);

        // The header refuses what the full decode refuses.
        let mut payload = payload;
        assert!(matches!(
            EventHeader::decode("other", &payload),
            Err(DecodeError::UnknownTopic { .. })
        ));
        payload["schema_version"] = json!(2);
        assert!(matches!(
            EventHeader::decode(topics::TASK_EVENTS, &payload),
            Err(DecodeError::UnsupportedVersion(2))
        ));
        assert!(matches!(
            EventHeader::decode(topics::TASK_EVENTS, &json!({"user_id": 1})),
            Err(DecodeError::Malformed(_))
        ));
    }
}
