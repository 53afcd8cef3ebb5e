//! The MCP server at `/mcp` of an in-process `todo-server all`, driven as an assistant's client would
//! over Streamable HTTP (plain JSON-RPC): the handshake, the nine tools, results that match the REST
//! API, the API's messages as tool errors, one user's tasks hidden from another, and 401 without a
//! token.

mod support;

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::{Server, User};

const PROTOCOL: &str = "2025-06-18";

/// A JSON-RPC client of `/mcp` with an optional bearer token.
struct Mcp {
    http: reqwest::Client,
    url: String,
    token: Option<String>,
}

impl Mcp {
    fn new(server: &Server, user: Option<&User>) -> Mcp {
        Mcp {
            http: server.http.clone(),
            url: format!("{}/mcp", server.base),
            token: user.map(|u| u.token.clone()),
        }
    }

    async fn post(&self, body: Value) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", PROTOCOL)
            .json(&body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The `result` of a request, which must succeed at the protocol level.
    async fn request(&self, method: &str, params: Value) -> Value {
        let (status, body) = self
            .post(json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            .await;
        assert_eq!(status, StatusCode::OK, "{method}: {body}");
        assert!(body.get("error").is_none(), "{method}: {body}");
        body["result"].clone()
    }

    async fn initialize(&self) -> Value {
        let result = self
            .request(
                "initialize",
                json!({
                    "protocolVersion": PROTOCOL,
                    "capabilities": {},
                    "clientInfo": {"name": "todo-tests", "version": "1"},
                }),
            )
            .await;
        let (status, _) = self
            .post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        assert!(status.is_success(), "{status}");
        result
    }

    /// A tool call's result (`isError` may be true).
    async fn call(&self, tool: &str, arguments: Value) -> Value {
        self.request("tools/call", json!({"name": tool, "arguments": arguments}))
            .await
    }

    /// A successful tool call's structured content; its summary must be one line.
    async fn ok(&self, tool: &str, arguments: Value) -> Value {
        let result = self.call(tool, arguments).await;
        assert_eq!(result["isError"], false, "{tool}: {result}");
        let summary = summary(&result);
        assert!(
            !summary.is_empty() && !summary.contains('\n'),
            "{summary:?}"
        );
        result["structuredContent"].clone()
    }
}

fn summary(result: &Value) -> String {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn the_handshake_offers_the_nine_tools_with_their_input_schemas() {
    let server = Server::start().await;
    let alice = server.user("alice@example.com").await;
    let mcp = Mcp::new(&server, Some(&alice));
    let init = mcp.initialize().await;
    assert!(init["capabilities"]["tools"].is_object(), "{init}");
    assert_eq!(init["serverInfo"]["name"], "todo");

    let tools = mcp.request("tools/list", json!({})).await;
    let tools = tools["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "add_task",
            "list_tasks",
            "get_task",
            "update_task",
            "complete_task",
            "reopen_task",
            "delete_task",
            "list_tags",
            "quick_add"
        ]
    );
    let schema =
        |name: &str| tools.iter().find(|t| t["name"] == name).unwrap()["inputSchema"].clone();
    for tool in tools {
        assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
        assert!(tool["description"].as_str().is_some_and(|d| !d.is_empty()));
    }
    // The schemas are the REST API's input types.
    assert_eq!(schema("add_task")["required"], json!(["title"]));
    for field in ["title", "due_date", "recurrence", "remind_before", "tags"] {
        assert!(
            schema("add_task")["properties"][field].is_object(),
            "{field}"
        );
    }
    for field in ["q", "status", "sort", "cursor"] {
        assert!(
            schema("list_tasks")["properties"][field].is_object(),
            "{field}"
        );
    }
    assert_eq!(schema("update_task")["required"], json!(["id"]));
    assert!(schema("update_task")["properties"]["due_date"].is_object());
    assert_eq!(schema("get_task")["required"], json!(["id"]));
    assert_eq!(schema("quick_add")["required"], json!(["text"]));
    server.stop().await;
}

#[tokio::test]
async fn an_assistant_adds_lists_updates_and_completes_tasks_as_the_api_shows_them() {
    let server = Server::start().await;
    let alice = server.user("alice@example.com").await;
    let mcp = Mcp::new(&server, Some(&alice));
    mcp.initialize().await;

    let result = mcp
        .call(
            "add_task",
            json!({"title": "Pay rent", "priority": "high", "tags": ["home"],
                   "due_date": "2030-12-02T09:00:00Z", "recurrence": "monthly"}),
        )
        .await;
    assert_eq!(result["isError"], false, "{result}");
    let task = result["structuredContent"].clone();
    let id = task["id"].as_i64().unwrap();
    assert_eq!(
        summary(&result),
        format!("Created task {id}: Pay rent, due Mon 2 Dec 09:00")
    );
    let (status, over_rest) = alice
        .call(Method::GET, &format!("/api/v1/tasks/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(task, over_rest, "the tool answers the REST Task JSON");

    let page = mcp
        .ok("list_tasks", json!({"status": "pending", "limit": 10}))
        .await;
    assert_eq!(page["items"], json!([over_rest]));
    assert_eq!(page["next_cursor"], Value::Null);

    let updated = mcp
        .ok(
            "update_task",
            json!({"id": id, "description": "by the 2nd"}),
        )
        .await;
    assert_eq!(updated["description"], "by the 2nd");
    assert_eq!(mcp.ok("get_task", json!({"id": id})).await, updated);

    let done = mcp.ok("complete_task", json!({"id": id})).await;
    assert_eq!(done["task"]["status"], "completed");
    assert_eq!(done["next"]["title"], "Pay rent", "{done}");
    let (_, completion) = alice
        .call(Method::POST, &format!("/api/v1/tasks/{id}/complete"), None)
        .await;
    assert_eq!(done, completion, "the REST completion answers the same");

    let reopened = mcp.ok("reopen_task", json!({"id": id})).await;
    assert_eq!(reopened["status"], "pending");

    let tags = mcp.ok("list_tags", json!({})).await;
    assert_eq!(tags["items"], json!([{"tag": "home", "count": 2}]));

    let quick = mcp.ok("quick_add", json!({"text": "call mum"})).await;
    assert!(quick["id"].is_i64(), "{quick}");
    let listed = alice.list("status=all&limit=200").await;
    assert_eq!(listed.len(), 3, "{listed:?}");

    let deleted = mcp.ok("delete_task", json!({"id": quick["id"]})).await;
    assert_eq!(deleted, json!({"id": quick["id"], "deleted": true}));
    let (status, _) = alice
        .call(Method::GET, &format!("/api/v1/tasks/{}", quick["id"]), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn a_bad_argument_is_a_tool_error_with_the_apis_message() {
    let server = Server::start().await;
    let alice = server.user("alice@example.com").await;
    let mcp = Mcp::new(&server, Some(&alice));
    mcp.initialize().await;

    for (tool, arguments, method, path, body) in [
        (
            "add_task",
            json!({"title": "   "}),
            Method::POST,
            "/api/v1/tasks".to_owned(),
            Some(json!({"title": "   "})),
        ),
        (
            "add_task",
            json!({"title": "x", "recurrence": {"rrule": "FREQ=SOMETIMES"}}),
            Method::POST,
            "/api/v1/tasks".to_owned(),
            Some(json!({"title": "x", "recurrence": {"rrule": "FREQ=SOMETIMES"}})),
        ),
        (
            "list_tasks",
            json!({"sort": "mood"}),
            Method::GET,
            "/api/v1/tasks?sort=mood".to_owned(),
            None,
        ),
        (
            "get_task",
            json!({"id": 999_999}),
            Method::GET,
            "/api/v1/tasks/999999".to_owned(),
            None,
        ),
        (
            "update_task",
            json!({"id": 999_999, "title": "y"}),
            Method::PATCH,
            "/api/v1/tasks/999999".to_owned(),
            Some(json!({"title": "y"})),
        ),
    ] {
        let result = mcp.call(tool, arguments.clone()).await;
        assert_eq!(result["isError"], true, "{tool} {arguments}: {result}");
        let (status, rest) = alice.call(method, &path, body).await;
        assert!(status.is_client_error(), "{path}: {status}");
        assert_eq!(
            summary(&result),
            rest["error"]["message"].as_str().unwrap(),
            "{tool} {arguments}"
        );
        assert_eq!(result["structuredContent"], rest, "{tool} {arguments}");
    }

    let result = mcp
        .call("add_task", json!({"title": "x", "colour": "red"}))
        .await;
    assert_eq!(result["isError"], true, "{result}");
    assert!(summary(&result).contains("colour"), "{result}");
    let result = mcp.call("quick_add", json!({"text": "  "})).await;
    assert_eq!(result["isError"], true, "{result}");
    assert_eq!(
        result["structuredContent"]["error"]["details"]["field"],
        "text"
    );

    let (status, body) = mcp
        .post(json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                     "params": {"name": "launch_rocket", "arguments": {}}}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("launch_rocket")),
        "{body}"
    );
    server.stop().await;
}

#[tokio::test]
async fn another_users_token_sees_nothing_of_yours() {
    let server = Server::start().await;
    let alice = server.user("alice@example.com").await;
    let bob = server.user("bob@example.com").await;
    let task = alice
        .create(json!({"title": "Alice's secret", "tags": ["private"]}))
        .await;
    let id = task["id"].as_i64().unwrap();

    let mcp = Mcp::new(&server, Some(&bob));
    mcp.initialize().await;
    assert_eq!(
        mcp.ok("list_tasks", json!({"status": "all"})).await["items"],
        json!([])
    );
    assert_eq!(mcp.ok("list_tags", json!({})).await["items"], json!([]));
    for tool in ["get_task", "complete_task", "reopen_task", "delete_task"] {
        let result = mcp.call(tool, json!({"id": id})).await;
        assert_eq!(result["isError"], true, "{tool}: {result}");
        assert_eq!(summary(&result), "no such task", "{tool}");
    }
    let result = mcp
        .call("update_task", json!({"id": id, "title": "mine now"}))
        .await;
    assert_eq!(summary(&result), "no such task");

    let (_, still) = alice
        .call(Method::GET, &format!("/api/v1/tasks/{id}"), None)
        .await;
    assert_eq!(still, task, "Alice's task is untouched");
    server.stop().await;
}

#[tokio::test]
async fn without_a_valid_token_mcp_answers_401_with_the_api_error_body() {
    let server = Server::start().await;
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": PROTOCOL, "capabilities": {},
                   "clientInfo": {"name": "todo-tests", "version": "1"}}});
    let (status, body) = Mcp::new(&server, None).post(initialize.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized", "{body}");

    let mut forged = Mcp::new(&server, None);
    forged.token = Some("not.a.token".to_owned());
    let (status, body) = forged.post(initialize).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized", "{body}");
    server.stop().await;
}

#[tokio::test]
async fn quick_add_reads_the_line_in_the_users_time_zone() {
    let server = Server::start().await;
    let alice = server.user("alice@example.com").await;
    let (status, _) = alice
        .call(
            Method::PATCH,
            "/api/v1/me/settings",
            Some(json!({"timezone": "America/New_York"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mcp = Mcp::new(&server, Some(&alice));
    mcp.initialize().await;
    let task = mcp
        .ok(
            "quick_add",
            json!({"text": "weekly review every friday 16:00 #work !high remind 30m before"}),
        )
        .await;
    assert_eq!(task["title"], "weekly review");
    assert_eq!(task["timezone"], "America/New_York");
    assert_eq!(task["tags"], json!(["work"]));
    assert_eq!(task["priority"], "high");
    assert_eq!(task["remind_before"], 30);
    let due: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(task["due_date"].clone()).unwrap();
    let local = due.with_timezone(&chrono_tz::America::New_York);
    assert_eq!(local.format("%a %H:%M").to_string(), "Fri 16:00", "{due}");
    let (_, rest) = alice
        .call(Method::GET, &format!("/api/v1/tasks/{}", task["id"]), None)
        .await;
    assert_eq!(rest, task, "the REST API shows the same task");
    server.stop().await;
}

/// Latency of tool calls over HTTP on `all` (SQLite): `cargo test -p todo-server --test mcp
/// --release -- --ignored --nocapture tool_call_latency`.
#[tokio::test]
#[ignore = "a measurement, not a check: run it on purpose"]
async fn tool_call_latency() {
    let server = Server::start().await;
    let alice = server.user("alice@example.com").await;
    let mcp = Mcp::new(&server, Some(&alice));
    mcp.initialize().await;
    for (tool, arguments) in [
        ("add_task", json!({"title": "measure", "tags": ["bench"]})),
        ("list_tasks", json!({"limit": 50})),
    ] {
        let mut samples = Vec::with_capacity(500);
        for _ in 0..500 {
            let started = Instant::now();
            mcp.ok(tool, arguments.clone()).await;
            samples.push(started.elapsed());
        }
        samples.sort();
        let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{tool}: {} calls, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            samples.len(),
            ms(at(0.50)),
            ms(at(0.99)),
            ms(samples[samples.len() - 1])
        );
    }
    server.stop().await;
}
