//! Bus consumers: decode a message, hand it to its use case, and say whether to retry or drop.

use async_trait::async_trait;

use super::{AuditHandler, RecurringTaskHandler};
use crate::events::{DomainEvent, Message, ReminderEvent, TaskEvent, TaskEventType};
use crate::ports::{HandleError, MessageHandler};

/// Decodes a `task-events` message for a consumer; anything else is `Drop` (dead-lettered).
pub fn decode_task_event(message: &Message) -> Result<TaskEvent, HandleError> {
    match DomainEvent::decode(&message.topic, &message.payload) {
        Ok(DomainEvent::Task(event)) => Ok(event),
        Ok(_) => Err(HandleError::dropped(
            "decoding a task event",
            format!("not a task event on `{}`", message.topic),
        )),
        Err(e) => Err(HandleError::dropped("decoding a task event", e)),
    }
}

/// Decodes a `reminders` message for a consumer; anything else is `Drop` (dead-lettered).
pub fn decode_reminder_event(message: &Message) -> Result<ReminderEvent, HandleError> {
    match DomainEvent::decode(&message.topic, &message.payload) {
        Ok(DomainEvent::Reminder(event)) => Ok(event),
        Ok(_) => Err(HandleError::dropped(
            "decoding a reminder event",
            format!("not a reminder event on `{}`", message.topic),
        )),
        Err(e) => Err(HandleError::dropped("decoding a reminder event", e)),
    }
}

/// `task-events` → [`RecurringTaskHandler`].
pub struct RecurringConsumer(pub RecurringTaskHandler);

#[async_trait]
impl MessageHandler for RecurringConsumer {
    #[tracing::instrument(name = "recurring_consumer", skip_all, fields(event_id = %message.id))]
    async fn handle(&self, message: &Message) -> Result<(), HandleError> {
        // Only completions and deletions can concern a series: the rest are not decoded further.
        if TaskEventType::peek(&message.payload).is_some_and(|t| !RecurringTaskHandler::acts_on(t))
        {
            return Ok(());
        }
        let event = decode_task_event(message)?;
        self.0
            .handle(&event)
            .await
            .map(drop)
            .map_err(|e| HandleError::from_task_error("handling a recurring task event", e))
    }
}

/// `task-events` → [`AuditHandler`].
pub struct AuditConsumer(pub AuditHandler);

#[async_trait]
impl MessageHandler for AuditConsumer {
    #[tracing::instrument(name = "audit_consumer", skip_all, fields(event_id = %message.id))]
    async fn handle(&self, message: &Message) -> Result<(), HandleError> {
        let event = decode_task_event(message)?;
        self.0
            .handle(&event)
            .await
            .map(drop)
            .map_err(|e| HandleError::from_task_error("recording the audit entry", e))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::events::topics;
    use crate::memory::{InMemoryStateStore, InMemoryTaskRepository, ManualClock, SequentialIds};
    use crate::model::EventId;

    fn recurring() -> RecurringConsumer {
        RecurringConsumer(RecurringTaskHandler::new(
            Arc::new(InMemoryTaskRepository::new()),
            Arc::new(InMemoryStateStore::new()),
            Arc::new(ManualClock::new(chrono::Utc::now())),
            Arc::new(SequentialIds::new()),
        ))
    }

    fn task_event(payload: serde_json::Value) -> Message {
        Message {
            id: EventId(uuid::Uuid::now_v7()),
            topic: topics::TASK_EVENTS.into(),
            key: "1".into(),
            event_type: "com.todo.task.created".into(),
            payload,
        }
    }

    /// The recurring consumer reads only the type of the events it never acts on (creations and
    /// updates): one it cannot read further is not its concern. What it may act on, or whose type
    /// it cannot tell, is decoded in full and dead-lettered if that fails.
    #[tokio::test]
    async fn the_recurring_consumer_decodes_only_the_events_it_may_act_on() {
        let consumer = recurring();
        for ignored in ["created", "updated"] {
            let message = task_event(json!({"event_type": ignored, "task_data": "not a task"}));
            assert!(consumer.handle(&message).await.is_ok(), "{ignored}");
        }
        for decoded in [
            json!({"event_type": "completed", "task_data": "not a task"}),
            json!({"event_type": "deleted", "task_data": "not a task"}),
            json!({"event_type": "exploded", "task_data": "not a task"}),
            json!({"task_data": "not a task"}),
        ] {
            assert!(
                matches!(
                    consumer.handle(&task_event(decoded.clone())).await,
                    Err(HandleError::Drop { .. })
                ),
                "{decoded}"
            );
        }
    }
}
