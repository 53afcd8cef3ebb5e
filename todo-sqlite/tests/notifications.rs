//! The `todo-core` notification-store conformance suite on SQLite, and racing duplicate
//! deliveries of one firing.

mod support;

use std::sync::Arc;

use chrono::{SubsecRound, Utc};
use todo_core::model::{TaskId, UserId};
use todo_core::ports::{Notification, NotificationStore};
use todo_core::testkit::NotificationStoreSuite;
use uuid::Uuid;

#[tokio::test]
async fn the_sqlite_notification_store_conforms_on_a_reused_database() {
    let (_db, store) = support::fresh_store().await;
    let suite = NotificationStoreSuite::new(store);
    suite.run_all().await;
    suite.run_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_records_of_one_firing_store_it_once() {
    let (_db, store) = support::fresh_store().await;
    let replica = Arc::new(todo_sqlite::SqliteTaskRepository::new(
        store.database().clone(),
    ));
    let now = Utc::now().trunc_subsecs(6);
    let notification = Notification {
        id: Uuid::new_v4(),
        user_id: UserId(Uuid::new_v4()),
        task_id: TaskId(42),
        title: "Buy groceries".into(),
        due_at: now,
        remind_at: now,
        created_at: now,
        read_at: None,
    };

    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let attempts: Vec<_> = (0..20)
        .map(|i| {
            // Half the deliveries reach another repository over the same file.
            let store: Arc<dyn NotificationStore> = if i % 2 == 0 {
                store.clone()
            } else {
                replica.clone()
            };
            let (barrier, notification) = (barrier.clone(), notification.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.record(&notification).await
            })
        })
        .collect();
    let mut new = 0;
    let mut results = Vec::new();
    for attempt in attempts {
        results.push(attempt.await);
    }
    for attempt in results {
        if attempt.expect("the task ran").expect("record succeeded") {
            new += 1;
        }
    }
    assert_eq!(new, 1, "exactly one concurrent record is new");
    assert_eq!(
        store.list(notification.user_id, 10).await.expect("list"),
        vec![notification],
        "one notification stored"
    );
}
