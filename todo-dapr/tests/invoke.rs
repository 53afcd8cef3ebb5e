//! Service invocation between two apps through their sidecars (name resolution: the stack's sqlite
//! resolver), as the api service calls the MCP server.

mod support;

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use reqwest::Method;
use serde_json::{json, Value};
use todo_dapr::{DaprError, ServiceInvoker};
use todo_testkit::PubSubBroker;

use support::{client, sidecar, sidecar_for, Served};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_method_of_another_app_is_invoked_through_the_sidecars() {
    let callee_routes = Router::new()
        .route(
            "/tools/{tool}",
            post(
                |Path(tool): Path<String>, Json(body): Json<Value>| async move {
                    Json(json!({ "tool": tool, "arguments": body }))
                },
            ),
        )
        .route(
            "/whoami",
            post(|headers: HeaderMap| async move {
                let authorization = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("none")
                    .to_owned();
                Json(json!({ "authorization": authorization }))
            }),
        )
        .route(
            "/busy",
            get(|| async {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(json!({ "error": "busy" })),
                )
            }),
        );
    let callee = Served::start(callee_routes).await;
    let callee_sidecar = sidecar_for("mcp", callee.port, PubSubBroker::Kafka).await;
    let caller = sidecar("api").await;
    let invoker = ServiceInvoker::new(client(&caller));

    let answer: Value = invoker
        .invoke_json(
            callee_sidecar.app_id(),
            Method::POST,
            "tools/create_task",
            Some(&json!({ "title": "Buy milk" })),
        )
        .await
        .unwrap_or_else(|e| panic!("invoke: {e}\n{}", caller.log_tail(20)));
    assert_eq!(
        answer,
        json!({ "tool": "create_task", "arguments": { "title": "Buy milk" } })
    );

    // The caller's headers reach the callee (the API forwards the user's bearer token to chat).
    let whoami: Value = invoker
        .invoke_with_headers(
            callee_sidecar.app_id(),
            Method::POST,
            "whoami",
            Some(&json!({})),
            &[("authorization", "Bearer a-user-token")],
        )
        .await
        .and_then(|invoked| invoked.json())
        .unwrap_or_else(|e| panic!("invoke: {e}\n{}", caller.log_tail(20)));
    assert_eq!(whoami, json!({ "authorization": "Bearer a-user-token" }));

    // The callee's own error answer is passed through, not mistaken for a Dapr failure.
    let busy = invoker
        .invoke(callee_sidecar.app_id(), Method::GET, "busy", None)
        .await
        .expect("the callee answered");
    assert_eq!(busy.status, 503);
    assert_eq!(
        busy.json::<Value>().expect("JSON"),
        json!({ "error": "busy" })
    );

    // An app id nobody runs is Dapr's error.
    let missing = invoker
        .invoke("no-such-app", Method::POST, "tools/x", Some(&json!({})))
        .await;
    assert!(
        matches!(&missing, Err(DaprError::Api { error_code: Some(code), .. }) if code.starts_with("ERR_DIRECT_INVOKE")),
        "{missing:?}"
    );
}
