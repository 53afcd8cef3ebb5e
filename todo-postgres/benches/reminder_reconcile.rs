//! One reminder reconciliation pass at scale: 1 000 000 pending reminders across 100 000 users, due
//! over the next 30 days, with the horizon off (every pending reminder, the behaviour before the
//! horizon) and on (the default horizon of a 5-minute interval: 11 minutes); with the firings of the
//! reminders already past recorded (the steady state) and, on the horizon, with those firings lost.
//!
//! ```sh
//! cargo bench -p todo-postgres --bench reminder_reconcile            # testkit's PostgreSQL
//! TODO_BENCH_DATABASE_URL=postgres://... cargo bench -p todo-postgres --bench reminder_reconcile
//! cargo bench -p todo-postgres --bench reminder_reconcile -- --reload --passes 5
//! ```
//!
//! `TODO_BENCH_DATABASE_URL` names a server (any database on it); without it the testkit's shared
//! PostgreSQL is used. The harness creates and keeps the database `todo_bench_reminders` there, loads it
//! once with `generate_series` and reuses it (`--reload` loads it again). The load records its
//! instant; every pass runs on a manual clock set to it, so reruns see the same window.
//!
//! Once per dataset, the harness also records the firings a running system would have: 1 000 000
//! earlier firings (filler rows of `processed_events`) and the firing of every reminder already past
//! at the load's instant, each handled by the production `ReminderFiredHandler`. The "lost" rows hide
//! those firings (another consumer name) for their passes and restore them after.
//!
//! Each pass is the production reconciler (`ReminderReconciler`, pages of 500, one lookup of recorded
//! firings for each page holding reminders already past, holding its `PostgresLocks` lock) over the
//! production repository, scheduling on a scheduler that only counts calls: the figures are the
//! database side of a pass and the number of Jobs API calls it would make.
//! What those calls cost on a real daprd is measured by `cargo bench -p todo-dapr --bench jobs_rate`.
#![allow(missing_docs)]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{server_url, with_database};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Connection, PgConnection, PgPool, Row};

use todo_core::memory::ManualClock;
use todo_core::ports::{Job, PortResult, Scheduler, TaskRepository};
use todo_core::usecases::{
    Horizon, HorizonScheduler, Reconciliation, ReminderFiredHandler, ReminderOutcome,
    ReminderPayload, ReminderReconciler,
};
use todo_postgres::{connect, migrate, PoolSettings, PostgresLocks, PostgresTaskRepository};

const DATASET_VERSION: i32 = 1;
const DATABASE: &str = "todo_bench_reminders";
const TASKS: i64 = 1_000_000;
const USERS: i64 = 100_000;
const RECONCILE_INTERVAL: Duration = Duration::from_secs(300);
/// Earlier firings recorded before the load's instant (filler rows of `processed_events`).
const EARLIER_FIRINGS: i64 = 1_000_000;
/// The consumer the reconciler reads firings under, and where the "lost" rows hide them.
const FIRINGS: &str = "reminder-firings";
const HIDDEN_FIRINGS: &str = "bench-hidden-firings";

/// A scheduler that counts the calls it gets and does nothing else.
#[derive(Default)]
struct CountingScheduler {
    schedules: AtomicUsize,
    cancels: AtomicUsize,
}

#[async_trait]
impl Scheduler for CountingScheduler {
    async fn schedule(&self, _job: Job) -> PortResult<()> {
        self.schedules.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    async fn cancel(&self, _name: &str) -> PortResult<()> {
        self.cancels.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

struct Args {
    reload: bool,
    passes: usize,
}

fn parse_args() -> Option<Args> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if !raw.iter().any(|a| a == "--bench") {
        // `cargo test --benches` runs bench targets without `--bench`: nothing to do there.
        eprintln!(
            "reminder_reconcile: run it with `cargo bench -p todo-postgres --bench reminder_reconcile`"
        );
        return None;
    }
    let passes = raw
        .iter()
        .position(|a| a == "--passes")
        .and_then(|i| raw.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    Some(Args {
        reload: raw.iter().any(|a| a == "--reload"),
        passes,
    })
}

fn main() -> anyhow::Result<()> {
    let Some(args) = parse_args() else {
        return Ok(());
    };
    support::block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let server = server_url()?;
    let mut admin = PgConnection::connect(&server).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(DATABASE)
            .fetch_one(&mut admin)
            .await?;
    let url = with_database(&server, DATABASE);
    let settings = PoolSettings {
        max_connections: 4,
        application_name: "todo-bench-reminders".into(),
        statement_timeout: None,
        ..PoolSettings::default()
    };
    let loaded_at = match exists {
        true => dataset_loaded_at(&connect(&url, &settings).await?).await?,
        false => None,
    };
    let loaded_at = match (args.reload, loaded_at) {
        (false, Some(at)) => {
            admin.close().await?;
            at
        }
        _ => {
            sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
                .execute(&mut admin)
                .await?;
            sqlx::raw_sql(&format!("CREATE DATABASE {DATABASE}"))
                .execute(&mut admin)
                .await?;
            admin.close().await?;
            let pool = connect(&url, &settings).await?;
            migrate(&pool).await?;
            load_dataset(&pool).await?
        }
    };
    let pool = connect(&url, &settings).await?;
    migrate(&pool).await?;
    show_firings(&pool, true).await?;
    record_firings(&pool, loaded_at).await?;
    print_environment(&pool, loaded_at).await?;

    let horizon = Horizon::for_interval(RECONCILE_INTERVAL);
    // Off: a window reaching past every due date, straight onto the scheduler (no decorator), as
    // every pass did before the horizon.
    let everything = Horizon::new(Duration::from_secs(100 * 365 * 24 * 3600));
    println!(
        "\n### One reconciliation pass ({} passes each; clock at the load's instant)\n",
        args.passes
    );
    println!(
        "| horizon | firings of past reminders | reminders scheduled | Jobs API calls | pass p50 | pass min | pass max |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (name, window, behind_horizon, recorded) in [
        ("off (every pending reminder)", everything, false, true),
        ("on (11 min)", horizon, true, true),
        ("on (11 min)", horizon, true, false),
    ] {
        show_firings(&pool, recorded).await?;
        let mut times = Vec::new();
        let mut scheduled = 0;
        let mut calls = 0;
        for _ in 0..args.passes {
            let counting = Arc::new(CountingScheduler::default());
            let clock = Arc::new(ManualClock::new(loaded_at));
            let scheduler: Arc<dyn Scheduler> = if behind_horizon {
                Arc::new(HorizonScheduler::new(
                    counting.clone(),
                    clock.clone(),
                    window,
                ))
            } else {
                counting.clone()
            };
            let reconciler = ReminderReconciler::new(
                Arc::new(PostgresTaskRepository::new(pool.clone())),
                scheduler,
                clock,
                window,
                Arc::new(PostgresLocks::new(pool.clone())),
            );
            let started = Instant::now();
            let outcome = reconciler.reconcile().await?;
            times.push(started.elapsed());
            let Reconciliation::Scheduled(count) = outcome else {
                anyhow::bail!("the pass was skipped: another process holds the lock");
            };
            scheduled = count;
            calls = counting.schedules.load(Ordering::Relaxed)
                + counting.cancels.load(Ordering::Relaxed);
        }
        show_firings(&pool, true).await?;
        times.sort();
        let firings = if recorded { "recorded" } else { "lost" };
        println!(
            "| {name} | {firings} | {scheduled} | {calls} | {} | {} | {} |",
            ms(times[times.len() / 2]),
            ms(times[0]),
            ms(times[times.len() - 1])
        );
    }
    explain_window(&pool, loaded_at, horizon).await?;
    explain_firings(&pool).await?;
    println!("\nload average at the end: {}", load_average());
    Ok(())
}

/// The plan of the first page of the default window, as a pass runs it.
async fn explain_window(pool: &PgPool, now: DateTime<Utc>, horizon: Horizon) -> anyhow::Result<()> {
    let statement = format!(
        "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, COSTS OFF) {}",
        PostgresTaskRepository::PENDING_REMINDERS
    );
    let start = todo_core::ports::ReminderCursor::start(now);
    let plan: Vec<String> = sqlx::query_scalar(&statement)
        .bind(now)
        .bind(horizon.end(now))
        .bind(start.remind_at)
        .bind(start.task_id.0)
        .bind(500_i64)
        .fetch_all(pool)
        .await?;
    println!("\nPlan of the first page of the 11-minute window:\n\n```");
    for line in plan {
        println!("{line}");
    }
    println!("```");
    Ok(())
}

/// The plan of one lookup of recorded firings: the first page's 500 past reminders, as a pass asks.
async fn explain_firings(pool: &PgPool) -> anyhow::Result<()> {
    let ids: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT event_id FROM bench_reminders_firings ORDER BY n LIMIT 500")
            .fetch_all(pool)
            .await?;
    let plan: Vec<String> = sqlx::query_scalar(&format!(
        "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, COSTS OFF) {}",
        PostgresTaskRepository::PROCESSED_AMONG
    ))
    .bind(FIRINGS)
    .bind(ids)
    .fetch_all(pool)
    .await?;
    println!("\nPlan of the lookup of the first page's 500 recorded firings:\n\n```");
    for line in plan {
        // The 500 ids of the array, elided.
        match (line.find("'{"), line.find("}'")) {
            (Some(open), Some(close)) if open < close => {
                println!("{}'{{… 500 ids …}}'{}", &line[..open], &line[close + 2..]);
            }
            _ => println!("{line}"),
        }
    }
    println!("```");
    Ok(())
}

/// Records, once per dataset, the firings a running system would have at the load's instant:
/// [`EARLIER_FIRINGS`] filler rows, then the firing of every reminder already past (the window up to
/// now), each handled by the production handler; their ids are kept in `bench_reminders_firings`.
async fn record_firings(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<()> {
    let marker: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('bench_reminders_firings')::text")
            .fetch_one(pool)
            .await?;
    if marker.is_some() {
        return Ok(());
    }
    let started = Instant::now();
    eprintln!("recording {EARLIER_FIRINGS} earlier firings and the past reminders' firings ...");
    sqlx::query(
        "INSERT INTO processed_events (consumer, event_id, processed_at)
         SELECT $1, md5('bench-earlier-firing-' || n)::uuid, $3::timestamptz - make_interval(secs => n)
         FROM generate_series(1, $2::bigint) AS n",
    )
    .bind(FIRINGS)
    .bind(EARLIER_FIRINGS)
    .bind(now)
    .execute(pool)
    .await?;
    let repo = Arc::new(PostgresTaskRepository::new(pool.clone()));
    let handler = ReminderFiredHandler::new(repo.clone(), Arc::new(ManualClock::new(now)));
    let mut fired = Vec::new();
    let mut resume = None;
    loop {
        let page = repo.pending_reminders(now, now, resume, 500).await?;
        for entry in &page {
            let payload = ReminderPayload {
                task_id: entry.task_id,
                user_id: entry.user_id,
                due_at: entry.due_date,
                remind_at: entry.remind_at,
            };
            match handler.handle(&payload).await? {
                ReminderOutcome::Sent(event) => fired.push(event.event_id.0),
                other => anyhow::bail!(
                    "the firing of task {}: {other:?} (an earlier recording stopped half way? \
                     run again with --reload)",
                    entry.task_id
                ),
            }
        }
        match page.last() {
            Some(last) if page.len() == 500 => resume = Some(last.cursor()),
            _ => break,
        }
    }
    sqlx::raw_sql(
        "CREATE TABLE bench_reminders_firings (n bigserial PRIMARY KEY, event_id uuid NOT NULL)",
    )
    .execute(pool)
    .await?;
    sqlx::query("INSERT INTO bench_reminders_firings (event_id) SELECT * FROM unnest($1::uuid[])")
        .bind(&fired)
        .execute(pool)
        .await?;
    for statement in [
        "VACUUM (ANALYZE) processed_events",
        "VACUUM (ANALYZE) outbox",
        "CHECKPOINT",
    ] {
        sqlx::raw_sql(statement).execute(pool).await?;
    }
    eprintln!(
        "{} firings recorded in {:.0} s",
        fired.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Shows the recorded firings of the past reminders to the reconciler, or hides them (as if every
/// one of them had been lost) under another consumer name.
async fn show_firings(pool: &PgPool, shown: bool) -> anyhow::Result<()> {
    let marker: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('bench_reminders_firings')::text")
            .fetch_one(pool)
            .await?;
    if marker.is_none() {
        return Ok(());
    }
    let (from, to) = match shown {
        true => (HIDDEN_FIRINGS, FIRINGS),
        false => (FIRINGS, HIDDEN_FIRINGS),
    };
    let moved = sqlx::query(
        "UPDATE processed_events SET consumer = $2
         WHERE consumer = $1 AND event_id IN (SELECT event_id FROM bench_reminders_firings)",
    )
    .bind(from)
    .bind(to)
    .execute(pool)
    .await?
    .rows_affected();
    if moved > 0 {
        // The moved rows' old versions and index entries go (INDEX_CLEANUP ON: with so few dead rows
        // VACUUM would otherwise leave them and the pages not all-visible), so that every pass, and
        // the next run, reads a table as clean as the one the firings were recorded in.
        sqlx::raw_sql("VACUUM (INDEX_CLEANUP ON) processed_events")
            .execute(pool)
            .await?;
    }
    Ok(())
}

async fn dataset_loaded_at(pool: &PgPool) -> anyhow::Result<Option<DateTime<Utc>>> {
    let marker: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('bench_reminders_dataset')::text")
            .fetch_one(pool)
            .await?;
    if marker.is_none() {
        return Ok(None);
    }
    Ok(
        sqlx::query_scalar("SELECT loaded_at FROM bench_reminders_dataset WHERE version = $1")
            .bind(DATASET_VERSION)
            .fetch_optional(pool)
            .await?,
    )
}

/// Loads the users and tasks with set-based SQL, the migration's secondary indexes dropped during
/// the load and rebuilt after it; returns the instant the due dates are spread from.
async fn load_dataset(pool: &PgPool) -> anyhow::Result<DateTime<Utc>> {
    let started = Instant::now();
    let mut conn = pool.acquire().await?;
    eprintln!("loading {TASKS} pending reminders for {USERS} users ...");
    sqlx::raw_sql("SET maintenance_work_mem = '512MB'; SET statement_timeout = 0")
        .execute(&mut *conn)
        .await?;
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i
         WHERE i.schemaname = 'public' AND i.tablename = 'tasks'
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (name, _) in &indexes {
        // Names come from the catalogue, not from input.
        sqlx::raw_sql(&format!("DROP INDEX \"{name}\""))
            .execute(&mut *conn)
            .await?;
    }
    let now: DateTime<Utc> = sqlx::query_scalar("SELECT date_trunc('second', now())")
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO users (id, created_at)
         SELECT md5('bench-user-' || n)::uuid, $2 FROM generate_series(0, $1 - 1) AS n",
    )
    .bind(USERS)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let step = Instant::now();
    // Due dates spread evenly (a multiplicative scatter of the id) over the 30 days after `now`,
    // to the second; lead times of 0, 10, 30, 60 minutes and one day.
    sqlx::query(
        "INSERT INTO tasks (id, user_id, title, status, priority, due_date, timezone, remind_before,
             created_at, updated_at, version, title_key, search_text)
         SELECT n, md5('bench-user-' || n % $2)::uuid, 'Reminder ' || n, 'pending', 'medium',
                $3::timestamptz + make_interval(secs => 1 + (n * 7919) % (30 * 86400)), 'UTC',
                (ARRAY[0, 10, 30, 60, 1440])[1 + n % 5], $3, $3, 1,
                'reminder ' || n, 'reminder ' || n
         FROM generate_series(1, $1::bigint) AS n",
    )
    .bind(TASKS)
    .bind(USERS)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    eprintln!("  tasks inserted in {:.1} s", step.elapsed().as_secs_f64());
    support::build_indexes(&mut conn, &indexes).await?;
    for statement in [
        "SELECT setval('tasks_id_seq', (SELECT max(id) FROM tasks))",
        "VACUUM (ANALYZE) users",
        "VACUUM (ANALYZE) tasks",
        "CREATE TABLE bench_reminders_dataset (version int NOT NULL, loaded_at timestamptz NOT NULL)",
        "CHECKPOINT",
    ] {
        sqlx::raw_sql(statement).execute(&mut *conn).await?;
    }
    sqlx::query("INSERT INTO bench_reminders_dataset (version, loaded_at) VALUES ($1, $2)")
        .bind(DATASET_VERSION)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    eprintln!("dataset loaded in {:.0} s", started.elapsed().as_secs_f64());
    Ok(now)
}

async fn print_environment(pool: &PgPool, loaded_at: DateTime<Utc>) -> anyhow::Result<()> {
    let row = sqlx::query(
        "SELECT version(),
                (SELECT count(*) FROM tasks WHERE status = 'pending' AND remind_before IS NOT NULL),
                (SELECT count(DISTINCT user_id) FROM tasks),
                pg_size_pretty(pg_total_relation_size('tasks')),
                pg_size_pretty(pg_relation_size('tasks_reminder_window')),
                current_setting('shared_buffers'), current_setting('fsync'),
                current_setting('synchronous_commit'), current_setting('work_mem'),
                (SELECT count(*) FROM processed_events WHERE consumer = 'reminder-firings'),
                (SELECT count(*) FROM bench_reminders_firings),
                pg_size_pretty(pg_total_relation_size('processed_events')),
                current_setting('full_page_writes')",
    )
    .fetch_one(pool)
    .await?;
    println!("## Environment\n");
    println!("- load average at start: {}", load_average());
    println!("- server: {}", row.get::<String, _>(0));
    println!(
        "- data: {} pending reminders of {} users, due over the 30 days after {loaded_at}; tasks \
         table with indexes {}, tasks_reminder_window {}",
        row.get::<i64, _>(1),
        row.get::<i64, _>(2),
        row.get::<String, _>(3),
        row.get::<String, _>(4),
    );
    println!(
        "- firings recorded: {} (of which {} are the reminders already past at that instant); \
         processed_events with its index {}",
        row.get::<i64, _>(9),
        row.get::<i64, _>(10),
        row.get::<String, _>(11),
    );
    println!(
        "- shared_buffers={}, fsync={}, synchronous_commit={}, full_page_writes={}, work_mem={}",
        row.get::<String, _>(5),
        row.get::<String, _>(6),
        row.get::<String, _>(7),
        row.get::<String, _>(12),
        row.get::<String, _>(8),
    );
    Ok(())
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
