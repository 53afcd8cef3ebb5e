//! Reminders: the job that fires at `remind_at`, the handler that turns a firing into a `reminders`
//! event, and the reconciler that keeps the scheduler in step with the database.
//!
//! The database, not the scheduler, is the source of truth. The scheduler may lose a job or deliver it
//! twice, so firings are checked against the task (stale ones are dropped) and recorded (a second
//! delivery of the same firing notifies nobody twice).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tracing::{debug, info};
use uuid::Uuid;

use crate::error::{PortError, TaskError};
use crate::events::{DomainEvent, ReminderEvent, SCHEMA_VERSION};
use crate::model::{EventId, Status, Task, TaskId, UserId};
use crate::ports::{Changes, Clock, Job, PortResult, ProcessedEvent, Scheduler, TaskRepository};

/// Consumer name under which reminder firings are recorded.
const FIRINGS: &str = "reminder-firings";

/// The name of a task's reminder job: `reminder-task-{id}`.
pub fn reminder_job_name(id: TaskId) -> String {
    format!("{}{id}", crate::events::jobs::REMINDER_PREFIX)
}

/// What a reminder job carries, handed back when it fires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderPayload {
    /// The task.
    pub task_id: TaskId,
    /// Its owner.
    pub user_id: UserId,
    /// The due date the reminder was scheduled for.
    pub due_at: DateTime<Utc>,
    /// The reminder time it was scheduled for.
    pub remind_at: DateTime<Utc>,
}

/// The job to schedule for `task` at `now`, or `None` when no reminder should be pending.
///
/// The past-reminder rule applies: a `remind_at` already past fires at once if the due date is ahead and
/// is skipped once the due date has passed.
pub fn reminder_job(task: &Task, now: DateTime<Utc>) -> Option<Job> {
    let fire_at = task.reminder_due(now)?;
    let payload = ReminderPayload {
        task_id: task.id,
        user_id: task.user_id,
        due_at: task.due_date?,
        remind_at: task.remind_at()?,
    };
    Some(Job {
        name: reminder_job_name(task.id),
        due: fire_at,
        payload: serde_json::to_value(payload).expect("payload serialises: plain values only"),
    })
}

/// Brings the scheduler in line with a change from `before` to `after`: schedules the job when the
/// reminder appeared or moved, cancels it when it went away, and calls nothing otherwise.
pub(crate) async fn sync_reminder(
    scheduler: &dyn Scheduler,
    before: Option<&Task>,
    after: &Task,
    now: DateTime<Utc>,
) -> PortResult<()> {
    let old = before.and_then(|t| reminder_job(t, now));
    match reminder_job(after, now) {
        Some(job) if old.as_ref().map(|o| &o.payload) != Some(&job.payload) => {
            scheduler.schedule(job).await
        }
        Some(_) => Ok(()),
        None if old.is_some() => scheduler.cancel(&reminder_job_name(after.id)).await,
        None => Ok(()),
    }
}

/// What handling one firing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReminderOutcome {
    /// A `reminders` event was written to the outbox.
    Sent(ReminderEvent),
    /// This firing was already handled.
    Duplicate,
    /// The task no longer exists.
    DroppedMissing,
    /// The task was completed.
    DroppedCompleted,
    /// The task's reminder moved since this job was scheduled.
    DroppedRescheduled,
    /// The due date passed before the reminder could be delivered.
    DroppedDuePassed,
}

/// Handles a fired reminder job.
#[derive(Clone)]
pub struct ReminderFiredHandler {
    repo: Arc<dyn TaskRepository>,
    clock: Arc<dyn Clock>,
}

impl ReminderFiredHandler {
    /// Builds the handler over its ports.
    pub fn new(repo: Arc<dyn TaskRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { repo, clock }
    }

    /// Re-reads the task, drops stale firings and otherwise emits one `reminders` event per firing.
    #[tracing::instrument(name = "reminder_fired", skip_all, fields(task_id = %payload.task_id, user_id = %payload.user_id, remind_at = %payload.remind_at), err(level = "debug"))]
    pub async fn handle(&self, payload: &ReminderPayload) -> Result<ReminderOutcome, TaskError> {
        let now = self.clock.now();
        let Some(task) = self.repo.get(payload.user_id, payload.task_id).await? else {
            return Ok(ReminderOutcome::DroppedMissing);
        };
        if task.status == Status::Completed {
            return Ok(ReminderOutcome::DroppedCompleted);
        }
        if task.remind_at() != Some(payload.remind_at) || task.due_date != Some(payload.due_at) {
            return Ok(ReminderOutcome::DroppedRescheduled);
        }
        if payload.due_at <= now {
            return Ok(ReminderOutcome::DroppedDuePassed);
        }
        // One firing = one (task, remind_at); its id is derived from them, so a second delivery is
        // recognised here and by every downstream consumer.
        let event_id = EventId(firing_id(task.id, payload.remind_at));
        let event = ReminderEvent {
            event_id,
            schema_version: SCHEMA_VERSION,
            task_id: task.id,
            user_id: task.user_id,
            title: task.title.as_str().to_owned(),
            due_at: payload.due_at,
            remind_at: payload.remind_at,
        };
        let result = self
            .repo
            .commit(Changes {
                outbox: vec![DomainEvent::Reminder(event.clone()).to_message()],
                processed: Some(ProcessedEvent {
                    consumer: FIRINGS.to_owned(),
                    event_id,
                }),
                ..Changes::default()
            })
            .await;
        match result {
            Ok(()) => {
                info!(task_id = %task.id, remind_at = %payload.remind_at, "reminder fired");
                Ok(ReminderOutcome::Sent(event))
            }
            Err(PortError::AlreadyExists { .. }) => Ok(ReminderOutcome::Duplicate),
            Err(e) => Err(e.into()),
        }
    }
}

/// A deterministic id for the firing of `task`'s reminder at `remind_at` (UUID v5).
fn firing_id(task: TaskId, remind_at: DateTime<Utc>) -> Uuid {
    const NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2f0e_8a4b_4e7d_9a57_3b0c_1d2e_4f60);
    Uuid::new_v5(
        &NAMESPACE,
        format!("{task}@{}", remind_at.timestamp_micros()).as_bytes(),
    )
}

/// Re-schedules every pending reminder from the database (on start and periodically).
#[derive(Clone)]
pub struct ReminderReconciler {
    repo: Arc<dyn TaskRepository>,
    scheduler: Arc<dyn Scheduler>,
    clock: Arc<dyn Clock>,
}

impl ReminderReconciler {
    /// Page size when walking pending reminders.
    const PAGE: usize = 500;

    /// Builds the reconciler over its ports.
    pub fn new(
        repo: Arc<dyn TaskRepository>,
        scheduler: Arc<dyn Scheduler>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            repo,
            scheduler,
            clock,
        }
    }

    /// Schedules (idempotently overwrites) the job of every pending reminder; returns how many.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    pub async fn reconcile(&self) -> Result<usize, TaskError> {
        let now = self.clock.now();
        let mut after_id = None;
        let mut scheduled = 0;
        loop {
            let page = self
                .repo
                .pending_reminders(now, after_id, Self::PAGE)
                .await?;
            for entry in &page {
                let fire_at = entry.remind_at.max(now);
                let payload = ReminderPayload {
                    task_id: entry.task_id,
                    user_id: entry.user_id,
                    due_at: entry.due_date,
                    remind_at: entry.remind_at,
                };
                self.scheduler
                    .schedule(Job {
                        name: reminder_job_name(entry.task_id),
                        due: fire_at,
                        payload: serde_json::to_value(payload)
                            .expect("payload serialises: plain values only"),
                    })
                    .await?;
                scheduled += 1;
            }
            match page.last() {
                Some(last) if page.len() == Self::PAGE => after_id = Some(last.task_id),
                _ => break,
            }
        }
        debug!(scheduled, "reminders reconciled");
        Ok(scheduled)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use chrono::Duration;

    use super::*;
    use crate::model::{NewTask, SeriesId, TaskInput};
    use crate::ports::ReminderEntry;
    use crate::usecases::mocks::{alice, noon, FixedClock, MockRepo};

    fn task(due_in: Duration, remind_before: i64) -> Task {
        let new = NewTask::parse(TaskInput {
            title: "Buy groceries".into(),
            due_date: Some((noon() + due_in).to_rfc3339()),
            remind_before: Some(remind_before),
            ..TaskInput::default()
        })
        .unwrap();
        Task::create(
            TaskId(5),
            alice(),
            new,
            SeriesId(Uuid::nil()),
            noon() - Duration::days(1),
        )
    }

    fn payload_of(task: &Task) -> ReminderPayload {
        ReminderPayload {
            task_id: task.id,
            user_id: task.user_id,
            due_at: task.due_date.unwrap(),
            remind_at: task.remind_at().unwrap(),
        }
    }

    fn handler(
        current: Option<Task>,
        at: DateTime<Utc>,
        commits: &Arc<Mutex<Vec<Changes>>>,
    ) -> ReminderFiredHandler {
        let mut repo = MockRepo::new();
        repo.expect_get().returning(move |_, _| Ok(current.clone()));
        let sink = Arc::clone(commits);
        let seen = Arc::new(Mutex::new(std::collections::HashSet::new()));
        repo.expect_commit().returning(move |c: Changes| {
            let key = c.processed.clone().expect("a firing is recorded").event_id;
            if !seen.lock().unwrap().insert(key) {
                return Err(PortError::already_exists("firing"));
            }
            sink.lock().unwrap().push(c);
            Ok(())
        });
        ReminderFiredHandler::new(Arc::new(repo), Arc::new(FixedClock(at)))
    }

    #[test]
    fn a_reminder_already_past_fires_at_once_while_the_due_date_is_ahead() {
        let t = task(Duration::minutes(30), 60);
        let job = reminder_job(&t, noon()).unwrap();
        assert_eq!(job.due, noon());
        assert_eq!(job.name, "reminder-task-5");
    }

    #[test]
    fn a_reminder_is_skipped_once_the_due_date_has_passed() {
        assert_eq!(reminder_job(&task(Duration::minutes(-1), 60), noon()), None);
    }

    #[test]
    fn a_future_reminder_is_scheduled_at_remind_at() {
        let t = task(Duration::hours(3), 60);
        assert_eq!(
            reminder_job(&t, noon()).unwrap().due,
            noon() + Duration::hours(2)
        );
    }

    #[tokio::test]
    async fn a_firing_emits_one_reminder_event_and_a_second_delivery_is_a_duplicate() {
        let t = task(Duration::hours(1), 60);
        let commits = Arc::new(Mutex::new(Vec::new()));
        let h = handler(Some(t.clone()), noon(), &commits);
        let first = h.handle(&payload_of(&t)).await.unwrap();
        let ReminderOutcome::Sent(event) = first else {
            panic!("{first:?}")
        };
        assert_eq!(event.title, "Buy groceries");
        assert_eq!(event.remind_at, noon());
        assert_eq!(
            h.handle(&payload_of(&t)).await.unwrap(),
            ReminderOutcome::Duplicate
        );
        let commits = commits.lock().unwrap();
        assert_eq!(commits.len(), 1);
        assert_eq!(commits[0].outbox[0].topic, "reminders");
        assert_eq!(commits[0].outbox[0].id, event.event_id);
    }

    #[tokio::test]
    async fn stale_firings_are_dropped() {
        let t = task(Duration::hours(1), 60);
        let commits = Arc::new(Mutex::new(Vec::new()));
        let payload = payload_of(&t);

        let missing = handler(None, noon(), &commits)
            .handle(&payload)
            .await
            .unwrap();
        assert_eq!(missing, ReminderOutcome::DroppedMissing);

        let mut done = t.clone();
        done.complete(noon());
        let completed = handler(Some(done), noon(), &commits)
            .handle(&payload)
            .await
            .unwrap();
        assert_eq!(completed, ReminderOutcome::DroppedCompleted);

        let moved = task(Duration::hours(5), 60);
        let rescheduled = handler(Some(moved), noon(), &commits)
            .handle(&payload)
            .await
            .unwrap();
        assert_eq!(rescheduled, ReminderOutcome::DroppedRescheduled);

        let late = handler(Some(t), noon() + Duration::hours(2), &commits)
            .handle(&payload)
            .await;
        assert_eq!(late.unwrap(), ReminderOutcome::DroppedDuePassed);
        assert!(commits.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_reconciler_schedules_every_pending_reminder_across_pages() {
        let mut repo = MockRepo::new();
        repo.expect_pending_reminders()
            .returning(|_, after, limit| {
                let start = after.map_or(1, |id| id.0 + 1);
                let end = 1_200.min(start + limit as i64 - 1);
                Ok((start..=end)
                    .map(|i| ReminderEntry {
                        task_id: TaskId(i),
                        user_id: alice(),
                        remind_at: noon() + Duration::minutes(i),
                        due_date: noon() + Duration::minutes(i + 60),
                    })
                    .collect())
            });
        let scheduled = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&scheduled);
        let mut sched = crate::usecases::mocks::MockSched::new();
        sched.expect_schedule().returning(move |job| {
            sink.lock().unwrap().push(job.name);
            Ok(())
        });
        let reconciler = ReminderReconciler::new(
            Arc::new(repo),
            Arc::new(sched),
            Arc::new(FixedClock(noon())),
        );
        assert_eq!(reconciler.reconcile().await.unwrap(), 1_200);
        let names = scheduled.lock().unwrap();
        assert_eq!(names.len(), 1_200);
        assert_eq!(names[1_199], "reminder-task-1200");
    }
}
