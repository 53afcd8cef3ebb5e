//! The recurring-task handler: creates the next occurrence when a recurring task is completed and ends
//! the series when its pending occurrence is deleted.
//!
//! Idempotent three ways: the event id is recorded in the same transaction as the new occurrence, a
//! task can have at most one successor (the repository enforces it), and an ended series is remembered
//! in the state store. A duplicate or replayed `completed` event therefore never creates a second
//! occurrence, and next dates are computed from the event's completion time, not the time of handling.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::{debug, info};

use crate::error::{PortError, TaskError};
use crate::events::{consumers, DomainEvent, TaskEvent, TaskEventType};
use crate::model::{EventId, SeriesId, Status, Task};
use crate::ports::{
    Changes, Clock, Concurrency, IdGenerator, ProcessedEvent, StateStore, TaskRepository, TaskWrite,
};

/// What handling one event did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // returned once per event; boxing would only add noise
pub enum RecurringOutcome {
    /// A next occurrence was created.
    Created(Task),
    /// The event, or its effect, was already handled: nothing changed.
    AlreadyHandled,
    /// The task does not recur, or the event is not one this handler acts on.
    Ignored,
    /// The series was ended by deleting its pending occurrence: no further occurrence.
    SeriesEnded,
    /// The rule has no further occurrence (COUNT or UNTIL reached).
    RuleEnded,
}

/// Handles `task-events` for the recurring-task service.
#[derive(Clone)]
pub struct RecurringTaskHandler {
    repo: Arc<dyn TaskRepository>,
    state: Arc<dyn StateStore>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
}

/// The state-store key that records an ended series.
pub(crate) fn series_key(series: SeriesId) -> String {
    format!("recurring-series-ended-{series}")
}

impl RecurringTaskHandler {
    /// Builds the handler over its ports.
    pub fn new(
        repo: Arc<dyn TaskRepository>,
        state: Arc<dyn StateStore>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        Self {
            repo,
            state,
            clock,
            ids,
        }
    }

    /// Whether events of this type can concern a series at all: completions (the next occurrence)
    /// and deletions (the end of the series). The others are ignored.
    pub fn acts_on(event_type: TaskEventType) -> bool {
        matches!(
            event_type,
            TaskEventType::Completed | TaskEventType::Deleted
        )
    }

    /// Handles one `task-events` event.
    #[tracing::instrument(name = "recurring_task", skip_all, fields(event_id = %event.event_id, task_id = %event.task_id, user_id = %event.user_id), err(level = "debug"))]
    pub async fn handle(&self, event: &TaskEvent) -> Result<RecurringOutcome, TaskError> {
        let task = &event.task_data;
        let Some(series) = task.series.filter(|_| task.recurrence.is_some()) else {
            return Ok(RecurringOutcome::Ignored);
        };
        // A deletion ends the series only while the task was pending: a completed one had its next
        // occurrence already.
        let acts = Self::acts_on(event.event_type)
            && (event.event_type == TaskEventType::Completed || task.status == Status::Pending);
        if !acts {
            return Ok(RecurringOutcome::Ignored);
        }
        if self
            .repo
            .is_processed(consumers::RECURRING, event.event_id)
            .await?
        {
            return Ok(RecurringOutcome::AlreadyHandled);
        }
        let processed = ProcessedEvent {
            consumer: consumers::RECURRING.to_owned(),
            event_id: event.event_id,
        };
        if event.event_type == TaskEventType::Deleted {
            self.end_series(task).await?;
            self.mark_processed(processed).await?;
            info!(task_id = %task.id, series_id = %series.id, "series ended by deletion");
            return Ok(RecurringOutcome::SeriesEnded);
        }
        if self.series_ended(series.id).await? {
            self.mark_processed(processed).await?;
            return Ok(RecurringOutcome::SeriesEnded);
        }
        let now = self.clock.now();
        let outcome = match create_successor(
            self.repo.as_ref(),
            self.ids.as_ref(),
            task,
            now,
            Some(processed),
        )
        .await?
        {
            Successor::Created(next) => {
                // A deletion that ended the series while we were creating wins: undo.
                if self.series_ended(series.id).await? {
                    self.end_series(task).await?;
                    return Ok(RecurringOutcome::SeriesEnded);
                }
                info!(task_id = %task.id, next_id = %next.id, due = ?next.due_date, "next occurrence created");
                RecurringOutcome::Created(next)
            }
            Successor::Existing => RecurringOutcome::AlreadyHandled,
            Successor::RuleEnded => RecurringOutcome::RuleEnded,
        };
        Ok(outcome)
    }

    async fn mark_processed(&self, processed: ProcessedEvent) -> Result<(), TaskError> {
        match self
            .repo
            .commit(Changes {
                processed: Some(processed),
                ..Changes::default()
            })
            .await
        {
            Ok(()) | Err(PortError::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn series_ended(&self, series: SeriesId) -> Result<bool, TaskError> {
        Ok(self.state.get(&series_key(series)).await?.is_some())
    }

    /// Records the series of `occurrence` as ended and deletes any pending occurrence of it that a
    /// concurrent completion created.
    async fn end_series(&self, occurrence: &Task) -> Result<(), TaskError> {
        let Some(series) = occurrence.series else {
            return Ok(());
        };
        let now = self.clock.now();
        let record = serde_json::json!({ "series_id": series.id, "ended_by": occurrence.id, "ended_at": now });
        match self
            .state
            .save(&series_key(series.id), record, Concurrency::IfAbsent)
            .await
        {
            Ok(()) | Err(PortError::Conflict { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        delete_pending_occurrences(self.repo.as_ref(), self.ids.as_ref(), occurrence, now).await?;
        Ok(())
    }
}

/// Deletes the pending occurrences of `owner`'s series, each with a `deleted` event.
async fn delete_pending_occurrences(
    repo: &dyn TaskRepository,
    ids: &dyn IdGenerator,
    owner: &Task,
    now: DateTime<Utc>,
) -> Result<usize, TaskError> {
    let Some(series) = owner.series else {
        return Ok(0);
    };
    let mut deleted = 0;
    for task in repo.pending_in_series(owner.user_id, series.id).await? {
        let event = DomainEvent::Task(TaskEvent::new(
            EventId(ids.new_uuid()),
            TaskEventType::Deleted,
            &task,
            now,
        ));
        let result = repo
            .commit(Changes {
                writes: vec![TaskWrite::Delete {
                    user_id: task.user_id,
                    id: task.id,
                    expected_version: task.version,
                }],
                outbox: vec![event.to_message()],
                ..Changes::default()
            })
            .await;
        match result {
            Ok(()) => deleted += 1,
            Err(PortError::NotFound | PortError::Conflict { .. }) => {
                debug!(task_id = %task.id, "occurrence changed or vanished while ending its series")
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(deleted)
}

/// The outcome of creating a successor.
#[allow(clippy::large_enum_variant)] // one per handled event; boxing would only add noise
enum Successor {
    Created(Task),
    Existing,
    RuleEnded,
}

/// Creates the successor of a completed task (once).
async fn create_successor(
    repo: &dyn TaskRepository,
    ids: &dyn IdGenerator,
    completed: &Task,
    now: DateTime<Utc>,
    processed: Option<ProcessedEvent>,
) -> Result<Successor, TaskError> {
    if repo
        .successor(completed.user_id, completed.id)
        .await?
        .is_some()
    {
        return Ok(Successor::Existing);
    }
    let Some(next) = completed.next_occurrence() else {
        if let Some(processed) = processed {
            match repo
                .commit(Changes {
                    processed: Some(processed),
                    ..Changes::default()
                })
                .await
            {
                Ok(()) | Err(PortError::AlreadyExists { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        return Ok(Successor::RuleEnded);
    };
    let id = repo.next_task_id().await?;
    let Some(successor) = completed.successor(id, next, now) else {
        return Ok(Successor::RuleEnded);
    };
    let event = DomainEvent::Task(TaskEvent::new(
        EventId(ids.new_uuid()),
        TaskEventType::Created,
        &successor,
        now,
    ));
    let result = repo
        .commit(Changes {
            writes: vec![TaskWrite::Insert(successor.clone())],
            outbox: vec![event.to_message()],
            processed,
            ..Changes::default()
        })
        .await;
    match result {
        Ok(()) => Ok(Successor::Created(successor)),
        Err(PortError::AlreadyExists { .. }) => {
            // Lost a race with a concurrent handler (or the event was processed meanwhile).
            match repo.successor(completed.user_id, completed.id).await? {
                Some(_) => Ok(Successor::Existing),
                None => Ok(Successor::RuleEnded),
            }
        }
        Err(e) => Err(e.into()),
    }
}
