//! The embedded `all` service on real PostgreSQL: the same HTTP contract, and persistence across a
//! restart (the reminder schedule is rebuilt from the database on start).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use todo_testkit::TestDatabase;

mod support;
use support::{in_future, read_until, Server};

#[tokio::test]
async fn tasks_and_a_pending_reminder_survive_a_restart() {
    let db = TestDatabase::create()
        .await
        .expect("a PostgreSQL database from the testkit");
    let vars = [("DATABASE_URL", db.url())];
    let server = Server::start_with(&vars).await;
    let ada = server.user("ada@example.com").await;
    let due = in_future(64);
    let task = ada.create(json!({"title": "Buy groceries", "due_date": due, "remind_before": 1, "recurrence": "weekly"})).await;
    let token = ada.token.clone();
    server.stop().await;

    // A new process on the same database: the account, the task and its reminder are still there.
    let server = Server::start_with(&vars).await;
    let stream = server
        .http
        .get(format!("{}/api/v1/stream", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        stream.status(),
        StatusCode::OK,
        "the token is still valid for the stored user"
    );
    let mut body = stream.bytes_stream();
    let login = server
        .http
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({"email": "ada@example.com", "password": "a good password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let got = server
        .http
        .get(format!("{}/api/v1/tasks/{}", server.base, task["id"]))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    let seen = read_until(&mut body, "event: reminder", Duration::from_secs(15)).await;
    assert!(seen.contains("Buy groceries"));
    drop(body);
    server.stop().await;
}

#[tokio::test]
async fn completing_a_recurring_task_on_postgres_creates_one_next_occurrence() {
    let db = TestDatabase::create()
        .await
        .expect("a PostgreSQL database from the testkit");
    let server = Server::start_with(&[("DATABASE_URL", db.url())]).await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let task = ada
        .create(
            json!({"title": "Water plants", "due_date": in_future(7200), "recurrence": "daily"}),
        )
        .await;
    let path = format!("/api/v1/tasks/{}/complete", task["id"]);
    let (status, done) = ada.call(reqwest::Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(done["next"].is_object(), "{done}");
    let (_, again) = ada.call(reqwest::Method::POST, &path, None).await;
    assert_eq!(again["next"]["id"], done["next"]["id"]);
    // Once the recurring consumer has handled the completion too, still one next occurrence.
    server.consumers_caught_up().await;
    assert_eq!(ada.list("status=pending").await.len(), 1);
    assert!(bob.list("").await.is_empty());
    let (status, _) = bob
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/tasks/{}", task["id"]),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, history) = ada
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/tasks/{}/history", task["id"]),
            None,
        )
        .await;
    assert_eq!(
        history["items"].as_array().map(Vec::len),
        Some(2),
        "{history}"
    );
    assert_eq!(history["items"][0]["task"]["id"], task["id"], "{history}");
    server.stop().await;
}
