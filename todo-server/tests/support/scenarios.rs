//! The seed's scenarios as steps over HTTP, shared by the deployment tests (one deployment serves a
//! whole sequence; each step is named after what it shows).

use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use todo_core::events::{consumers, topics};
use todo_testkit::sqlx::{self, PgPool};
use todo_testkit::wait_until;

use super::deployment::{counter, Deployment};
use super::smtp::SmtpSink;
use super::{in_future, read_until, read_until_event, sse_events, titles, Server, User};

/// Which outages to rehearse after the scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outages {
    /// Kafka stopped during writes.
    Kafka,
    /// Kafka stopped during writes, then the MCP service (chat through Dapr invocation), then the
    /// API's daprd stopped.
    KafkaAndSidecar,
}

/// Runs every scenario, then the outages, against `deployment`.
pub async fn run_all(deployment: &Deployment, smtp: &SmtpSink, outages: Outages) {
    let server = Server::remote(&deployment.url("api"));
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let mut ada_events = open_stream(&server, &ada).await;

    // Started first: its reminder falls due while the other steps run.
    let reminded = ada
        .create(json!({"title": "Call the dentist", "due_date": in_future(75), "remind_before": 1}))
        .await;
    let deleted = a_recurring_task_deleted_before_its_reminder(&ada).await;
    a_weekly_task_completed_has_one_next_occurrence_even_when_the_event_comes_twice(
        deployment, &ada,
    )
    .await;
    priority_tags_search_and_sort_over_many_tasks(&ada).await;
    two_users_never_see_each_others_tasks(&ada, &bob).await;
    chat_adds_completes_moves_and_lists_in_the_users_time_zone(&ada, &bob).await;
    a_second_api_replica_streams_what_the_first_one_writes(deployment, &ada).await;
    let seen = the_reminder_reaches_the_stream_and_the_inbox_and_the_deleted_one_never_fires(
        &ada,
        &mut ada_events,
        &reminded,
        &deleted,
    )
    .await;
    the_reminder_goes_out_as_one_email_from_the_notification_service_even_when_redelivered(
        deployment, smtp, &seen,
    )
    .await;
    writes_succeed_with_kafka_stopped_and_their_events_arrive_after_it_restarts(deployment, &ada)
        .await;
    if outages == Outages::KafkaAndSidecar {
        with_the_mcp_service_stopped_chat_gets_503_and_the_rest_works(deployment, &ada).await;
        with_the_sidecar_stopped_writes_get_503_reads_work_and_it_recovers(deployment, &ada).await;
    }
}

/// A user's live event stream.
pub type Events = std::pin::Pin<Box<dyn Stream<Item = reqwest::Result<Vec<u8>>> + Send>>;

/// The user's live stream as a client keeps it: when the server ends it (a replica resynchronising
/// its streams, say), it reconnects with `Last-Event-ID`, so the bytes read are one stream.
pub async fn open_stream(server: &Server, user: &User) -> Events {
    let response = connect_stream(&server.http, &server.base, &user.token, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    struct Reader {
        http: reqwest::Client,
        base: String,
        token: String,
        body: Option<Events>,
        last_id: Option<String>,
        partial: String,
    }
    let reader = Reader {
        http: server.http.clone(),
        base: server.base.clone(),
        token: user.token.clone(),
        body: Some(body_of(response)),
        last_id: None,
        partial: String::new(),
    };
    Box::pin(futures_util::stream::unfold(reader, |mut r| async move {
        loop {
            let Some(body) = r.body.as_mut() else {
                let response =
                    connect_stream(&r.http, &r.base, &r.token, r.last_id.as_deref()).await;
                if response.status() == StatusCode::OK {
                    r.body = Some(body_of(response));
                } else {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                continue;
            };
            match body.next().await {
                Some(Ok(chunk)) => {
                    r.partial.push_str(&String::from_utf8_lossy(&chunk));
                    while let Some(end) = r.partial.find('\n') {
                        let line: String = r.partial.drain(..=end).collect();
                        if let Some(id) = line.trim_end().strip_prefix("id: ") {
                            r.last_id = Some(id.to_owned());
                        }
                    }
                    return Some((Ok(chunk), r));
                }
                _ => r.body = None,
            }
        }
    }))
}

fn body_of(response: reqwest::Response) -> Events {
    Box::pin(
        response
            .bytes_stream()
            .map(|chunk| chunk.map(|b| b.to_vec())),
    )
}

async fn connect_stream(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    last_id: Option<&str>,
) -> reqwest::Response {
    let mut request = http.get(format!("{base}/api/v1/stream")).bearer_auth(token);
    if let Some(id) = last_id {
        request = request.header("last-event-id", id);
    }
    request.send().await.unwrap()
}

pub async fn history(user: &User, id: &Value) -> Vec<Value> {
    let (status, body) = user
        .call(Method::GET, &format!("/api/v1/tasks/{id}/history"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}

/// Publishes `event` of `topic` again and waits until `group`, in `service`, counts one more
/// message handled (`todo_events_consumed_total`, outcome `ok`): the duplicate has been taken.
pub async fn redeliver_and_wait_until_handled(
    deployment: &Deployment,
    topic: &str,
    event: &Value,
    service: &str,
    group: &str,
) {
    let url = deployment.url(service);
    let group = format!("group=\"{group}\"");
    let handled = |m: &str| counter(m, "todo_events_consumed_total", &[&group, "outcome=\"ok\""]);
    let before = handled(&metrics(&url).await);
    deployment.redeliver(topic, event).await;
    wait_until("the duplicate handled", Duration::from_secs(60), || async {
        match handled(&metrics(&url).await) {
            now if now > before => Ok(()),
            now => Err(format!("{now} handled, as before")),
        }
    })
    .await;
}

pub async fn metrics(url: &str) -> String {
    reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

pub async fn a_recurring_task_deleted_before_its_reminder(ada: &User) -> Value {
    let task = ada
        .create(json!({
            "title": "Daily standup", "due_date": in_future(70), "remind_before": 1,
            "recurrence": "daily"
        }))
        .await;
    let (status, _) = ada
        .call(
            Method::DELETE,
            &format!("/api/v1/tasks/{}", task["id"]),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    task
}

pub async fn a_weekly_task_completed_has_one_next_occurrence_even_when_the_event_comes_twice(
    deployment: &Deployment,
    ada: &User,
) {
    // Due in two hours: its reminder (an hour before) stays in the future.
    let due = in_future(7200);
    let task = ada
        .create(json!({"title": "Weekly review", "due_date": due, "recurrence": "weekly"}))
        .await;
    let (status, done) = ada
        .call(
            Method::POST,
            &format!("/api/v1/tasks/{}/complete", task["id"]),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["task"]["status"], "completed");

    // The recurring service creates the next one from the `completed` event.
    let next_week = json!(due + chrono::Duration::days(7));
    let next = wait_until("the next occurrence", Duration::from_secs(60), || async {
        let pending = ada.list("q=weekly&status=pending").await;
        if pending.is_empty() {
            Err("no pending weekly task")
        } else {
            Ok(pending)
        }
    })
    .await;
    assert_eq!(next.len(), 1, "{next:?}");
    assert_eq!(next[0]["due_date"], next_week);
    assert_eq!(next[0]["series_id"], task["series_id"]);

    // The same `completed` event, delivered again (published anew through the API's sidecar).
    let completed = wait_until(
        "the audit entry of the completion",
        Duration::from_secs(60),
        || async {
            let history = history(ada, &task["id"]).await;
            match history.iter().find(|e| e["action"] == "completed") {
                Some(entry) => Ok(entry.clone()),
                None => Err(format!("history {history:?}")),
            }
        },
    )
    .await;
    let event = json!({
        "event_id": completed["event_id"],
        "schema_version": 1,
        "event_type": "completed",
        "task_id": task["id"],
        "user_id": completed["task"]["user_id"],
        "task_data": completed["task"],
        "timestamp": completed["at"],
    });
    redeliver_and_wait_until_handled(
        deployment,
        "task-events",
        &event,
        "recurring",
        consumers::RECURRING,
    )
    .await;
    let pending = ada.list("q=weekly&status=pending").await;
    assert_eq!(pending.len(), 1, "still one next occurrence: {pending:?}");
    let all = ada.list("q=weekly&status=all").await;
    assert_eq!(all.len(), 2, "{all:?}");
}

pub async fn priority_tags_search_and_sort_over_many_tasks(ada: &User) {
    let specs = [
        ("Buy groceries", "high", vec!["home"], 5),
        ("Groceries for the party", "low", vec!["home", "party"], 3),
        ("Write the report", "high", vec!["work"], 1),
        ("Review pull requests", "medium", vec!["work"], 2),
        ("Plan the sprint", "low", vec!["work"], 4),
        ("Call mum", "medium", vec![], 6),
        ("Pay the rent", "high", vec!["home"], 7),
        ("Book flights", "medium", vec![], 8),
        ("Fix the bike", "low", vec![], 9),
        ("Read a book", "low", vec![], 10),
        ("Water the plants", "medium", vec!["home"], 11),
        ("Prepare slides", "high", vec!["work"], 12),
        ("Compare grocery prices", "low", vec![], 13),
    ];
    for (title, priority, tags, days) in &specs {
        ada.create(json!({
            "title": title, "priority": priority, "tags": tags,
            "due_date": in_future(86_400 * days + 7_200),
        }))
        .await;
    }
    let groceries = titles(&ada.list("q=groceries").await);
    assert_eq!(groceries, ["Groceries for the party", "Buy groceries"]);
    let work = ada.list("tags=work").await;
    assert_eq!(work.len(), 4);
    assert!(
        work.iter().all(|t| t["tags"] == json!(["work"])),
        "{work:?}"
    );
    let high = ada.list("priority=high&status=pending").await;
    assert_eq!(
        titles(&high),
        [
            "Write the report",
            "Buy groceries",
            "Pay the rent",
            "Prepare slides"
        ]
    );
    let by_due = ada
        .list("sort=due_date&order=asc&status=pending&limit=200")
        .await;
    let dues: Vec<String> = by_due
        .iter()
        .filter_map(|t| t["due_date"].as_str().map(str::to_owned))
        .collect();
    let mut sorted = dues.clone();
    sorted.sort();
    assert_eq!(dues, sorted, "chronological");
}

/// The next chunk of a stream within `within`, if any.
async fn next_chunk(events: &mut Events, within: Duration) -> Option<String> {
    match tokio::time::timeout(within, events.next()).await {
        Ok(Some(Ok(bytes))) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        _ => None,
    }
}

pub async fn a_second_api_replica_streams_what_the_first_one_writes(
    deployment: &Deployment,
    ada: &User,
) {
    tokio::task::block_in_place(|| deployment.start("api-2"));
    let replica = Server::remote(&deployment.unit_url("api-2"));
    // The token the first replica issued is good on the second: they share the signing key.
    let mut on_replica = open_stream(&replica, ada).await;
    let mut on_first = open_stream(&Server::remote(&deployment.url("api")), ada).await;
    let task = ada
        .create(json!({"title": "Seen from the other replica"}))
        .await;
    // Written through the first replica, streamed by the second. Its broadcast subscriptions start
    // at the newest offset once they have joined, so toggle until a status change (`task-updates`)
    // and a change of the task (`task-events`) come through.
    let started = Instant::now();
    let mut seen = String::new();
    let both =
        |seen: &str| seen.contains("event: task-update") && seen.contains("event: task-event");
    for round in 0.. {
        let action = if round % 2 == 0 { "complete" } else { "reopen" };
        let (status, body) = ada
            .call(
                Method::POST,
                &format!("/api/v1/tasks/{}/{action}", task["id"]),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        while let Some(chunk) = next_chunk(&mut on_replica, Duration::from_secs(2)).await {
            seen.push_str(&chunk);
            if both(&seen) {
                break;
            }
        }
        if both(&seen) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the second replica never streamed both a task-update and a task-event: {seen}"
        );
    }
    assert!(
        seen.contains(&format!("\"task_id\":{}", task["id"])),
        "{seen}"
    );
    // Every replica gets every update (broadcast), not a share of them: the one the second replica
    // streamed reaches the first replica's stream too.
    let at = seen.find("event: task-update").unwrap();
    let id = seen[..at]
        .rsplit("id: ")
        .next()
        .and_then(|rest| rest.lines().next())
        .expect("the update's id line")
        .trim()
        .to_owned();
    read_until(&mut on_first, &format!("id: {id}"), Duration::from_secs(30)).await;
    let (status, _) = reqwest::Client::new()
        .get(format!("{}/api/v1/tasks/{}", replica.base, task["id"]))
        .bearer_auth(&ada.token)
        .send()
        .await
        .map(|r| (r.status(), ()))
        .unwrap();
    assert_eq!(status, StatusCode::OK, "both replicas serve the same tasks");
    tokio::task::block_in_place(|| deployment.stop_unit("api-2"));
}

pub async fn two_users_never_see_each_others_tasks(ada: &User, bob: &User) {
    let secret = ada.create(json!({"title": "Ada's secret plan"})).await;
    assert!(bob.list("status=all").await.is_empty());
    assert!(bob.list("q=secret").await.is_empty());
    for method in [Method::GET, Method::DELETE] {
        let (status, _) = bob
            .call(method, &format!("/api/v1/tasks/{}", secret["id"]), None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (status, _) = bob
        .call(
            Method::GET,
            &format!("/api/v1/tasks/{}/history", secret["id"]),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

pub async fn the_reminder_reaches_the_stream_and_the_inbox_and_the_deleted_one_never_fires(
    ada: &User,
    events: &mut Events,
    reminded: &Value,
    deleted: &Value,
) -> String {
    let remind_at: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(reminded["remind_at"].clone()).unwrap();
    let wait = (remind_at - chrono::Utc::now())
        .to_std()
        .unwrap_or_default();
    let seen = read_until_event(
        events,
        "reminder",
        "\"title\":\"Call the dentist\"",
        wait + Duration::from_secs(30),
    )
    .await;
    assert!(chrono::Utc::now() >= remind_at, "not before remind_at");
    let inbox = wait_until(
        "the stored notification",
        Duration::from_secs(30),
        || async {
            let (_, page) = ada.call(Method::GET, "/api/v1/notifications", None).await;
            match page["items"].as_array() {
                Some(items) if !items.is_empty() => Ok(items.clone()),
                _ => Err(page.to_string()),
            }
        },
    )
    .await;
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    assert_eq!(inbox[0]["task_id"], reminded["id"]);

    // The deleted daily task's reminder was due before this one; it never fired, and its series
    // has no occurrence.
    assert!(
        !sse_events(&seen)
            .iter()
            .any(|(event, data)| event == "reminder" && data.contains("Daily standup")),
        "{seen}"
    );
    assert!(ada.list("q=standup&status=all").await.is_empty());
    let (status, _) = ada
        .call(
            Method::GET,
            &format!("/api/v1/tasks/{}", deleted["id"]),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    seen
}

/// SPEC §14: the notification service emails the reminder (the SMTP server from the secret store
/// with Dapr, `TODO_SMTP_URL` otherwise), once, however often its event arrives.
pub async fn the_reminder_goes_out_as_one_email_from_the_notification_service_even_when_redelivered(
    deployment: &Deployment,
    smtp: &SmtpSink,
    seen: &str,
) {
    let title = "Call the dentist";
    let mails = wait_until("the reminder email", Duration::from_secs(30), || async {
        let mails = smtp.mentioning(title);
        if mails.is_empty() {
            Err(format!("{} other mails", smtp.mails().len()))
        } else {
            Ok(mails)
        }
    })
    .await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].header("To").as_deref(), Some("ada@example.com"));

    let (_, data) = sse_events(seen)
        .into_iter()
        .find(|(event, data)| event == "reminder" && data.contains(title))
        .expect("the reminder event on the stream");
    let event: Value = serde_json::from_str(&data).unwrap();
    // A second email would have gone out before the notification service counts the duplicate.
    redeliver_and_wait_until_handled(
        deployment,
        "reminders",
        &event,
        "notification",
        consumers::NOTIFICATION,
    )
    .await;
    assert_eq!(
        smtp.mentioning(title).len(),
        1,
        "a redelivered reminder sends no second email"
    );
}

pub async fn writes_succeed_with_kafka_stopped_and_their_events_arrive_after_it_restarts(
    deployment: &Deployment,
    ada: &User,
) {
    tokio::task::block_in_place(|| deployment.stop("kafka"));
    let mut written = Vec::new();
    for n in 1..=5 {
        let task = ada
            .create(json!({"title": format!("Written during the outage {n}")}))
            .await;
        written.push(task);
    }
    let (status, _) = ada
        .call(
            Method::PATCH,
            &format!("/api/v1/tasks/{}", written[0]["id"]),
            Some(json!({"priority": "high"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "updates succeed too");
    for task in &written {
        assert!(
            history(ada, &task["id"]).await.is_empty(),
            "no event can reach the audit service while Kafka is down"
        );
    }
    tokio::task::block_in_place(|| deployment.start("kafka"));
    // Counted only once nothing is on its way: every event relayed, and every relayed task event
    // recorded by the audit service. Counting earlier could miss a duplicate still in flight.
    let database = PgPool::connect(&deployment.database_url())
        .await
        .expect("connecting to the deployment's database");
    wait_until(
        "the outbox empty and the audit service caught up",
        Duration::from_secs(120),
        || async {
            let (unsent, unaudited): (i64, i64) = sqlx::query_as(UNSENT_AND_UNAUDITED)
                .bind(topics::TASK_EVENTS)
                .fetch_one(&database)
                .await
                .expect("reading the outbox and the audit log");
            if unsent == 0 && unaudited == 0 {
                Ok(())
            } else {
                Err(format!(
                    "{unsent} events unsent, {unaudited} sent task events without their audit entry"
                ))
            }
        },
    )
    .await;
    database.close().await;
    for (i, task) in written.iter().enumerate() {
        let expected = if i == 0 {
            vec!["created", "updated"]
        } else {
            vec!["created"]
        };
        let actions: Vec<String> = history(ada, &task["id"])
            .await
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(actions, expected, "nothing lost, nothing doubled");
    }
    // The API's gauge agrees (it is set after each relay pass, so it may lag a pass behind).
    wait_until(
        "the backlog gauge at 0",
        Duration::from_secs(30),
        || async {
            let backlog = counter(
                &metrics(&deployment.url("api")).await,
                "todo_outbox_backlog",
                &[],
            );
            if backlog == 0.0 {
                Ok(())
            } else {
                Err(backlog)
            }
        },
    )
    .await;
}

/// Events not yet relayed (`sent_at` unset), and relayed events of topic `$1` with no audit entry.
const UNSENT_AND_UNAUDITED: &str = "SELECT count(*) FILTER (WHERE sent_at IS NULL), \
     count(*) FILTER (WHERE sent_at IS NOT NULL AND topic = $1 \
         AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.event_id = o.event_id)) \
     FROM outbox o";

pub async fn with_the_sidecar_stopped_writes_get_503_reads_work_and_it_recovers(
    deployment: &Deployment,
    ada: &User,
) {
    tokio::task::block_in_place(|| deployment.stop("daprd-api"));
    let api = deployment.url("api");
    let refused = wait_until("503 on writes", Duration::from_secs(10), || async {
        let response = reqwest::Client::new()
            .post(format!("{api}/api/v1/tasks"))
            .bearer_auth(&ada.token)
            .json(&json!({"title": "Refused while the sidecar is down"}))
            .send()
            .await
            .unwrap();
        match response.status() {
            StatusCode::SERVICE_UNAVAILABLE => Ok(response),
            other => Err(other),
        }
    })
    .await;
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable");
    assert!(
        ada.list("q=refused&status=all").await.is_empty(),
        "a refused write changed nothing"
    );
    assert!(
        !ada.list("status=all").await.is_empty(),
        "reads keep working"
    );
    let ready = reqwest::get(format!("{api}/readyz")).await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);

    tokio::task::block_in_place(|| deployment.start("daprd-api"));
    let task = wait_until("writes accepted again", Duration::from_secs(60), || async {
        let (status, task) = ada
            .call(
                Method::POST,
                "/api/v1/tasks",
                Some(json!({"title": "Written after the sidecar came back"})),
            )
            .await;
        match status {
            StatusCode::CREATED => Ok(task),
            other => Err(format!("{other}: {task}")),
        }
    })
    .await;
    let ready = reqwest::get(format!("{api}/readyz")).await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    wait_until("its event published", Duration::from_secs(60), || async {
        if history(ada, &task["id"]).await.is_empty() {
            Err("no history yet")
        } else {
            Ok(())
        }
    })
    .await;
}

/// Chat (SPEC §12), through the API: with Dapr the API invokes the MCP service through the sidecars
/// and the conversation lives in the Dapr state store; otherwise the API answers in process.
pub async fn chat_adds_completes_moves_and_lists_in_the_users_time_zone(ada: &User, bob: &User) {
    let (status, settings) = ada
        .call(
            Method::PATCH,
            "/api/v1/me/settings",
            Some(json!({"timezone": "Pacific/Auckland"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{settings}");

    let (status, added) = ada.chat("water the fern tomorrow 7am #balcony !high").await;
    assert_eq!(status, StatusCode::OK, "{added}");
    let fern = &added["tasks"][0];
    assert_eq!(fern["title"], "water the fern");
    assert_eq!(fern["priority"], "high");
    assert_eq!(fern["timezone"], "Pacific/Auckland");
    let due: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(fern["due_date"].clone()).unwrap();
    let local = due.with_timezone(&chrono_tz::Pacific::Auckland);
    assert_eq!(
        local.format("%H:%M").to_string(),
        "07:00",
        "read in Auckland time: {due}"
    );
    assert!(
        added["reply"].as_str().unwrap().starts_with("Added"),
        "{added}"
    );

    // `it` is the task the conversation last mentioned, and the conversation is ada's alone. The
    // day is named three days ahead in Auckland: on a Friday evening there, "friday 18:30" is within
    // the hour, and the task's reminder would be due at once, in the inbox the reminder scenario
    // reads.
    let day = (chrono::Utc::now().with_timezone(&chrono_tz::Pacific::Auckland)
        + chrono::Duration::days(3))
    .format("%A")
    .to_string()
    .to_lowercase();
    let (status, moved) = ada.chat(&format!("move it to {day} 18:30")).await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["tasks"][0]["id"], fern["id"], "{moved}");
    let moved_due: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(moved["tasks"][0]["due_date"].clone()).unwrap();
    assert!(
        moved_due > chrono::Utc::now() + chrono::Duration::days(2),
        "moved to {day} 18:30 in Auckland: {moved_due}"
    );
    let (_, bobs) = bob.chat("complete it").await;
    assert!(bobs["tasks"].as_array().unwrap().is_empty(), "{bobs}");

    let (_, listed) = ada.chat("show high priority balcony tasks").await;
    let ids: Vec<&Value> = listed["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["id"])
        .collect();
    assert_eq!(ids, [&fern["id"]], "{listed}");

    let (status, done) = ada.chat("complete water the fern").await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["tasks"][0]["status"], "completed", "{done}");
    let (_, stored) = ada
        .call(Method::GET, &format!("/api/v1/tasks/{}", fern["id"]), None)
        .await;
    assert_eq!(
        stored["status"], "completed",
        "the REST API sees what chat did"
    );

    let (status, error) = ada.chat(&"x".repeat(501)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
}

/// With the MCP service (and its sidecar) stopped, chat answers 503 with `Retry-After` and changes
/// nothing, every other route keeps working; chat works again once it is back.
pub async fn with_the_mcp_service_stopped_chat_gets_503_and_the_rest_works(
    deployment: &Deployment,
    ada: &User,
) {
    tokio::task::block_in_place(|| deployment.stop("mcp"));
    let api = deployment.url("api");
    let refused = wait_until("503 on chat", Duration::from_secs(20), || async {
        let response = reqwest::Client::new()
            .post(format!("{api}/api/v1/chat"))
            .bearer_auth(&ada.token)
            .json(&json!({"message": "add refused while the assistant is away"}))
            .send()
            .await
            .unwrap();
        match response.status() {
            StatusCode::SERVICE_UNAVAILABLE => Ok(response),
            other => Err(other),
        }
    })
    .await;
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    let created = ada
        .create(json!({"title": "Written while the assistant is away"}))
        .await;
    assert!(
        ada.list("q=refused&status=all").await.is_empty(),
        "chat changed nothing"
    );
    assert_eq!(
        ada.list("q=away&status=all").await.len(),
        1,
        "the API works: {created}"
    );

    tokio::task::block_in_place(|| deployment.start("mcp"));
    let back = wait_until("chat answers again", Duration::from_secs(60), || async {
        let (status, body) = ada.chat("what is overdue").await;
        match status {
            StatusCode::OK => Ok(body),
            other => Err(format!("{other}: {body}")),
        }
    })
    .await;
    assert!(back["reply"].is_string(), "{back}");
}
