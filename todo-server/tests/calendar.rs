//! The private calendar feed (SPEC §14) over HTTP, against the embedded `all` service.

use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

mod support;
use support::{in_future, Server, User};

/// Issues a feed for `user`: the URL from the 201 answer.
async fn issue_feed(user: &User) -> String {
    let (status, body) = user.call(Method::POST, "/api/v1/calendar/feed", None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["url"].as_str().expect("a url").to_owned()
}

/// The feed's path on the server (the URL's host is the test server's).
fn path_of(server: &Server, url: &str) -> String {
    url.strip_prefix(&server.base)
        .unwrap_or_else(|| panic!("{url} is not on {}", server.base))
        .to_owned()
}

/// Fetches `url` without a bearer token.
async fn fetch(server: &Server, url: &str) -> reqwest::Response {
    server.http.get(url).send().await.expect("the feed answers")
}

#[tokio::test]
async fn a_feed_url_serves_the_users_dated_tasks_without_a_token() {
    let server = Server::start().await;
    let ada = server.user("ada@example.com").await;
    ada.create(json!({"title": "Pay rent, today", "due_date": in_future(3600)}))
        .await;
    ada.create(json!({"title": "Someday"})).await;
    let url = issue_feed(&ada).await;
    let path = path_of(&server, &url);
    assert!(
        path.starts_with("/ical/") && path.ends_with(".ics"),
        "{url}"
    );

    let response = fetch(&server, &url).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[CONTENT_TYPE],
        "text/calendar; charset=utf-8"
    );
    assert!(response.headers().contains_key(ETAG));
    assert!(response.headers()[CACHE_CONTROL]
        .to_str()
        .unwrap()
        .contains("private"));
    let text = response.text().await.unwrap();
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n"), "{text}");
    assert!(text.contains("SUMMARY:Pay rent\\, today\r\n"), "{text}");
    assert!(
        !text.contains("Someday"),
        "an undated task is not in a calendar"
    );
    assert_eq!(text.matches("BEGIN:VEVENT").count(), 1);
    server.stop().await;
}

#[tokio::test]
async fn an_unchanged_feed_answers_304_to_its_etag_and_a_change_gives_a_new_one() {
    let server = Server::start().await;
    let ada = server.user("ada@example.com").await;
    let task = ada
        .create(json!({"title": "Dentist", "due_date": in_future(7200)}))
        .await;
    let url = issue_feed(&ada).await;
    let first = fetch(&server, &url).await;
    let etag = first.headers()[ETAG].clone();

    let again = server
        .http
        .get(&url)
        .header(IF_NONE_MATCH, etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()[ETAG], etag);

    let id = task["id"].as_i64().unwrap();
    let (status, _) = ada
        .call(
            Method::PATCH,
            &format!("/api/v1/tasks/{id}"),
            Some(json!({"title": "Dentist at 10"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let changed = server
        .http
        .get(&url)
        .header(IF_NONE_MATCH, etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(changed.headers()[ETAG], etag);
    server.stop().await;
}

#[tokio::test]
async fn a_new_feed_url_revokes_the_old_one() {
    let server = Server::start().await;
    let ada = server.user("ada@example.com").await;
    let old = issue_feed(&ada).await;
    let new = issue_feed(&ada).await;
    assert_ne!(old, new);
    let gone = fetch(&server, &old).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let body: Value = gone.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(fetch(&server, &new).await.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn each_feed_shows_only_its_owners_tasks() {
    let server = Server::start().await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    ada.create(json!({"title": "Ada's task", "due_date": in_future(3600)}))
        .await;
    bob.create(json!({"title": "Bob's task", "due_date": in_future(3600)}))
        .await;
    let ada_feed = fetch(&server, &issue_feed(&ada).await)
        .await
        .text()
        .await
        .unwrap();
    let bob_feed = fetch(&server, &issue_feed(&bob).await)
        .await
        .text()
        .await
        .unwrap();
    assert!(ada_feed.contains("Ada's task") && !ada_feed.contains("Bob's task"));
    assert!(bob_feed.contains("Bob's task") && !bob_feed.contains("Ada's task"));
    server.stop().await;
}

#[tokio::test]
async fn unknown_or_malformed_feeds_are_404_and_issuing_needs_a_token() {
    let server = Server::start().await;
    for path in [
        "/ical/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics",
        "/ical/not-a-secret.ics",
        "/ical/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let response = fetch(&server, &format!("{}{path}", server.base)).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let anonymous = server
        .http
        .post(format!("{}/api/v1/calendar/feed", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test]
async fn the_public_url_setting_prefixes_feed_urls() {
    let server = Server::start_with(&[("TODO_PUBLIC_URL", "https://todo.example.com/")]).await;
    let ada = server.user("ada@example.com").await;
    let url = issue_feed(&ada).await;
    assert!(url.starts_with("https://todo.example.com/ical/"), "{url}");
    server.stop().await;
}

#[tokio::test]
async fn the_feed_endpoints_are_in_the_openapi_document() {
    let server = Server::start().await;
    let doc: Value = fetch(&server, &format!("{}/openapi.json", server.base))
        .await
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/api/v1/calendar/feed"]["post"].is_object());
    assert!(doc["paths"]["/ical/{secret}.ics"]["get"].is_object());
    server.stop().await;
}
