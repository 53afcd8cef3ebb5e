//! Shared helpers of the server's HTTP tests: a server on a random port and signed-in users.
#![allow(dead_code)] // each test binary uses a different part

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use todo_core::ports::OutboxStore;
use todo_server::config::{Config, Storage};

pub mod deployment;
pub mod process;
pub mod scenarios;
pub mod smtp;

pub struct Server {
    pub base: String,
    pub http: Client,
    /// The data directory of a server started without one named (removed with the server).
    data: Option<tempfile::TempDir>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<()>>,
    /// Where an in-process server keeps its data (for [`Server::consumers_caught_up`]).
    storage: Option<Storage>,
}

impl Server {
    pub async fn start() -> Server {
        Self::start_with(&[]).await
    }

    pub async fn start_with(extra: &[(&str, &str)]) -> Server {
        let mut vars = HashMap::from([
            ("TODO_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
            (
                "TODO_JWT_SECRET".to_owned(),
                "an-hmac-key-of-at-least-32-bytes!!".to_owned(),
            ),
            ("TODO_AUTH_RATE_PER_MINUTE".to_owned(), "1000".to_owned()),
        ]);
        vars.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        // The default storage is a SQLite file in the data directory: a fresh one per server.
        let data = (!vars.contains_key("DATABASE_URL") && !vars.contains_key("TODO_DATA_DIR"))
            .then(|| tempfile::tempdir().unwrap());
        if let Some(dir) = &data {
            vars.insert(
                "TODO_DATA_DIR".to_owned(),
                dir.path().to_string_lossy().into_owned(),
            );
        }
        let config = Config::from_vars(&vars).unwrap();
        let storage = Some(config.storage.clone());
        let service = todo_server::compose::build(&todo_server::compose::Role::ALL, config)
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let done = tokio::spawn(async move {
            todo_server::serve(service, listener, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Server {
            base,
            http: Client::new(),
            data,
            stop: Some(stop),
            done: Some(done),
            storage,
        }
    }

    /// A server already running at `base` (not stopped by this handle).
    pub fn remote(base: &str) -> Server {
        Server {
            base: base.trim_end_matches('/').to_owned(),
            http: Client::new(),
            data: None,
            stop: None,
            done: None,
            storage: None,
        }
    }

    pub async fn user(&self, email: &str) -> User {
        let response = self
            .http
            .post(format!("{}/api/v1/auth/signup", self.base))
            .json(&json!({"email": email, "password": "a good password", "name": "Tester"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        User {
            token: body["token"].as_str().unwrap().to_owned(),
            base: self.base.clone(),
            http: self.http.clone(),
        }
    }

    /// Waits until the outbox holds no unsent event. The in-process bus of `all` marks a row sent
    /// only once every consumer has handled its event, so then every consumer has caught up with
    /// every write made so far.
    pub async fn consumers_caught_up(&self) {
        let storage = self
            .storage
            .as_ref()
            .expect("an in-process server, whose storage the test knows");
        todo_testkit::wait_until(
            "every event handled (the outbox empty)",
            Duration::from_secs(30),
            || async {
                match unsent_events(storage).await {
                    0 => Ok(()),
                    unsent => Err(format!("{unsent} unsent events")),
                }
            },
        )
        .await;
    }

    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), self.done.take().unwrap())
            .await
            .unwrap()
            .unwrap();
    }
}

/// The outbox backlog of `storage`, read through the adapter's own `OutboxStore::backlog`. The
/// server holds the SQLite file's owner lock, so a snapshot of it is read, the consistent copy
/// `todo-server backup` makes of a running server's database.
async fn unsent_events(storage: &Storage) -> u64 {
    let backlog = match storage {
        Storage::Sqlite(sqlite) => {
            let dir = tempfile::tempdir().unwrap();
            let copy = dir.path().join("snapshot.db");
            todo_sqlite::backup(&sqlite.path, &copy)
                .await
                .expect("a snapshot of the server's database");
            let db = todo_sqlite::open(&copy, &todo_sqlite::OpenOptions::default())
                .await
                .expect("opening the snapshot");
            let backlog = todo_sqlite::SqliteTaskRepository::new(db.clone())
                .backlog()
                .await;
            db.close().await;
            backlog
        }
        Storage::Postgres(postgres) => {
            let pool =
                todo_postgres::connect(&postgres.url, &todo_postgres::PoolSettings::default())
                    .await
                    .expect("connecting to the server's database");
            let backlog = todo_postgres::PostgresTaskRepository::new(pool.clone())
                .backlog()
                .await;
            pool.close().await;
            backlog
        }
        Storage::Memory => panic!("an in-memory outbox cannot be read from outside the server"),
    };
    backlog.expect("reading the outbox backlog").0
}

pub struct User {
    pub token: String,
    base: String,
    http: Client,
}

impl User {
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Says `message` to the assistant: its status and body.
    pub async fn chat(&self, message: &str) -> (StatusCode, Value) {
        self.call(
            reqwest::Method::POST,
            "/api/v1/chat",
            Some(json!({ "message": message })),
        )
        .await
    }

    pub async fn create(&self, body: Value) -> Value {
        let (status, task) = self
            .call(reqwest::Method::POST, "/api/v1/tasks", Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{task}");
        task
    }

    pub async fn list(&self, query: &str) -> Vec<Value> {
        let (status, page) = self
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/tasks?{query}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["items"].as_array().unwrap().clone()
    }
}

pub const PRIORITIES: [&str; 3] = ["high", "medium", "low"];

pub fn titles(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_owned())
        .collect()
}

pub fn in_future(seconds: i64) -> DateTime<Utc> {
    (Utc::now() + chrono::Duration::seconds(seconds)).trunc_subsecs(0)
}

/// Reads an event stream until its text contains `needle`, failing the test after `within`.
pub async fn read_until<S, B, E>(body: &mut S, needle: &str, within: Duration) -> String
where
    S: futures_util::Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Debug,
{
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + within;
    let mut seen = String::new();
    while !seen.contains(needle) {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .unwrap_or_else(|_| panic!("`{needle}` within {within:?}; got: {seen}"));
        let chunk = chunk
            .expect("the stream ended")
            .expect("a chunk of the stream");
        seen.push_str(&String::from_utf8_lossy(chunk.as_ref()));
    }
    seen
}

/// The `(event, data)` pairs of the complete events in an event stream's text.
pub fn sse_events(text: &str) -> Vec<(String, String)> {
    let Some((complete, _)) = text.rsplit_once("\n\n") else {
        return Vec::new();
    };
    complete
        .split("\n\n")
        .filter_map(|block| {
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(name).map(str::to_owned))
            };
            Some((field("event: ")?, field("data: ")?))
        })
        .collect()
}

/// Reads an event stream until it holds an `event: {kind}` whose data contains `needle`, failing the
/// test after `within`; returns all it read. (The stream carries every change of the user's tasks, so
/// a title alone does not single out, say, a reminder.)
pub async fn read_until_event<S, B, E>(
    body: &mut S,
    kind: &str,
    needle: &str,
    within: Duration,
) -> String
where
    S: futures_util::Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Debug,
{
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + within;
    let mut seen = String::new();
    while !sse_events(&seen)
        .iter()
        .any(|(event, data)| event == kind && data.contains(needle))
    {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .unwrap_or_else(|_| panic!("`{kind}` with `{needle}` within {within:?}; got: {seen}"));
        let chunk = chunk
            .expect("the stream ended")
            .expect("a chunk of the stream");
        seen.push_str(&String::from_utf8_lossy(chunk.as_ref()));
    }
    seen
}
