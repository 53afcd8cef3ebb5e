//! The scenario the storage examples share: the same use cases on whichever database adapter holds
//! the tasks, the outbox and the recurring handler's state.

use std::sync::Arc;

use anyhow::{bail, Context};
use chrono::{Days, TimeZone as _, Utc};
use todo_core::events::{consumers, topics};
use todo_core::memory::{InMemoryEventBus, InMemoryScheduler};
use todo_core::model::{NewTask, Status, TaskInput, TimeZone, UserId};
use todo_core::ports::{
    Clock, IdGenerator, OutboxStore, StateStore, SystemClock, TaskRepository, UuidV7Generator,
};
use todo_core::query::QueryParams;
use todo_core::usecases::{
    reminder_job_name, OccurrenceReminders, OutboxRelay, RecurringConsumer, RecurringTaskHandler,
    TaskService,
};

use crate::{describe, local_time};

/// Creates a weekly task and two others in `store`, searches them, completes the weekly one (its
/// `completed` event goes to the outbox table in the same transaction), relays the outbox to an
/// in-process bus, where the recurring handler stores the next occurrence, and prints each step.
pub async fn complete_a_recurring_task<S>(store: Arc<S>) -> anyhow::Result<()>
where
    S: TaskRepository + OutboxStore + StateStore + 'static,
{
    // Wiring. Reminder jobs stay in process here (the `with_dapr` example puts them in Dapr's
    // scheduler); events go through an in-process bus whose only consumer is the recurring handler.
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ids: Arc<dyn IdGenerator> = Arc::new(UuidV7Generator);
    let scheduler = Arc::new(InMemoryScheduler::new());
    let bus = Arc::new(InMemoryEventBus::new());
    let recurring =
        RecurringTaskHandler::new(store.clone(), store.clone(), clock.clone(), ids.clone());
    bus.subscribe(
        topics::TASK_EVENTS,
        consumers::RECURRING,
        Arc::new(RecurringConsumer(recurring)),
    );
    // The reminder of each new occurrence is scheduled by whoever owns reminder jobs (the API in the
    // server), learning of the occurrence from its `created` event.
    bus.subscribe(
        topics::TASK_EVENTS,
        consumers::API_REMINDERS,
        Arc::new(OccurrenceReminders::new(scheduler.clone(), clock.clone())),
    );
    let tasks = TaskService::new(store.clone(), scheduler.clone(), clock.clone(), ids.clone());
    let relay = OutboxRelay::new(store.clone(), bus.clone(), clock.clone());
    let me = UserId(ids.new_uuid());

    // 2. Create: a weekly task due tomorrow at 09:00 in Berlin, and two more to search among.
    let berlin = TimeZone::parse("Europe/Berlin")?;
    let tomorrow = clock.now().with_timezone(&berlin.tz()).date_naive() + Days::new(1);
    let first_due = berlin
        .tz()
        .from_local_datetime(&tomorrow.and_hms_opt(9, 0, 0).context("09:00 is a time")?)
        .earliest()
        .context("09:00 exists in Berlin")?
        .with_timezone(&Utc);
    println!("\n== Create and search");
    let plants = tasks
        .create_task(
            me,
            NewTask::parse(TaskInput {
                title: "Water the plants".into(),
                description: Some("balcony and kitchen".into()),
                priority: Some("high".into()),
                tags: Some(vec!["home".into()]),
                due_date: Some(first_due.to_rfc3339()),
                timezone: Some(berlin.name().into()),
                recurrence: Some(serde_json::json!("weekly")),
                ..TaskInput::default()
            })?,
        )
        .await?;
    println!("created {}", describe(&plants));
    if let Some(job) = scheduler.job(&reminder_job_name(plants.id)) {
        println!(
            "  reminder job {} at {}",
            job.name,
            local_time(&plants, job.due)
        );
    }
    for (title, tag) in [("Repot the cactus", "home"), ("Plan the offsite", "work")] {
        let new = NewTask::parse(TaskInput {
            title: title.into(),
            tags: Some(vec![tag.into()]),
            ..TaskInput::default()
        })?;
        println!("created {}", describe(&tasks.create_task(me, new).await?));
    }
    // Search is the query semantics of todo-core, run as SQL (trigram index) by todo-postgres.
    let home = QueryParams {
        q: Some("plant".into()),
        tags: Some("home".into()),
        ..Default::default()
    }
    .parse()?;
    for task in tasks.list_tasks(me, &home).await?.items {
        println!("search \"plant\" tagged home: {}", describe(&task));
    }

    // 3. Complete. The task row and the `completed` event commit together; nothing is published yet.
    println!("\n== Complete the recurring task");
    let completion = tasks.complete_task(me, plants.id).await?;
    println!("completed {}", describe(&completion.task));

    // 4. Relay the outbox. Publishing hands each event to the recurring handler, which stores the
    //    next occurrence and marks the event processed in one transaction (a redelivery is a no-op).
    let report = relay.drain(100, 10).await?;
    println!(
        "outbox relay -> in-process bus: {} published, {} failed",
        report.sent, report.failed
    );
    if let Some(dead) = bus.dead_letters().first() {
        bail!(
            "the recurring handler gave up on an event: {:?}",
            dead.error
        );
    }

    // The series, as the user sees it: the completed occurrence and the next one.
    let series = QueryParams {
        q: Some("water the plants".into()),
        ..Default::default()
    }
    .parse()?;
    let occurrences = tasks.list_tasks(me, &series).await?.items;
    for task in &occurrences {
        println!("series: {}", describe(task));
    }
    let Some(next) = occurrences.iter().find(|t| t.status == Status::Pending) else {
        bail!("no next occurrence was created");
    };
    println!("next occurrence: {}", describe(next));
    Ok(())
}
