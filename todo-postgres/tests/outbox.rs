//! The transactional outbox on PostgreSQL, through the relay suite of `todo_core::testkit`: events
//! commit with their change, survive a crash between commit and publish (the pool closed, a new
//! one opened), are relayed once by concurrent relays on their own pools, and keep per-task order.

mod support;

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use todo_core::model::EventId;
use todo_core::testkit::{OutboxHarness, OutboxRelaySuite, OutboxStoreHandle};
use todo_postgres::PostgresTaskRepository;
use todo_testkit::TestDatabase;

/// A fresh database and the repository of the process under test.
struct PostgresOutbox {
    db: TestDatabase,
    repo: Arc<PostgresTaskRepository>,
}

impl PostgresOutbox {
    async fn fresh() -> Self {
        let (db, repo) = support::fresh_store().await;
        Self { db, repo }
    }
}

#[async_trait]
impl OutboxHarness for PostgresOutbox {
    fn store(&self) -> OutboxStoreHandle {
        OutboxStoreHandle::new(self.repo.clone())
    }

    /// A repository with its own pool, as another replica has.
    async fn replica(&self) -> OutboxStoreHandle {
        OutboxStoreHandle::new(support::another_replica(&self.db).await)
    }

    async fn restart(&self) -> OutboxStoreHandle {
        // The process's pool goes away with it; the new process opens its own.
        self.repo.pool().close().await;
        OutboxStoreHandle::new(support::another_replica(&self.db).await)
    }

    async fn rows(&self) -> Vec<(Uuid, String, serde_json::Value)> {
        sqlx::query_as("SELECT event_id, key, payload FROM outbox ORDER BY created_at, seq")
            .fetch_all(self.repo.pool())
            .await
            .expect("reading the outbox")
    }

    async fn last_error(&self, id: EventId) -> Option<String> {
        self.repo
            .outbox_last_error(id)
            .await
            .expect("reading the last error")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_outbox_relay_conforms() {
    OutboxRelaySuite::new(PostgresOutbox::fresh).run_all().await;
}
