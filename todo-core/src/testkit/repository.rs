//! The conformance suite of [`TaskRepository`] and the [`OutboxStore`] and [`AuditLog`] that share its
//! transactions.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Duration;
use uuid::Uuid;

use super::fixtures::{base_time, fresh_user, inserts, new_task, stored_task, task, TaskFixture};
use crate::error::PortError;
use crate::memory::{InMemoryLocks, InMemoryScheduler, ManualClock};
use crate::model::{EventId, Priority, Series, SeriesId, Tag, Title};
use crate::ports::{
    AuditLog, Changes, OutboxStore, PortResult, ProcessedEvent, TagCount, TaskRepository, TaskWrite,
};
use crate::recurrence::Recurrence;
use crate::usecases::{
    reminder_job_name, Horizon, Reconciliation, ReminderFiredHandler, ReminderOutcome,
    ReminderPayload, ReminderReconciler,
};

/// Checks a task store against the port contracts and the reference query semantics.
///
/// Every case uses fresh users, so one database can serve many runs. The outbox and pending-reminder
/// cases see every user's rows; they only assert on their own, but outbox claims lease other rows for a
/// few seconds, so do not run this suite concurrently with another claimer of the same outbox.
pub struct TaskRepositorySuite {
    pub(super) repo: Arc<dyn TaskRepository>,
    pub(super) outbox: Arc<dyn OutboxStore>,
    pub(super) audit: Arc<dyn AuditLog>,
}

impl TaskRepositorySuite {
    /// A suite over one store implementing all three ports (the usual shape: one database).
    pub fn new<S>(store: Arc<S>) -> Self
    where
        S: TaskRepository + OutboxStore + AuditLog + 'static,
    {
        Self {
            repo: store.clone(),
            outbox: store.clone(),
            audit: store,
        }
    }

    /// A suite over three objects that share one database.
    pub fn from_parts(
        repo: Arc<dyn TaskRepository>,
        outbox: Arc<dyn OutboxStore>,
        audit: Arc<dyn AuditLog>,
    ) -> Self {
        Self {
            repo,
            outbox,
            audit,
        }
    }

    /// Runs every case, one after the other.
    pub async fn run_all(&self) {
        self.inserted_tasks_read_back_only_for_their_owner().await;
        self.an_update_needs_the_current_version().await;
        self.a_delete_needs_the_current_version().await;
        self.a_failed_write_leaves_the_whole_unit_unstored().await;
        self.a_task_has_at_most_one_successor().await;
        self.a_series_has_one_occurrence_per_due_date().await;
        self.a_processed_event_is_recorded_once().await;
        self.processed_events_are_looked_up_in_one_batch().await;
        self.tags_are_counted_per_user().await;
        self.pending_reminders_are_paged_by_remind_at().await;
        self.pending_reminders_end_at_the_window().await;
        self.a_recorded_firing_is_not_reconciled_again().await;
        self.history_is_oldest_first_and_records_each_event_once()
            .await;
        self.the_outbox_leases_retries_and_settles_messages().await;
        self.queries_match_the_reference_evaluation().await;
    }

    /// Ids increase; a task reads back exactly as inserted for its owner and not at all for anyone else;
    /// an id is inserted once; an empty unit of work commits.
    pub async fn inserted_tasks_read_back_only_for_their_owner(&self) {
        let repo = &*self.repo;
        let (user, other) = (fresh_user(), fresh_user());
        let first = repo.next_task_id().await.expect("next_task_id failed");
        let second = repo.next_task_id().await.expect("next_task_id failed");
        assert!(
            first.0 > 0 && second > first,
            "next_task_id must hand out positive, increasing ids (got {first} then {second})"
        );

        let due = base_time() + Duration::days(3);
        let mut full = task(first, user, "Buy groceries: milk, eggs")
            .tagged(&["home", "errand"])
            .due(due, Some(30))
            .priority(Priority::High);
        full.description = crate::model::Description::parse(
            "Oat milk.\nAnd bread — the \"good\" one, from the back\\shelf. 🍞",
        )
        .expect("a valid description");
        full.timezone = crate::model::TimeZone::parse("Europe/London").expect("a valid zone");
        full.recurrence = Some(Recurrence::Weekly);
        full.series = Some(Series {
            id: SeriesId(Uuid::new_v4()),
            anchor: Some(due),
            occurrence: 1,
            predecessor: None,
        });
        ok(
            repo.commit(inserts([full.clone()])).await,
            "inserting a new task",
        );
        assert_eq!(
            repo.get(user, first).await.expect("get failed"),
            Some(full.clone()),
            "a task must read back exactly as inserted"
        );
        assert_eq!(
            repo.get(other, first).await.expect("get failed"),
            None,
            "another user's task must be invisible"
        );
        assert_eq!(
            repo.get(user, second).await.expect("get failed"),
            None,
            "a reserved but never inserted id holds no task"
        );

        let mut twin = task(first, user, "Another task with the same id");
        twin.created_at = full.created_at;
        expect_already_exists(
            repo.commit(inserts([twin])).await,
            "inserting an existing id",
        );
        assert_eq!(repo.get(user, first).await.expect("get failed"), Some(full));
        ok(
            repo.commit(Changes::default()).await,
            "committing an empty unit of work",
        );
    }

    /// An update with the stored version replaces the task; a stale version is a conflict that changes
    /// nothing; another user's or a missing task is not found.
    pub async fn an_update_needs_the_current_version(&self) {
        let repo = &*self.repo;
        let (user, other) = (fresh_user(), fresh_user());
        let original = stored_task(repo, user, "Write report", |t| t.tagged(&["work"])).await;

        let mut changed = original.clone();
        changed.title = Title::parse("Write the quarterly report").expect("a valid title");
        changed.version = 2;
        changed.updated_at = original.updated_at + Duration::minutes(5);
        let update = |task, expected_version| Changes {
            writes: vec![TaskWrite::Update {
                task,
                expected_version,
            }],
            ..Changes::default()
        };
        ok(
            repo.commit(update(changed.clone(), 1)).await,
            "updating with the current version",
        );
        assert_eq!(
            repo.get(user, original.id).await.expect("get failed"),
            Some(changed.clone())
        );

        let mut stale = original.clone();
        stale.title = Title::parse("A stale edit").expect("a valid title");
        stale.version = 2;
        expect_conflict(
            repo.commit(update(stale, 1)).await,
            "updating with a stale version",
        );
        assert_eq!(
            repo.get(user, original.id).await.expect("get failed"),
            Some(changed.clone()),
            "a conflicting update must change nothing"
        );

        let mut foreign = changed.clone();
        foreign.user_id = other;
        foreign.version = 3;
        expect_not_found(
            repo.commit(update(foreign, 2)).await,
            "updating another user's task",
        );
        let missing = new_task(repo, user, "Never inserted").await;
        expect_not_found(
            repo.commit(update(missing, 1)).await,
            "updating a missing task",
        );
        assert_eq!(
            repo.get(user, original.id).await.expect("get failed"),
            Some(changed)
        );
    }

    /// A delete with the stored version removes the task; a stale version conflicts; another user's or
    /// a missing task is not found.
    pub async fn a_delete_needs_the_current_version(&self) {
        let repo = &*self.repo;
        let (user, other) = (fresh_user(), fresh_user());
        let stored = stored_task(repo, user, "Call mom", |t| t).await;
        let delete = |user_id, expected_version| Changes {
            writes: vec![TaskWrite::Delete {
                user_id,
                id: stored.id,
                expected_version,
            }],
            ..Changes::default()
        };
        expect_conflict(
            repo.commit(delete(user, 2)).await,
            "deleting with a stale version",
        );
        expect_not_found(
            repo.commit(delete(other, 1)).await,
            "deleting another user's task",
        );
        assert_eq!(
            repo.get(user, stored.id).await.expect("get failed"),
            Some(stored.clone()),
            "a refused delete must leave the task"
        );
        ok(
            repo.commit(delete(user, 1)).await,
            "deleting with the current version",
        );
        assert_eq!(repo.get(user, stored.id).await.expect("get failed"), None);
        expect_not_found(
            repo.commit(delete(user, 1)).await,
            "deleting a deleted task",
        );
    }

    /// Marking an event processed twice fails with `AlreadyExists` and stores nothing of the second
    /// unit; the mark is per consumer group.
    pub async fn a_processed_event_is_recorded_once(&self) {
        let repo = &*self.repo;
        let user = fresh_user();
        let event_id = crate::model::EventId(Uuid::now_v7());
        let mark = |consumer: &str| ProcessedEvent {
            consumer: consumer.to_owned(),
            event_id,
        };
        let consumer = "conformance-recurring";
        assert!(!repo
            .is_processed(consumer, event_id)
            .await
            .expect("is_processed failed"));

        let first = new_task(repo, user, "Next occurrence").await;
        let unit = Changes {
            processed: Some(mark(consumer)),
            ..inserts([first.clone()])
        };
        ok(repo.commit(unit).await, "the first processing of an event");
        assert!(repo
            .is_processed(consumer, event_id)
            .await
            .expect("is_processed failed"));

        let duplicate = new_task(repo, user, "Duplicate next occurrence").await;
        let again = Changes {
            processed: Some(mark(consumer)),
            ..inserts([duplicate.clone()])
        };
        expect_already_exists(repo.commit(again).await, "processing an event twice");
        assert_eq!(
            repo.get(user, duplicate.id).await.expect("get failed"),
            None,
            "a redelivered event must store nothing"
        );
        assert_eq!(
            repo.get(user, first.id).await.expect("get failed"),
            Some(first)
        );

        let audit = "conformance-audit";
        assert!(!repo
            .is_processed(audit, event_id)
            .await
            .expect("is_processed failed"));
        ok(
            repo.commit(Changes {
                processed: Some(mark(audit)),
                ..Changes::default()
            })
            .await,
            "another consumer group processing the same event",
        );
        assert!(repo
            .is_processed(audit, event_id)
            .await
            .expect("is_processed failed"));
    }

    /// `processed_among` answers, for a batch of events (larger than one statement's worth), exactly
    /// those the consumer group processed: not the unprocessed, nor those another group processed.
    pub async fn processed_events_are_looked_up_in_one_batch(&self) {
        let repo = &*self.repo;
        let (consumer, other) = ("conformance-firings", "conformance-other");
        let batch: Vec<EventId> = (0..1_200).map(|_| EventId(Uuid::now_v7())).collect();
        let recorded = [batch[3], batch[700], batch[1_199]];
        for (event_id, by) in recorded
            .iter()
            .map(|id| (*id, consumer))
            .chain([(batch[4], other)])
        {
            ok(
                repo.commit(Changes {
                    processed: Some(ProcessedEvent {
                        consumer: by.to_owned(),
                        event_id,
                    }),
                    ..Changes::default()
                })
                .await,
                "recording a processed event",
            );
        }
        assert_eq!(
            repo.processed_among(consumer, &batch)
                .await
                .expect("processed_among failed"),
            HashSet::from(recorded),
            "the events of the batch that {consumer} processed"
        );
        assert_eq!(
            repo.processed_among(other, &batch[..10])
                .await
                .expect("processed_among failed"),
            HashSet::from([batch[4]])
        );
        assert!(repo
            .processed_among(consumer, &[])
            .await
            .expect("processed_among failed")
            .is_empty());
    }

    /// Tag counts cover the user's tasks of every status, sorted by tag, and nobody else's.
    pub async fn tags_are_counted_per_user(&self) {
        let repo = &*self.repo;
        let (user, other) = (fresh_user(), fresh_user());
        stored_task(repo, user, "One", |t| t.tagged(&["work", "home"])).await;
        stored_task(repo, user, "Two", |t| t.tagged(&["work"])).await;
        stored_task(repo, user, "Three", |t| t).await;
        stored_task(repo, user, "Four", |t| {
            t.tagged(&["urgent", "work"]).completed()
        })
        .await;
        stored_task(repo, other, "Foreign", |t| t.tagged(&["work", "zzz"])).await;
        let count = |tag: &str, count| TagCount {
            tag: Tag::parse(tag).expect("a valid tag"),
            count,
        };
        assert_eq!(
            repo.tags(user).await.expect("tags failed"),
            vec![count("home", 1), count("urgent", 1), count("work", 3)]
        );
        assert!(repo
            .tags(fresh_user())
            .await
            .expect("tags failed")
            .is_empty());
    }

    /// Pending reminders list the pending tasks with a reminder whose due date is after `now`, by
    /// `remind_at` then task id, in pages resumed after the last entry's cursor.
    pub async fn pending_reminders_are_paged_by_remind_at(&self) {
        let repo = &*self.repo;
        let user = fresh_user();
        let now = far_future();
        let hours = Duration::hours;
        let past = stored_task(repo, user, "Reminder already past", |t| {
            t.due(now + hours(1), Some(120))
        })
        .await;
        let soon = stored_task(repo, user, "In two hours", |t| {
            t.due(now + hours(2), Some(60))
        })
        .await;
        let tomorrow =
            stored_task(repo, user, "Tomorrow", |t| t.due(now + hours(24), Some(0))).await;
        stored_task(repo, user, "Done", |t| {
            t.due(now + hours(3), Some(60)).completed()
        })
        .await;
        stored_task(repo, user, "Already due", |t| {
            t.due(now - hours(1), Some(60))
        })
        .await;
        stored_task(repo, user, "Due exactly then", |t| t.due(now, Some(60))).await;
        stored_task(repo, user, "No due date", |t| t).await;
        stored_task(repo, user, "No reminder", |t| t.due(now + hours(5), None)).await;

        let seen = self
            .walk_pending_reminders(user, now, now + hours(48))
            .await;
        let expected = [&past, &soon, &tomorrow];
        assert_eq!(
            seen.iter().map(|e| e.task_id).collect::<Vec<_>>(),
            expected.iter().map(|t| t.id).collect::<Vec<_>>(),
            "pending reminders of the user, by remind_at"
        );
        for (entry, task) in seen.iter().zip(expected) {
            assert_eq!(
                Some(entry.remind_at),
                task.remind_at(),
                "remind_at of task {}",
                task.id
            );
            assert_eq!(
                Some(entry.due_date),
                task.due_date,
                "due_date of task {}",
                task.id
            );
        }
    }

    /// A pass's window ends at `until`: a reminder at exactly `until` is listed, one a second later is
    /// not; a reminder already past is listed while its due date is ahead, however long its lead time.
    pub async fn pending_reminders_end_at_the_window(&self) {
        let repo = &*self.repo;
        let user = fresh_user();
        let now = far_future();
        let until = now + Duration::minutes(11);
        let minutes = Duration::minutes;
        let at_the_end = stored_task(repo, user, "At the end of the window", |t| {
            t.due(until + minutes(10), Some(10))
        })
        .await;
        stored_task(repo, user, "Just beyond the window", |t| {
            t.due(until + minutes(10) + Duration::seconds(1), Some(10))
        })
        .await;
        stored_task(repo, user, "Next month", |t| {
            t.due(now + Duration::days(30), Some(60))
        })
        .await;
        let longest_lead = stored_task(repo, user, "A year's notice, due in a second", |t| {
            t.due(
                now + Duration::seconds(1),
                Some(i64::from(crate::model::RemindBefore::MAX_MINUTES)),
            )
        })
        .await;
        let past = stored_task(repo, user, "Reminded a week ago, due in a month", |t| {
            t.due(now + Duration::days(30), Some(60 * 24 * 37))
        })
        .await;
        let inside = stored_task(repo, user, "In five minutes", |t| {
            t.due(now + minutes(5), Some(0))
        })
        .await;

        let seen = self.walk_pending_reminders(user, now, until).await;
        assert_eq!(
            seen.iter().map(|e| e.task_id).collect::<Vec<_>>(),
            [&longest_lead, &past, &inside, &at_the_end]
                .iter()
                .map(|t| t.id)
                .collect::<Vec<_>>(),
            "the user's pending reminders within the window ending at {until}, by remind_at"
        );
    }

    /// A reconciliation pass over this store schedules again a reminder already past whose firing was
    /// lost (not recorded), but not one whose firing is recorded; a reminder ahead is always scheduled.
    pub async fn a_recorded_firing_is_not_reconciled_again(&self) {
        let repo = &*self.repo;
        let user = fresh_user();
        let now = far_future();
        let clock = Arc::new(ManualClock::new(now));
        let hours = Duration::hours;
        let fired = stored_task(repo, user, "Reminded an hour ago, fired", |t| {
            t.due(now + hours(1), Some(120))
        })
        .await;
        let lost = stored_task(repo, user, "Reminded an hour ago, firing lost", |t| {
            t.due(now + hours(1) + Duration::minutes(1), Some(120))
        })
        .await;
        let ahead = stored_task(repo, user, "Reminder in five minutes", |t| {
            t.due(now + Duration::minutes(10), Some(5))
        })
        .await;
        let firing = ReminderPayload {
            task_id: fired.id,
            user_id: user,
            due_at: fired.due_date.expect("a due date"),
            remind_at: fired.remind_at().expect("a reminder"),
        };
        let outcome = ReminderFiredHandler::new(self.repo.clone(), clock.clone())
            .handle(&firing)
            .await
            .expect("handling a firing failed");
        let ReminderOutcome::Sent(event) = outcome else {
            panic!("the firing of task {}: {outcome:?}", fired.id);
        };
        // Settled, so that the outbox cases find no message left unsent by this one.
        self.outbox
            .mark_sent(&[event.event_id], chrono::Utc::now())
            .await
            .expect("mark_sent failed");

        let scheduler = Arc::new(InMemoryScheduler::new());
        let reconciler = ReminderReconciler::new(
            self.repo.clone(),
            scheduler.clone(),
            clock,
            Horizon::for_interval(std::time::Duration::from_secs(300)),
            Arc::new(InMemoryLocks::new()),
        );
        let outcome = reconciler.reconcile().await.expect("reconciling failed");
        assert!(
            matches!(outcome, Reconciliation::Scheduled(_)),
            "{outcome:?}"
        );
        let held = |task: &crate::model::Task| {
            scheduler
                .job(&reminder_job_name(task.id))
                .map(|job| job.due)
        };
        assert_eq!(
            held(&fired),
            None,
            "a reminder whose firing is recorded must not be scheduled again"
        );
        assert_eq!(
            held(&lost),
            Some(now),
            "a reminder already past whose firing is not recorded must be scheduled at once"
        );
        assert_eq!(
            held(&ahead),
            ahead.remind_at(),
            "a reminder ahead, within the window, must be scheduled"
        );
    }

    /// Every page of pending reminders in the window (`now`, `until`), two at a time, checking the
    /// order and the page size; returns `user`'s entries.
    async fn walk_pending_reminders(
        &self,
        user: crate::model::UserId,
        now: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Vec<crate::ports::ReminderEntry> {
        let mut seen = Vec::new();
        let mut resume: Option<crate::ports::ReminderCursor> = None;
        for _ in 0..10_000 {
            let page = self
                .repo
                .pending_reminders(now, until, resume, 2)
                .await
                .expect("pending_reminders failed");
            if page.is_empty() {
                return seen;
            }
            assert!(
                page.len() <= 2,
                "pending_reminders returned {} entries for limit 2",
                page.len()
            );
            for entry in page {
                assert!(
                    resume.is_none_or(|last| entry.cursor() > last),
                    "pending_reminders must be ordered by (remind_at, task id) and resume after \
                     the cursor (got {:?} after {resume:?})",
                    entry.cursor()
                );
                assert!(
                    entry.remind_at <= until && entry.due_date > now,
                    "pending_reminders listed {entry:?}, outside the window ({now}, {until}]"
                );
                resume = Some(entry.cursor());
                if entry.user_id == user {
                    seen.push(entry);
                }
            }
        }
        panic!("pending_reminders never ran out of pages");
    }
}

pub(super) fn ok(result: PortResult<()>, what: &str) {
    if let Err(error) = result {
        panic!("{what}: expected success, got {error:?}");
    }
}

fn expect_conflict(result: PortResult<()>, what: &str) {
    assert!(
        matches!(result, Err(PortError::Conflict { .. })),
        "{what}: expected Conflict, got {result:?}"
    );
}

fn expect_not_found(result: PortResult<()>, what: &str) {
    assert!(
        matches!(result, Err(PortError::NotFound)),
        "{what}: expected NotFound, got {result:?}"
    );
}

pub(super) fn expect_already_exists(result: PortResult<()>, what: &str) {
    assert!(
        matches!(result, Err(PortError::AlreadyExists { .. })),
        "{what}: expected AlreadyExists, got {result:?}"
    );
}

/// A random instant centuries ahead, so that the tasks of other cases (and of earlier runs) mostly
/// fall before it, and the reminder cases of different runs rarely share a window.
fn far_future() -> chrono::DateTime<chrono::Utc> {
    base_time() + Duration::days(365 * 500 + i64::from(rand::random::<u16>()))
}
