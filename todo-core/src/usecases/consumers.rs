//! Bus consumers: decode a message, hand it to its use case, and say whether to retry or drop.

use async_trait::async_trait;

use super::{AuditHandler, RecurringTaskHandler};
use crate::error::TaskError;
use crate::events::{DomainEvent, Message, ReminderEvent, TaskEvent};
use crate::ports::{HandleError, MessageHandler};

/// Decodes a `task-events` message for a consumer; anything else is `Drop` (dead-lettered).
pub fn decode_task_event(message: &Message) -> Result<TaskEvent, HandleError> {
    match DomainEvent::decode(&message.topic, &message.payload) {
        Ok(DomainEvent::Task(event)) => Ok(event),
        Ok(_) => Err(HandleError::Drop(format!(
            "not a task event on `{}`",
            message.topic
        ))),
        Err(e) => Err(HandleError::Drop(e.to_string())),
    }
}

/// Decodes a `reminders` message for a consumer; anything else is `Drop` (dead-lettered).
pub fn decode_reminder_event(message: &Message) -> Result<ReminderEvent, HandleError> {
    match DomainEvent::decode(&message.topic, &message.payload) {
        Ok(DomainEvent::Reminder(event)) => Ok(event),
        Ok(_) => Err(HandleError::Drop(format!(
            "not a reminder event on `{}`",
            message.topic
        ))),
        Err(e) => Err(HandleError::Drop(e.to_string())),
    }
}

fn classify(error: TaskError) -> HandleError {
    match error {
        TaskError::Invalid(e) => HandleError::Drop(e.to_string()),
        other => HandleError::Retry(other.to_string()),
    }
}

/// `task-events` → [`RecurringTaskHandler`].
pub struct RecurringConsumer(pub RecurringTaskHandler);

#[async_trait]
impl MessageHandler for RecurringConsumer {
    async fn handle(&self, message: &Message) -> Result<(), HandleError> {
        let event = decode_task_event(message)?;
        self.0.handle(&event).await.map(drop).map_err(classify)
    }
}

/// `task-events` → [`AuditHandler`].
pub struct AuditConsumer(pub AuditHandler);

#[async_trait]
impl MessageHandler for AuditConsumer {
    async fn handle(&self, message: &Message) -> Result<(), HandleError> {
        let event = decode_task_event(message)?;
        self.0.handle(&event).await.map(drop).map_err(classify)
    }
}
