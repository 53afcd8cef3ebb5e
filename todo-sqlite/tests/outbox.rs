//! The transactional outbox on SQLite: events commit with their change, survive a crash between
//! commit and publish (the file reopened by a new process), are relayed once by concurrent relays,
//! and keep per-task order.

mod support;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Duration, Utc};
use uuid::Uuid;

use todo_core::events::Message;
use todo_core::memory::{InMemoryEventBus, InMemoryScheduler, ManualClock};
use todo_core::model::{EventId, NewTask, TaskPatch, Title, UserId};
use todo_core::ports::{
    Changes, OutboxStore, SystemClock, TaskRepository, TaskWrite, UuidV7Generator,
};
use todo_core::usecases::{OutboxRelay, TaskService};
use todo_sqlite::SqliteTaskRepository;

fn service(repo: Arc<SqliteTaskRepository>) -> TaskService {
    TaskService::new(
        repo,
        Arc::new(InMemoryScheduler::new()),
        Arc::new(SystemClock),
        Arc::new(UuidV7Generator),
    )
}

fn message(key: &str) -> Message {
    Message {
        id: EventId(Uuid::now_v7()),
        topic: "task-events".to_owned(),
        key: key.to_owned(),
        event_type: "com.todo.task.created".to_owned(),
        payload: serde_json::json!({ "key": key, "list": [1, "two", null], "nested": { "ok": true } }),
    }
}

async fn outbox_rows(repo: &SqliteTaskRepository) -> Vec<(Uuid, String, serde_json::Value)> {
    let rows: Vec<(Uuid, String, String)> =
        sqlx::query_as("SELECT event_id, key, payload FROM outbox ORDER BY seq")
            .fetch_all(repo.database().reader_pool())
            .await
            .expect("reading the outbox");
    rows.into_iter()
        .map(|(id, key, payload)| {
            let payload = serde_json::from_str(&payload).expect("a JSON payload");
            (id, key, payload)
        })
        .collect()
}

/// Another repository over the same open database: a second relay or service in this process.
fn another_replica(repo: &SqliteTaskRepository) -> Arc<SqliteTaskRepository> {
    Arc::new(SqliteTaskRepository::new(repo.database().clone()))
}

#[tokio::test]
async fn events_are_written_in_the_transaction_of_their_change() {
    let (_db, repo) = support::fresh_store().await;
    let tasks = service(repo.clone());
    let user = UserId(Uuid::new_v4());

    let task = tasks
        .create_task(user, NewTask::titled("Buy milk").unwrap())
        .await
        .unwrap();
    let rows = outbox_rows(&repo).await;
    assert_eq!(rows.len(), 1, "one created event with the created task");
    assert_eq!(rows[0].1, task.id.to_string(), "keyed by task id");
    assert_eq!(rows[0].2["event_type"], "created");
    assert_eq!(rows[0].2["task_data"]["title"], "Buy milk");

    // A unit whose write is refused leaves no event behind.
    let mut stale = task.clone();
    stale.title = Title::parse("A stale edit").unwrap();
    stale.version = 9;
    let refused = repo
        .commit(Changes {
            writes: vec![TaskWrite::Update {
                task: stale,
                expected_version: 8,
            }],
            outbox: vec![message(&task.id.to_string())],
            ..Changes::default()
        })
        .await;
    assert!(refused.is_err(), "a stale update must fail: {refused:?}");
    assert_eq!(
        outbox_rows(&repo).await.len(),
        1,
        "the refused unit wrote an event"
    );

    // A completion writes the task change and both of its events together.
    tasks.complete_task(user, task.id).await.unwrap();
    let types: Vec<_> = outbox_rows(&repo)
        .await
        .into_iter()
        .map(|(_, _, payload)| {
            payload["event_type"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(types, ["created", "completed", "status_changed"]);
}

#[tokio::test]
async fn events_committed_before_a_crash_are_relayed_after_restart() {
    let (db, repo) = support::fresh_store().await;
    let user = UserId(Uuid::new_v4());
    let mut expected = Vec::new();
    {
        let tasks = service(repo.clone());
        for title in ["Pay rent", "Call mom", "Water plants"] {
            let task = tasks
                .create_task(user, NewTask::titled(title).unwrap())
                .await
                .unwrap();
            expected.push(task.id);
        }
        tasks
            .update_task(
                user,
                expected[0],
                TaskPatch {
                    title: Some(Title::parse("Pay rent today").unwrap()),
                    ..TaskPatch::default()
                },
            )
            .await
            .unwrap();
        tasks.complete_task(user, expected[1]).await.unwrap();
    }
    let committed: Vec<Uuid> = outbox_rows(&repo).await.into_iter().map(|r| r.0).collect();
    assert_eq!(
        committed.len(),
        6,
        "3 created, 1 updated, 1 completed, 1 status_changed"
    );

    // The process dies after commit and before any publish: its connections and lock go with it.
    repo.database().close().await;
    drop(repo);

    // A new process: the file opened again, a new relay.
    let restarted = Arc::new(SqliteTaskRepository::new(
        support::open_migrated(&db.path).await,
    ));
    let bus = Arc::new(InMemoryEventBus::new());
    let relay = OutboxRelay::new(restarted.clone(), bus.clone(), Arc::new(SystemClock));
    let report = relay.drain(100, 10).await.unwrap();
    assert_eq!(report.sent, 6);
    let published: Vec<Uuid> = bus.published().iter().map(|m| m.id.0).collect();
    assert_eq!(
        published, committed,
        "every committed event, once, in commit order"
    );
    assert_eq!(restarted.backlog().await.unwrap(), (0, None));
}

#[tokio::test]
async fn a_relay_that_dies_holding_a_lease_leaves_its_rows_to_the_next_relay() {
    let (_db, repo) = support::fresh_store().await;
    let messages: Vec<Message> = (0..3).map(|n| message(&format!("task-{n}"))).collect();
    repo.commit(Changes {
        outbox: messages.clone(),
        ..Changes::default()
    })
    .await
    .unwrap();

    // The first relay claims everything and dies before publishing.
    let now = Utc::now();
    let claimed = repo
        .claim(now, now + Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    let successor = another_replica(&repo);
    drop(repo);

    let clock = Arc::new(ManualClock::new(now));
    let bus = Arc::new(InMemoryEventBus::new());
    let relay = OutboxRelay::new(successor.clone(), bus.clone(), clock.clone());
    assert_eq!(
        relay.relay_once(10).await.unwrap().sent,
        0,
        "leased rows wait for the lease to run out"
    );
    clock.advance(Duration::seconds(31));
    assert_eq!(relay.relay_once(10).await.unwrap().sent, 3);
    assert_eq!(
        bus.published(),
        messages,
        "payloads round-trip through the JSON text"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_relays_publish_each_event_once() {
    let (_db, repo) = support::fresh_store().await;
    const EVENTS: usize = 600;
    let messages: Vec<Message> = (0..EVENTS)
        .map(|n| message(&format!("task-{}", n % 97)))
        .collect();
    for chunk in messages.chunks(50) {
        repo.commit(Changes {
            outbox: chunk.to_vec(),
            ..Changes::default()
        })
        .await
        .unwrap();
    }

    let bus = Arc::new(InMemoryEventBus::new());
    let mut relays = Vec::new();
    for _ in 0..3 {
        let replica = another_replica(&repo);
        let relay = OutboxRelay::new(replica, bus.clone(), Arc::new(SystemClock));
        relays.push(tokio::spawn(async move {
            let mut sent = 0;
            loop {
                let report = relay.relay_once(25).await.expect("relay pass");
                if report.sent + report.failed == 0 {
                    return sent;
                }
                sent += report.sent;
            }
        }));
    }
    let mut per_relay = Vec::new();
    for relay in relays {
        per_relay.push(relay.await.unwrap());
    }

    let mut times_published: HashMap<EventId, usize> = HashMap::new();
    for published in bus.published() {
        *times_published.entry(published.id).or_default() += 1;
    }
    let twice: Vec<_> = times_published.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "events published more than once: {twice:?}"
    );
    assert_eq!(times_published.len(), EVENTS, "every event published");
    assert_eq!(per_relay.iter().sum::<usize>(), EVENTS);
    assert!(
        per_relay.iter().filter(|n| **n > 0).count() >= 2,
        "the relays shared the work: {per_relay:?}"
    );
    // Each task's events left in commit order, whichever relay sent them.
    let mut by_key: HashMap<String, Vec<EventId>> = HashMap::new();
    for published in bus.published() {
        by_key
            .entry(published.key.clone())
            .or_default()
            .push(published.id);
    }
    for (key, ids) in by_key {
        let committed: Vec<EventId> = messages
            .iter()
            .filter(|m| m.key == key)
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, committed, "order of the events of {key}");
    }
    assert_eq!(repo.backlog().await.unwrap(), (0, None));
}

#[tokio::test]
async fn an_unsent_event_holds_back_the_later_events_of_its_task() {
    let (_db, repo) = support::fresh_store().await;
    let (first, second, other) = (message("7"), message("7"), message("8"));
    for m in [&first, &second, &other] {
        repo.commit(Changes {
            outbox: vec![m.clone()],
            ..Changes::default()
        })
        .await
        .unwrap();
    }
    let t0 = Utc::now();
    let ids = |entries: Vec<todo_core::ports::OutboxEntry>| {
        entries
            .into_iter()
            .map(|e| e.message.id)
            .collect::<Vec<_>>()
    };

    // Another relay holds the task's first event: its second one waits, other tasks do not.
    let held = repo.claim(t0, t0 + Duration::seconds(5), 1).await.unwrap();
    assert_eq!(ids(held), [first.id]);
    let claimed = repo.claim(t0, t0 + Duration::seconds(5), 10).await.unwrap();
    assert_eq!(ids(claimed), [other.id]);
    repo.mark_sent(&[other.id], t0).await.unwrap();

    // The first event failed and backs off: the second still waits.
    repo.mark_failed(first.id, t0 + Duration::seconds(10), "broker down")
        .await
        .unwrap();
    assert_eq!(
        repo.outbox_last_error(first.id).await.unwrap().as_deref(),
        Some("broker down")
    );
    let waiting = repo
        .claim(t0 + Duration::seconds(6), t0 + Duration::seconds(7), 10)
        .await
        .unwrap();
    assert!(waiting.is_empty(), "claimed {:?}", ids(waiting));

    // Once the first is due again, both go out together, in order.
    let retried = repo
        .claim(t0 + Duration::seconds(11), t0 + Duration::seconds(12), 10)
        .await
        .unwrap();
    assert_eq!(retried[0].attempts, 1);
    assert_eq!(ids(retried), [first.id, second.id]);
}

#[tokio::test]
async fn sent_rows_are_kept_until_purged() {
    let (_db, repo) = support::fresh_store().await;
    let m = message("1");
    repo.commit(Changes {
        outbox: vec![m.clone()],
        ..Changes::default()
    })
    .await
    .unwrap();
    let now = Utc::now();
    repo.claim(now, now + Duration::seconds(5), 10)
        .await
        .unwrap();
    repo.mark_sent(&[m.id], now).await.unwrap();
    assert_eq!(outbox_rows(&repo).await.len(), 1, "a sent row is kept");
    assert_eq!(repo.purge_sent(now - Duration::hours(1)).await.unwrap(), 0);
    assert_eq!(
        repo.purge_sent(now + Duration::seconds(1)).await.unwrap(),
        1
    );
    assert!(outbox_rows(&repo).await.is_empty());
}
