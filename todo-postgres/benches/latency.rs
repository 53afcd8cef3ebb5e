//! Latency harness of the PostgreSQL adapter at scale: 1 000 000 tasks across 1 000 users.
//!
//! ```sh
//! infra/todo-infra --name bench up postgres            # a PostgreSQL of its own (no Kafka beside it)
//! eval "$(infra/todo-infra --name bench env)"
//! TODO_BENCH_DATABASE_URL="$TODO_PG_URL" cargo bench -p todo-postgres --bench latency
//! ```
//!
//! `TODO_BENCH_DATABASE_URL` names a server (any database on it); the harness creates and keeps the
//! database `todo_bench` there, bulk-loads it once with `generate_series` (about two minutes), and reuses
//! it on later runs (`-- --reload` loads it again). Without the variable it uses the testkit's shared
//! PostgreSQL. Flags after `--`: `--samples N` (sequential samples per scenario, default 2000),
//! `--clients N` (concurrent clients of the load phase, default 8; 0 skips it), `--seconds N` (length of
//! each load phase, default 5), `--compare-search` (also time the keyword-search alternatives),
//! `--explain` (print each query's plan), `--only TEXT` (only the scenarios whose name contains TEXT).
//!
//! The data: user 0 is a heavy user with 10 000 tasks (the API's target load); the other 999 users have
//! about 991 tasks each. Titles are 2–4 and descriptions 0–12 words drawn (skewed towards common words)
//! from a vocabulary of 300; 80 % of tasks have a due date, 20 % are completed, 0–3 tags from 12.
//!
//! It is a bench target with its own `main` (not criterion): it reports p50/p90/p99/max of each
//! scenario, which is what the targets are stated in. `cargo test` never runs it.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{server_url, with_database};

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::{Connection, PgConnection, PgPool, Row};

use todo_core::memory::InMemoryScheduler;
use todo_core::model::{NewTask, Priority, Status, Tag, TaskInput, UserId};
use todo_core::ports::{SystemClock, TaskRepository, UuidV7Generator};
use todo_core::query::{Order, SortKey, StatusFilter, TaskQuery};
use todo_core::usecases::TaskService;
use todo_postgres::{connect, migrate, PoolSettings, PostgresTaskRepository};

const DATASET_VERSION: i32 = 4;
const TASKS: i64 = 1_000_000;
const USERS: i64 = 1_000;
const HEAVY_USER_TASKS: i64 = 10_000;

const TAGS: [&str; 12] = [
    "work", "home", "errand", "health", "finance", "family", "urgent", "someday", "q3", "reading",
    "garden", "travel",
];

/// 300 words; tasks draw them skewed towards the first ones, as real vocabularies are.
const VOCABULARY: &str = "buy milk call mom report review email meeting plan budget invoice pay rent \
book flight hotel dentist doctor gym run clean kitchen laundry groceries bread eggs cheese coffee tea \
fix bike car service oil tyres insurance tax return file submit draft write read book chapter notes \
slides deck prepare presentation client project deadline sprint backlog ticket bug deploy release \
update upgrade install backup restore password account bank transfer savings pension school homework \
teacher parents birthday gift party cake order pizza dinner lunch breakfast recipe cook bake garden \
water plants mow lawn rake leaves paint fence wall door window roof gutter plumber electrician boiler \
heating cooling fan light bulb battery charger phone laptop screen keyboard mouse printer paper ink \
letter parcel post office collect deliver return refund warranty receipt expense claim travel train \
ticket bus taxi airport passport visa renew licence register vote council permit form sign contract \
lease landlord tenant deposit move boxes pack unpack sell donate charity volunteer club team practice \
match training coach lesson piano guitar music concert tickets movie series podcast article blog post \
newsletter subscribe cancel subscription renewal domain server database migration index query cache \
metrics alert incident postmortem oncall rota schedule calendar invite agenda minutes follow up \
feedback survey interview candidate hire onboard offboard laptop access badge desk office chair lamp \
plant vase frame photo album print scan shred archive folder label sort tidy declutter closet shoes \
jacket coat umbrella scarf gloves hat socks shirt trousers dress suit tailor dry cleaning iron sew \
button zip repair phone screen case cable adapter router wifi modem bill electricity gas water \
internet mobile plan contract upgrade vet dog cat walk feed litter food treats groom flea pills \
appointment prescription pharmacy vitamins yoga stretch swim cycle hike trail map compass tent \
sleeping bag stove fuel snacks";

fn vocabulary() -> Vec<&'static str> {
    VOCABULARY.split_whitespace().collect()
}

#[derive(Debug, Clone)]
struct Args {
    samples: usize,
    clients: usize,
    seconds: u64,
    reload: bool,
    compare_search: bool,
    explain: bool,
    only: Option<String>,
}

fn parse_args() -> Option<Args> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if !raw.iter().any(|a| a == "--bench") {
        // `cargo test --benches` runs bench targets without `--bench`: nothing to do there.
        eprintln!("latency harness: run it with `cargo bench -p todo-postgres --bench latency`");
        return None;
    }
    let value = |name: &str| {
        raw.iter()
            .position(|a| a == name)
            .and_then(|i| raw.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some(Args {
        samples: value("--samples").unwrap_or(2_000) as usize,
        clients: value("--clients").unwrap_or(8) as usize,
        seconds: value("--seconds").unwrap_or(5),
        reload: raw.iter().any(|a| a == "--reload"),
        compare_search: raw.iter().any(|a| a == "--compare-search"),
        explain: raw.iter().any(|a| a == "--explain"),
        only: raw
            .iter()
            .position(|a| a == "--only")
            .and_then(|i| raw.get(i + 1))
            .cloned(),
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
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'todo_bench')",
    )
    .fetch_one(&mut admin)
    .await?;
    let url = with_database(&server, "todo_bench");
    let settings = PoolSettings {
        max_connections: 10,
        application_name: "todo-bench".into(),
        ..PoolSettings::default()
    };
    let loaded = exists && dataset_loaded(&connect(&url, &settings).await?).await?;
    if args.reload || !loaded {
        // A load starts from an empty, freshly migrated database.
        sqlx::raw_sql("DROP DATABASE IF EXISTS todo_bench WITH (FORCE)")
            .execute(&mut admin)
            .await?;
        sqlx::raw_sql("CREATE DATABASE todo_bench")
            .execute(&mut admin)
            .await?;
    }
    admin.close().await?;
    let pool = connect(&url, &settings).await?;
    migrate(&pool).await?;
    if args.reload || !loaded {
        load_dataset(&pool).await?;
    }
    print_environment(&pool).await?;

    let users: Vec<UserId> = sqlx::query_scalar(
        "SELECT md5('bench-user-' || n)::uuid FROM generate_series(0, $1 - 1) AS n ORDER BY n",
    )
    .bind(USERS)
    .fetch_all(&pool)
    .await?
    .into_iter()
    .map(UserId)
    .collect();
    let repo = Arc::new(PostgresTaskRepository::new(pool.clone()));
    let bench = Bench {
        repo: repo.clone(),
        service: TaskService::new(
            repo.clone(),
            Arc::new(InMemoryScheduler::new()),
            Arc::new(SystemClock),
            Arc::new(UuidV7Generator),
        ),
        users,
        words: vocabulary(),
        now: Utc::now(),
    };
    if args.explain {
        bench.explain(&pool).await?;
    }
    if args.compare_search {
        compare_search(&pool, &bench, args.samples.min(1_000)).await?;
    }

    println!(
        "\n### Sequential latency (one client, {} samples each)\n",
        args.samples
    );
    println!("| scenario | rows | p50 | p90 | p99 | max |");
    println!("|---|---|---|---|---|---|");
    let scenarios: Vec<Scenario> = Scenario::ALL
        .into_iter()
        .filter(|s| {
            args.only
                .as_ref()
                .is_none_or(|only| s.name().contains(only.as_str()))
        })
        .collect();
    for &scenario in &scenarios {
        let report = bench.sequential(scenario, args.samples).await?;
        println!("{}", report.row(scenario));
    }
    if args.clients > 0 {
        println!(
            "\n### Under load ({} concurrent clients, pool of 10, {} s each)\n",
            args.clients, args.seconds
        );
        println!("| scenario | ops/s | p50 | p99 | max |");
        println!("|---|---|---|---|---|");
        let bench = Arc::new(bench);
        for &scenario in &scenarios {
            let (throughput, report) = bench
                .clone()
                .concurrent(scenario, args.clients, Duration::from_secs(args.seconds))
                .await?;
            println!(
                "| {} | {throughput:.0} | {} | {} | {} |",
                scenario.name(),
                ms(report.p(0.50)),
                ms(report.p(0.99)),
                ms(report.max())
            );
        }
    }
    println!("\nload average at the end: {}", load_average());
    Ok(())
}

async fn dataset_loaded(pool: &PgPool) -> anyhow::Result<bool> {
    let marker: Option<String> = sqlx::query_scalar("SELECT to_regclass('bench_dataset')::text")
        .fetch_one(pool)
        .await?;
    if marker.is_none() {
        return Ok(false);
    }
    let version: Option<i32> = sqlx::query_scalar("SELECT max(version) FROM bench_dataset")
        .fetch_one(pool)
        .await?;
    Ok(version == Some(DATASET_VERSION))
}

/// Loads users, tasks and tags into a freshly migrated database with set-based SQL, with the
/// migration's secondary indexes dropped during the load and rebuilt after it (as a bulk import would).
async fn load_dataset(pool: &PgPool) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut conn = pool.acquire().await?;
    eprintln!("loading {TASKS} tasks for {USERS} users ...");
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

    sqlx::query(
        "INSERT INTO users (id, email, name, created_at)
         SELECT md5('bench-user-' || n)::uuid, 'user' || n || '@bench.example', 'User ' || n, now()
         FROM generate_series(0, $1 - 1) AS n",
    )
    .bind(USERS)
    .execute(&mut *conn)
    .await?;

    let step = Instant::now();
    sqlx::query(
        "WITH vocab AS (SELECT $1::text[] AS w, cardinality($1::text[]) AS size)
         INSERT INTO tasks (id, user_id, title, description, status, priority, due_date, timezone,
             remind_before, created_at, updated_at, completed_at, version, title_key, search_text,
             tags)
         SELECT n, owner, title, description, status, priority, due, 'UTC',
                CASE WHEN due IS NOT NULL THEN 60 END, created, created,
                CASE WHEN status = 'completed' THEN created + interval '1 day' END, 1,
                lower(title), lower(title) || E'\\n' || lower(description), tags
         FROM vocab, generate_series(1, $2::bigint) AS n,
         LATERAL (SELECT
             md5('bench-user-' || CASE WHEN n <= $3 THEN 0 ELSE 1 + n % ($4 - 1) END)::uuid AS owner,
             initcap(w[1 + floor(random() ^ 2 * vocab.size)::int]) || ' ' ||
                 (SELECT string_agg(w[1 + floor(random() ^ 2 * vocab.size + 0 * k)::int], ' ')
                  FROM generate_series(1, 1 + (n * 7 + floor(random() * 3)::int) % 3) AS k) AS title,
             coalesce((SELECT string_agg(w[1 + floor(random() ^ 2 * vocab.size + 0 * k)::int], ' ')
                       FROM generate_series(1, (n * 13 + floor(random() * 13)::int) % 13) AS k), '')
                 AS description,
             (CASE WHEN random() < 0.2 THEN 'completed' ELSE 'pending' END)::task_status AS status,
             (CASE WHEN random() < 0.2 THEN 'high' WHEN random() < 0.6 THEN 'medium' ELSE 'low' END)
                 ::task_priority AS priority,
             CASE WHEN random() < 0.8
                  THEN date_trunc('second', now() - interval '30 days' + random() * interval '120 days')
             END AS due,
             date_trunc('milliseconds', now() - interval '300 days' + random() * interval '299 days')
                 AS created,
             (SELECT coalesce(array_agg(DISTINCT tag ORDER BY tag), '{}')
              FROM (SELECT ($5::text[])[1 + floor(random() * cardinality($5::text[]) + 0 * k)::int]
                    FROM generate_series(1, (n * 7 % 4)::int) AS k) AS drawn(tag)) AS tags
         ) AS generated",
    )
    .bind(vocabulary())
    .bind(TASKS)
    .bind(HEAVY_USER_TASKS)
    .bind(USERS)
    .bind(TAGS.to_vec())
    .execute(&mut *conn)
    .await?;
    eprintln!("  tasks inserted in {:.1} s", step.elapsed().as_secs_f64());

    support::build_indexes(&mut conn, &indexes).await?;
    // One statement per call: VACUUM cannot run in the implicit transaction of a multi-statement call.
    for statement in [
        "SELECT setval('tasks_id_seq', (SELECT max(id) FROM tasks))",
        "VACUUM (ANALYZE) users",
        "VACUUM (ANALYZE) tasks",
        "CREATE TABLE bench_dataset (version int NOT NULL, loaded_at timestamptz NOT NULL DEFAULT now())",
        "CHECKPOINT",
    ] {
        sqlx::raw_sql(statement).execute(&mut *conn).await?;
    }
    sqlx::query("INSERT INTO bench_dataset (version) VALUES ($1)")
        .bind(DATASET_VERSION)
        .execute(&mut *conn)
        .await?;
    eprintln!("dataset loaded in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

async fn print_environment(pool: &PgPool) -> anyhow::Result<()> {
    let row = sqlx::query(
        "SELECT version(), (SELECT count(*) FROM tasks), (SELECT sum(cardinality(tags))::int8 FROM tasks),
                pg_size_pretty(pg_total_relation_size('tasks')),
                current_setting('shared_buffers'), current_setting('fsync'),
                current_setting('synchronous_commit')",
    )
    .fetch_one(pool)
    .await?;
    println!("## Environment\n");
    println!("- load average at start: {}", load_average());
    println!("- server: {}", row.get::<String, _>(0));
    println!(
        "- data: {} tasks, {} tags; tasks table with indexes {}",
        row.get::<i64, _>(1),
        row.get::<i64, _>(2),
        row.get::<String, _>(3)
    );
    println!(
        "- shared_buffers={}, fsync={}, synchronous_commit={}",
        row.get::<String, _>(4),
        row.get::<String, _>(5),
        row.get::<String, _>(6)
    );
    let sizes: Vec<(String, String)> = sqlx::query_as(
        "SELECT indexrelname::text, pg_size_pretty(pg_relation_size(indexrelid))
         FROM pg_stat_user_indexes WHERE relname = 'tasks' ORDER BY indexrelname",
    )
    .fetch_all(pool)
    .await?;
    let sizes: Vec<String> = sizes.into_iter().map(|(n, s)| format!("{n} {s}")).collect();
    println!("- index sizes: {}", sizes.join(", "));
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    /// One keyword, default sort (due date), page of 50; a typical user (~1 000 tasks).
    Search,
    /// Two keywords, typical user.
    SearchTwoWords,
    /// pending + priority high/medium + one tag, sorted by due date, page of 50; typical user.
    FilteredSorted,
    /// The page after the first of the default listing (keyset cursor); typical user.
    NextPage,
    /// Search + priority filter + due-date sort, page of 50, for the heavy user (10 000 tasks).
    HeavySearchFiltered,
    /// The filtered, sorted page for the heavy user.
    HeavyFilteredSorted,
    /// Title sort, descending, for the heavy user.
    HeavyTitleSort,
    /// Tasks with both of two tags, any status, default sort, for the heavy user.
    HeavyTagsAll,
    /// The heavy user's tags with their task counts (`GET /api/v1/tags`).
    HeavyTagCounts,
    /// Create a task through `TaskService` (id, insert + outbox event in one transaction).
    Create,
}

impl Scenario {
    const ALL: [Scenario; 10] = [
        Scenario::Search,
        Scenario::SearchTwoWords,
        Scenario::FilteredSorted,
        Scenario::NextPage,
        Scenario::HeavySearchFiltered,
        Scenario::HeavyFilteredSorted,
        Scenario::HeavyTitleSort,
        Scenario::HeavyTagsAll,
        Scenario::HeavyTagCounts,
        Scenario::Create,
    ];

    fn name(self) -> &'static str {
        match self {
            Scenario::Search => "keyword search, 1 word (user with ~1 000 tasks)",
            Scenario::SearchTwoWords => "keyword search, 2 words (~1 000 tasks)",
            Scenario::FilteredSorted => "pending + 2 priorities + tag, by due date (~1 000 tasks)",
            Scenario::NextPage => "second page via cursor, default sort (~1 000 tasks)",
            Scenario::HeavySearchFiltered => "search + priority, by due date (10 000 tasks)",
            Scenario::HeavyFilteredSorted => {
                "pending + 2 priorities + tag, by due date (10 000 tasks)"
            }
            Scenario::HeavyTitleSort => "all tasks by title desc (10 000 tasks)",
            Scenario::HeavyTagsAll => "tasks with both of 2 tags, by due date (10 000 tasks)",
            Scenario::HeavyTagCounts => "tag counts (10 000 tasks)",
            Scenario::Create => "create task (id + insert + outbox event)",
        }
    }
}

struct Bench {
    repo: Arc<PostgresTaskRepository>,
    service: TaskService,
    users: Vec<UserId>,
    words: Vec<&'static str>,
    now: DateTime<Utc>,
}

struct Report {
    samples: Vec<Duration>,
    rows: usize,
}

impl Report {
    fn p(&self, q: f64) -> Duration {
        let mut sorted = self.samples.clone();
        sorted.sort();
        let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
        sorted.get(index).copied().unwrap_or_default()
    }

    fn max(&self) -> Duration {
        self.samples.iter().max().copied().unwrap_or_default()
    }

    fn row(&self, scenario: Scenario) -> String {
        let rows = self.rows as f64 / self.samples.len().max(1) as f64;
        format!(
            "| {} | {rows:.1} | {} | {} | {} | {} |",
            scenario.name(),
            ms(self.p(0.50)),
            ms(self.p(0.90)),
            ms(self.p(0.99)),
            ms(self.max())
        )
    }
}

/// The 1, 5 and 15 minute load averages, to judge how much else was running.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1_000.0)
}

impl Bench {
    fn typical_user(&self, rng: &mut StdRng) -> UserId {
        self.users[rng.gen_range(1..self.users.len())]
    }

    /// A word as users search: drawn with the data's skew, so common words come up more often.
    fn word(&self, rng: &mut StdRng) -> String {
        let skewed = rng.gen::<f64>().powi(2);
        self.words[(skewed * self.words.len() as f64) as usize % self.words.len()].to_owned()
    }

    fn tag(rng: &mut StdRng) -> BTreeSet<Tag> {
        let tag = TAGS[rng.gen_range(0..TAGS.len())];
        [Tag::parse(tag).expect("bench tags are valid")].into()
    }

    fn filtered(rng: &mut StdRng) -> TaskQuery {
        TaskQuery {
            status: StatusFilter::Only(Status::Pending),
            priorities: [Priority::High, Priority::Medium].into(),
            tags_any: Self::tag(rng),
            sort: SortKey::DueDate,
            ..TaskQuery::default()
        }
    }

    /// Runs one operation of `scenario`; returns how many rows it returned.
    async fn once(&self, scenario: Scenario, rng: &mut StdRng) -> anyhow::Result<usize> {
        let heavy = self.users[0];
        let (user, query) = match scenario {
            Scenario::Create => {
                let user = self.typical_user(rng);
                let title = format!("{} {}", self.word(rng), self.word(rng));
                let due = (self.now + chrono::Duration::days(rng.gen_range(1..60)))
                    .format("%Y-%m-%dT%H:%M:%SZ")
                    .to_string();
                let new = NewTask::parse(TaskInput {
                    title,
                    due_date: Some(due),
                    tags: Some(vec!["work".into(), "bench".into()]),
                    ..TaskInput::default()
                })?;
                self.service.create_task(user, new).await?;
                return Ok(1);
            }
            Scenario::Search => (
                self.typical_user(rng),
                TaskQuery {
                    words: vec![self.word(rng)],
                    ..TaskQuery::default()
                },
            ),
            Scenario::SearchTwoWords => (
                self.typical_user(rng),
                TaskQuery {
                    words: TaskQuery::search_words(&format!(
                        "{} {}",
                        self.word(rng),
                        self.word(rng)
                    )),
                    ..TaskQuery::default()
                },
            ),
            Scenario::FilteredSorted => (self.typical_user(rng), Self::filtered(rng)),
            Scenario::NextPage => {
                let user = self.typical_user(rng);
                let first = self
                    .repo
                    .query(user, &TaskQuery::default(), self.now)
                    .await?;
                (
                    user,
                    TaskQuery {
                        cursor: first.next_cursor,
                        ..TaskQuery::default()
                    },
                )
            }
            Scenario::HeavySearchFiltered => (
                heavy,
                TaskQuery {
                    words: vec![self.word(rng)],
                    priorities: [Priority::High].into(),
                    ..TaskQuery::default()
                },
            ),
            Scenario::HeavyFilteredSorted => (heavy, Self::filtered(rng)),
            Scenario::HeavyTitleSort => (
                heavy,
                TaskQuery {
                    sort: SortKey::Title,
                    order: Order::Desc,
                    ..TaskQuery::default()
                },
            ),
            Scenario::HeavyTagsAll => {
                let mut tags = Self::tag(rng);
                while tags.len() < 2 {
                    tags.extend(Self::tag(rng));
                }
                (
                    heavy,
                    TaskQuery {
                        status: StatusFilter::All,
                        tags_all: tags,
                        ..TaskQuery::default()
                    },
                )
            }
            Scenario::HeavyTagCounts => return Ok(self.repo.tags(heavy).await?.len()),
        };
        // The next-page scenario times only the second page.
        let page = self.repo.query(user, &query, self.now).await?;
        Ok(page.items.len())
    }

    async fn timed(
        &self,
        scenario: Scenario,
        rng: &mut StdRng,
    ) -> anyhow::Result<(Duration, usize)> {
        if scenario == Scenario::NextPage {
            // Fetch the first page outside the timing.
            let user = self.typical_user(rng);
            let first = self
                .repo
                .query(user, &TaskQuery::default(), self.now)
                .await?;
            let query = TaskQuery {
                cursor: first.next_cursor,
                ..TaskQuery::default()
            };
            let started = Instant::now();
            let page = self.repo.query(user, &query, self.now).await?;
            return Ok((started.elapsed(), page.items.len()));
        }
        let started = Instant::now();
        let rows = self.once(scenario, rng).await?;
        Ok((started.elapsed(), rows))
    }

    async fn sequential(&self, scenario: Scenario, samples: usize) -> anyhow::Result<Report> {
        let mut rng = StdRng::seed_from_u64(0x5EED);
        for _ in 0..(samples / 10).max(20) {
            self.timed(scenario, &mut rng).await?;
        }
        let mut report = Report {
            samples: Vec::with_capacity(samples),
            rows: 0,
        };
        for _ in 0..samples {
            let (elapsed, rows) = self.timed(scenario, &mut rng).await?;
            report.samples.push(elapsed);
            report.rows += rows;
        }
        Ok(report)
    }

    async fn concurrent(
        self: Arc<Self>,
        scenario: Scenario,
        clients: usize,
        length: Duration,
    ) -> anyhow::Result<(f64, Report)> {
        let started = Instant::now();
        let deadline = started + length;
        let mut workers = Vec::new();
        for client in 0..clients {
            let bench = self.clone();
            workers.push(tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(client as u64);
                let mut samples = Vec::new();
                let mut rows = 0;
                while Instant::now() < deadline {
                    let (elapsed, n) = bench.timed(scenario, &mut rng).await?;
                    samples.push(elapsed);
                    rows += n;
                }
                anyhow::Ok((samples, rows))
            }));
        }
        let mut report = Report {
            samples: Vec::new(),
            rows: 0,
        };
        for worker in workers {
            let (samples, rows) = worker.await??;
            report.samples.extend(samples);
            report.rows += rows;
        }
        let throughput = report.samples.len() as f64 / started.elapsed().as_secs_f64();
        Ok((throughput, report))
    }

    /// Prints the plan of each query shape, as the adapter sends it.
    async fn explain(&self, pool: &PgPool) -> anyhow::Result<()> {
        let mut rng = StdRng::seed_from_u64(7);
        let heavy = self.users[0];
        let typical = self.typical_user(&mut rng);
        let word = "groceries".to_owned();
        let shapes = [
            (
                "search, typical user",
                typical,
                TaskQuery {
                    words: vec![word.clone()],
                    ..TaskQuery::default()
                },
            ),
            ("filtered, typical user", typical, Self::filtered(&mut rng)),
            (
                "search + priority, heavy user",
                heavy,
                TaskQuery {
                    words: vec![word],
                    priorities: [Priority::High].into(),
                    ..TaskQuery::default()
                },
            ),
            ("filtered, heavy user", heavy, Self::filtered(&mut rng)),
        ];
        for (name, user, query) in shapes {
            let mut statement = todo_postgres::query::explain_statement(user, &query, self.now)?;
            let plan: Vec<String> = statement.build_query_scalar().fetch_all(pool).await?;
            println!("\n#### {name}\n\n```\n{}\n```", plan.join("\n"));
        }
        Ok(())
    }
}

/// Whether pg_trgm can serve `word` (the adapter's rule: three ASCII letters or digits in a row).
fn has_trigram(word: &str) -> bool {
    word.as_bytes()
        .split(|b| !b.is_ascii_alphanumeric())
        .any(|run| run.len() >= 3)
}

/// Times the keyword-search alternatives on the same data with raw SQL, each in a transaction that
/// swaps the search index and is rolled back: the chosen two-column trigram index, a global trigram
/// index, no search index (the per-user scan, filtering), and a full-text index (which answers a
/// different question: whole words, not substrings).
async fn compare_search(pool: &PgPool, bench: &Bench, samples: usize) -> anyhow::Result<()> {
    const LIKE: &str = "SELECT id FROM tasks t WHERE t.user_id = $1 AND t.search_text LIKE $2
                        ORDER BY coalesce(t.due_date, 'infinity'::timestamptz), t.id LIMIT 51";
    const STRPOS: &str =
        "SELECT id FROM tasks t WHERE t.user_id = $1 AND strpos(t.search_text, $2) > 0
                          ORDER BY coalesce(t.due_date, 'infinity'::timestamptz), t.id LIMIT 51";
    const FTS: &str = "SELECT id FROM tasks t WHERE t.user_id = $1
                         AND to_tsvector('simple', t.search_text) @@ plainto_tsquery('simple', $2)
                       ORDER BY coalesce(t.due_date, 'infinity'::timestamptz), t.id LIMIT 51";
    let variants: [(&str, &[&str], bool); 4] = [
        ("pg_trgm GIN (user_id, search_text) (chosen)", &[], false),
        (
            "pg_trgm GIN (search_text)",
            &[
                "DROP INDEX tasks_user_search_trgm",
                "CREATE INDEX bench_trgm ON tasks USING gin (search_text gin_trgm_ops)",
            ],
            false,
        ),
        (
            "no search index (per-user btree, filter)",
            &["DROP INDEX tasks_user_search_trgm"],
            false,
        ),
        (
            "full-text GIN (tsvector; whole words only)",
            &[
                "DROP INDEX tasks_user_search_trgm",
                "CREATE INDEX bench_fts ON tasks USING gin (user_id, to_tsvector('simple', search_text))",
            ],
            true,
        ),
    ];
    println!("\n### Keyword search alternatives (one word, {samples} samples each)\n");
    println!("| search index | size | user | p50 | p99 | max | rows |");
    println!("|---|---|---|---|---|---|---|");
    for (name, setup, fts) in variants {
        let mut tx = pool.begin().await?;
        sqlx::raw_sql("SET LOCAL statement_timeout = 0; SET LOCAL maintenance_work_mem = '512MB'")
            .execute(&mut *tx)
            .await?;
        for statement in setup {
            sqlx::raw_sql(statement).execute(&mut *tx).await?;
        }
        let size: String = sqlx::query_scalar(
            "SELECT coalesce(pg_size_pretty(sum(pg_relation_size(indexrelid))), '-')
             FROM pg_index WHERE indrelid = 'tasks'::regclass
               AND indexrelid::regclass::text IN ('tasks_user_search_trgm', 'bench_trgm', 'bench_fts')",
        )
        .fetch_one(&mut *tx)
        .await?;
        for (label, heavy) in [("~1 000 tasks", false), ("10 000 tasks", true)] {
            let mut rng = StdRng::seed_from_u64(11);
            let mut report = Report {
                samples: Vec::new(),
                rows: 0,
            };
            for i in 0..samples + samples / 10 {
                let user = if heavy {
                    bench.users[0]
                } else {
                    bench.typical_user(&mut rng)
                };
                let word = bench.word(&mut rng);
                let (sql, value) = if fts {
                    (FTS, word)
                } else if has_trigram(&word) {
                    (LIKE, format!("%{word}%"))
                } else {
                    (STRPOS, word)
                };
                let started = Instant::now();
                let rows = sqlx::query(sql)
                    .bind(user.0)
                    .bind(value)
                    .fetch_all(&mut *tx)
                    .await?;
                if i >= samples / 10 {
                    report.samples.push(started.elapsed());
                    report.rows += rows.len();
                }
            }
            println!(
                "| {name} | {size} | {label} | {} | {} | {} | {:.1} |",
                ms(report.p(0.50)),
                ms(report.p(0.99)),
                ms(report.max()),
                report.rows as f64 / samples as f64
            );
        }
        tx.rollback().await?;
    }
    Ok(())
}
