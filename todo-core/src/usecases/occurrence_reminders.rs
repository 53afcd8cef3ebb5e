//! [`OccurrenceReminders`]: schedules the reminder of each next occurrence, learning of it from its
//! `created` event.
//!
//! The recurring handler creates next occurrences wherever it runs, but reminder jobs belong to the
//! service that owns the scheduler (the api role). That service consumes `task-events` with this
//! handler; the tasks it creates itself were scheduled when they were created, so only occurrences
//! created from a predecessor are acted on.

use std::sync::Arc;

use async_trait::async_trait;

use super::{decode_task_event, reminder_job};
use crate::events::{Message, TaskEventType};
use crate::ports::{Clock, HandleError, MessageHandler, Scheduler};

/// `task-events` → schedules the reminder of each occurrence the recurring handler created.
/// Idempotent: scheduling a job again replaces it with the same job.
#[derive(Clone)]
pub struct OccurrenceReminders {
    scheduler: Arc<dyn Scheduler>,
    clock: Arc<dyn Clock>,
}

impl OccurrenceReminders {
    /// Schedules reminders with `scheduler`, deciding past reminders by `clock`.
    pub fn new(scheduler: Arc<dyn Scheduler>, clock: Arc<dyn Clock>) -> Self {
        Self { scheduler, clock }
    }
}

#[async_trait]
impl MessageHandler for OccurrenceReminders {
    #[tracing::instrument(
        name = "occurrence_reminders",
        skip_all,
        fields(event_id = %message.id, task_id = tracing::field::Empty, user_id = tracing::field::Empty),
    )]
    async fn handle(&self, message: &Message) -> Result<(), HandleError> {
        let event = decode_task_event(message)?;
        let task = &event.task_data;
        let span = tracing::Span::current();
        span.record("task_id", tracing::field::display(task.id));
        span.record("user_id", tracing::field::display(task.user_id));
        let from_recurring = task.series.is_some_and(|s| s.predecessor.is_some());
        if event.event_type != TaskEventType::Created || !from_recurring {
            return Ok(());
        }
        match reminder_job(task, self.clock.now()) {
            Some(job) => self
                .scheduler
                .schedule(job)
                .await
                .map_err(|e| HandleError::retry("scheduling the occurrence's reminder", e)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::error::PortError;
    use crate::events::{DomainEvent, TaskEvent};
    use crate::memory::InMemoryScheduler;
    use crate::model::{EventId, NewTask, SeriesId, Task, TaskId, TaskInput};
    use crate::usecases::mocks::{alice, noon, FixedClock, MockSched};
    use crate::usecases::reminder_job_name;

    /// A weekly task due tomorrow at noon, created a day ago.
    fn weekly() -> Task {
        let new = NewTask::parse(TaskInput {
            title: "Water the plants".into(),
            due_date: Some("2026-03-02T12:00:00Z".into()),
            recurrence: Some(serde_json::json!("weekly")),
            ..TaskInput::default()
        })
        .unwrap();
        Task::create(
            TaskId(7),
            alice(),
            new,
            SeriesId(uuid::Uuid::from_u128(1)),
            noon() - Duration::days(1),
        )
    }

    /// The occurrence the recurring handler creates when `weekly()` is completed now.
    fn next_occurrence() -> Task {
        let mut task = weekly();
        task.complete(noon());
        let next = task.next_occurrence().expect("a weekly task recurs");
        task.successor(TaskId(8), next, noon())
            .expect("the rule has not ended")
    }

    fn event(kind: TaskEventType, task: &Task) -> Message {
        DomainEvent::Task(TaskEvent::new(
            EventId(uuid::Uuid::from_u128(9)),
            kind,
            task,
            noon(),
        ))
        .to_message()
    }

    fn handler(scheduler: Arc<dyn Scheduler>) -> OccurrenceReminders {
        OccurrenceReminders::new(scheduler, Arc::new(FixedClock(noon())))
    }

    #[tokio::test]
    async fn a_created_next_occurrence_gets_its_reminder_scheduled() {
        let scheduler = Arc::new(InMemoryScheduler::new());
        let next = next_occurrence();
        handler(scheduler.clone())
            .handle(&event(TaskEventType::Created, &next))
            .await
            .unwrap();
        let job = scheduler
            .job(&reminder_job_name(next.id))
            .expect("the occurrence's reminder is scheduled");
        assert_eq!(Some(job.due), next.remind_at());
    }

    #[tokio::test]
    async fn a_task_created_by_a_user_or_any_other_event_is_left_alone() {
        let scheduler = Arc::new(InMemoryScheduler::new());
        let reminders = handler(scheduler.clone());
        reminders
            .handle(&event(TaskEventType::Created, &weekly()))
            .await
            .unwrap();
        for kind in [
            TaskEventType::Updated,
            TaskEventType::Completed,
            TaskEventType::Deleted,
        ] {
            reminders
                .handle(&event(kind, &next_occurrence()))
                .await
                .unwrap();
        }
        assert!(scheduler.jobs().is_empty(), "{:?}", scheduler.jobs());
    }

    #[tokio::test]
    async fn a_scheduler_failure_asks_for_a_retry_and_keeps_the_cause() {
        let mut scheduler = MockSched::new();
        scheduler
            .expect_schedule()
            .times(1)
            .returning(|_| Err(PortError::unavailable("scheduler down")));
        let result = handler(Arc::new(scheduler))
            .handle(&event(TaskEventType::Created, &next_occurrence()))
            .await;
        let Err(error) = result else {
            panic!("expected a retry, got {result:?}");
        };
        assert!(error.is_retry());
        assert!(crate::error::chain(&error)
            .to_string()
            .contains("scheduler down"));
    }

    #[tokio::test]
    async fn a_message_that_is_no_task_event_is_dropped() {
        let mut message = event(TaskEventType::Created, &next_occurrence());
        message.payload = serde_json::json!({"schema_version": 1});
        let result = handler(Arc::new(MockSched::new())).handle(&message).await;
        assert!(
            matches!(result, Err(HandleError::Drop { .. })),
            "{result:?}"
        );
    }
}
