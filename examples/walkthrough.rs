//! Embeds `todo-core` with its in-memory adapters and walks the seed's user scenarios:
//!
//! 1. a weekly recurring task, once completed, rolls forward to next week;
//! 2. a due date schedules a reminder one hour before, which fires into the `reminders` topic;
//! 3. priorities, tags, search and sort over a handful of tasks.
//!
//! Run it with `cargo run --example walkthrough`. Time is simulated with a manual clock, so the whole
//! walk takes milliseconds.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use todo_core::events::{consumers, topics};
use todo_core::memory::{
    InMemoryEventBus, InMemoryScheduler, InMemoryStateStore, InMemoryTaskRepository, ManualClock,
    SequentialIds,
};
use todo_core::model::{NewTask, TaskInput, UserId};
use todo_core::query::QueryParams;
use todo_core::usecases::{
    AuditConsumer, AuditHandler, OutboxRelay, RecurringConsumer, RecurringTaskHandler,
    ReminderFiredHandler, ReminderOutcome, ReminderPayload, TaskService,
};
use todo_examples::{describe, local_time};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    // Wiring: every port gets its in-memory adapter.
    let start = Utc
        .with_ymd_and_hms(2026, 3, 2, 8, 0, 0)
        .single()
        .expect("a valid date");
    let clock = Arc::new(ManualClock::new(start));
    let ids = Arc::new(SequentialIds::new());
    let repo = Arc::new(InMemoryTaskRepository::with_clock(clock.clone()));
    let scheduler = Arc::new(InMemoryScheduler::new());
    let bus = Arc::new(InMemoryEventBus::new());
    let recurring = RecurringTaskHandler::new(
        repo.clone(),
        Arc::new(InMemoryStateStore::new()),
        clock.clone(),
        ids.clone(),
    );
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
    let tasks = TaskService::new(repo.clone(), scheduler.clone(), clock.clone(), ids);
    let relay = OutboxRelay::new(repo.clone(), bus.clone(), clock.clone());
    let reminders = ReminderFiredHandler::new(repo.clone(), clock.clone());
    let me = UserId(uuid::Uuid::from_u128(1));

    println!("== 1. A weekly task rolls forward when completed");
    let due = start + Duration::hours(1);
    let standup = tasks
        .create_task(
            me,
            NewTask::parse(TaskInput {
                title: "Weekly team sync".into(),
                due_date: Some(due.to_rfc3339()),
                timezone: Some("Europe/London".into()),
                recurrence: Some(serde_json::json!("weekly")),
                ..TaskInput::default()
            })?,
        )
        .await?;
    println!("created {}", describe(&standup));
    tasks.complete_task(me, standup.id).await?;
    let relayed = relay.drain(100, 10).await?;
    println!(
        "outbox relayed {} events; the recurring service consumed them",
        relayed.sent
    );
    let next = tasks
        .list_tasks(
            me,
            &QueryParams {
                status: Some("pending".into()),
                ..Default::default()
            }
            .parse()?,
        )
        .await?
        .items;
    for task in &next {
        println!("next occurrence {}", describe(task));
    }
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].due_date, Some(due + Duration::weeks(1)));

    println!("\n== 2. A due date schedules a reminder an hour before");
    let due = start + Duration::hours(6);
    let groceries = tasks
        .create_task(
            me,
            NewTask::parse(TaskInput {
                title: "Buy groceries".into(),
                description: Some("milk, eggs, bread".into()),
                due_date: Some(due.to_rfc3339()),
                priority: Some("high".into()),
                tags: Some(vec!["home".into()]),
                ..TaskInput::default()
            })?,
        )
        .await?;
    let job = scheduler
        .job(&format!("reminder-task-{}", groceries.id))
        .expect("the reminder job is scheduled");
    println!(
        "job {} fires at {} ({})",
        job.name,
        local_time(&groceries, job.due),
        todo_examples::due(&groceries)
    );
    assert_eq!(job.due, due - Duration::hours(1));
    let now = clock.advance(Duration::hours(5));
    for fired in scheduler.take_due(now) {
        let payload: ReminderPayload = serde_json::from_value(fired.payload)?;
        if let ReminderOutcome::Sent(event) = reminders.handle(&payload).await? {
            println!(
                "reminder fired: \"{}\" due {}",
                event.title,
                local_time(&groceries, event.due_at)
            );
        }
    }
    relay.drain(100, 10).await?;
    println!(
        "messages on `reminders`: {}",
        bus.published_on(topics::REMINDERS).len()
    );

    // The completed occurrence of the weekly task is still listed (status=all is the default): its
    // status tells it from the next occurrence.
    println!("\n== 3. Priorities, tags, search and sort");
    for (title, tag, priority) in [
        ("Write quarterly report", "work", "high"),
        ("Book dentist", "personal", "low"),
        ("Groceries for the party", "home", "medium"),
    ] {
        let new = NewTask::parse(TaskInput {
            title: title.into(),
            tags: Some(vec![tag.into()]),
            priority: Some(priority.into()),
            ..TaskInput::default()
        })?;
        tasks.create_task(me, new).await?;
    }
    let search = QueryParams {
        q: Some("groceries".into()),
        ..Default::default()
    }
    .parse()?;
    for task in tasks.list_tasks(me, &search).await?.items {
        println!("search \"groceries\": {}", describe(&task));
    }
    let by_priority = QueryParams {
        sort: Some("priority".into()),
        ..Default::default()
    }
    .parse()?;
    for task in tasks.list_tasks(me, &by_priority).await?.items {
        println!("{:>6}  {}", task.priority.as_str(), describe(&task));
    }
    let work = QueryParams {
        tags: Some("work".into()),
        ..Default::default()
    }
    .parse()?;
    println!(
        "tagged work: {}",
        tasks.list_tasks(me, &work).await?.items.len()
    );
    Ok(())
}
