//! The transactional outbox on PostgreSQL, through the relay suite of `todo_core::testkit`: events
//! commit with their change, survive a crash between commit and publish (the pool closed, a new
//! one opened), are relayed once by concurrent relays on their own pools, and keep per-task order.

mod support;

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use uuid::Uuid;

use todo_core::model::EventId;
use todo_core::testkit::{OutboxHarness, OutboxRelaySuite, OutboxStoreHandle};
use todo_postgres::PostgresTaskRepository;
use todo_testkit::TestDatabase;

/// A fresh database; `current` is the repository of the live process (replaced by a restart).
struct PostgresOutbox {
    db: TestDatabase,
    current: Mutex<Arc<PostgresTaskRepository>>,
}

impl PostgresOutbox {
    async fn fresh() -> OutboxRelaySuite<Self> {
        let (db, repo) = support::fresh_store().await;
        OutboxRelaySuite::new(Self {
            db,
            current: Mutex::new(repo),
        })
    }

    fn current(&self) -> Arc<PostgresTaskRepository> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl OutboxHarness for PostgresOutbox {
    fn store(&self) -> OutboxStoreHandle {
        OutboxStoreHandle::new(self.current())
    }

    async fn replica(&self) -> OutboxStoreHandle {
        OutboxStoreHandle::new(support::another_replica(&self.db).await)
    }

    async fn restart(&self) -> OutboxStoreHandle {
        // The process's pool goes away with it; the new process opens its own.
        self.current().pool().close().await;
        let restarted = support::another_replica(&self.db).await;
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = restarted.clone();
        OutboxStoreHandle::new(restarted)
    }

    async fn rows(&self) -> Vec<(Uuid, String, serde_json::Value)> {
        sqlx::query_as("SELECT event_id, key, payload FROM outbox ORDER BY created_at, seq")
            .fetch_all(self.current().pool())
            .await
            .expect("reading the outbox")
    }

    async fn last_error(&self, id: EventId) -> Option<String> {
        self.current()
            .outbox_last_error(id)
            .await
            .expect("reading the last error")
    }
}

#[tokio::test]
async fn events_are_written_in_the_transaction_of_their_change() {
    PostgresOutbox::fresh()
        .await
        .events_are_written_in_the_transaction_of_their_change()
        .await;
}

#[tokio::test]
async fn events_committed_before_a_crash_are_relayed_after_restart() {
    PostgresOutbox::fresh()
        .await
        .events_committed_before_a_crash_are_relayed_after_restart()
        .await;
}

#[tokio::test]
async fn a_relay_that_dies_holding_a_lease_leaves_its_rows_to_the_next_relay() {
    PostgresOutbox::fresh()
        .await
        .a_relay_that_dies_holding_a_lease_leaves_its_rows_to_the_next_relay()
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_relays_publish_each_event_once() {
    PostgresOutbox::fresh()
        .await
        .concurrent_relays_publish_each_event_once()
        .await;
}

#[tokio::test]
async fn an_unsent_event_holds_back_the_later_events_of_its_task() {
    PostgresOutbox::fresh()
        .await
        .an_unsent_event_holds_back_the_later_events_of_its_task()
        .await;
}

#[tokio::test]
async fn sent_rows_are_kept_until_purged() {
    PostgresOutbox::fresh()
        .await
        .sent_rows_are_kept_until_purged()
        .await;
}
