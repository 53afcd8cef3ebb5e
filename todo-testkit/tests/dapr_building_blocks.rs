//! Proof of the other Dapr building blocks the project uses, against real daprd: state on
//! PostgreSQL with ETags, the Jobs API with the scheduler, and the local-file secret store.

mod common;

use std::time::{Duration, Instant};

use common::App;
use reqwest::StatusCode;
use serde_json::{json, Value};
use todo_testkit::sqlx;
use todo_testkit::{unique_name, Sidecar, TestDatabase};

#[tokio::test]
async fn state_is_saved_with_etags_and_a_stale_etag_write_fails() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let sidecar = Sidecar::builder("state")
        .state_database(db.url())
        .start()
        .await?;
    let http = reqwest::Client::new();
    let store = format!("{}/v1.0/state/statestore", sidecar.http_url());

    let saved = http
        .post(&store)
        .json(&json!([{ "key": "task-1", "value": { "title": "v1" } }]))
        .send()
        .await?;
    assert_eq!(
        saved.status(),
        StatusCode::NO_CONTENT,
        "{}",
        saved.text().await?
    );

    let read = http.get(format!("{store}/task-1")).send().await?;
    assert_eq!(read.status(), StatusCode::OK);
    let etag1 = read
        .headers()
        .get("etag")
        .ok_or_else(|| anyhow::anyhow!("no ETag header"))?
        .to_str()?
        .to_owned();
    assert_eq!(read.json::<Value>().await?, json!({ "title": "v1" }));

    let update = json!([{ "key": "task-1", "value": { "title": "v2" }, "etag": etag1,
                          "options": { "concurrency": "first-write" } }]);
    let updated = http.post(&store).json(&update).send().await?;
    assert_eq!(
        updated.status(),
        StatusCode::NO_CONTENT,
        "{}",
        updated.text().await?
    );

    let read = http.get(format!("{store}/task-1")).send().await?;
    let etag2 = read
        .headers()
        .get("etag")
        .ok_or_else(|| anyhow::anyhow!("no ETag header"))?
        .to_str()?
        .to_owned();
    assert_ne!(etag1, etag2, "the ETag changes on every write");
    assert_eq!(read.json::<Value>().await?, json!({ "title": "v2" }));

    let stale = json!([{ "key": "task-1", "value": { "title": "lost update" }, "etag": etag1,
                         "options": { "concurrency": "first-write" } }]);
    let rejected = http.post(&store).json(&stale).send().await?;
    assert_eq!(
        rejected.status(),
        StatusCode::CONFLICT,
        "a stale ETag must not overwrite"
    );

    let stale_delete = http
        .delete(format!("{store}/task-1"))
        .header("If-Match", &etag1)
        .send()
        .await?;
    assert_eq!(
        stale_delete.status(),
        StatusCode::CONFLICT,
        "a stale ETag must not delete"
    );

    let read = http.get(format!("{store}/task-1")).send().await?;
    assert_eq!(
        read.json::<Value>().await?,
        json!({ "title": "v2" }),
        "the rejected writes changed nothing"
    );

    // The state really is in PostgreSQL: state.postgresql v1 keeps it in table "state",
    // keyed "<app-id>||<key>".
    let pool = db.pool().await?;
    let stored: String = sqlx::query_scalar("SELECT value::text FROM state WHERE key = $1")
        .bind(format!("{}||task-1", sidecar.app_id()))
        .fetch_one(&pool)
        .await?;
    assert_eq!(
        serde_json::from_str::<Value>(&stored)?,
        json!({ "title": "v2" })
    );

    let deleted = http
        .delete(format!("{store}/task-1"))
        .header("If-Match", &etag2)
        .send()
        .await?;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = http.get(format!("{store}/task-1")).send().await?;
    assert_eq!(
        gone.status(),
        StatusCode::NO_CONTENT,
        "a deleted key reads as empty"
    );
    Ok(())
}

#[tokio::test]
async fn a_job_due_in_two_seconds_calls_the_app_back_on_time() -> anyhow::Result<()> {
    let mut app = App::start("unused").await?;
    let sidecar = Sidecar::builder("jobs").app_port(app.port).start().await?;
    let http = reqwest::Client::new();
    let name = unique_name("reminder-task");

    let scheduled_at = Instant::now();
    let response = http
        .post(format!("{}/v1.0/jobs/{name}", sidecar.http_url()))
        .json(&json!({ "dueTime": "2s", "data": { "task_id": 42, "kind": "reminder" } }))
        .send()
        .await?;
    assert_eq!(
        response.status(),
        StatusCode::NO_CONTENT,
        "{}",
        response.text().await?
    );
    let due = scheduled_at + Duration::from_secs(2);

    let call = app
        .next_job(Duration::from_secs(10))
        .await
        .map_err(|e| anyhow::anyhow!("{e}\ndaprd log:\n{}", sidecar.log_tail(30)))?;
    assert_eq!(call.name, name);
    assert_eq!(call.data, json!({ "task_id": 42, "kind": "reminder" }));
    let early = due.saturating_duration_since(call.at);
    let late = call.at.saturating_duration_since(due);
    eprintln!("job {name}: callback {late:?} after due ({early:?} early)");
    assert!(
        early < Duration::from_millis(500),
        "fired {early:?} before it was due"
    );
    assert!(
        late <= Duration::from_secs(3),
        "fired {late:?} after it was due (limit 3 s)"
    );

    // A one-shot job fires once.
    assert!(
        app.next_job(Duration::from_secs(2)).await.is_err(),
        "the job fired twice"
    );
    Ok(())
}

#[tokio::test]
async fn secrets_are_read_from_the_local_file_store() -> anyhow::Result<()> {
    let sidecar = Sidecar::builder("secrets").start().await?;
    let http = reqwest::Client::new();
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/dapr/local/secrets.json");
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(file)?)?;

    let smtp: Value = http
        .get(format!(
            "{}/v1.0/secrets/secretstore/smtp",
            sidecar.http_url()
        ))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    assert_eq!(smtp, expected["smtp"]);
    assert_eq!(smtp["password"], "dev-only-smtp-password");

    let key: Value = http
        .get(format!(
            "{}/v1.0/secrets/secretstore/jwt-signing-key",
            sidecar.http_url()
        ))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    assert_eq!(
        key,
        json!({ "jwt-signing-key": expected["jwt-signing-key"] })
    );

    let missing = http
        .get(format!(
            "{}/v1.0/secrets/secretstore/no-such-secret",
            sidecar.http_url()
        ))
        .send()
        .await?;
    assert!(
        !missing.status().is_success(),
        "a missing secret must not read as found"
    );
    Ok(())
}

#[tokio::test]
async fn a_sidecar_that_cannot_start_fails_loudly_with_its_log() -> anyhow::Result<()> {
    let broken = "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: broken\n\
                  spec:\n  type: pubsub.no-such-broker\n  version: v1\n  metadata: []\n";
    let result = Sidecar::builder("broken")
        .component("broken.yaml", broken)
        .ready_timeout(Duration::from_secs(30))
        .start()
        .await;
    let err = result
        .err()
        .ok_or_else(|| anyhow::anyhow!("daprd started with an unknown component type"))?;
    let message = err.to_string();
    assert!(
        message.contains("pubsub.no-such-broker"),
        "the error shows daprd's log: {message}"
    );
    Ok(())
}

#[tokio::test]
async fn a_sidecar_can_be_given_its_http_port_before_it_starts() -> anyhow::Result<()> {
    let port = todo_testkit::free_port()?;
    let sidecar = Sidecar::builder("fixed-port")
        .http_port(port)
        .start()
        .await?;
    assert_eq!(sidecar.http_port(), port);
    let health = reqwest::get(format!("http://127.0.0.1:{port}/v1.0/healthz")).await?;
    assert!(
        health.status().is_success(),
        "daprd answers on the chosen port: {}",
        health.status()
    );
    Ok(())
}
