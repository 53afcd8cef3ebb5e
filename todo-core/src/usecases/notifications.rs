//! The notification service's in-app inbox: each `reminders` event is stored once as a
//! [`Notification`](crate::ports::Notification), which the user lists and marks read later; with
//! [`ReminderDeliveries`], a delivery is also recorded for each configured channel (email, push).
//!
//! Delivery is at-least-once and a duplicate firing carries the same `event_id`, so the store's
//! idempotent [`record`](crate::ports::NotificationStore::record) makes a redelivery store nothing new.

use std::sync::Arc;

use async_trait::async_trait;
use tracing::debug;

use super::{decode_reminder_event, ReminderDeliveries};
use crate::error::PortError;
use crate::events::{Message, ReminderEvent};
use crate::ports::{Clock, HandleError, MessageHandler, Notification, NotificationStore};

/// Handles `reminders` for the notification service: stores one in-app notification per firing.
#[derive(Clone)]
pub struct NotificationHandler {
    store: Arc<dyn NotificationStore>,
    clock: Arc<dyn Clock>,
    deliveries: Option<ReminderDeliveries>,
}

impl NotificationHandler {
    /// Builds the handler over the notification store; `clock` stamps `created_at`.
    pub fn new(store: Arc<dyn NotificationStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            deliveries: None,
        }
    }

    /// Also records a delivery of each reminder on every channel `deliveries` has.
    #[must_use]
    pub fn with_deliveries(mut self, deliveries: ReminderDeliveries) -> Self {
        self.deliveries = Some(deliveries);
        self
    }

    /// Stores the event's notification, created now; `true` if it was new, `false` for a duplicate
    /// or redelivered firing (which changes nothing).
    #[tracing::instrument(name = "notification", skip_all, fields(event_id = %event.event_id, task_id = %event.task_id, user_id = %event.user_id), err(level = "debug"))]
    pub async fn handle_event(&self, event: &ReminderEvent) -> Result<bool, PortError> {
        let notification = Notification::from_reminder(event, self.clock.now());
        let new = self.store.record(&notification).await?;
        // Also for a duplicate: the first handling may have stopped between the two (enqueueing is
        // idempotent, so this adds only what is missing).
        if let Some(deliveries) = &self.deliveries {
            deliveries.enqueue(event).await?;
        }
        debug!(
            event_id = %event.event_id,
            task_id = %event.task_id,
            user_id = %event.user_id,
            new,
            "in-app notification recorded"
        );
        Ok(new)
    }
}

/// `reminders` → [`NotificationHandler::handle_event`]. An undecodable message is dropped (dead
/// letter); a storage failure is retried: redelivery is harmless, since recording is idempotent.
#[async_trait]
impl MessageHandler for NotificationHandler {
    #[tracing::instrument(name = "notification_consumer", skip_all, fields(event_id = %message.id))]
    async fn handle(&self, message: &Message) -> Result<(), HandleError> {
        let event = decode_reminder_event(message)?;
        self.handle_event(&event)
            .await
            .map(drop)
            .map_err(|e| HandleError::retry("storing the notification", e))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration as StdDuration;

    use crate::events::DomainEvent;
    use chrono::{DateTime, Duration, Utc};
    use mockall::mock;
    use serde_json::json;
    use uuid::Uuid;

    use super::*;
    use crate::error::chain;
    use crate::events::{topics, TaskUpdateEvent, TaskUpdateType, SCHEMA_VERSION};
    use crate::memory::{InMemoryNotificationStore, ManualClock};
    use crate::model::{EventId, Status, TaskId, UserId};
    use crate::ports::PortResult;
    use crate::usecases::mocks::{alice, noon, FixedClock};

    mock! {
        Store {}
        #[async_trait]
        impl NotificationStore for Store {
            async fn record(&self, notification: &Notification) -> PortResult<bool>;
            async fn list(&self, user: UserId, limit: usize) -> PortResult<Vec<Notification>>;
            async fn mark_read(&self, user: UserId, id: Uuid, at: DateTime<Utc>) -> PortResult<bool>;
        }
    }

    fn reminder() -> ReminderEvent {
        ReminderEvent {
            event_id: EventId(Uuid::from_u128(0xF1E1)),
            schema_version: SCHEMA_VERSION,
            task_id: TaskId(7),
            user_id: alice(),
            title: "Buy groceries".into(),
            due_at: noon() + Duration::hours(1),
            remind_at: noon(),
        }
    }

    fn message_of(event: &ReminderEvent) -> Message {
        DomainEvent::Reminder(event.clone()).to_message()
    }

    fn mocked(store: MockStore) -> NotificationHandler {
        NotificationHandler::new(
            Arc::new(store),
            Arc::new(FixedClock(noon() + Duration::seconds(3))),
        )
    }

    #[tokio::test]
    async fn a_reminder_is_recorded_as_an_unread_notification_created_now() {
        let event = reminder();
        let expected = Notification {
            id: event.event_id.0,
            user_id: event.user_id,
            task_id: event.task_id,
            title: event.title.clone(),
            due_at: event.due_at,
            remind_at: event.remind_at,
            created_at: noon() + Duration::seconds(3),
            read_at: None,
        };
        let mut store = MockStore::new();
        store
            .expect_record()
            .withf(move |n| *n == expected)
            .times(1)
            .returning(|_| Ok(true));
        assert!(mocked(store).handle_event(&event).await.unwrap());
    }

    #[tokio::test]
    async fn a_duplicate_delivery_stores_nothing_new() {
        let store = Arc::new(InMemoryNotificationStore::new());
        let clock = Arc::new(ManualClock::new(noon()));
        let handler = NotificationHandler::new(store.clone(), clock.clone());
        let message = message_of(&reminder());

        handler.handle(&message).await.unwrap();
        clock.advance(Duration::minutes(5));
        handler
            .handle(&message)
            .await
            .expect("a redelivery is accepted");
        assert!(
            !handler.handle_event(&reminder()).await.unwrap(),
            "a duplicate firing is not new"
        );

        let inbox = store.list(alice(), 10).await.unwrap();
        assert_eq!(inbox.len(), 1, "one notification per firing: {inbox:?}");
        assert_eq!(
            inbox[0].created_at,
            noon(),
            "the first delivery's notification is kept"
        );
    }

    #[tokio::test]
    async fn a_storage_failure_is_retried() {
        let mut store = MockStore::new();
        store.expect_record().times(1).returning(|_| {
            Err(PortError::unavailable("database down").with_retry_after(StdDuration::from_secs(1)))
        });
        let result = mocked(store).handle(&message_of(&reminder())).await;
        assert!(
            matches!(&result, Err(e @ HandleError::Retry { .. }) if chain(e).to_string().contains("database down")),
            "got {result:?}"
        );
    }

    #[tokio::test]
    async fn any_storage_error_is_retried_not_dropped() {
        let mut store = MockStore::new();
        store
            .expect_record()
            .times(1)
            .returning(|_| Err(PortError::other("writing", "disk full")));
        let result = mocked(store).handle(&message_of(&reminder())).await;
        assert!(
            matches!(result, Err(HandleError::Retry { .. })),
            "got {result:?}"
        );
    }

    #[tokio::test]
    async fn handle_event_reports_storage_errors_as_they_are() {
        let mut store = MockStore::new();
        store
            .expect_record()
            .returning(|_| Err(PortError::unavailable("database down")));
        let result = mocked(store).handle_event(&reminder()).await;
        assert!(
            matches!(&result, Err(PortError::Unavailable { context, .. }) if context == "database down"),
            "got {result:?}"
        );
    }

    #[tokio::test]
    async fn a_malformed_payload_is_dropped_without_touching_the_store() {
        // No expectations: any call to the store fails the test.
        let handler = mocked(MockStore::new());
        let mut message = message_of(&reminder());
        message.payload = json!({"event_id": "not a uuid", "task_id": "seven"});
        let result = handler.handle(&message).await;
        assert!(
            matches!(result, Err(HandleError::Drop { .. })),
            "got {result:?}"
        );
    }

    #[tokio::test]
    async fn an_unsupported_schema_version_is_dropped() {
        let handler = mocked(MockStore::new());
        let mut message = message_of(&reminder());
        message.payload["schema_version"] = json!(99);
        let result = handler.handle(&message).await;
        assert!(
            matches!(&result, Err(e @ HandleError::Drop { .. }) if chain(e).to_string().contains("99")),
            "got {result:?}"
        );
    }

    #[tokio::test]
    async fn an_event_of_another_topic_is_dropped() {
        let handler = mocked(MockStore::new());
        let update = DomainEvent::TaskUpdate(TaskUpdateEvent {
            event_id: EventId(Uuid::from_u128(2)),
            schema_version: SCHEMA_VERSION,
            event_type: TaskUpdateType::StatusChanged,
            task_id: TaskId(7),
            user_id: alice(),
            old_status: Status::Pending,
            new_status: Status::Completed,
            timestamp: noon(),
        })
        .to_message();
        assert_eq!(update.topic, topics::TASK_UPDATES);
        let result = handler.handle(&update).await;
        assert!(
            matches!(&result, Err(e @ HandleError::Drop { .. }) if chain(e).to_string().contains("not a reminder")),
            "got {result:?}"
        );
    }

    #[tokio::test]
    async fn notifications_of_two_firings_are_both_kept() {
        let store = Arc::new(InMemoryNotificationStore::new());
        let handler = NotificationHandler::new(store.clone(), Arc::new(FixedClock(noon())));
        let first = reminder();
        let second = ReminderEvent {
            event_id: EventId(Uuid::from_u128(0xF1E2)),
            remind_at: noon() + Duration::minutes(30),
            ..reminder()
        };
        assert!(handler.handle_event(&first).await.unwrap());
        assert!(handler.handle_event(&second).await.unwrap());
        let inbox = store.list(alice(), 10).await.unwrap();
        let ids: Vec<Uuid> = inbox.iter().map(|n| n.id).collect();
        assert_eq!(ids, vec![second.event_id.0, first.event_id.0]);
    }
}
