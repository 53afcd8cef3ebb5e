//! `todo-server all` on PostgreSQL through a database outage: the in-process consumers wait it out,
//! so every acknowledged create gets exactly one audit entry once PostgreSQL is back, and SIGTERM
//! while PostgreSQL is down stops the process within a bound, leaving what was not handled in the
//! outbox for the next start.
//!
//! Each test runs its own PostgreSQL cluster (`infra/todo-infra` with a private run dir), since
//! stopping the shared one would break the tests running beside it.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use support::process::ServerProcess;
use todo_testkit::unique_name;

/// Starts and stops a PostgreSQL cluster of this test's own through `infra/todo-infra`.
#[derive(Clone)]
struct Cluster {
    run_dir: PathBuf,
}

impl Cluster {
    /// Runs `infra/todo-infra --run-dir <ours> ARGS`; its stdout.
    fn infra(&self, args: &[&str]) -> String {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the workspace root")
            .to_owned();
        let output = Command::new("bash")
            .arg(root.join("infra").join("todo-infra"))
            .arg("--run-dir")
            .arg(&self.run_dir)
            .args(args)
            .env("TODO_INFRA_HINTS", "0")
            .output()
            .expect("todo-infra runs");
        assert!(
            output.status.success(),
            "todo-infra {args:?} failed (provision with `infra/todo-infra install`): {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn stop(&self) {
        self.infra(&["stop", "postgres"]);
    }

    fn start(&self) {
        self.infra(&["up", "postgres"]);
    }
}

/// A private PostgreSQL cluster, removed on drop.
struct PrivatePostgres {
    cluster: Cluster,
    url: String,
}

impl PrivatePostgres {
    fn start() -> PrivatePostgres {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let cluster = Cluster {
            run_dir: root.join("..").join(".run").join(unique_name("outage")),
        };
        cluster.start();
        let env = cluster.infra(&["env"]);
        let url = env
            .lines()
            .find_map(|l| l.strip_prefix("export TODO_PG_URL="))
            .map(|v| v.trim_matches(|c| c == '"' || c == '\'').to_owned())
            .unwrap_or_else(|| panic!("no TODO_PG_URL in:\n{env}"));
        PrivatePostgres { cluster, url }
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| self.cluster.infra(&["down", "--purge"]));
    }
}

/// A `todo-server all` process on `database`.
fn start(database: &str) -> ServerProcess {
    let mut command = ServerProcess::command(&std::env::temp_dir());
    command
        .arg("all")
        .env("DATABASE_URL", database)
        .env("TODO_JWT_SECRET", "an-hmac-key-of-at-least-32-bytes!!")
        .env("TODO_AUTH_RATE_PER_MINUTE", "10000")
        .env("RUST_LOG", "info");
    ServerProcess::spawn(command)
}

/// Sends SIGTERM to `server`; how long the process took to exit, and its status.
fn terminate(server: &mut ServerProcess, within: Duration) -> (Duration, std::process::ExitStatus) {
    let started = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    loop {
        if let Some(status) = server.child.try_wait().expect("waiting for the server") {
            return (started.elapsed(), status);
        }
        if started.elapsed() > within {
            let lines = server.lines();
            panic!(
                "still running {within:?} after SIGTERM; last lines: {:#?}",
                &lines[lines.len().saturating_sub(30)..]
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// How many lines `server` wrote that contain `needle`.
fn logged(server: &ServerProcess, needle: &str) -> usize {
    server.lines().iter().filter(|l| l.contains(needle)).count()
}

/// A signed-in user of the server at `base`.
#[derive(Clone)]
struct User {
    http: Client,
    base: String,
    token: String,
}

impl User {
    async fn sign_up(base: &str) -> User {
        let http = Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let response = http
            .post(format!("{base}/api/v1/auth/signup"))
            .json(
                &json!({"email": "ada@example.com", "password": "a good password", "name": "Ada"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        User {
            http,
            base: base.to_owned(),
            token: body["token"].as_str().unwrap().to_owned(),
        }
    }

    async fn log_in(base: &str) -> User {
        let http = Client::new();
        let response = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": "ada@example.com", "password": "a good password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        User {
            http,
            base: base.to_owned(),
            token: body["token"].as_str().unwrap().to_owned(),
        }
    }

    /// The new task's id when the create was acknowledged (201); `None` for any other outcome.
    async fn create(&self, title: &str) -> Option<i64> {
        let response = self
            .http
            .post(format!("{}/api/v1/tasks", self.base))
            .bearer_auth(&self.token)
            .json(&json!({ "title": title }))
            .send()
            .await
            .ok()?;
        if response.status() != StatusCode::CREATED {
            return None;
        }
        let task: Value = response.json().await.ok()?;
        task["id"].as_i64()
    }

    /// How many audit entries the task's history holds.
    async fn audit_entries(&self, id: i64) -> Option<usize> {
        let response = self
            .http
            .get(format!("{}/api/v1/tasks/{id}/history", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .ok()?;
        let body: Value = response.json().await.ok()?;
        body["items"].as_array().map(Vec::len)
    }
}

/// Events committed but not yet handled by every consumer (unsent outbox rows).
async fn backlog(url: &str) -> i64 {
    use todo_testkit::sqlx::{self, Connection};
    let mut connection = sqlx::PgConnection::connect(url).await.expect("connecting");
    sqlx::query_scalar("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
        .fetch_one(&mut connection)
        .await
        .expect("counting the backlog")
}

/// Creates tasks from `writers` concurrent clients until `stop`; the acknowledged ids.
fn keep_creating(
    user: &User,
    writers: usize,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinSet<Vec<i64>> {
    let mut set = tokio::task::JoinSet::new();
    for writer in 0..writers {
        let user = user.clone();
        let stop = stop.clone();
        set.spawn(async move {
            let mut acknowledged = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                match user.create(&format!("writer {writer} task {n}")).await {
                    Some(id) => acknowledged.push(id),
                    None => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
            acknowledged
        });
    }
    set
}

/// Waits until every task in `ids` has exactly one audit entry (its `created`); the tasks that do
/// not, with their counts, if `within` passes first.
async fn wait_for_one_audit_entry_each(
    user: &User,
    ids: &[i64],
    within: Duration,
) -> Vec<(i64, Option<usize>)> {
    let started = Instant::now();
    loop {
        let mut wrong = Vec::new();
        for &id in ids {
            let count = user.audit_entries(id).await;
            if count != Some(1) {
                wrong.push((id, count));
            }
        }
        if wrong.is_empty() || started.elapsed() > within {
            return wrong;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

const OUTAGE: Duration = Duration::from_secs(40);
/// Concurrent clients creating tasks.
const WRITERS: usize = 32;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_create_gets_one_audit_entry_across_a_postgres_outage() {
    let postgres = PrivatePostgres::start();
    let server = start(&postgres.url);
    let user = User::sign_up(&server.base).await;

    let stop = Arc::new(AtomicBool::new(false));
    // More writers than the relay keeps up with, so that the consumers are behind when PostgreSQL
    // stops: events committed, not yet handled.
    let mut writers = keep_creating(&user, WRITERS, stop.clone());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let behind = backlog(&postgres.url).await;
    let stopped = Instant::now();
    tokio::task::spawn_blocking({
        let cluster = postgres.cluster.clone();
        move || {
            cluster.stop();
            std::thread::sleep(OUTAGE);
            cluster.start();
        }
    })
    .await
    .unwrap();
    let outage = stopped.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::SeqCst);
    let mut acknowledged = Vec::new();
    while let Some(ids) = writers.join_next().await {
        acknowledged.extend(ids.unwrap());
    }
    assert!(
        acknowledged.len() > 50,
        "too few creates: {}",
        acknowledged.len()
    );

    let converging = Instant::now();
    let wrong = wait_for_one_audit_entry_each(&user, &acknowledged, Duration::from_secs(90)).await;
    eprintln!(
        "outage {outage:.1?}, {behind} events not yet handled when it began; {} creates acknowledged; {} with exactly one audit entry {:.1?} after \
         PostgreSQL was back; {} tasks wrong; relay passes failed: {}",
        acknowledged.len(),
        acknowledged.len() - wrong.len(),
        converging.elapsed(),
        wrong.len(),
        logged(&server, "outbox relay pass failed"),
    );
    assert!(
        wrong.is_empty(),
        "tasks without exactly one audit entry: {wrong:?}; last lines: {:#?}",
        {
            let lines = server.lines();
            lines[lines.len().saturating_sub(40)..].to_vec()
        }
    );
    assert_eq!(
        logged(&server, "dead-lettered"),
        0,
        "a transient failure is no poison"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_with_postgres_down_exits_in_time_and_the_next_start_delivers_the_rest() {
    let postgres = PrivatePostgres::start();
    let mut server = start(&postgres.url);
    let user = User::sign_up(&server.base).await;

    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = keep_creating(&user, WRITERS, stop.clone());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let behind = backlog(&postgres.url).await;
    let cluster = postgres.cluster.clone();
    tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .unwrap();
    // Requests and consumers now wait on a database that is gone.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (took, status) = terminate(&mut server, Duration::from_secs(15));
    stop.store(true, Ordering::SeqCst);
    let mut acknowledged = Vec::new();
    while let Some(ids) = writers.join_next().await {
        acknowledged.extend(ids.unwrap());
    }
    eprintln!(
        "SIGTERM with PostgreSQL down: exited in {took:.1?} ({status}); {} creates acknowledged \
         before, {behind} events not yet handled when PostgreSQL stopped",
        acknowledged.len()
    );
    assert!(took < Duration::from_secs(12), "shutdown took {took:?}");

    // PostgreSQL back and a new process: what the first one had not handled is delivered now.
    postgres.cluster.start();
    let server = start(&postgres.url);
    let user = User::log_in(&server.base).await;
    let wrong = wait_for_one_audit_entry_each(&user, &acknowledged, Duration::from_secs(60)).await;
    eprintln!(
        "after the restart: {} of {} acknowledged creates have exactly one audit entry",
        acknowledged.len() - wrong.len(),
        acknowledged.len()
    );
    assert!(
        wrong.is_empty(),
        "tasks without exactly one audit entry: {wrong:?}"
    );
}
