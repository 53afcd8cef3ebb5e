//! The embedded default as a self-hoster runs it: `todo-server` with no configuration keeps its data
//! in SQLite under the platform's data directory, so a restart (even after SIGKILL) loses no
//! acknowledged write, tokens stay valid, and a reminder that fell due while it was down fires once.
//! A second server on the same data is refused, and `todo-server backup` copies it while it runs.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{SubsecRound, Utc};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use support::process::ServerProcess;

/// The binary whose only configuration is its home directory (and a free port).
fn command(home: &Path, args: &[&str]) -> Command {
    let mut command = ServerProcess::command(home);
    command.args(args);
    command
}

/// Where the data lives by default under `home` (Linux: `~/.local/share/todo`).
fn data_dir(home: &Path) -> PathBuf {
    home.join(".local/share/todo")
}

/// A server started with no configuration but its home directory.
fn start(home: &Path) -> ServerProcess {
    ServerProcess::spawn(command(home, &[]))
}

async fn sign_up(http: &Client, base: &str, email: &str) -> String {
    let response = http
        .post(format!("{base}/api/v1/auth/signup"))
        .json(&json!({"email": email, "password": "a good password", "name": "Ada"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

/// Every task id of the token's user, following the cursor.
async fn all_task_ids(http: &Client, base: &str, token: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/v1/tasks?limit=200&sort=created_at");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let response = http.get(url).bearer_auth(token).send().await.unwrap();
        let status = response.status();
        let page: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "the token still works: {page}");
        ids.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return ids,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_write_survives_a_sigkill_mid_load() {
    let home = tempfile::tempdir().unwrap();
    let server = start(home.path());
    assert!(
        data_dir(home.path()).join("todo.db").exists(),
        "the data file is in the platform's data directory: {}",
        server.output()
    );
    let http = Client::new();
    let token = sign_up(&http, &server.base, "ada@example.com").await;

    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let mut writers = Vec::new();
    for writer in 0..8 {
        let (http, base, token) = (http.clone(), server.base.clone(), token.clone());
        let acknowledged = acknowledged.clone();
        writers.push(tokio::spawn(async move {
            for n in 0.. {
                let sent = http
                    .post(format!("{base}/api/v1/tasks"))
                    .bearer_auth(&token)
                    .json(&json!({"title": format!("writer {writer} task {n}"), "priority": "high", "tags": ["load"]}))
                    .send()
                    .await;
                let Ok(response) = sent else { return }; // the server is gone
                if response.status() != StatusCode::CREATED {
                    return;
                }
                let Ok(task) = response.json::<Value>().await else { return };
                acknowledged.lock().unwrap().push(task["id"].as_i64().unwrap());
            }
        }));
    }
    // Kill it while the writers are busy.
    let started = Instant::now();
    while acknowledged.lock().unwrap().len() < 300 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill();
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 300,
        "only {} writes before the kill",
        acknowledged.len()
    );

    let server = start(home.path());
    let stored = all_task_ids(&http, &server.base, &token).await;
    let missing: Vec<_> = acknowledged
        .iter()
        .filter(|id| !stored.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged writes lost: {missing:?}",
        missing.len(),
        acknowledged.len()
    );
    let login = http
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({"email": "ada@example.com", "password": "a good password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK, "the account is still there");
}

#[tokio::test]
async fn a_reminder_that_fell_due_while_the_server_was_down_fires_once_at_start() {
    let home = tempfile::tempdir().unwrap();
    let server = start(home.path());
    let http = Client::new();
    let token = sign_up(&http, &server.base, "ada@example.com").await;
    // Reminded a minute before a due date 75 s away: the reminder falls due in about 15 s.
    let due = (Utc::now() + chrono::Duration::seconds(75)).trunc_subsecs(0);
    let created = http
        .post(format!("{}/api/v1/tasks", server.base))
        .bearer_auth(&token)
        .json(&json!({"title": "Pay rent", "due_date": due, "remind_before": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    server.kill();

    let remind_at = due - chrono::Duration::minutes(1);
    let asleep = (remind_at - Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(2);
    tokio::time::sleep(asleep).await;

    let inbox = |base: String| {
        let (http, token) = (http.clone(), token.clone());
        async move {
            let response = http
                .get(format!("{base}/api/v1/notifications"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let page: Value = response.json().await.unwrap();
            page["items"].as_array().unwrap().clone()
        }
    };
    let server = start(home.path());
    let deadline = Instant::now() + Duration::from_secs(15);
    let items = loop {
        let items = inbox(server.base.clone()).await;
        if !items.is_empty() || Instant::now() > deadline {
            break items;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        items.len(),
        1,
        "fired at start: {items:?}\n{}",
        server.output()
    );
    assert_eq!(items[0]["title"], "Pay rent");
    server.kill();

    // Another restart reconciles the same pending reminder again, and it does not fire twice.
    let server = start(home.path());
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(inbox(server.base.clone()).await.len(), 1, "fired once");
}

#[test]
fn a_second_server_on_the_same_data_is_refused_naming_the_file() {
    let home = tempfile::tempdir().unwrap();
    let _first = start(home.path());
    let second = command(home.path(), &[]).output().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{stderr}");
    let file = data_dir(home.path()).join("todo.db");
    assert!(stderr.contains(&file.display().to_string()), "{stderr}");
    assert!(stderr.contains("in use by another process"), "{stderr}");
}

#[tokio::test]
async fn a_backup_taken_while_the_server_runs_holds_its_data() {
    let home = tempfile::tempdir().unwrap();
    let server = start(home.path());
    let http = Client::new();
    let token = sign_up(&http, &server.base, "ada@example.com").await;
    for title in ["Pay rent", "Buy groceries"] {
        let created = http
            .post(format!("{}/api/v1/tasks", server.base))
            .bearer_auth(&token)
            .json(&json!({ "title": title }))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
    }
    let copy = home.path().join("copy.db");
    let backup = command(home.path(), &["backup", copy.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&backup.stdout);
    assert!(
        backup.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&backup.stderr)
    );
    assert!(stdout.contains("copy.db"), "{stdout}");
    // A backup never overwrites.
    let again = command(home.path(), &["backup", copy.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    // The copy is a database a server opens: another home, DATABASE_URL naming the copy.
    let other_home = tempfile::tempdir().unwrap();
    let mut restored = command(other_home.path(), &[]);
    restored.env("DATABASE_URL", format!("sqlite://{}", copy.display()));
    let restored = ServerProcess::spawn(restored);
    let base = restored.base.clone();
    let login = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "ada@example.com", "password": "a good password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let body: Value = login.json().await.unwrap();
    let ids = all_task_ids(&http, &base, body["token"].as_str().unwrap()).await;
    assert_eq!(ids.len(), 2);
}

/// A server whose data directory is a 2 MiB file system of its own (a tmpfs mounted in a private
/// mount namespace with `unshare`, which needs no privileges where user namespaces are enabled).
fn on_a_tiny_disk(home: &Path, data: &Path) -> Command {
    let mut command = Command::new("unshare");
    command
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            r#"mount -t tmpfs -o size=2m tmpfs "$TODO_DATA_DIR" && exec "$0""#,
            env!("CARGO_BIN_EXE_todo-server"),
        ])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("TODO_DATA_DIR", data)
        .env("TODO_ADDR", "127.0.0.1:0");
    command
}

#[tokio::test]
async fn a_full_disk_fails_the_write_with_503_and_keeps_every_acknowledged_one() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let server = ServerProcess::spawn(on_a_tiny_disk(home.path(), &data));
    let http = Client::new();
    let token = sign_up(&http, &server.base, "ada@example.com").await;
    let description = "a long description that fills the disk "
        .repeat(250)
        .trim_end()
        .to_owned();
    let mut acknowledged = Vec::new();
    let refusal = loop {
        assert!(acknowledged.len() < 1000, "the disk never filled up");
        let response = http
            .post(format!("{}/api/v1/tasks", server.base))
            .bearer_auth(&token)
            .json(&json!({"title": format!("task {}", acknowledged.len()), "description": description}))
            .send()
            .await
            .unwrap();
        match response.status() {
            StatusCode::CREATED => {
                let task: Value = response.json().await.unwrap();
                acknowledged.push(task["id"].as_i64().unwrap());
            }
            _ => break response,
        }
    };
    assert_eq!(
        refusal.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        server.output()
    );
    assert!(refusal.headers().contains_key("retry-after"));
    let body: Value = refusal.json().await.unwrap();
    assert!(body["error"]["message"].is_string(), "{body}");
    eprintln!(
        "{} writes fitted before the disk was full",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() >= 5,
        "only {} writes fitted",
        acknowledged.len()
    );

    // Reads still work, and the database holds exactly the acknowledged tasks, each whole.
    let stored = all_task_ids(&http, &server.base, &token).await;
    let mut expected = acknowledged.clone();
    expected.sort_unstable();
    let mut stored_sorted = stored.clone();
    stored_sorted.sort_unstable();
    assert_eq!(stored_sorted, expected);
    let last = acknowledged.last().unwrap();
    let task: Value = http
        .get(format!("{}/api/v1/tasks/{last}", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(task["description"].as_str().unwrap(), description);
}
