//! The OWASP API Security Top 10, checked against the real HTTP server: object-level authorization on
//! every route that names a resource (API1), broken authentication: forged, expired and tampered
//! tokens, login brute force (API2), mass assignment (API3), oversized bodies and rate limits (API4),
//! the Dapr app token on the routes only daprd may call (API5), security headers, CORS and no secret in
//! any response or log line (API8).
//!
//! Most tests run the embedded `all` service in process (`support::Server`, SQLite in a temporary
//! directory); the brute-force and log tests run the binary itself, so that the defaults apply and its
//! whole output can be searched; the Dapr tests run each single-role service on PostgreSQL (from the
//! testkit) with `TODO_BUS=dapr` and no sidecar: the routes daprd calls are served all the same.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

mod support;
use support::process::ServerProcess;
use support::{in_future, read_until, Server, User};

const SECRET: &str = "an-hmac-key-of-at-least-32-bytes!!";
const PASSWORD: &str = "a good password";
const P256DH: &str =
    "BLn9b-VR0ca83knDNZ32dCHGyjJp-1riX9ZTN40MqV8K_LpQmLqxC_DoHvqvFXO_nGdAB4W9dogZb_sM-uV4JbY";
const AUTH: &str = "_ordMnz7uTCmrpBTeUV4Bw";
const MCP_PROTOCOL: &str = "2025-06-18";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Unpadded base64url, as JWTs use.
fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        let sextets = chunk.len() + 1;
        for i in 0..sextets {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn b64url_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        _ => 63,
    };
    let mut out = Vec::new();
    for chunk in text.as_bytes().chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, c)| n | (u32::from(value(*c)) << (18 - 6 * i)));
        for i in 0..chunk.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

/// The `sub` (user id) of a token the server issued.
fn subject(token: &str) -> String {
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    let claims: Value = serde_json::from_slice(&b64url_decode(payload)).expect("JSON claims");
    claims["sub"].as_str().expect("a subject").to_owned()
}

/// A token signed with `key` by `alg` (jsonwebtoken, as the server signs).
fn signed(alg: jsonwebtoken::Algorithm, claims: &Value, key: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(key),
    )
    .expect("a token")
}

/// Tokens the server must refuse, by what is wrong with them; each claims to be `victim`.
fn forged_tokens(genuine: &str, victim: &str) -> Vec<(&'static str, String)> {
    let now = Utc::now().timestamp();
    let claims = |exp: i64| json!({"sub": victim, "iat": now, "exp": exp, "iss": "todo-server"});
    let hs256 = jsonwebtoken::Algorithm::HS256;
    let mut parts: Vec<String> = genuine.split('.').map(str::to_owned).collect();
    let unsigned = |header: Value, payload: &Value| {
        format!(
            "{}.{}.",
            b64url(header.to_string().as_bytes()),
            b64url(payload.to_string().as_bytes())
        )
    };
    // The genuine token's signature over another user's claims.
    let tampered_payload = format!(
        "{}.{}.{}",
        parts[0],
        b64url(claims(now + 3600).to_string().as_bytes()),
        parts[2]
    );
    // One character of the signature changed.
    let signature = &mut parts[2];
    let flipped = if signature.ends_with('A') { "B" } else { "A" };
    signature.replace_range(signature.len() - 1.., flipped);
    let tampered_signature = parts.join(".");
    vec![
        (
            "alg none",
            unsigned(json!({"alg": "none", "typ": "JWT"}), &claims(now + 3600)),
        ),
        (
            "alg none, upper case",
            unsigned(json!({"alg": "NONE", "typ": "JWT"}), &claims(now + 3600)),
        ),
        (
            "alg none with the genuine signature",
            format!(
                "{}.{}.{}",
                b64url(json!({"alg": "none", "typ": "JWT"}).to_string().as_bytes()),
                b64url(claims(now + 3600).to_string().as_bytes()),
                genuine.split('.').nth(2).unwrap_or_default()
            ),
        ),
        (
            "a wrong key",
            signed(
                hs256,
                &claims(now + 3600),
                b"another-key-of-at-least-32-bytes!!!!",
            ),
        ),
        ("an empty key", signed(hs256, &claims(now + 3600), b"")),
        (
            "expired an hour ago",
            signed(hs256, &claims(now - 3600), SECRET.as_bytes()),
        ),
        ("a tampered payload", tampered_payload),
        ("a tampered signature", tampered_signature),
        (
            "HS512 with the right key",
            signed(
                jsonwebtoken::Algorithm::HS512,
                &claims(now + 3600),
                SECRET.as_bytes(),
            ),
        ),
        ("RS256 in the header, signed with the HMAC key", {
            let header = b64url(json!({"alg": "RS256", "typ": "JWT"}).to_string().as_bytes());
            let body = b64url(claims(now + 3600).to_string().as_bytes());
            let hs = signed(hs256, &claims(now + 3600), SECRET.as_bytes());
            format!(
                "{header}.{body}.{}",
                hs.split('.').nth(2).unwrap_or_default()
            )
        }),
        (
            "another issuer",
            signed(
                hs256,
                &json!({"sub": victim, "iat": now, "exp": now + 3600, "iss": "someone-else"}),
                SECRET.as_bytes(),
            ),
        ),
        (
            "no issuer",
            signed(
                hs256,
                &json!({"sub": victim, "iat": now, "exp": now + 3600}),
                SECRET.as_bytes(),
            ),
        ),
        (
            "no expiry",
            signed(
                hs256,
                &json!({"sub": victim, "iat": now, "iss": "todo-server"}),
                SECRET.as_bytes(),
            ),
        ),
        (
            "a subject that is not a user id",
            signed(
                hs256,
                &json!({"sub": "admin", "iat": now, "exp": now + 3600, "iss": "todo-server"}),
                SECRET.as_bytes(),
            ),
        ),
        ("not a JWT", "not-a-token".to_owned()),
        ("empty", String::new()),
        ("two parts", format!("{}.{}", parts[0], parts[1])),
    ]
}

/// A JSON-RPC call of `/mcp` (stateless Streamable HTTP: every call carries its token).
async fn mcp(server: &Server, token: Option<&str>, body: Value) -> (StatusCode, Value) {
    let mut request = server
        .http
        .post(format!("{}/mcp", server.base))
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", MCP_PROTOCOL)
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("a response");
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn mcp_tool(server: &Server, user: &User, tool: &str, arguments: Value) -> Value {
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": MCP_PROTOCOL, "capabilities": {},
        "clientInfo": {"name": "security-tests", "version": "1"}}});
    let (status, _) = mcp(server, Some(&user.token), initialize).await;
    assert_eq!(status, StatusCode::OK);
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": tool, "arguments": arguments}});
    let (status, body) = mcp(server, Some(&user.token), call).await;
    assert_eq!(status, StatusCode::OK, "{tool}: {body}");
    body["result"].clone()
}

/// A raw request with an optional bearer token: status, headers and body text.
async fn raw(
    server: &Server,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, HeaderMap, String) {
    let mut request = server
        .http
        .request(method, format!("{}{path}", server.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("a response");
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap_or_default())
}

/// The user's inbox once a reminder is in it.
async fn wait_for_inbox(user: &User) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, page) = user.call(Method::GET, "/api/v1/notifications", None).await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if !items.is_empty() {
            return items;
        }
        assert!(Instant::now() < deadline, "no reminder in the inbox");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Issues a calendar feed for `user`: the `{secret}.ics` part of its URL.
async fn feed_of(user: &User) -> String {
    let (status, body) = user.call(Method::POST, "/api/v1/calendar/feed", None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let url = body["url"].as_str().expect("a feed URL");
    url.split("/ical/")
        .nth(1)
        .expect("an /ical/ URL")
        .to_owned()
}

fn subscription(endpoint: &str) -> Value {
    json!({"endpoint": endpoint, "expirationTime": null, "keys": {"p256dh": P256DH, "auth": AUTH}})
}

// ---------------------------------------------------------------------------------------------
// API1: object-level authorization
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn another_users_task_is_404_on_every_task_route_and_stays_untouched() {
    let server = Server::start().await;
    let alice = server.user("alice@example.com").await;
    let bob = server.user("bob@example.com").await;
    let task = alice
        .create(
            json!({"title": "Alice's secret plan", "description": "for her eyes only",
            "tags": ["private"], "due_date": in_future(7200), "recurrence": "weekly"}),
        )
        .await;
    let id = task["id"].as_i64().unwrap();
    let done = alice
        .create(json!({"title": "Alice's finished secret"}))
        .await;
    let done_id = done["id"].as_i64().unwrap();
    let (status, _) = alice
        .call(
            Method::POST,
            &format!("/api/v1/tasks/{done_id}/complete"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, done) = alice
        .call(Method::GET, &format!("/api/v1/tasks/{done_id}"), None)
        .await;

    let attempts = [
        (Method::GET, format!("/api/v1/tasks/{id}"), None),
        (
            Method::PATCH,
            format!("/api/v1/tasks/{id}"),
            Some(json!({"title": "Bob's now"})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/tasks/{id}"),
            Some(json!({"title": "Bob's now", "version": task["version"]})),
        ),
        (Method::POST, format!("/api/v1/tasks/{id}/complete"), None),
        (
            Method::POST,
            format!("/api/v1/tasks/{done_id}/reopen"),
            None,
        ),
        (Method::GET, format!("/api/v1/tasks/{id}/history"), None),
        (
            Method::GET,
            format!("/api/v1/tasks/{done_id}/history"),
            None,
        ),
        (Method::DELETE, format!("/api/v1/tasks/{id}"), None),
        (Method::DELETE, format!("/api/v1/tasks/{done_id}"), None),
    ];
    for (method, path, body) in attempts {
        let (status, answer) = bob.call(method.clone(), &path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
        assert_eq!(answer["error"]["code"], "not_found", "{method} {path}");
        let text = answer.to_string();
        assert!(
            !text.contains("Alice") && !text.contains("private"),
            "{method} {path} leaks: {text}"
        );
    }
    // Lists, search, tags and the recurrence preview show Bob nothing of Alice's.
    for query in [
        "status=all",
        "q=secret",
        "tags=private",
        "status=completed",
        "sort=title&limit=200",
    ] {
        assert_eq!(bob.list(query).await, Vec::<Value>::new(), "{query}");
    }
    let (_, tags) = bob.call(Method::GET, "/api/v1/tags", None).await;
    assert_eq!(tags["items"], json!([]));
    // A cursor of Alice's list does not open her tasks to Bob.
    let (_, page) = alice
        .call(Method::GET, "/api/v1/tasks?status=all&limit=1", None)
        .await;
    let cursor = page["next_cursor"]
        .as_str()
        .expect("Alice has a second page");
    let (status, page) = bob
        .call(
            Method::GET,
            &format!("/api/v1/tasks?status=all&limit=1&cursor={cursor}"),
            None,
        )
        .await;
    assert!(
        status == StatusCode::OK && page["items"] == json!([]) || status.is_client_error(),
        "{status} {page}"
    );

    // Alice's tasks are as they were.
    let (_, still) = alice
        .call(Method::GET, &format!("/api/v1/tasks/{id}"), None)
        .await;
    assert_eq!(still, task);
    let (_, still_done) = alice
        .call(Method::GET, &format!("/api/v1/tasks/{done_id}"), None)
        .await;
    assert_eq!(still_done, done);
    let (_, history) = alice
        .call(Method::GET, &format!("/api/v1/tasks/{id}/history"), None)
        .await;
    assert_eq!(
        history["items"].as_array().map(Vec::len),
        Some(1),
        "{history}"
    );
    server.stop().await;
}

#[tokio::test]
async fn another_users_tasks_are_no_such_task_to_the_mcp_tools() {
    let server = Server::start().await;
    let alice = server.user("alice@example.com").await;
    let bob = server.user("bob@example.com").await;
    let task = alice
        .create(json!({"title": "Alice's secret plan", "tags": ["private"]}))
        .await;
    let id = task["id"].as_i64().unwrap();
    for tool in ["get_task", "complete_task", "reopen_task", "delete_task"] {
        let result = mcp_tool(&server, &bob, tool, json!({"id": id})).await;
        assert_eq!(result["isError"], true, "{tool}: {result}");
        assert!(!result.to_string().contains("Alice"), "{tool}: {result}");
    }
    let result = mcp_tool(
        &server,
        &bob,
        "update_task",
        json!({"id": id, "title": "Bob's now"}),
    )
    .await;
    assert_eq!(result["isError"], true, "{result}");
    let listed = mcp_tool(&server, &bob, "list_tasks", json!({"status": "all"})).await;
    assert_eq!(listed["structuredContent"]["items"], json!([]), "{listed}");
    let tags = mcp_tool(&server, &bob, "list_tags", json!({})).await;
    assert_eq!(tags["structuredContent"]["items"], json!([]), "{tags}");
    let (_, still) = alice
        .call(Method::GET, &format!("/api/v1/tasks/{id}"), None)
        .await;
    assert_eq!(still, task);
    server.stop().await;
}

#[tokio::test]
async fn another_users_notification_cannot_be_listed_or_marked_read() {
    let server = Server::start().await;
    let alice = server.user("alice@example.com").await;
    let bob = server.user("bob@example.com").await;
    // Due in 62 s with a 1-minute lead: the reminder fires in about 2 s.
    alice
        .create(json!({"title": "Alice's secret appointment", "due_date": in_future(62), "remind_before": 1}))
        .await;
    let inbox = wait_for_inbox(&alice).await;
    let id = inbox[0]["id"].as_str().unwrap().to_owned();

    let (status, page) = bob
        .call(Method::GET, "/api/v1/notifications?limit=200", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"], json!([]), "Bob sees Alice's inbox: {page}");
    let (status, answer) = bob
        .call(
            Method::POST,
            &format!("/api/v1/notifications/{id}/read"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert!(!answer.to_string().contains("Alice"), "{answer}");
    let (_, page) = alice.call(Method::GET, "/api/v1/notifications", None).await;
    assert_eq!(
        page["items"][0]["read_at"],
        Value::Null,
        "still unread: {page}"
    );
    server.stop().await;
}

#[tokio::test]
async fn another_users_changes_never_reach_your_stream() {
    let server = Server::start().await;
    let alice = server.user("alice@example.com").await;
    let bob = server.user("bob@example.com").await;
    let response = server
        .http
        .get(format!(
            "{}/api/v1/stream?access_token={}",
            server.base, bob.token
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.bytes_stream();
    // Alice's changes first, one with a reminder due in about a second; then Bob's own change, which
    // ends the wait.
    alice
        .create(json!({"title": "Alice's secret", "due_date": in_future(61), "remind_before": 1}))
        .await;
    let other = alice.create(json!({"title": "Alice's other secret"})).await;
    alice
        .call(
            Method::POST,
            &format!("/api/v1/tasks/{}/complete", other["id"]),
            None,
        )
        .await;
    wait_for_inbox(&alice).await;
    bob.create(json!({"title": "Bob's marker"})).await;
    let seen = read_until(&mut body, "Bob's marker", Duration::from_secs(10)).await;
    assert!(!seen.contains("Alice"), "Bob's stream carried: {seen}");

    // Alice's token in the stream's URL gives Alice's stream, not a way into Bob's.
    let response = server
        .http
        .get(format!("{}/api/v1/stream", server.base))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    let mut alices = response.bytes_stream();
    bob.create(json!({"title": "Bob's second marker"})).await;
    alice.create(json!({"title": "Alice's marker"})).await;
    let seen = read_until(&mut alices, "Alice's marker", Duration::from_secs(10)).await;
    assert!(!seen.contains("Bob"), "Alice's stream carried: {seen}");
    drop(alices);
    drop(body);
    server.stop().await;
}

#[tokio::test]
async fn a_calendar_feed_shows_only_its_owners_tasks_and_a_wrong_or_replaced_secret_is_404() {
    let server = Server::start().await;
    let alice = server.user("alice@example.com").await;
    let bob = server.user("bob@example.com").await;
    alice
        .create(json!({"title": "Alice's secret appointment", "due_date": in_future(86_400)}))
        .await;
    bob.create(json!({"title": "Bob's dentist", "due_date": in_future(86_400)}))
        .await;
    let bobs = feed_of(&bob).await;
    let (status, _, document) =
        raw(&server, Method::GET, &format!("/ical/{bobs}"), None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(document.contains("Bob's dentist"), "{document}");
    assert!(!document.contains("Alice"), "{document}");

    let secret = bobs.trim_end_matches(".ics");
    let mut altered = secret.to_owned();
    let last = if altered.ends_with('A') { "B" } else { "A" };
    altered.replace_range(altered.len() - 1.., last);
    for path in [
        format!("/ical/{altered}.ics"),
        format!("/ical/{secret}"),
        format!("/ical/{}.ics", &secret[..secret.len() - 1]),
        "/ical/.ics".to_owned(),
        format!("/ical/{}.ics", "A".repeat(secret.len())),
        "/ical/..%2F..%2Fetc%2Fpasswd.ics".to_owned(),
    ] {
        let (status, _, body) = raw(&server, Method::GET, &path, None, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert!(!body.contains("BEGIN:VCALENDAR"), "{path}: {body}");
    }
    // A new feed replaces the old one, whose URL then shows nothing.
    let renewed = feed_of(&bob).await;
    assert_ne!(renewed, bobs);
    let (status, _, _) = raw(&server, Method::GET, &format!("/ical/{bobs}"), None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = raw(
        &server,
        Method::GET,
        &format!("/ical/{renewed}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn another_users_push_subscription_cannot_be_removed_and_settings_are_per_user() {
    let server = Server::start().await;
    let alice = server.user("alice@example.com").await;
    let bob = server.user("bob@example.com").await;
    let endpoint = "https://push.example.com/send/alice-browser";
    let (status, registered) = alice
        .call(
            Method::POST,
            "/api/v1/push/subscriptions",
            Some(subscription(endpoint)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    let id = registered["id"].as_str().unwrap().to_owned();

    let (status, answer) = bob
        .call(
            Method::DELETE,
            &format!("/api/v1/push/subscriptions/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    // Bob registering the same endpoint gets a registration of his own, not Alice's.
    let (status, bobs) = bob
        .call(
            Method::POST,
            "/api/v1/push/subscriptions",
            Some(subscription(endpoint)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{bobs}");
    assert_ne!(bobs["id"], registered["id"]);
    let (status, _) = alice
        .call(
            Method::DELETE,
            &format!("/api/v1/push/subscriptions/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "Alice's was still there");

    // Settings name no user: each token changes its own.
    let (status, _) = bob
        .call(
            Method::PATCH,
            "/api/v1/me/settings",
            Some(json!({"timezone": "Asia/Tokyo", "email_notifications": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, alices) = alice.call(Method::GET, "/api/v1/me/settings", None).await;
    assert_eq!(alices["timezone"], "UTC", "{alices}");
    for smuggled in [
        json!({"user_id": subject(&alice.token), "timezone": "Europe/Paris"}),
        json!({"email": "alice@example.com"}),
        json!({"password_hash": "x"}),
        json!({"id": subject(&alice.token)}),
    ] {
        let (status, answer) = bob
            .call(Method::PATCH, "/api/v1/me/settings", Some(smuggled.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{smuggled}: {answer}");
    }
    let (_, alices) = alice.call(Method::GET, "/api/v1/me/settings", None).await;
    assert_eq!(alices["timezone"], "UTC", "{alices}");
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// API2: broken authentication
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn forged_expired_and_tampered_tokens_are_401_on_every_route() {
    let server = Server::start().await;
    let alice = server.user("alice@example.com").await;
    let task = alice.create(json!({"title": "Alice's secret"})).await;
    let id = task["id"].as_i64().unwrap();
    let any = uuid::Uuid::now_v7();
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/v1/tasks".into(), None),
        (
            Method::POST,
            "/api/v1/tasks".into(),
            Some(json!({"title": "x"})),
        ),
        (Method::GET, format!("/api/v1/tasks/{id}"), None),
        (
            Method::PATCH,
            format!("/api/v1/tasks/{id}"),
            Some(json!({"title": "x"})),
        ),
        (Method::DELETE, format!("/api/v1/tasks/{id}"), None),
        (Method::POST, format!("/api/v1/tasks/{id}/complete"), None),
        (Method::POST, format!("/api/v1/tasks/{id}/reopen"), None),
        (Method::GET, format!("/api/v1/tasks/{id}/history"), None),
        (Method::GET, "/api/v1/tags".into(), None),
        (
            Method::GET,
            "/api/v1/recurrence/preview?recurrence=daily".into(),
            None,
        ),
        (Method::GET, "/api/v1/stream".into(), None),
        (Method::GET, "/api/v1/me/settings".into(), None),
        (
            Method::PATCH,
            "/api/v1/me/settings".into(),
            Some(json!({"timezone": "UTC"})),
        ),
        (
            Method::POST,
            "/api/v1/chat".into(),
            Some(json!({"message": "what is due"})),
        ),
        (Method::POST, "/api/v1/calendar/feed".into(), None),
        (
            Method::POST,
            "/api/v1/push/subscriptions".into(),
            Some(subscription("https://push.example.com/x")),
        ),
        (
            Method::DELETE,
            format!("/api/v1/push/subscriptions/{any}"),
            None,
        ),
        (Method::GET, "/api/v1/notifications".into(), None),
        (
            Method::POST,
            format!("/api/v1/notifications/{any}/read"),
            None,
        ),
        (
            Method::POST,
            "/chat".into(),
            Some(json!({"message": "what is due"})),
        ),
    ];
    let mut tokens = forged_tokens(&alice.token, &subject(&alice.token));
    tokens.push(("no token at all", "<none>".to_owned()));
    let mut checked = 0;
    for (what, token) in &tokens {
        let token = (token != "<none>").then_some(token.as_str());
        for (method, path, body) in &routes {
            let (status, headers, text) =
                raw(&server, method.clone(), path, token, body.clone()).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{what}: {method} {path}: {text}"
            );
            let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            assert_eq!(
                answer["error"]["code"], "unauthorized",
                "{what}: {method} {path}: {text}"
            );
            assert!(!text.contains("Alice"), "{what}: {method} {path}: {text}");
            assert_eq!(
                headers["content-type"], "application/json",
                "{what}: {path}"
            );
            checked += 1;
        }
        // The stream's URL form, and the MCP endpoint.
        if let Some(token) = token {
            let (status, _, text) = raw(
                &server,
                Method::GET,
                &format!("/api/v1/stream?access_token={token}"),
                None,
                None,
            )
            .await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{what}: stream?access_token: {text}"
            );
        }
        let (status, answer) = mcp(
            &server,
            token,
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                   "params": {"name": "list_tasks", "arguments": {"status": "all"}}}),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: /mcp: {answer}");
        assert!(
            !answer.to_string().contains("Alice"),
            "{what}: /mcp: {answer}"
        );
        checked += 2;
    }
    // Other schemes are no bearer token either.
    for header in [
        format!("Basic {}", b64url(b"alice@example.com:a good password")),
        format!("Token {}", alice.token),
        format!("Bearer{}", alice.token),
        alice.token.clone(),
    ] {
        let response = server
            .http
            .get(format!("{}/api/v1/tasks", server.base))
            .header("authorization", &header)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{header}");
    }
    eprintln!(
        "{} forged tokens × {} routes: {checked} refusals",
        tokens.len(),
        routes.len() + 2
    );
    // The genuine token still works: the refusals were about the tokens.
    let (status, _) = alice
        .call(Method::GET, &format!("/api/v1/tasks/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// API3: mass assignment
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn fields_the_server_owns_cannot_be_set_through_a_body() {
    let server = Server::start().await;
    let alice = server.user("alice@example.com").await;
    let bob = server.user("bob@example.com").await;
    let bobs_task = bob.create(json!({"title": "Bob's"})).await;
    let smuggled = [
        ("id", json!(bobs_task["id"])),
        ("id", json!(999_999)),
        ("user_id", json!(subject(&bob.token))),
        ("owner", json!(subject(&bob.token))),
        ("version", json!(42)),
        ("series_id", json!(uuid::Uuid::now_v7())),
        (
            "series",
            json!({"id": uuid::Uuid::now_v7(), "anchor": "2030-01-01T00:00:00Z"}),
        ),
        ("created_at", json!("2000-01-01T00:00:00Z")),
        ("updated_at", json!("2000-01-01T00:00:00Z")),
        ("completed_at", json!("2000-01-01T00:00:00Z")),
        ("status", json!("completed")),
        ("remind_at", json!("2000-01-01T00:00:00Z")),
        ("occurrence", json!(7)),
        ("deleted", json!(true)),
    ];
    for (field, value) in &smuggled {
        let mut body = json!({"title": "Mine"});
        body[*field] = value.clone();
        let (status, answer) = alice
            .call(Method::POST, "/api/v1/tasks", Some(body.clone()))
            .await;
        assert!(
            status.is_client_error() || status == StatusCode::CREATED,
            "create with {field}: {status} {answer}"
        );
        if status == StatusCode::CREATED {
            // Accepted: then it had no effect.
            assert_ne!(answer["id"], bobs_task["id"], "{field}");
            assert_eq!(answer["status"], "pending", "{field}");
            assert_eq!(answer["version"], 1, "{field}");
            assert_eq!(answer["series_id"], Value::Null, "{field}");
            assert_ne!(
                answer["created_at"],
                json!("2000-01-01T00:00:00Z"),
                "{field}"
            );
        } else {
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "create with {field}: {answer}"
            );
        }
    }
    let mine = alice
        .create(json!({"title": "Mine", "recurrence": "daily", "due_date": in_future(3600)}))
        .await;
    let id = mine["id"].as_i64().unwrap();
    for (field, value) in &smuggled {
        if *field == "id" && value == &json!(999_999) {
            continue;
        }
        let mut body = json!({"title": "Changed"});
        body[*field] = value.clone();
        let (status, answer) = alice
            .call(Method::PATCH, &format!("/api/v1/tasks/{id}"), Some(body))
            .await;
        match *field {
            // `version` is the optimistic-concurrency check, not a value to set: a stale one is 409.
            "version" => assert_eq!(status, StatusCode::CONFLICT, "{answer}"),
            _ => assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "patch with {field}: {answer}"
            ),
        }
    }
    let (_, after) = alice
        .call(Method::GET, &format!("/api/v1/tasks/{id}"), None)
        .await;
    assert_eq!(after, mine, "nothing changed");
    let (_, bobs) = bob
        .call(
            Method::GET,
            &format!("/api/v1/tasks/{}", bobs_task["id"]),
            None,
        )
        .await;
    assert_eq!(bobs, bobs_task, "Bob's task is untouched");
    // Sign-up takes no role, id or hash either.
    for (field, value) in [
        ("id", json!(subject(&bob.token))),
        ("role", json!("admin")),
        ("is_admin", json!(true)),
        (
            "password_hash",
            json!("$argon2id$v=19$m=7168,t=5,p=1$AAAA$AAAA"),
        ),
        ("settings", json!({"timezone": "UTC"})),
    ] {
        let mut body = json!({"email": format!("{field}@example.com"), "password": PASSWORD});
        body[field] = value;
        let (status, _, text) = raw(
            &server,
            Method::POST,
            "/api/v1/auth/signup",
            None,
            Some(body),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "signup with {field}: {text}"
        );
    }
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// API4: resource consumption
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn bodies_over_the_limit_are_413_whether_or_not_their_length_is_announced() {
    let server = Server::start_with(&[("TODO_BODY_LIMIT_BYTES", "4096")]).await;
    let alice = server.user("alice@example.com").await;
    let big = "x".repeat(5000);
    let targets: Vec<(Method, String, Value)> = vec![
        (
            Method::POST,
            "/api/v1/auth/signup".into(),
            json!({"email": "b@example.com", "password": big}),
        ),
        (
            Method::POST,
            "/api/v1/auth/login".into(),
            json!({"email": "b@example.com", "password": big}),
        ),
        (
            Method::POST,
            "/api/v1/tasks".into(),
            json!({"title": "t", "description": big}),
        ),
        (
            Method::PATCH,
            "/api/v1/tasks/1".into(),
            json!({"description": big}),
        ),
        (
            Method::PATCH,
            "/api/v1/me/settings".into(),
            json!({"timezone": big}),
        ),
        (Method::POST, "/api/v1/chat".into(), json!({"message": big})),
        (
            Method::POST,
            "/api/v1/push/subscriptions".into(),
            json!({"endpoint": big}),
        ),
        (
            Method::POST,
            "/mcp".into(),
            json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"pad": big}}),
        ),
    ];
    for (method, path, body) in &targets {
        let text = body.to_string();
        // With Content-Length.
        let response = server
            .http
            .request(method.clone(), format!("{}{path}", server.base))
            .bearer_auth(&alice.token)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", MCP_PROTOCOL)
            .body(text.clone())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let answer = response.text().await.unwrap_or_default();
        assert_eq!(
            status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{method} {path}: {answer}"
        );
        // Chunked, without a length.
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = text
            .as_bytes()
            .chunks(1000)
            .map(|c| Ok(c.to_vec()))
            .collect();
        let response = server
            .http
            .request(method.clone(), format!("{}{path}", server.base))
            .bearer_auth(&alice.token)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", MCP_PROTOCOL)
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                chunks,
            )))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let answer = response.text().await.unwrap_or_default();
        assert_eq!(
            status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "chunked {method} {path}: {answer}"
        );
    }
    // Just under the limit is fine.
    let (status, _) = alice
        .call(
            Method::POST,
            "/api/v1/tasks",
            Some(json!({"title": "t", "description": "x".repeat(3000)})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    server.stop().await;
}

/// The binary itself, its stdout and stderr collected, on a free port with its own data directory.
struct Binary {
    process: ServerProcess,
    base: String,
    _home: tempfile::TempDir,
}

impl Binary {
    fn start(vars: &[(&str, &str)]) -> Binary {
        let home = tempfile::tempdir().expect("a home directory");
        let mut command = ServerProcess::command(home.path());
        command.envs(vars.iter().copied());
        let process = ServerProcess::spawn(command);
        Binary {
            base: process.base.clone(),
            process,
            _home: home,
        }
    }

    /// Stops the process (SIGKILL: what it wrote so far is all there is) and returns its output.
    fn stop(self) -> String {
        self.process.kill_and_collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_brute_force_is_429_with_retry_after_at_the_default_rate() {
    // No TODO_AUTH_RATE_PER_MINUTE: the default (30 a minute per client address) applies.
    let server = tokio::task::block_in_place(|| Binary::start(&[("DATABASE_URL", "memory:")]));
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/auth/signup", server.base);
    let response = http
        .post(&url)
        .json(&json!({"email": "alice@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let login = format!("{}/api/v1/auth/login", server.base);
    let attempt = |password: String, n: usize| {
        let http = http.clone();
        let login = login.clone();
        async move {
            let response = http
                .post(&login)
                // A spoofed client address must not buy more attempts.
                .header("x-forwarded-for", format!("203.0.113.{}", n % 250))
                .header("x-real-ip", format!("198.51.100.{}", n % 250))
                .json(&json!({"email": "alice@example.com", "password": password}))
                .send()
                .await
                .unwrap();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            (response.status(), retry_after)
        }
    };
    // 40 guesses at once: the limiter counts them as they arrive, before any password is hashed
    // (the quota refills one attempt every 2 s, so a slow sequence would measure the refill).
    let started = Instant::now();
    let mut guesses: futures_util::stream::FuturesUnordered<_> = (0..40)
        .map(|n| attempt(format!("guess number {n}"), n))
        .collect();
    let (mut wrong, mut limited) = (0, 0);
    let mut while_limited = None;
    while let Some((status, retry_after)) = futures_util::StreamExt::next(&mut guesses).await {
        match status {
            StatusCode::UNAUTHORIZED => wrong += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                limited += 1;
                let seconds: u64 = retry_after
                    .as_deref()
                    .and_then(|v| v.parse().ok())
                    .expect("429 carries Retry-After in seconds");
                assert!((1..=60).contains(&seconds), "Retry-After: {seconds}");
                if while_limited.is_none() {
                    // While refused, even the right password is refused, and so is a sign-up.
                    let right = attempt(PASSWORD.to_owned(), 99).await;
                    let signup = http
                        .post(&url)
                        .json(&json!({"email": "bob@example.com", "password": PASSWORD}))
                        .send()
                        .await
                        .unwrap()
                        .status();
                    while_limited = Some((right, signup));
                }
            }
            other => panic!("a guess answered {other}"),
        }
    }
    let elapsed = started.elapsed();
    eprintln!("40 guesses: {wrong} checked (401), {limited} refused (429) in {elapsed:?}");
    // One sign-up and 29 logins fill the default quota of 30; it refills one attempt every 2 s, and
    // the sign-up's hashing (slow in a debug build) may give the burst one or two more.
    assert!((29..=32).contains(&wrong), "{wrong} guesses checked");
    assert_eq!(wrong + limited, 40);
    let ((right, retry_after), signup) = while_limited.expect("some guesses refused");
    assert_eq!(
        right,
        StatusCode::TOO_MANY_REQUESTS,
        "the right password while limited"
    );
    assert!(retry_after.is_some());
    assert_eq!(
        signup,
        StatusCode::TOO_MANY_REQUESTS,
        "sign-up shares the limit"
    );
    tokio::task::block_in_place(|| server.stop());
}

// ---------------------------------------------------------------------------------------------
// API8: misconfiguration: secrets, headers, CORS
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_hash_secret_or_token_appears_in_any_response_or_log_line() {
    let password = "Correct-Horse-Battery-Staple-7";
    let secret = "a-jwt-secret-that-must-never-be-printed-0123456789";
    let vapid = "tC1172Gty2IxODbaaK-AR9FsIl7gZL_nF7cSBZHuK-c";
    let server = tokio::task::block_in_place(|| {
        Binary::start(&[
            ("DATABASE_URL", "memory:"),
            ("TODO_JWT_SECRET", secret),
            ("TODO_VAPID_PRIVATE_KEY", vapid),
            // Everything the server logs, down to debug, including its libraries.
            ("TODO_LOG", "debug"),
        ])
    });
    let http = reqwest::Client::new();
    let base = server.base.clone();
    let mut answers = Vec::new();
    let send = |request: reqwest::RequestBuilder| {
        let request = request.header("user-agent", "security-tests");
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let headers = format!("{:?}", response.headers());
            let text = response.text().await.unwrap_or_default();
            (status, format!("{headers}\n{text}"))
        }
    };
    let (status, signup) = send(
        http.post(format!("{base}/api/v1/auth/signup"))
            .json(&json!({"email": "alice@example.com", "password": password, "name": "Alice"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{signup}");
    let token = signup
        .split("\"token\":\"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .expect("a token")
        .to_owned();
    answers.push(signup);
    let calls = [
        http.post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": "alice@example.com", "password": password})),
        http.post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": "alice@example.com", "password": format!("{password}!")})),
        http.post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": "nobody@example.com", "password": password})),
        http.post(format!("{base}/api/v1/auth/signup"))
            .json(&json!({"email": "alice@example.com", "password": password})),
        http.post(format!("{base}/api/v1/auth/signup"))
            .json(&json!({"email": "short@example.com", "password": "short"})),
        http.post(format!("{base}/api/v1/auth/login"))
            .header("content-type", "application/json")
            .body(format!(
                "{{\"email\": \"alice@example.com\", \"password\": \"{password}\""
            )),
        http.get(format!("{base}/api/v1/me/settings"))
            .bearer_auth(&token),
        http.patch(format!("{base}/api/v1/me/settings"))
            .bearer_auth(&token)
            .json(&json!({"timezone": "Not/AZone"})),
        http.get(format!("{base}/api/v1/tasks")).bearer_auth(&token),
        http.post(format!("{base}/api/v1/tasks"))
            .bearer_auth(&token)
            .json(&json!({"title": ""})),
        http.get(format!("{base}/api/v1/tasks"))
            .bearer_auth(format!("{token}x")),
        http.get(format!("{base}/api/v1/stream?access_token={token}x")),
        http.get(format!("{base}/api/v1/push/vapid-key")),
        http.get(format!("{base}/openapi.json")),
        http.get(format!("{base}/metrics")),
        http.get(format!("{base}/readyz")),
        http.post(format!("{base}/api/v1/calendar/feed"))
            .bearer_auth(&token),
    ];
    for call in calls {
        let (_, answer) = send(call).await;
        answers.push(answer);
    }
    // The stream with its token in the URL: the log records the path, never the query.
    let stream = http
        .get(format!("{base}/api/v1/stream?access_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    drop(stream);
    let feed = answers
        .last()
        .and_then(|a| a.split("/ical/").nth(1))
        .and_then(|rest| rest.split(".ics").next())
        .expect("a feed secret")
        .to_owned();
    let (status, _) = send(http.get(format!("{base}/ical/{feed}.ics"))).await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = tokio::task::block_in_place(|| server.stop());
    assert!(
        log.contains("INFO") && log.contains("DEBUG"),
        "no log captured: {log}"
    );

    let signature = token.rsplit('.').next().unwrap_or_default();
    // Tokens and the feed's URL are answers of their own requests, never in a log line.
    let forbidden = [
        ("the password", password),
        ("a password hash", "$argon2"),
        ("the JWT secret", secret),
        ("the VAPID private key", vapid),
        ("a token's signature", signature),
        ("the calendar feed's secret", feed.as_str()),
    ];
    for answer in &answers {
        for (what, needle) in &forbidden[..4] {
            assert!(!answer.contains(needle), "{what} in a response: {answer}");
        }
    }
    for (what, needle) in forbidden {
        let line = log.lines().find(|l| l.contains(needle));
        assert!(line.is_none(), "{what} in the log: {line:?}");
    }
    eprintln!(
        "{} responses and {} log lines searched",
        answers.len(),
        log.lines().count()
    );
}

#[tokio::test]
async fn every_answer_carries_the_documented_security_headers() {
    let server = Server::start().await;
    let alice = server.user("alice@example.com").await;
    let feed = alice
        .call(Method::POST, "/api/v1/calendar/feed", None)
        .await
        .1["url"]
        .as_str()
        .unwrap()
        .split("/ical/")
        .nth(1)
        .unwrap()
        .to_owned();
    let checks: Vec<(Method, String, Option<&str>, Option<Value>)> = vec![
        (Method::GET, "/".into(), None, None),
        (Method::GET, "/docs".into(), None, None),
        (Method::GET, "/sw.js".into(), None, None),
        (Method::GET, "/openapi.json".into(), None, None),
        (Method::GET, "/healthz".into(), None, None),
        (Method::GET, "/readyz".into(), None, None),
        (Method::GET, "/metrics".into(), None, None),
        (
            Method::GET,
            "/api/v1/tasks".into(),
            Some(&alice.token),
            None,
        ),
        (Method::GET, "/api/v1/tasks".into(), None, None),
        (
            Method::GET,
            "/api/v1/tasks/999".into(),
            Some(&alice.token),
            None,
        ),
        (
            Method::POST,
            "/api/v1/tasks".into(),
            Some(&alice.token),
            Some(json!({"title": ""})),
        ),
        (Method::GET, "/api/v1/no-such-route".into(), None, None),
        (Method::GET, format!("/ical/{feed}"), None, None),
        (Method::GET, "/ical/nothing.ics".into(), None, None),
        (
            Method::POST,
            "/mcp".into(),
            Some(&alice.token),
            Some(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"})),
        ),
        (Method::POST, "/mcp".into(), None, Some(json!({}))),
    ];
    for (method, path, token, body) in checks {
        let mut request = server
            .http
            .request(method.clone(), format!("{}{path}", server.base))
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", MCP_PROTOCOL);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers();
        let expect = |name: &str, value: &str| {
            assert_eq!(
                headers.get(name).and_then(|v| v.to_str().ok()),
                Some(value),
                "{name} on {method} {path} ({status})"
            );
        };
        expect("x-content-type-options", "nosniff");
        expect("x-frame-options", "DENY");
        expect("referrer-policy", "no-referrer");
        let csp = headers
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no CSP on {method} {path} ({status})"));
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "object-src 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{directive} not in {csp} ({path})");
        }
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(!csp.contains("unsafe-eval"), "{csp}");
        assert!(headers.get("server").is_none(), "a server banner on {path}");
        assert!(
            headers.get("x-powered-by").is_none(),
            "x-powered-by on {path}"
        );
    }
    server.stop().await;
}

async fn preflight(server: &Server, origin: &str) -> HeaderMap {
    server
        .http
        .request(Method::OPTIONS, format!("{}/api/v1/tasks", server.base))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap()
        .headers()
        .clone()
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    // By default no origin is allowed: the web UI is same-origin.
    let server = Server::start().await;
    let alice = server.user("alice@example.com").await;
    let headers = preflight(&server, "https://evil.example").await;
    assert!(
        headers.get("access-control-allow-origin").is_none(),
        "{headers:?}"
    );
    let response = server
        .http
        .get(format!("{}/api/v1/tasks", server.base))
        .bearer_auth(&alice.token)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    server.stop().await;

    let server = Server::start_with(&[(
        "TODO_CORS_ORIGINS",
        "https://app.example.com,https://admin.example.com",
    )])
    .await;
    let alice = server.user("alice@example.com").await;
    for allowed in ["https://app.example.com", "https://admin.example.com"] {
        let headers = preflight(&server, allowed).await;
        assert_eq!(
            headers.get("access-control-allow-origin"),
            Some(&HeaderValue::from_static(allowed)),
            "{headers:?}"
        );
        let methods = headers
            .get("access-control-allow-methods")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_uppercase();
        assert!(
            methods.contains("POST") && methods.contains("PATCH"),
            "{methods}"
        );
        let allowed_headers = headers
            .get("access-control-allow-headers")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(
            allowed_headers.contains("authorization"),
            "{allowed_headers}"
        );
        assert!(
            headers.get("access-control-allow-credentials").is_none(),
            "tokens are bearer headers, not cookies: no credentials mode"
        );
        let response = server
            .http
            .get(format!("{}/api/v1/tasks", server.base))
            .bearer_auth(&alice.token)
            .header("origin", allowed)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers().get("access-control-allow-origin"),
            Some(&HeaderValue::from_static(allowed))
        );
    }
    for refused in [
        "https://evil.example",
        "https://app.example.com.evil.example",
        "http://app.example.com",
        "https://app.example.com:8443",
        "null",
    ] {
        let headers = preflight(&server, refused).await;
        assert!(
            headers.get("access-control-allow-origin").is_none(),
            "{refused}: {headers:?}"
        );
    }
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// API5: the routes only daprd may call
// ---------------------------------------------------------------------------------------------

/// One role of the distributed deployment, in process, on Dapr without a sidecar.
struct RoleServer {
    base: String,
    done: tokio::task::JoinHandle<()>,
}

async fn start_role(
    role: todo_server::compose::Role,
    database: &str,
    app_token: &str,
) -> RoleServer {
    let sidecar_port = todo_testkit::free_port().expect("a free port").to_string();
    let vars: HashMap<String, String> = [
        ("TODO_ADDR", "127.0.0.1:0"),
        ("TODO_BUS", "dapr"),
        ("DATABASE_URL", database),
        ("DAPR_HTTP_PORT", sidecar_port.as_str()),
        ("APP_API_TOKEN", app_token),
        ("TODO_JWT_SECRET", SECRET),
        (
            "TODO_VAPID_PRIVATE_KEY",
            "tC1172Gty2IxODbaaK-AR9FsIl7gZL_nF7cSBZHuK-c",
        ),
        ("HOME", "/nonexistent"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let config = todo_server::config::Config::from_vars(&vars).expect("a valid configuration");
    let service = todo_server::compose::build(&[role], config)
        .await
        .unwrap_or_else(|e| panic!("{role:?} builds: {e}"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let done = tokio::spawn(async move {
        let _ = todo_server::serve(service, listener, std::future::pending()).await;
    });
    RoleServer { base, done }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_daprd_calls_requires_the_app_token_when_it_is_set() {
    use todo_server::compose::Role;
    let db = todo_testkit::TestDatabase::create()
        .await
        .expect("a PostgreSQL database from the testkit");
    let token = "the-app-token-only-daprd-knows";
    let http = reqwest::Client::new();
    let mut checked = 0;
    for role in [
        Role::Api,
        Role::Recurring,
        Role::Notification,
        Role::Audit,
        Role::Mcp,
    ] {
        let server = start_role(role, db.url(), token).await;
        let call = |method: Method, path: &str, presented: Option<&str>, body: &str| {
            let mut request = http
                .request(method, format!("{}{path}", server.base))
                .header("content-type", "application/json")
                .body(body.to_owned());
            if let Some(presented) = presented {
                request = request.header("dapr-api-token", presented);
            }
            async move {
                let response = request.send().await.unwrap();
                let status = response.status();
                (status, response.text().await.unwrap_or_default())
            }
        };
        let (status, listing) = call(Method::GET, "/dapr/subscribe", Some(token), "").await;
        assert_eq!(status, StatusCode::OK, "{role:?}: {listing}");
        let listing: Value = serde_json::from_str(&listing).expect("a JSON listing");
        let mut routes: Vec<(Method, String)> = vec![(Method::GET, "/dapr/subscribe".into())];
        for entry in listing.as_array().expect("a list") {
            let route = entry["route"]
                .as_str()
                .or_else(|| entry["routes"]["default"].as_str())
                .expect("a route");
            routes.push((Method::POST, route.to_owned()));
        }
        if matches!(role, Role::Api | Role::Mcp) {
            routes.push((Method::POST, "/job/reminder-task-1".into()));
        }
        routes.push((Method::POST, "/job/anything".into()));
        let event = json!({"specversion": "1.0", "id": uuid::Uuid::now_v7(), "type": "x",
            "source": "attacker", "data": {"event_id": uuid::Uuid::now_v7()}})
        .to_string();
        for (method, path) in &routes {
            for presented in [
                None,
                Some("wrong"),
                Some(""),
                Some("the-app-token-only-daprd-know"),
            ] {
                let (status, text) = call(method.clone(), path, presented, &event).await;
                assert_eq!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "{role:?} {method} {path} with {presented:?}: {text}"
                );
                checked += 1;
            }
            // With the token the route is there (the refusal above was the token's).
            let (status, text) = call(method.clone(), path, Some(token), &event).await;
            assert_ne!(
                status,
                StatusCode::UNAUTHORIZED,
                "{role:?} {method} {path}: {text}"
            );
            assert_ne!(
                status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{role:?} {method} {path}"
            );
        }
        // Probes stay open to the kubelet.
        let (status, _) = call(Method::GET, "/healthz", None, "").await;
        assert_eq!(status, StatusCode::OK, "{role:?} /healthz");
        eprintln!("{role:?}: {} routes daprd calls", routes.len());
        server.done.abort();
    }
    eprintln!("{checked} calls without the right app token refused");
}
