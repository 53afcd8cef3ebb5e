//! The transactional outbox on SQLite, through the relay suite of `todo_core::testkit`: events commit
//! with their change, survive a crash between commit and publish (the file reopened by a new
//! process), are relayed once by concurrent relays, and keep per-task order.

mod support;

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use uuid::Uuid;

use todo_core::model::EventId;
use todo_core::testkit::{OutboxHarness, OutboxRelaySuite, OutboxStoreHandle};
use todo_sqlite::SqliteTaskRepository;

/// A fresh database file; `current` is the repository of the live process (replaced by a restart).
struct SqliteOutbox {
    db: support::TempDb,
    current: Mutex<Option<Arc<SqliteTaskRepository>>>,
}

impl SqliteOutbox {
    async fn fresh() -> Self {
        let (db, repo) = support::fresh_store().await;
        Self {
            db,
            current: Mutex::new(Some(repo)),
        }
    }

    fn current(&self) -> Arc<SqliteTaskRepository> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .expect("a live process: restart reopens the file before returning")
    }
}

#[async_trait]
impl OutboxHarness for SqliteOutbox {
    fn store(&self) -> OutboxStoreHandle {
        OutboxStoreHandle::new(self.current())
    }

    /// Another repository over the same open database: a second relay or service in this process.
    async fn replica(&self) -> OutboxStoreHandle {
        let database = self.current().database().clone();
        OutboxStoreHandle::new(Arc::new(SqliteTaskRepository::new(database)))
    }

    async fn restart(&self) -> OutboxStoreHandle {
        // The process's connections and owner lock go with it; a new process opens the file again.
        let dead = self
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .expect("a live process to restart");
        dead.database().close().await;
        drop(dead);
        let restarted = Arc::new(SqliteTaskRepository::new(
            support::open_migrated(&self.db.path).await,
        ));
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(restarted.clone());
        OutboxStoreHandle::new(restarted)
    }

    async fn rows(&self) -> Vec<(Uuid, String, serde_json::Value)> {
        let rows: Vec<(Uuid, String, String)> =
            sqlx::query_as("SELECT event_id, key, payload FROM outbox ORDER BY seq")
                .fetch_all(self.current().database().reader_pool())
                .await
                .expect("reading the outbox");
        rows.into_iter()
            .map(|(id, key, payload)| {
                let payload = serde_json::from_str(&payload).expect("a JSON payload");
                (id, key, payload)
            })
            .collect()
    }

    async fn last_error(&self, id: EventId) -> Option<String> {
        self.current()
            .outbox_last_error(id)
            .await
            .expect("reading the last error")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_outbox_relay_conforms() {
    OutboxRelaySuite::new(SqliteOutbox::fresh).run_all().await;
}
