//! The server's parsers at the boundary never panic: token verification on any text (including
//! tokens signed with the right key whose claims are anything), and the routes on any query string,
//! path segment, `Authorization` header or JSON body: they answer a 2xx or 4xx, never a 5xx, and the
//! process never panics.
//!
//! The routes are driven in process (`tower::ServiceExt::oneshot` on the router of `todo-server all`
//! with `DATABASE_URL=memory:`), so several hundred cases take seconds.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Utc;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use serde_json::{json, Value};
use todo_core::memory::{InMemoryUserRepository, ManualClock};
use todo_core::ports::UuidV7Generator;
use todo_server::auth::Accounts;
use tower::ServiceExt;

const SECRET: &[u8] = b"an-hmac-key-of-at-least-32-bytes!!";

fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// Any JSON value, nested a little.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        ".{0,16}".prop_map(Value::from),
        tricky().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Values near what the parsers read, and past their bounds.
fn tricky() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            "0",
            "-1",
            "201",
            "9223372036854775807",
            "-9223372036854775808",
            "99999999999999999999",
            "pending",
            "completed",
            "all",
            "high,low",
            "asc",
            "desc",
            "due_date",
            "title",
            "true",
            "daily",
            "weekly",
            "UTC",
            "Pacific/Kiritimati",
            "2030-01-01T00:00:00Z",
            "+262143-12-31T23:59:59Z",
            "-262144-01-01T00:00:00Z",
            "9999-12-31T23:59:59+14:00",
            "FREQ=DAILY",
            "FREQ=SECONDLY;INTERVAL=1",
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
            "FREQ=MONTHLY;BYDAY=-53MO;COUNT=9999999",
            "%00",
            "%ZZ",
            "%",
            "&&&",
            "===",
            "\u{0}",
            "🦀",
            "\u{202e}",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,24}",
        any::<i64>().prop_map(|n| n.to_string()),
    ]
}

/// A runner of `cases` cases that keeps no failure file (the seed is printed on failure).
fn runner(cases: u32) -> TestRunner {
    TestRunner::new(RunnerConfig {
        cases,
        failure_persistence: None,
        ..RunnerConfig::default()
    })
}

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

/// A token-like text: garbage, three segments of garbage, or our claims with any values, signed with
/// the right key or not signed at all.
fn token() -> impl Strategy<Value = String> {
    let claim = || {
        prop_oneof![
            any::<i64>().prop_map(Value::from),
            prop::sample::select(vec![i64::MAX, i64::MIN, 0, -1, i64::MAX - 29, i64::MAX / 2])
                .prop_map(Value::from),
            any_json(),
        ]
    };
    let claims = (
        prop_oneof![
            Just(json!(uuid::Uuid::nil())),
            any_json(),
            ".{0,40}".prop_map(Value::from)
        ],
        claim(),
        claim(),
        prop_oneof![Just(json!("todo-server")), any_json()],
    )
        .prop_map(|(sub, iat, exp, iss)| json!({"sub": sub, "iat": iat, "exp": exp, "iss": iss}));
    let signed = (claims.clone(), any::<bool>()).prop_map(|(claims, hs512)| {
        let algorithm = if hs512 {
            jsonwebtoken::Algorithm::HS512
        } else {
            jsonwebtoken::Algorithm::HS256
        };
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(algorithm),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(SECRET),
        )
        .expect("JSON claims sign")
    });
    let unsigned = (any_json(), claims).prop_map(|(header, claims)| {
        format!(
            "{}.{}.",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        )
    });
    let segments =
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..60), 0..5).prop_map(|parts| {
            parts
                .iter()
                .map(|p| b64url(p))
                .collect::<Vec<_>>()
                .join(".")
        });
    prop_oneof![any::<String>(), ".{0,200}", segments, unsigned, signed]
}

/// Verifies tokens as the server does, with its key.
fn verifier() -> Accounts {
    Accounts::new(
        Arc::new(InMemoryUserRepository::new()),
        Arc::new(ManualClock::new(Utc::now())),
        Arc::new(UuidV7Generator),
        SECRET,
        Duration::from_secs(3600),
    )
}

#[test]
fn verifying_any_token_never_panics_and_accepts_only_our_unexpired_claims() {
    let accounts = verifier();
    let mut runner = runner(1024);
    runner
        .run(&token(), |token| {
            if let Ok(user) = accounts.verify(&token) {
                // Only a token signed with our key for a user id (the nil one, the only id signed).
                prop_assert_eq!(user.0, uuid::Uuid::nil(), "{}", token);
            }
            Ok(())
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
}

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

/// `todo-server all` in memory, its router, and a signed-in user with one task.
struct App {
    router: axum::Router,
    token: String,
    task: i64,
}

impl App {
    async fn start() -> App {
        let vars: HashMap<String, String> = [
            ("DATABASE_URL", "memory:"),
            ("TODO_JWT_SECRET", "an-hmac-key-of-at-least-32-bytes!!"),
            ("TODO_AUTH_RATE_PER_MINUTE", "100000"),
            ("HOME", "/nonexistent"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let config = todo_server::config::Config::from_vars(&vars).expect("a configuration");
        let service = todo_server::compose::build(&todo_server::compose::Role::ALL, config)
            .await
            .expect("the service builds");
        let mut app = App {
            router: service.router,
            token: String::new(),
            task: 0,
        };
        let (status, body) = app
            .send(
                "POST",
                "/api/v1/auth/signup",
                None,
                Some(
                    json!({"email": "ada@example.com", "password": "a good password"}).to_string(),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        app.token = body["token"].as_str().expect("a token").to_owned();
        let (status, task) = app
            .send(
                "POST",
                "/api/v1/tasks",
                Some(&app.token.clone()),
                Some(json!({"title": "Weekly review", "recurrence": "weekly", "due_date": "2030-01-03T16:00:00Z"}).to_string()),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{task}");
        app.task = task["id"].as_i64().expect("an id");
        app
    }

    /// One request through the router; `None` when the URI is not one a client could send.
    async fn try_send(
        &self,
        method: &str,
        uri: &str,
        authorization: Option<&str>,
        body: Option<String>,
    ) -> Option<(StatusCode, Value)> {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request
            .body(body.map_or_else(Body::empty, Body::from))
            .ok()?;
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        Some((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    async fn send(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> (StatusCode, Value) {
        let authorization = token.map(|t| format!("Bearer {t}"));
        self.try_send(method, uri, authorization.as_deref(), body)
            .await
            .unwrap_or_else(|| panic!("{uri} is a valid URI"))
    }
}

/// Percent-encodes what a URI cannot carry as is (and `&`, `=`, `%` inside values).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b',' | b':' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A query string: pairs of known or unknown names with tricky values, or raw text.
fn query_string() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        prop::sample::select(vec![
            "q",
            "status",
            "priority",
            "tags",
            "tags_all",
            "due_from",
            "due_to",
            "overdue",
            "sort",
            "order",
            "limit",
            "cursor",
            "recurrence",
            "rrule",
            "anchor",
            "start",
            "count",
            "timezone",
            "access_token",
        ])
        .prop_map(str::to_owned),
        "[a-z_\\[\\]]{1,8}",
    ];
    let pairs = prop::collection::vec(
        (
            name,
            prop_oneof![tricky(), any::<Vec<u8>>().prop_map(|b| b64url(&b))],
        ),
        0..6,
    )
    .prop_map(|pairs| {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    });
    prop_oneof![
        pairs,
        "[ -~]{0,60}",
        any::<String>().prop_map(|s| encode(&s))
    ]
}

fn assert_answered(what: &str, answer: Option<(StatusCode, Value)>) -> Result<(), TestCaseError> {
    if let Some((status, body)) = answer {
        prop_assert!(
            !status.is_server_error(),
            "{what} answered {status}: {body}"
        );
    }
    Ok(())
}

#[test]
fn any_query_string_is_answered_without_a_server_error() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let app = runtime.block_on(App::start());
    let mut runner = runner(256);
    runner
        .run(&query_string(), |query| {
            runtime.block_on(async {
                for path in [
                    "/api/v1/tasks",
                    "/api/v1/recurrence/preview",
                    "/api/v1/notifications",
                ] {
                    let uri = format!("{path}?{query}");
                    let bearer = format!("Bearer {}", app.token);
                    let answer = app.try_send("GET", &uri, Some(&bearer), None).await;
                    assert_answered(&uri, answer)?;
                }
                Ok(())
            })
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
}

#[test]
fn any_path_segment_or_authorization_header_is_answered_without_a_server_error() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let app = runtime.block_on(App::start());
    let accounts = verifier();
    let segment = prop_oneof![
        tricky().prop_map(|t| encode(&t)),
        any::<i64>().prop_map(|n| n.to_string()),
        "[ -~]{0,30}",
    ];
    let header = prop_oneof![
        token().prop_map(|t| format!("Bearer {t}")),
        ".{0,80}",
        "(Bearer|bearer|Basic|BEARER) ?[ -~]{0,80}",
    ];
    let mut runner = runner(256);
    runner
        .run(&(segment, header), |(segment, header)| {
            runtime.block_on(async {
                let bearer = format!("Bearer {}", app.token);
                for (method, uri) in [
                    ("GET", format!("/api/v1/tasks/{segment}")),
                    ("GET", format!("/api/v1/tasks/{segment}/history")),
                    ("POST", format!("/api/v1/tasks/{segment}/complete")),
                    ("POST", format!("/api/v1/tasks/{segment}/reopen")),
                    ("DELETE", format!("/api/v1/push/subscriptions/{segment}")),
                    ("POST", format!("/api/v1/notifications/{segment}/read")),
                    ("GET", format!("/ical/{segment}")),
                    ("GET", format!("/ical/{segment}.ics")),
                    ("GET", format!("/{segment}")),
                    ("GET", format!("/assets/{segment}")),
                ] {
                    let answer = app.try_send(method, &uri, Some(&bearer), None).await;
                    assert_answered(&uri, answer)?;
                }
                let answer = app
                    .try_send("GET", "/api/v1/tasks", Some(&header), None)
                    .await;
                if let Some((status, _)) = &answer {
                    // 401, unless the header happens to carry a token signed with our key.
                    let genuine = header
                        .strip_prefix("Bearer ")
                        .is_some_and(|t| accounts.verify(t.trim()).is_ok());
                    let expected = if genuine {
                        StatusCode::OK
                    } else {
                        StatusCode::UNAUTHORIZED
                    };
                    prop_assert_eq!(*status, expected, "{}", header);
                }
                Ok(())
            })
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
}

/// A valid body with one field replaced by anything.
fn near(valid: Value) -> impl Strategy<Value = Value> {
    let names: Vec<String> = valid
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    (
        prop::sample::select(names),
        prop_oneof![any_json(), tricky().prop_map(Value::from)],
    )
        .prop_map(move |(field, value)| {
            let mut body = valid.clone();
            body[field] = value;
            body
        })
}

#[test]
fn any_json_body_is_answered_without_a_server_error() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let app = runtime.block_on(App::start());
    let task = json!({"title": "Team sync", "description": "notes", "priority": "high",
        "tags": ["work"], "due_date": "2030-01-06T09:00:00Z", "timezone": "Europe/London",
        "remind_before": 30, "recurrence": {"rrule": "FREQ=WEEKLY;BYDAY=MO", "anchor": "due"}});
    let body = prop_oneof![
        any_json().prop_map(|v| v.to_string()),
        near(task.clone()).prop_map(|v| v.to_string()),
        near(json!({"timezone": "UTC", "email_notifications": true, "push_notifications": false}))
            .prop_map(|v| v.to_string()),
        near(json!({"endpoint": "https://push.example.com/x", "expirationTime": null,
            "keys": {"p256dh": "BLn9b-VR0ca83knDNZ32dCHGyjJp-1riX9ZTN40MqV8K_LpQmLqxC_DoHvqvFXO_nGdAB4W9dogZb_sM-uV4JbY",
                     "auth": "_ordMnz7uTCmrpBTeUV4Bw"}}))
        .prop_map(|v| v.to_string()),
        "[ -~]{0,80}",
        any::<Vec<u8>>().prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ];
    let mut runner = runner(256);
    runner
        .run(&body, |body| {
            runtime.block_on(async {
                let bearer = format!("Bearer {}", app.token);
                let task = app.task;
                for (method, uri) in [
                    ("POST", "/api/v1/tasks".to_owned()),
                    ("PATCH", format!("/api/v1/tasks/{task}")),
                    ("PATCH", "/api/v1/me/settings".to_owned()),
                    ("POST", "/api/v1/push/subscriptions".to_owned()),
                    ("POST", "/api/v1/chat".to_owned()),
                ] {
                    let answer = app
                        .try_send(method, &uri, Some(&bearer), Some(body.clone()))
                        .await;
                    assert_answered(&format!("{method} {uri} {body}"), answer)?;
                }
                // The settings stay readable whatever was sent.
                let answer = app
                    .try_send("GET", "/api/v1/me/settings", Some(&bearer), None)
                    .await;
                prop_assert_eq!(answer.map(|a| a.0), Some(StatusCode::OK));
                Ok(())
            })
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
}
