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

/// The claim's per-task order check must stay one index probe per candidate even when the planner
/// believes the outbox is empty (statistics gathered between bursts, the usual case). Planned as an
/// anti-join with such statistics, it scanned every unsent row for every candidate: a backlog of
/// 26 000 events made each claim run into the statement timeout, and the relay stalled.
#[tokio::test]
async fn a_claim_probes_each_candidates_key_even_with_statistics_of_an_empty_outbox() {
    let (db, _store) = support::fresh_store().await;
    let pool = support::fresh_pool(&db, todo_postgres::PoolSettings::default()).await;
    for statement in [
        "ALTER TABLE outbox SET (autovacuum_enabled = off)",
        "ANALYZE outbox",
        "INSERT INTO outbox (event_id, topic, key, event_type, payload, created_at) \
         SELECT gen_random_uuid(), 'task-events', g::text, 'com.todo.task.created', '{}'::jsonb, \
                now() - interval '1 minute' + g * interval '1 millisecond' \
         FROM generate_series(1, 3000) g",
    ] {
        sqlx::query(statement)
            .execute(&pool)
            .await
            .expect(statement);
    }
    let explain = format!(
        "EXPLAIN (ANALYZE, FORMAT JSON) {}",
        PostgresTaskRepository::OUTBOX_CLAIM
    );
    let now = chrono::Utc::now();
    let mut tx = pool.begin().await.expect("BEGIN");
    let plan: serde_json::Value = sqlx::query_scalar(&explain)
        .bind(now)
        .bind(now + chrono::Duration::seconds(30))
        .bind(200_i64)
        .fetch_one(&mut *tx)
        .await
        .expect("EXPLAIN ANALYZE");
    tx.rollback().await.expect("ROLLBACK");
    let text = plan.to_string();
    assert!(
        text.contains("SubPlan") && !text.contains("Anti Join"),
        "the order check must be a probe per candidate, not a join: {text}"
    );
    let claimed = plan[0]["Plan"]["Actual Rows"].as_u64();
    assert_eq!(claimed, Some(200), "a full batch is claimed: {text}");
}
