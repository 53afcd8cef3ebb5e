//! Property tests of idempotency: any delivery of the task events with duplicates, and with events of
//! different tasks reordered (Kafka keeps order only per key), leaves the same state as delivering each
//! event once, in order.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use todo_core::events::{topics, DomainEvent, Message, TaskEvent};
use todo_core::memory::{
    InMemoryEventBus, InMemoryScheduler, InMemoryStateStore, InMemoryTaskRepository, ManualClock,
    SequentialIds,
};
use todo_core::model::{NewTask, TaskId, TaskInput, UserId};
use todo_core::ports::{AuditLog, TaskRepository};
use todo_core::usecases::{AuditHandler, OutboxRelay, RecurringTaskHandler, TaskService};

#[derive(Debug, Clone)]
enum Action {
    Complete,
    Reopen,
    Delete,
    Wait(i64),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => Just(Action::Complete),
        2 => Just(Action::Reopen),
        1 => Just(Action::Delete),
        2 => (1i64..200).prop_map(Action::Wait),
    ]
}

const RULES: &[&str] = &[
    "\"daily\"",
    "\"weekly\"",
    "\"monthly\"",
    r#"{"rrule":"FREQ=WEEKLY;BYDAY=MO,WE;COUNT=3"}"#,
    r#"{"rrule":"FREQ=DAILY;INTERVAL=2","anchor":"completion"}"#,
];

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 20, 9, 0, 0).unwrap()
}

fn user() -> UserId {
    UserId(uuid::Uuid::from_u128(42))
}

struct World {
    repo: Arc<InMemoryTaskRepository>,
    recurring: RecurringTaskHandler,
    audit: AuditHandler,
    messages: Vec<Message>,
    originals: Vec<TaskId>,
}

/// Runs the user's script and collects the `task-events` it produced, in commit order.
async fn play(script: &[(usize, Vec<Action>)]) -> World {
    let clock = Arc::new(ManualClock::new(start()));
    let ids = Arc::new(SequentialIds::new());
    let repo = Arc::new(InMemoryTaskRepository::with_clock(clock.clone()));
    let bus = Arc::new(InMemoryEventBus::new());
    let tasks = TaskService::new(
        repo.clone(),
        Arc::new(InMemoryScheduler::new()),
        clock.clone(),
        ids.clone(),
    );
    let mut originals = Vec::new();
    for (i, (rule, _)) in script.iter().enumerate() {
        let new = NewTask::parse(TaskInput {
            title: format!("series {i}"),
            due_date: Some((start() + Duration::hours(i as i64 * 5)).to_rfc3339()),
            timezone: Some("America/New_York".into()),
            recurrence: Some(serde_json::from_str(RULES[*rule]).unwrap()),
            ..TaskInput::default()
        })
        .unwrap();
        originals.push(tasks.create_task(user(), new).await.unwrap().id);
    }
    let longest = script.iter().map(|(_, a)| a.len()).max().unwrap_or(0);
    for step in 0..longest {
        for (i, (_, actions)) in script.iter().enumerate() {
            let Some(action) = actions.get(step) else {
                continue;
            };
            let id = originals[i];
            // Actions on a deleted task fail with NotFound; that is part of the script.
            let _ = match action {
                Action::Complete => tasks.complete_task(user(), id).await.map(drop),
                Action::Reopen => tasks.reopen_task(user(), id).await.map(drop),
                Action::Delete => tasks.delete_task(user(), id).await,
                Action::Wait(hours) => {
                    clock.advance(Duration::hours(*hours));
                    Ok(())
                }
            };
        }
    }
    OutboxRelay::new(repo.clone(), bus.clone(), clock.clone())
        .drain(10_000, 10)
        .await
        .unwrap();
    let messages = bus.published_on(topics::TASK_EVENTS);
    let state = Arc::new(InMemoryStateStore::new());
    let recurring = RecurringTaskHandler::new(repo.clone(), state, clock.clone(), ids);
    let audit = AuditHandler::new(repo.clone());
    World {
        repo,
        recurring,
        audit,
        messages,
        originals,
    }
}

async fn deliver(world: &World, message: &Message) {
    let DomainEvent::Task(event) = DomainEvent::decode(&message.topic, &message.payload).unwrap()
    else {
        panic!("task-events carries task events")
    };
    let event: TaskEvent = event;
    world.recurring.handle(&event).await.unwrap();
    world.audit.handle(&event).await.unwrap();
}

/// What must not depend on delivery: which occurrences exist (by their place in their series) and
/// which audit entries were written.
async fn observable(world: &World) -> (BTreeSet<String>, BTreeMap<i64, usize>) {
    let tasks = world
        .repo
        .tasks()
        .into_iter()
        .map(|t| {
            let s = t.series.unwrap();
            format!(
                "{} #{} due {:?} {:?} after {:?}",
                t.title.as_str(),
                s.occurrence,
                t.due_date,
                t.status,
                s.predecessor
            )
        })
        .collect();
    let mut audit = BTreeMap::new();
    for id in &world.originals {
        audit.insert(
            id.0,
            AuditLog::history(world.repo.as_ref(), user(), *id)
                .await
                .unwrap()
                .len(),
        );
    }
    (tasks, audit)
}

/// Interleaves the per-key queues by `choices` and re-delivers earlier messages where `dups` says.
fn perturb(messages: &[Message], choices: &[usize], dups: &[(usize, usize)]) -> Vec<Message> {
    let mut queues: BTreeMap<String, VecDeque<Message>> = BTreeMap::new();
    for m in messages {
        queues
            .entry(m.key.clone())
            .or_default()
            .push_back(m.clone());
    }
    let mut out: Vec<Message> = Vec::new();
    let mut c = choices.iter().cycle();
    while queues.values().any(|q| !q.is_empty()) {
        let keys: Vec<String> = queues
            .iter()
            .filter(|(_, q)| !q.is_empty())
            .map(|(k, _)| k.clone())
            .collect();
        let key = &keys[c.next().copied().unwrap_or(0) % keys.len()];
        out.push(queues.get_mut(key).unwrap().pop_front().unwrap());
    }
    let mut with_dups = Vec::new();
    for (i, m) in out.iter().enumerate() {
        with_dups.push(m.clone());
        for (at, which) in dups {
            if *at % out.len().max(1) == i {
                with_dups.push(out[*which % (i + 1)].clone());
            }
        }
    }
    with_dups
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(120))]

    #[test]
    fn duplicated_and_reordered_delivery_equals_delivering_each_event_once(
        script in prop::collection::vec((0..RULES.len(), prop::collection::vec(action(), 1..8)), 1..4),
        choices in prop::collection::vec(0usize..16, 1..32),
        dups in prop::collection::vec((0usize..64, 0usize..64), 0..12),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let reference = play(&script).await;
            for m in &reference.messages {
                deliver(&reference, m).await;
            }
            let perturbed = play(&script).await;
            prop_assert_eq!(&reference.messages, &perturbed.messages, "the script is deterministic");
            for m in perturb(&perturbed.messages, &choices, &dups) {
                deliver(&perturbed, &m).await;
            }
            prop_assert_eq!(observable(&reference).await, observable(&perturbed).await);
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn a_completed_event_delivered_twice_creates_one_occurrence() {
    let world = play(&[(1, vec![Action::Complete])]).await;
    let completed: Vec<&Message> = world
        .messages
        .iter()
        .filter(|m| m.payload["event_type"] == "completed")
        .collect();
    assert_eq!(completed.len(), 1);
    deliver(&world, completed[0]).await;
    deliver(&world, completed[0]).await;
    assert_eq!(world.repo.tasks().len(), 2);
    assert!(world
        .repo
        .successor(user(), world.originals[0])
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn a_completed_event_redelivered_after_its_series_ended_creates_nothing() {
    let world = play(&[(1, vec![Action::Complete, Action::Reopen, Action::Delete])]).await;
    let kinds: Vec<&str> = world
        .messages
        .iter()
        .map(|m| m.payload["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["created", "completed", "updated", "deleted"]);
    for m in &world.messages {
        deliver(&world, m).await;
    }
    assert!(
        world.repo.tasks().is_empty(),
        "deleting the pending occurrence ended the series"
    );
    deliver(&world, &world.messages[1]).await;
    assert!(world.repo.tasks().is_empty(), "{:?}", world.repo.tasks());
}
