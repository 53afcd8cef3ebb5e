//! Runs each example program as a child process, as a user would, against the real test stack: a
//! fresh PostgreSQL database and a `daprd` (Kafka pub/sub, PostgreSQL state, the Dapr scheduler) from
//! `todo-testkit`. Each test checks what the program printed and what it left behind in the database
//! and the sidecar, so an example that stops working fails the build.
//!
//! The examples' binaries sit beside this test's (`target/<profile>/examples/<name>`); the test
//! builds them first, so they are never stale.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use todo_core::events::consumers;
use todo_core::ports::StateStore;
use todo_dapr::{DaprClient, DaprConfig, DaprScheduler, DaprStateStore, DEFAULT_STATE_STORE};
use todo_testkit::sqlx::{self, PgPool};
use todo_testkit::{free_port, Sidecar, TestDatabase};
use tokio::process::{Child, Command};

/// Longest a program may run: `with_dapr` waits for a Kafka consumer group to join and a job to fire.
const RUN_LIMIT: Duration = Duration::from_secs(180);

/// The built example `name`, up to date.
fn example(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().expect("the test binary has a path");
    // target/<profile>/deps/examples_run-<hash> -> target/<profile>/examples/<name>
    let profile_dir = test_binary
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps");
    build_examples(profile_dir);
    let path = profile_dir.join("examples").join(name);
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// Builds the examples once per test run. `cargo test` builds them too, but not when only this test
/// target is selected (`--test examples_run`): then the binaries could be stale.
fn build_examples(profile_dir: &Path) {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = std::process::Command::new(cargo);
        build.args(["build", "--quiet", "-p", "todo-examples", "--examples"]);
        // Into this test's own target directory, which is not always CARGO_TARGET_DIR (cargo
        // llvm-cov builds into a directory of its own and passes it with --target-dir).
        if let Some(target_dir) = profile_dir.parent() {
            build.arg("--target-dir").arg(target_dir);
        }
        match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => {}
            Some("release") => {
                build.arg("--release");
            }
            Some(profile) => {
                build.args(["--profile", profile]);
            }
        }
        let output = build
            .output()
            .map_err(|e| format!("running cargo build: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    });
    if let Err(why) = built {
        panic!("`cargo build -p todo-examples --examples` failed:\n{why}");
    }
}

/// A command for the example `name` with none of the variables the examples read inherited, so each
/// test says exactly what the program gets.
fn command(name: &str) -> Command {
    let mut command = Command::new(example(name));
    for var in [
        "DATABASE_URL",
        "DAPR_HTTP_PORT",
        "DAPR_HTTP_ENDPOINT",
        "DAPR_API_TOKEN",
        "APP_API_TOKEN",
        "TODO_ADDR",
    ] {
        command.env_remove(var);
    }
    command
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Waits for `child` to exit (killing it after [`RUN_LIMIT`]); its exit status and output.
async fn finish(child: Child, name: &str) -> (Output, String) {
    let output = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{name} did not finish within {RUN_LIMIT:?}"))
        .unwrap_or_else(|e| panic!("waiting for {name}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

/// Runs `command` to its end and asserts it succeeded; its standard output.
async fn run_ok(mut command: Command, name: &str) -> String {
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("starting {name}: {e}"));
    let (output, stdout) = finish(child, name).await;
    assert!(
        output.status.success(),
        "{name} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Asserts that `stdout` has a line containing every one of `parts`.
fn assert_line(stdout: &str, parts: &[&str]) {
    assert!(
        stdout
            .lines()
            .any(|line| parts.iter().all(|part| line.contains(part))),
        "no line with all of {parts:?} in:\n{stdout}"
    );
}

/// Runs the example without `variable` and checks it stops with status 2, naming it.
async fn fails_naming(name: &str, mut command: Command, variable: &str) {
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("starting {name}: {e}"));
    let (output, _) = finish(child, name).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
    assert!(stderr.contains(variable), "{name}: {stderr}");
}

#[tokio::test]
async fn the_walkthrough_plays_the_scenarios_without_infrastructure() {
    let stdout = run_ok(command("walkthrough"), "walkthrough").await;

    assert_line(
        &stdout,
        &[
            "next occurrence #2",
            "[pending]",
            "due Mon 2026-03-09 09:00 GMT (Europe/London)",
        ],
    );
    assert_line(
        &stdout,
        &["job reminder-task-3 fires at Mon 2026-03-02 13:00 UTC"],
    );
    // Both occurrences of the series are listed, each with its status.
    assert_line(&stdout, &["#1 \"Weekly team sync\" [completed]"]);
    assert_line(&stdout, &["#2 \"Weekly team sync\" [pending]"]);
    assert!(
        !stdout.contains("Some("),
        "a raw Option was printed:\n{stdout}"
    );
}

/// The steps of `todo_examples::storage::complete_a_recurring_task` in an example's output.
fn assert_the_storage_scenario_ran(stdout: &str) {
    assert_line(
        stdout,
        &["search \"plant\" tagged home", "Water the plants"],
    );
    assert_line(stdout, &["outbox relay -> in-process bus:", "0 failed"]);
    assert_line(
        stdout,
        &[
            "next occurrence:",
            "Water the plants",
            "[pending]",
            "09:00",
            "(Europe/Berlin)",
        ],
    );
}

#[tokio::test]
async fn with_sqlite_stores_the_next_occurrence_in_a_file_that_outlives_the_run() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("tasks.db");
    for run_number in 1..=2 {
        let mut run = command("with_sqlite");
        run.arg(&file);
        let stdout = run_ok(run, "with_sqlite").await;
        assert_line(&stdout, &["opened", "tasks.db", "applied the migrations"]);
        assert_the_storage_scenario_ran(&stdout);
        // Each run is a new user in the same file: its ids follow the first run's.
        if run_number == 2 {
            assert_line(&stdout, &["created #", "\"Water the plants\""]);
            assert!(
                !stdout.contains("created #1 "),
                "the second run starts after the first run's tasks:\n{stdout}"
            );
        }
    }
    assert!(file.exists());
}

#[tokio::test]
async fn with_postgres_stores_the_next_occurrence_from_the_relayed_outbox() {
    let db = TestDatabase::create().await.expect("a test database");
    let mut run = command("with_postgres");
    run.env("DATABASE_URL", db.url());
    let stdout = run_ok(run, "with_postgres").await;

    assert_line(
        &stdout,
        &["connected to PostgreSQL and applied the migrations"],
    );
    assert_the_storage_scenario_ran(&stdout);

    let pool = db.pool().await.expect("a pool");
    let series = occurrences(&pool, "Water the plants").await;
    assert_eq!(series.len(), 2, "{series:?}");
    let (first, next) = (&series[0], &series[1]);
    assert_eq!(first.status, "completed");
    assert_eq!(next.status, "pending");
    assert_eq!(next.predecessor_id, Some(first.id));
    assert_eq!(next.series_id, first.series_id);
    assert_eq!(
        next.days_after_predecessor,
        Some(7),
        "a weekly task comes back a week later"
    );
    assert_outbox_relayed(&pool).await;
    let handled: i64 =
        sqlx::query_scalar("SELECT count(*) FROM processed_events WHERE consumer = $1")
            .bind(consumers::RECURRING)
            .fetch_one(&pool)
            .await
            .expect("processed events");
    assert_eq!(
        handled, 1,
        "the recurring handler marked the `completed` event"
    );
}

#[tokio::test]
async fn with_postgres_without_a_database_url_names_the_variable() {
    fails_naming("with_postgres", command("with_postgres"), "DATABASE_URL").await;
}

/// Runs `with_dapr` with `database_url` beside a fresh sidecar (Kafka pub/sub, PostgreSQL state,
/// the Dapr scheduler); asserts it succeeded and printed each step. Its output and the sidecar, still
/// running, for further checks.
async fn run_with_dapr(database_url: &str) -> (String, Sidecar) {
    let app_port = free_port().expect("a free port");
    let dapr_port = free_port().expect("a free port");
    // The program listens first; daprd reads its subscriptions once the app answers.
    let mut run = command("with_dapr");
    run.env("DATABASE_URL", database_url)
        .env("DAPR_HTTP_PORT", dapr_port.to_string())
        .env("TODO_ADDR", format!("127.0.0.1:{app_port}"));
    let child = run.spawn().expect("starting with_dapr");
    let sidecar = Sidecar::builder("examples")
        .app_port(app_port)
        .http_port(dapr_port)
        .start()
        .await
        .expect("a sidecar for the example");
    let (output, stdout) = finish(child, "with_dapr").await;
    assert!(
        output.status.success(),
        "with_dapr failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}\n--- daprd\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
        sidecar.log_tail(40)
    );
    assert_line(&stdout, &["Dapr job reminder-task-", "dueTime"]);
    assert_line(&stdout, &["outbox relay -> kafka-pubsub:", "0 failed"]);
    assert_line(
        &stdout,
        &[
            "recurring handler (via daprd): created",
            "Water the plants",
            "[pending]",
        ],
    );
    assert_line(&stdout, &["fired: remind \"Call the plumber\""]);
    assert_line(
        &stdout,
        &["series ended; statestore holds recurring-series-ended-"],
    );
    (stdout, sidecar)
}

#[tokio::test]
async fn with_dapr_goes_through_pubsub_jobs_and_state_of_a_real_sidecar() {
    let db = TestDatabase::create().await.expect("a test database");
    let (stdout, sidecar) = run_with_dapr(db.url()).await;
    assert_line(&stdout, &["tasks are stored in PostgreSQL"]);

    // The database: the completed occurrence stays, its successor was deleted, the plumber's reminder
    // went out on `reminders`, and every event left the outbox.
    let pool = db.pool().await.expect("a pool");
    let plants = occurrences(&pool, "Water the plants").await;
    assert_eq!(plants.len(), 1, "{plants:?}");
    assert_eq!(plants[0].status, "completed");
    assert_eq!(occurrences(&pool, "Call the plumber").await.len(), 1);
    assert_outbox_relayed(&pool).await;
    let reminders: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE topic = 'reminders'")
            .fetch_one(&pool)
            .await
            .expect("the outbox");
    assert_eq!(reminders, 1, "one reminder event");
    let handled: i64 =
        sqlx::query_scalar("SELECT count(*) FROM processed_events WHERE consumer = $1")
            .bind(consumers::RECURRING)
            .fetch_one(&pool)
            .await
            .expect("processed events");
    assert_eq!(
        handled, 2,
        "the `completed` and the `deleted` event, delivered by daprd"
    );

    // The sidecar: no reminder job is left for the series, and the state store remembers its end.
    let dapr = DaprClient::new(DaprConfig::for_port(sidecar.http_port())).expect("a client");
    let jobs = DaprScheduler::new(dapr.clone());
    let job = jobs
        .get(&format!("reminder-task-{}", plants[0].id))
        .await
        .expect("the Jobs API answers");
    assert_eq!(job, None, "completing a task cancels its reminder job");
    let state = DaprStateStore::new(dapr, DEFAULT_STATE_STORE);
    let series_id = plants[0]
        .series_id
        .as_deref()
        .expect("a recurring task has a series");
    let key = format!("recurring-series-ended-{series_id}");
    let ended = state.get(&key).await.expect("the state API answers");
    assert!(ended.is_some(), "{key} is not in the state store");
}

#[tokio::test]
async fn with_dapr_keeps_the_tasks_in_memory_when_told_so() {
    let (stdout, _sidecar) = run_with_dapr("memory:").await;
    assert_line(&stdout, &["tasks are kept in memory"]);
}

#[tokio::test]
async fn with_dapr_without_a_sidecar_address_names_the_variable() {
    let mut run = command("with_dapr");
    run.env("DATABASE_URL", "memory:");
    fails_naming("with_dapr", run, "DAPR_HTTP_PORT").await;
}

/// One stored occurrence of a task.
#[derive(Debug)]
struct Occurrence {
    id: i64,
    status: String,
    series_id: Option<String>,
    predecessor_id: Option<i64>,
    /// Days from the predecessor's due date to this one's on the wall clock of the task's zone.
    days_after_predecessor: Option<i32>,
}

/// `id, status, series_id, predecessor_id, days_after_predecessor`.
type OccurrenceRow = (i64, String, Option<String>, Option<i64>, Option<i32>);

/// The stored tasks titled `title`, oldest first.
async fn occurrences(pool: &PgPool, title: &str) -> Vec<Occurrence> {
    let rows: Vec<OccurrenceRow> = sqlx::query_as(
        "SELECT t.id, t.status::text, t.series_id::text, t.predecessor_id,
                (t.due_date AT TIME ZONE t.timezone)::date - (p.due_date AT TIME ZONE p.timezone)::date
           FROM tasks t LEFT JOIN tasks p ON p.id = t.predecessor_id
          WHERE t.title = $1 ORDER BY t.id",
    )
    .bind(title)
    .fetch_all(pool)
    .await
    .expect("reading the tasks");
    rows.into_iter()
        .map(
            |(id, status, series_id, predecessor_id, days_after_predecessor)| Occurrence {
                id,
                status,
                series_id,
                predecessor_id,
                days_after_predecessor,
            },
        )
        .collect()
}

/// Every outbox row was published and acknowledged.
async fn assert_outbox_relayed(pool: &PgPool) {
    let (total, unsent): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(*) FILTER (WHERE sent_at IS NULL) FROM outbox")
            .fetch_one(pool)
            .await
            .expect("reading the outbox");
    assert!(total > 0, "the outbox was never written");
    assert_eq!(unsent, 0, "{unsent} of {total} events were not relayed");
}
