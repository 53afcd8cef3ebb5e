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

/// A claim only sets `leased_until`, which no index holds; with the room migration 13 leaves on each
/// page, PostgreSQL writes the leased rows beside the old ones (heap-only tuples) and adds no entry to
/// the outbox's indexes. Without that room, nearly every lease is a new version elsewhere in the table
/// and an entry in each of its four indexes.
#[tokio::test]
async fn a_claim_writes_its_leases_without_touching_the_indexes() {
    let (db, _store) = support::fresh_store().await;
    let pool = support::fresh_pool(&db, todo_postgres::PoolSettings::default()).await;
    // Rows the size of a task event: its snapshot is about a kilobyte of JSON.
    sqlx::query(
        "INSERT INTO outbox (event_id, topic, key, event_type, payload, created_at) \
         SELECT gen_random_uuid(), 'task-events', g::text, 'com.todo.task.created', \
                jsonb_build_object('description', repeat('x', 900)), \
                now() - interval '1 minute' + g * interval '1 millisecond' \
         FROM generate_series(1, 300) g",
    )
    .execute(&pool)
    .await
    .expect("inserting outbox rows");
    let now = chrono::Utc::now();
    let mut tx = pool.begin().await.expect("BEGIN");
    let claimed = sqlx::query(PostgresTaskRepository::OUTBOX_CLAIM)
        .bind(now)
        .bind(now + chrono::Duration::seconds(30))
        .bind(200_i64)
        .fetch_all(&mut *tx)
        .await
        .expect("claiming")
        .len();
    let (updated, heap_only): (i64, i64) = sqlx::query_as(
        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'outbox'",
    )
    .fetch_one(&mut *tx)
    .await
    .expect("reading the transaction's table statistics");
    tx.rollback().await.expect("ROLLBACK");
    assert_eq!((claimed, updated), (200, 200), "a full batch is leased");
    assert!(
        heap_only >= 190,
        "{heap_only} of 200 leases were heap-only updates"
    );
}

/// A claim that starts while another relay's claim is uncommitted waits for it, and then sees its
/// leases: it leaves the other relay's task alone, and takes only other tasks' events. Without turns
/// it would see the task's first event unleased, skip it because it is locked, and take the task's
/// second event, to be sent at the same time as the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_waits_for_the_claim_before_it_and_sees_its_leases() {
    use todo_core::ports::OutboxStore;

    let (db, store) = support::fresh_store().await;
    let pool = support::fresh_pool(&db, todo_postgres::PoolSettings::default()).await;
    // Task 7's two events, then task 8's.
    sqlx::query(
        "INSERT INTO outbox (event_id, topic, key, event_type, payload, created_at) \
         SELECT gen_random_uuid(), 'task-events', k, 'com.todo.task.updated', '{}'::jsonb, \
                now() - interval '1 minute' + g * interval '1 millisecond' \
         FROM unnest(ARRAY['7', '7', '8']) WITH ORDINALITY AS e(k, g)",
    )
    .execute(&pool)
    .await
    .expect("inserting outbox rows");
    let now = chrono::Utc::now();
    let lease = now + chrono::Duration::seconds(30);

    // The first relay leases task 7's first event and has not committed yet.
    let mut first = pool.begin().await.expect("BEGIN");
    sqlx::query(PostgresTaskRepository::OUTBOX_CLAIM_TURN)
        .execute(&mut *first)
        .await
        .expect("taking the claims' turn");
    let keys: Vec<String> = sqlx::query(PostgresTaskRepository::OUTBOX_CLAIM)
        .bind(now)
        .bind(lease)
        .bind(1_i64)
        .fetch_all(&mut *first)
        .await
        .expect("the first relay's claim")
        .iter()
        .map(|row| sqlx::Row::get(row, "key"))
        .collect();
    assert_eq!(keys, ["7"]);

    let second = tokio::spawn(async move { store.claim(now, lease, 10).await });
    // Until the second claim is waiting for its turn (or, were there no turns, done).
    wait_for_lock_or_end(&pool, "advisory", &second).await;
    first.commit().await.expect("COMMIT");
    let claimed: Vec<String> = second
        .await
        .expect("the second relay's claim")
        .expect("claiming")
        .into_iter()
        .map(|entry| entry.message.key)
        .collect();
    assert_eq!(claimed, ["8"], "task 7's second event waits for its first");
}

/// A row that a relay whose lease ran out is marking sent at the moment of a claim is left alone
/// (the claim skips rows locked by others), not leased and sent a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_leaves_alone_a_row_marked_sent_while_it_waited() {
    use todo_core::ports::OutboxStore;

    let (db, store) = support::fresh_store().await;
    let pool = support::fresh_pool(&db, todo_postgres::PoolSettings::default()).await;
    sqlx::query(
        "INSERT INTO outbox (event_id, topic, key, event_type, payload, created_at) \
         SELECT gen_random_uuid(), 'task-events', k, 'com.todo.task.updated', '{}'::json, \
                now() - interval '1 minute' + g * interval '1 millisecond' \
         FROM unnest(ARRAY['late', 'other']) WITH ORDINALITY AS e(k, g)",
    )
    .execute(&pool)
    .await
    .expect("inserting outbox rows");

    // A relay whose lease ran out marks its event sent and has not committed yet.
    let mut late = pool.begin().await.expect("BEGIN");
    sqlx::query("UPDATE outbox SET sent_at = now(), leased_until = NULL WHERE key = 'late'")
        .execute(&mut *late)
        .await
        .expect("marking the late relay's event sent");

    let now = chrono::Utc::now();
    let claim = tokio::spawn(async move {
        store
            .claim(now, now + chrono::Duration::seconds(30), 10)
            .await
    });
    // Until the claim is done (it skips locked rows) or, were it to wait for them, waits.
    wait_for_lock_or_end(&pool, "transactionid", &claim).await;
    late.commit().await.expect("COMMIT");
    let claimed: Vec<String> = claim
        .await
        .expect("the claim")
        .expect("claiming")
        .into_iter()
        .map(|entry| entry.message.key)
        .collect();
    assert_eq!(
        claimed,
        ["other"],
        "the event sent meanwhile is not leased again"
    );
}

/// Waits (up to 5 s) until some session waits for a lock of `locktype` (`pg_locks`), or `task` ends.
async fn wait_for_lock_or_end<T>(
    pool: &sqlx::PgPool,
    locktype: &str,
    task: &tokio::task::JoinHandle<T>,
) {
    for _ in 0..500 {
        let waiting: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = $1 AND NOT granted)",
        )
        .bind(locktype)
        .fetch_one(pool)
        .await
        .expect("reading pg_locks");
        if waiting || task.is_finished() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
