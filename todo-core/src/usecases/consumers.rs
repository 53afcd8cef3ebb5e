//! Bus consumers: decode a message, hand it to its use case, and say whether to retry or drop.

use async_trait::async_trait;

use super::{AuditHandler, RecurringTaskHandler};
use crate::events::{DomainEvent, Message, ReminderEvent, TaskEvent};
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
