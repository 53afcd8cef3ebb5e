//! Reminders: the job that fires at `remind_at`, the handler that turns a firing into a `reminders`
//! event, and the reconciler that keeps the scheduler in step with the database within the
//! [`Horizon`].
//!
//! The database, not the scheduler, is the source of truth. The scheduler may lose a job or deliver it
//! twice, so firings are checked against the task (stale ones are dropped) and recorded (a second
//! delivery of the same firing notifies nobody twice). A recorded firing also tells the reconciler
//! that a reminder already past needs no job any more.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tracing::{debug, info, warn};
use uuid::Uuid;

use super::reminder_horizon::Horizon;
use crate::error::{PortError, TaskError};
use crate::events::{DomainEvent, ReminderEvent, SCHEMA_VERSION};
use crate::model::{EventId, Status, Task, TaskId, UserId};
use crate::ports::{
    Changes, Clock, Job, Locks, PortResult, ProcessedEvent, ReminderEntry, Scheduler,
    TaskRepository,
};

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

/// The lock a reconciliation pass holds, so that one replica at a time reconciles a shared scheduler.
pub const RECONCILIATION_LOCK: &str = "reminder-reconciliation";

/// What one reconciliation pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconciliation {
    /// It scheduled (idempotently overwrote) this many jobs: every reminder within the horizon but
    /// those already past whose firing is recorded.
    Scheduled(usize),
    /// Another pass held the lock, so this one did nothing.
    Skipped,
}

/// Re-schedules, from the database, the pending reminders due within the horizon (on start and
/// periodically), so that a job the scheduler lost is restored and a reminder approaching the
/// horizon is brought in. A pass reads and schedules only the reminders in its window, and leaves out
/// those already past whose firing is recorded.
#[derive(Clone)]
pub struct ReminderReconciler {
    repo: Arc<dyn TaskRepository>,
    scheduler: Arc<dyn Scheduler>,
    clock: Arc<dyn Clock>,
    horizon: Horizon,
    locks: Arc<dyn Locks>,
}

impl ReminderReconciler {
    /// Page size when walking pending reminders.
    const PAGE: usize = 500;

    /// Builds the reconciler over its ports: it schedules on `scheduler` the reminders due within
    /// `horizon`, holding [`RECONCILIATION_LOCK`] from `locks` during a pass.
    pub fn new(
        repo: Arc<dyn TaskRepository>,
        scheduler: Arc<dyn Scheduler>,
        clock: Arc<dyn Clock>,
        horizon: Horizon,
        locks: Arc<dyn Locks>,
    ) -> Self {
        Self {
            repo,
            scheduler,
            clock,
            horizon,
            locks,
        }
    }

    /// Schedules the job of every pending reminder due within the horizon (but those already fired),
    /// unless another pass holds the lock.
    #[tracing::instrument(skip(self), err(level = "debug"))]
    pub async fn reconcile(&self) -> Result<Reconciliation, TaskError> {
        let Some(held) = self.locks.try_lock(RECONCILIATION_LOCK).await? else {
            debug!("reminder reconciliation skipped: another pass holds the lock");
            return Ok(Reconciliation::Skipped);
        };
        let scheduled = self.schedule_window().await;
        if let Err(error) = held.release().await {
            warn!(error = %crate::error::chain(&error), "releasing the reconciliation lock failed");
        }
        let scheduled = scheduled?;
        debug!(scheduled, "reminders reconciled");
        Ok(Reconciliation::Scheduled(scheduled))
    }

    /// Schedules the reminders from the database due by the end of the horizon, but for those already
    /// fired; returns how many it scheduled.
    async fn schedule_window(&self) -> Result<usize, TaskError> {
        let now = self.clock.now();
        let until = self.horizon.end(now);
        let mut resume = None;
        let mut scheduled = 0;
        let mut already_fired = 0;
        loop {
            let page = self
                .repo
                .pending_reminders(now, until, resume, Self::PAGE)
                .await?;
            let fired = self.recorded_firings(&page, now).await?;
            already_fired += fired.len();
            for entry in &page {
                if fired.contains(&EventId(firing_id(entry.task_id, entry.remind_at))) {
                    continue;
                }
                let payload = ReminderPayload {
                    task_id: entry.task_id,
                    user_id: entry.user_id,
                    due_at: entry.due_date,
                    remind_at: entry.remind_at,
                };
                self.scheduler
                    .schedule(Job {
                        name: reminder_job_name(entry.task_id),
                        due: entry.remind_at.max(now),
                        payload: serde_json::to_value(payload)
                            .expect("payload serialises: plain values only"),
                    })
                    .await?;
                scheduled += 1;
            }
            match page.last() {
                Some(last) if page.len() == Self::PAGE => resume = Some(last.cursor()),
                _ => {
                    debug!(scheduled, already_fired, "reminder window walked");
                    return Ok(scheduled);
                }
            }
        }
    }

    /// The recorded firings among `page`'s reminders already past at `now`, looked up in one batch.
    ///
    /// A reminder already past is scheduled again so that a firing the scheduler lost is repaired; once
    /// its firing is recorded, scheduling it again would only fire a duplicate, so it is left out. A
    /// reminder still ahead is always scheduled (no firing of it can be recorded yet).
    async fn recorded_firings(
        &self,
        page: &[ReminderEntry],
        now: DateTime<Utc>,
    ) -> Result<HashSet<EventId>, TaskError> {
        let past: Vec<EventId> = page
            .iter()
            .filter(|entry| entry.remind_at <= now)
            .map(|entry| EventId(firing_id(entry.task_id, entry.remind_at)))
            .collect();
        if past.is_empty() {
            return Ok(HashSet::new());
        }
        Ok(self.repo.processed_among(FIRINGS, &past).await?)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use chrono::Duration;

    use super::*;
    use crate::memory::{
        InMemoryLocks, InMemoryScheduler, InMemoryTaskRepository, ManualClock, SequentialIds,
    };
    use crate::model::{NewTask, SeriesId, TaskInput};
    use crate::usecases::mocks::{alice, noon, FixedClock, MockRepo};
    use crate::usecases::HorizonScheduler;

    /// A scheduler that records the name of every job scheduled on it.
    fn recording_scheduler() -> (crate::usecases::mocks::MockSched, Arc<Mutex<Vec<String>>>) {
        let scheduled = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&scheduled);
        let mut sched = crate::usecases::mocks::MockSched::new();
        sched.expect_schedule().returning(move |job| {
            sink.lock().unwrap().push(job.name);
            Ok(())
        });
        (sched, scheduled)
    }

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

    /// A reconciler at noon with its own in-process lock.
    fn reconciler_at_noon(
        repo: Arc<dyn TaskRepository>,
        scheduler: Arc<dyn Scheduler>,
    ) -> ReminderReconciler {
        reconciler_over(
            repo,
            scheduler,
            Arc::new(FixedClock(noon())),
            Arc::new(InMemoryLocks::new()),
        )
    }

    fn reconciler_over(
        repo: Arc<dyn TaskRepository>,
        scheduler: Arc<dyn Scheduler>,
        clock: Arc<dyn Clock>,
        locks: Arc<dyn Locks>,
    ) -> ReminderReconciler {
        ReminderReconciler::new(
            repo,
            scheduler,
            clock,
            Horizon::for_interval(INTERVAL),
            locks,
        )
    }

    const INTERVAL: std::time::Duration = std::time::Duration::from_secs(300);

    #[tokio::test]
    async fn the_reconciler_schedules_every_reminder_of_its_window_across_pages() {
        let mut repo = MockRepo::new();
        repo.expect_pending_reminders()
            .returning(|now, until, resume, limit| {
                assert_eq!(now, noon());
                assert_eq!(until, noon() + Duration::minutes(11));
                let start = resume.map_or(1, |c| c.task_id.0 + 1);
                let end = 1_200.min(start + limit as i64 - 1);
                Ok((start..=end)
                    .map(|i| ReminderEntry {
                        task_id: TaskId(i),
                        user_id: alice(),
                        remind_at: noon() + Duration::milliseconds(i),
                        due_date: noon() + Duration::minutes(60),
                    })
                    .collect())
            });
        let (sched, scheduled) = recording_scheduler();
        let reconciler = reconciler_at_noon(Arc::new(repo), Arc::new(sched));
        assert_eq!(
            reconciler.reconcile().await.unwrap(),
            Reconciliation::Scheduled(1_200)
        );
        let names = scheduled.lock().unwrap();
        assert_eq!(names.len(), 1_200);
        assert_eq!(names[1_199], "reminder-task-1200");
    }

    #[tokio::test]
    async fn a_pass_looks_up_the_firings_of_past_reminders_once_a_page_and_leaves_out_the_recorded()
    {
        // 1 200 reminders of the window; the first 700 are already past (the 700th exactly now), and
        // the even ones among those have fired.
        let entry = |i: i64| ReminderEntry {
            task_id: TaskId(i),
            user_id: alice(),
            remind_at: noon() + Duration::milliseconds(i - 700),
            due_date: noon() + Duration::minutes(60),
        };
        let fired: HashSet<EventId> = (1..=700)
            .filter(|i| i % 2 == 0)
            .map(|i| EventId(firing_id(TaskId(i), entry(i).remind_at)))
            .collect();
        let mut repo = MockRepo::new();
        repo.expect_pending_reminders()
            .returning(move |_, _, resume, limit| {
                let start = resume.map_or(1, |c| c.task_id.0 + 1);
                let end = 1_200.min(start + limit as i64 - 1);
                Ok((start..=end).map(entry).collect())
            });
        let lookups = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&lookups);
        repo.expect_processed_among()
            .returning(move |consumer, ids| {
                assert_eq!(consumer, FIRINGS);
                seen.lock().unwrap().push(ids.len());
                Ok(ids
                    .iter()
                    .copied()
                    .filter(|id| fired.contains(id))
                    .collect())
            });
        let (sched, scheduled) = recording_scheduler();
        let reconciler = reconciler_at_noon(Arc::new(repo), Arc::new(sched));
        assert_eq!(
            reconciler.reconcile().await.unwrap(),
            Reconciliation::Scheduled(1_200 - 350)
        );
        assert_eq!(
            *lookups.lock().unwrap(),
            [500, 200],
            "one lookup a page, of the past reminders only"
        );
        let names = scheduled.lock().unwrap();
        assert!(names.contains(&"reminder-task-699".to_owned()));
        assert!(!names.contains(&"reminder-task-700".to_owned()));
        assert!(names.contains(&"reminder-task-701".to_owned()));
        assert!(names.contains(&"reminder-task-1200".to_owned()));
    }

    #[tokio::test]
    async fn a_pass_skips_while_another_holds_the_lock_and_runs_once_it_is_released() {
        let mut repo = MockRepo::new();
        repo.expect_pending_reminders()
            .times(1)
            .returning(|_, _, _, _| Ok(Vec::new()));
        let locks = Arc::new(InMemoryLocks::new());
        let reconciler = reconciler_over(
            Arc::new(repo),
            Arc::new(crate::usecases::mocks::MockSched::new()),
            Arc::new(FixedClock(noon())),
            locks.clone(),
        );
        let elsewhere = locks.try_lock(RECONCILIATION_LOCK).await.unwrap().unwrap();
        assert_eq!(
            reconciler.reconcile().await.unwrap(),
            Reconciliation::Skipped
        );
        elsewhere.release().await.unwrap();
        assert_eq!(
            reconciler.reconcile().await.unwrap(),
            Reconciliation::Scheduled(0)
        );
        assert!(
            locks.try_lock(RECONCILIATION_LOCK).await.unwrap().is_some(),
            "a pass gives the lock back"
        );
    }

    /// A task service, a reconciler and the in-memory scheduler behind the horizon, on one manual clock.
    struct Window {
        clock: Arc<ManualClock>,
        held: Arc<InMemoryScheduler>,
        tasks: crate::usecases::TaskService,
        reconciler: ReminderReconciler,
        repo: Arc<InMemoryTaskRepository>,
    }

    impl Window {
        fn new() -> Self {
            let clock = Arc::new(ManualClock::new(noon()));
            let held = Arc::new(InMemoryScheduler::new());
            let repo = Arc::new(InMemoryTaskRepository::new());
            let horizon = Horizon::for_interval(INTERVAL);
            let scheduler: Arc<dyn Scheduler> =
                Arc::new(HorizonScheduler::new(held.clone(), clock.clone(), horizon));
            let tasks = crate::usecases::TaskService::new(
                repo.clone(),
                scheduler.clone(),
                clock.clone(),
                Arc::new(SequentialIds::new()),
            );
            let reconciler = ReminderReconciler::new(
                repo.clone(),
                scheduler,
                clock.clone(),
                horizon,
                Arc::new(InMemoryLocks::new()),
            );
            Self {
                clock,
                held,
                tasks,
                reconciler,
                repo,
            }
        }

        async fn create(&self, due: DateTime<Utc>, remind_before: i64) -> Task {
            let new = NewTask::parse(TaskInput {
                title: "Call the plumber".into(),
                due_date: Some(due.to_rfc3339()),
                remind_before: Some(remind_before),
                ..TaskInput::default()
            })
            .unwrap();
            self.tasks.create_task(alice(), new).await.unwrap()
        }

        async fn remind_before(&self, task: &Task, minutes: i64) -> Task {
            let patch = crate::model::TaskPatch {
                remind_before: Some(Some(crate::model::RemindBefore::new(minutes).unwrap())),
                ..Default::default()
            };
            self.tasks
                .update_task(alice(), task.id, patch)
                .await
                .unwrap()
        }

        async fn reconcile(&self) -> usize {
            match self.reconciler.reconcile().await.unwrap() {
                Reconciliation::Scheduled(count) => count,
                Reconciliation::Skipped => panic!("nothing else holds the lock"),
            }
        }

        fn held_due(&self, task: &Task) -> Option<DateTime<Utc>> {
            self.held
                .job(&reminder_job_name(task.id))
                .map(|job| job.due)
        }
    }

    #[tokio::test]
    async fn a_reminder_beyond_the_horizon_is_brought_in_by_a_later_pass_and_fires_on_time() {
        let window = Window::new();
        // Horizon 11 minutes: a reminder at 11 min 30 s is just beyond it.
        let remind_at = noon() + Duration::seconds(11 * 60 + 30);
        let task = window.create(remind_at + Duration::minutes(1), 1).await;
        assert_eq!(task.remind_at(), Some(remind_at));
        assert_eq!(window.held_due(&task), None, "not held when created");
        assert_eq!(window.reconcile().await, 0);
        assert_eq!(
            window.held_due(&task),
            None,
            "not held after the first pass"
        );

        window.clock.advance(Duration::from_std(INTERVAL).unwrap());
        assert_eq!(window.reconcile().await, 1);
        assert_eq!(
            window.held_due(&task),
            Some(remind_at),
            "held after the next pass"
        );

        assert!(window
            .held
            .take_due(remind_at - Duration::microseconds(1))
            .is_empty());
        let fired = window.held.take_due(remind_at);
        assert_eq!(fired.len(), 1, "it fires at its remind_at");
        window.clock.set(remind_at);
        let payload: ReminderPayload = serde_json::from_value(fired[0].payload.clone()).unwrap();
        let outcome = ReminderFiredHandler::new(window.repo.clone(), window.clock.clone())
            .handle(&payload)
            .await
            .unwrap();
        let ReminderOutcome::Sent(event) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(event.remind_at, remind_at);
    }

    #[tokio::test]
    async fn a_reminder_already_past_is_scheduled_again_until_its_firing_is_recorded() {
        let window = Window::new();
        // Reminders an hour ago, due in an hour: their jobs are due at once.
        let fired = window.create(noon() + Duration::hours(1), 120).await;
        let lost = window
            .create(noon() + Duration::hours(1) + Duration::minutes(1), 120)
            .await;
        let ahead = window.create(noon() + Duration::minutes(10), 5).await;
        let taken = window.held.take_due(noon());
        assert_eq!(taken.len(), 2, "both past reminders fire at once");
        // The first firing is handled and recorded; the second is lost on the way.
        let handler = ReminderFiredHandler::new(window.repo.clone(), window.clock.clone());
        let outcome = handler.handle(&payload_of(&fired)).await.unwrap();
        assert!(matches!(outcome, ReminderOutcome::Sent(_)), "{outcome:?}");

        assert_eq!(window.reconcile().await, 2);
        assert_eq!(
            window.held_due(&fired),
            None,
            "a recorded firing is not scheduled again"
        );
        assert_eq!(
            window.held_due(&lost),
            Some(noon()),
            "a lost firing is repaired"
        );
        assert_eq!(
            window.held_due(&ahead),
            Some(noon() + Duration::minutes(5)),
            "a reminder ahead is always scheduled"
        );

        // Moved, though still past, the reminder is another firing, not yet recorded.
        let moved = window.remind_before(&fired, 90).await;
        window
            .held
            .cancel(&reminder_job_name(moved.id))
            .await
            .unwrap();
        assert_eq!(window.reconcile().await, 3);
        assert_eq!(window.held_due(&moved), Some(noon()));
    }

    #[tokio::test]
    async fn a_reminder_moved_beyond_the_horizon_is_cancelled_and_held_again_when_moved_back() {
        let window = Window::new();
        let due = noon() + Duration::minutes(30);
        let task = window.create(due, 25).await;
        assert_eq!(window.held_due(&task), Some(noon() + Duration::minutes(5)));

        let moved_out = window.remind_before(&task, 5).await;
        assert_eq!(
            window.held_due(&moved_out),
            None,
            "cancelled when moved out"
        );
        assert_eq!(window.reconcile().await, 0);
        assert_eq!(window.held_due(&moved_out), None, "a pass leaves it out");

        let moved_back = window.remind_before(&moved_out, 25).await;
        assert_eq!(
            window.held_due(&moved_back),
            Some(noon() + Duration::minutes(5))
        );
        assert_eq!(window.reconcile().await, 1);
        assert_eq!(
            window.held_due(&moved_back),
            Some(noon() + Duration::minutes(5))
        );
    }
}
