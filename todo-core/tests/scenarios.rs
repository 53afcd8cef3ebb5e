//! The user scenarios of the seed, end to end through the use cases and the in-memory adapters.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use todo_core::events::{consumers, topics, DomainEvent, TaskEventType};
use todo_core::memory::{
    InMemoryEventBus, InMemoryScheduler, InMemoryStateStore, InMemoryTaskRepository, ManualClock,
    SequentialIds,
};
use todo_core::model::{NewTask, Status, TaskInput, TaskPatch, UserId};
use todo_core::ports::{EventBus, OutboxStore, TaskRepository};
use todo_core::query::QueryParams;
use todo_core::usecases::{
    AuditConsumer, AuditHandler, OccurrenceReminders, OnCommit, OutboxRelay, RecurringConsumer,
    RecurringTaskHandler, RelayOnCommit, ReminderFiredHandler, ReminderOutcome, ReminderPayload,
    TaskService,
};

/// How the world's events travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The relay runs when a test says so, as a separate relay process would.
    Distributed,
    /// The embedded default: the task service's commits relay their events before returning.
    Embedded,
}

struct World {
    clock: Arc<ManualClock>,
    repo: Arc<InMemoryTaskRepository>,
    scheduler: Arc<InMemoryScheduler>,
    bus: Arc<InMemoryEventBus>,
    tasks: TaskService,
    relay: OutboxRelay,
    reminders: ReminderFiredHandler,
}

fn monday_morning() -> DateTime<Utc> {
    // Monday 2026-03-02 08:00 UTC.
    Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
}

fn world(mode: Mode) -> World {
    let clock = Arc::new(ManualClock::new(monday_morning()));
    let ids = Arc::new(SequentialIds::new());
    let repo = Arc::new(InMemoryTaskRepository::with_clock(clock.clone()));
    let scheduler = Arc::new(InMemoryScheduler::new());
    let bus = Arc::new(InMemoryEventBus::new());
    let state = Arc::new(InMemoryStateStore::new());
    let recurring = RecurringTaskHandler::new(repo.clone(), state, clock.clone(), ids.clone());
    bus.subscribe(
        topics::TASK_EVENTS,
        consumers::RECURRING,
        Arc::new(RecurringConsumer(recurring)),
    );
    bus.subscribe(
        topics::TASK_EVENTS,
        consumers::AUDIT,
        Arc::new(AuditConsumer(AuditHandler::new(repo.clone()))),
    );
    bus.subscribe(
        topics::TASK_EVENTS,
        "api-reminders",
        Arc::new(OccurrenceReminders::new(scheduler.clone(), clock.clone())),
    );
    let relay = OutboxRelay::new(repo.clone(), bus.clone(), clock.clone());
    // Consumers keep the plain repository; only the task service's commits relay.
    let task_repo: Arc<dyn TaskRepository> = match mode {
        Mode::Distributed => repo.clone(),
        Mode::Embedded => Arc::new(OnCommit::new(
            repo.clone(),
            RelayOnCommit::new(relay.clone()),
        )),
    };
    let tasks = TaskService::new(task_repo, scheduler.clone(), clock.clone(), ids);
    let reminders = ReminderFiredHandler::new(repo.clone(), clock.clone());
    World {
        clock,
        repo,
        scheduler,
        bus,
        tasks,
        relay,
        reminders,
    }
}

fn user() -> UserId {
    UserId(uuid::Uuid::from_u128(7))
}

fn weekly(title: &str, due: DateTime<Utc>) -> NewTask {
    NewTask::parse(TaskInput {
        title: title.into(),
        due_date: Some(due.to_rfc3339()),
        timezone: Some("Europe/London".into()),
        recurrence: Some(serde_json::json!("weekly")),
        ..TaskInput::default()
    })
    .unwrap()
}

#[tokio::test]
async fn completing_a_weekly_task_creates_next_weeks_task_once_even_when_the_event_is_redelivered()
{
    let w = world(Mode::Distributed);
    let due = monday_morning() + Duration::hours(1);
    let task = w
        .tasks
        .create_task(user(), weekly("Team sync", due))
        .await
        .unwrap();
    w.clock.advance(Duration::minutes(30));
    let done = w.tasks.complete_task(user(), task.id).await.unwrap();
    assert_eq!(
        done.next, None,
        "the recurring service has not seen the event yet"
    );

    w.relay.relay_once(100).await.unwrap();
    let completed = w
        .bus
        .published_on(topics::TASK_EVENTS)
        .into_iter()
        .find(|m| m.payload["event_type"] == "completed")
        .expect("completed event published");
    // Redelivery of the very same message.
    w.bus.publish(&completed).await.unwrap();
    // The next occurrence's own `created` event.
    w.relay.drain(100, 10).await.unwrap();

    let next = w
        .repo
        .successor(user(), task.id)
        .await
        .unwrap()
        .expect("next occurrence");
    assert_eq!(next.due_date, Some(due + Duration::weeks(1)));
    assert_eq!(next.status, Status::Pending);
    assert_eq!(next.series.unwrap().id, task.series.unwrap().id);
    let pending = w
        .tasks
        .list_tasks(
            user(),
            &QueryParams {
                status: Some("pending".into()),
                ..QueryParams::default()
            }
            .parse()
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(pending.items.len(), 1, "exactly one next occurrence");
    // Completing again answers the same task and the next occurrence, creating nothing.
    let again = w.tasks.complete_task(user(), task.id).await.unwrap();
    assert_eq!(again.next.as_ref().map(|t| t.id), Some(next.id));
    // Its reminder is scheduled an hour before.
    let job = w
        .scheduler
        .job(&format!("reminder-task-{}", next.id))
        .expect("reminder job");
    assert_eq!(job.due, due + Duration::weeks(1) - Duration::hours(1));
}

#[tokio::test]
async fn in_embedded_mode_completion_returns_the_next_occurrence_with_its_reminder_scheduled() {
    let w = world(Mode::Embedded);
    let due = monday_morning() + Duration::hours(1);
    let task = w
        .tasks
        .create_task(user(), weekly("Water plants", due))
        .await
        .unwrap();
    let done = w.tasks.complete_task(user(), task.id).await.unwrap();
    let next = done.next.expect("created before complete returned");
    assert_eq!(next.due_date, Some(due + Duration::weeks(1)));
    assert!(
        w.scheduler
            .job(&format!("reminder-task-{}", next.id))
            .is_some(),
        "the occurrence's created event was handled before complete returned"
    );
    assert_eq!(
        w.relay.drain(100, 10).await.unwrap().sent,
        0,
        "nothing was left in the outbox"
    );
    assert_eq!(
        w.repo.tasks().len(),
        2,
        "the completed event created no second occurrence"
    );
}

#[tokio::test]
async fn a_due_date_schedules_a_reminder_an_hour_before_that_reaches_the_reminders_topic_once() {
    let w = world(Mode::Embedded);
    let due = monday_morning() + Duration::hours(5);
    let new = NewTask::parse(TaskInput {
        title: "Buy groceries".into(),
        due_date: Some(due.to_rfc3339()),
        ..TaskInput::default()
    })
    .unwrap();
    let task = w.tasks.create_task(user(), new).await.unwrap();
    let job = w
        .scheduler
        .job(&format!("reminder-task-{}", task.id))
        .expect("scheduled");
    assert_eq!(job.due, due - Duration::hours(1));
    assert!(w
        .scheduler
        .take_due(w.clock.advance(Duration::hours(3)))
        .is_empty());

    let fired = w.scheduler.take_due(w.clock.advance(Duration::hours(1)));
    assert_eq!(fired.len(), 1);
    let payload: ReminderPayload = serde_json::from_value(fired[0].payload.clone()).unwrap();
    assert!(matches!(
        w.reminders.handle(&payload).await.unwrap(),
        ReminderOutcome::Sent(_)
    ));
    // The scheduler delivers the same job twice: nobody is notified twice.
    assert_eq!(
        w.reminders.handle(&payload).await.unwrap(),
        ReminderOutcome::Duplicate
    );
    w.relay.drain(100, 10).await.unwrap();
    let reminders = w.bus.published_on(topics::REMINDERS);
    assert_eq!(reminders.len(), 1);
    assert_eq!(reminders[0].payload["title"], "Buy groceries");
    assert_eq!(
        reminders[0].payload["remind_at"],
        (due - Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    );
}

#[tokio::test]
async fn deleting_a_recurring_task_ends_its_series_and_cancels_its_reminder() {
    let w = world(Mode::Distributed);
    let due = monday_morning() + Duration::days(1);
    let task = w
        .tasks
        .create_task(user(), weekly("Gym", due))
        .await
        .unwrap();
    let job_name = format!("reminder-task-{}", task.id);
    assert!(w.scheduler.job(&job_name).is_some());
    w.tasks.delete_task(user(), task.id).await.unwrap();
    assert!(w.scheduler.job(&job_name).is_none(), "reminder cancelled");
    w.relay.drain(100, 10).await.unwrap();
    assert!(w.repo.tasks().is_empty(), "no further occurrence");
}

#[tokio::test]
async fn a_completion_racing_the_deletion_of_the_next_occurrence_leaves_no_occurrence() {
    // The user completes A, then deletes B (A's successor) before... the recurring service handles
    // A's completed event a second time (redelivery): the ended series stays ended.
    let w = world(Mode::Distributed);
    let task = w
        .tasks
        .create_task(
            user(),
            weekly("Report", monday_morning() + Duration::hours(2)),
        )
        .await
        .unwrap();
    w.tasks.complete_task(user(), task.id).await.unwrap();
    w.relay.drain(100, 10).await.unwrap();
    let next = w
        .repo
        .successor(user(), task.id)
        .await
        .unwrap()
        .expect("next");
    w.tasks.delete_task(user(), next.id).await.unwrap();
    w.relay.drain(100, 10).await.unwrap();
    for message in w.bus.published_on(topics::TASK_EVENTS) {
        w.bus.publish(&message).await.unwrap();
    }
    let pending: Vec<_> = w
        .repo
        .tasks()
        .into_iter()
        .filter(|t| t.status == Status::Pending)
        .collect();
    assert!(pending.is_empty(), "{pending:?}");
}

#[tokio::test]
async fn a_broker_outage_loses_nothing_and_keeps_each_tasks_events_in_order() {
    let w = world(Mode::Distributed);
    w.bus.set_available(false);
    let a = w
        .tasks
        .create_task(user(), NewTask::titled("A").unwrap())
        .await
        .unwrap();
    let b = w
        .tasks
        .create_task(user(), NewTask::titled("B").unwrap())
        .await
        .unwrap();
    w.tasks.complete_task(user(), a.id).await.unwrap();
    let patch = TaskPatch {
        title: Some(todo_core::model::Title::parse("B2").unwrap()),
        ..TaskPatch::default()
    };
    w.tasks.update_task(user(), b.id, patch).await.unwrap();
    w.tasks.delete_task(user(), a.id).await.unwrap();

    let report = w.relay.relay_once(100).await.unwrap();
    assert_eq!(report.sent, 0);
    assert!(report.failed > 0);
    assert_eq!(
        w.repo.backlog().await.unwrap().0,
        6,
        "every event waits in the outbox"
    );

    w.bus.set_available(true);
    w.clock.advance(Duration::minutes(5));
    w.relay.drain(100, 10).await.unwrap();
    assert_eq!(w.repo.backlog().await.unwrap().0, 0);
    let kinds = |id: i64| -> Vec<String> {
        w.bus
            .published_on(topics::TASK_EVENTS)
            .iter()
            .filter(|m| m.key == id.to_string())
            .map(|m| m.payload["event_type"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(kinds(a.id.0), vec!["created", "completed", "deleted"]);
    assert_eq!(kinds(b.id.0), vec!["created", "updated"]);
    assert_eq!(w.bus.published_on(topics::TASK_UPDATES).len(), 1);
}

#[tokio::test]
async fn the_audit_log_keeps_a_tasks_history_once_per_event() {
    let w = world(Mode::Embedded);
    let task = w
        .tasks
        .create_task(user(), NewTask::titled("Audit me").unwrap())
        .await
        .unwrap();
    w.tasks.complete_task(user(), task.id).await.unwrap();
    w.tasks.reopen_task(user(), task.id).await.unwrap();
    w.relay.drain(100, 10).await.unwrap();
    for message in w.bus.published_on(topics::TASK_EVENTS) {
        w.bus.publish(&message).await.unwrap();
    }
    let history = w.tasks.task_history(user(), task.id).await.unwrap();
    let actions: Vec<TaskEventType> = history.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        vec![
            TaskEventType::Created,
            TaskEventType::Completed,
            TaskEventType::Updated
        ]
    );
    let other = UserId(uuid::Uuid::from_u128(8));
    assert!(
        w.tasks.task_history(other, task.id).await.is_err(),
        "another user's history is not found"
    );
}

#[tokio::test]
async fn a_malformed_event_is_dead_lettered_not_retried_forever() {
    let w = world(Mode::Embedded);
    let message = todo_core::events::Message {
        id: todo_core::model::EventId(uuid::Uuid::now_v7()),
        topic: topics::TASK_EVENTS.into(),
        key: "1".into(),
        event_type: "com.todo.task.completed".into(),
        payload: serde_json::json!({"event_type": "completed"}),
    };
    w.bus.publish(&message).await.unwrap();
    let dead = w.bus.dead_letters();
    assert_eq!(dead.len(), 3, "every consumer group dead-letters it");
    assert!(dead
        .iter()
        .all(|d| d.error.contains("decoding a task event")));
    assert!(dead.iter().all(|d| d.attempts == 1));
    assert!(DomainEvent::decode(&message.topic, &message.payload).is_err());
}
