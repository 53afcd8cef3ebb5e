//! The HTTP surface: routes of SPEC §6, the web UI, middleware (body limit, CORS, security headers,
//! metrics, tracing) and the OpenAPI document.

mod assets;
mod auth;
mod calendar;
mod chat;
mod contract;
mod dto;
mod error;
mod extract;
mod notifications;
mod ops;
mod push;
mod recurrence;
mod settings;
mod stream;
mod tasks;

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

pub use dto::{
    AuthResponse, CompletionDto, TagCountDto, TagListDto, TaskBody, TaskDto, TaskJson,
    TaskPageBody, TaskPageDto,
};
pub use error::ApiError;
pub(crate) use extract::{bearer, ApiJson};
pub use ops::routes as operations_routes;
pub use push::PushApi;

use crate::app::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "todo", description = "An event-driven task manager: the REST contract of SPEC §6."),
    paths(
        auth::signup, auth::login,
        tasks::list_tasks, tasks::create_task, tasks::get_task, tasks::update_task, tasks::delete_task,
        tasks::complete_task, tasks::reopen_task, tasks::task_history, tasks::list_tags,
        recurrence::preview,
        stream::stream,
        notifications::list_notifications, notifications::mark_read,
        settings::get_settings, settings::update_settings,
        chat::chat,
        calendar::create_feed, calendar::feed,
        push::vapid_key, push::subscribe, push::unsubscribe,
    ),
    modifiers(&BearerAuth),
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The OpenAPI 3.1 document of the API: what utoipa derives from the handlers and the types they
/// parse, refined by the `contract` module with what no derive can say (the domain's rules, shared answers,
/// headers, links).
pub fn api_doc() -> &'static serde_json::Value {
    static DOC: std::sync::LazyLock<serde_json::Value> = std::sync::LazyLock::new(|| {
        let mut doc =
            serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serialises");
        contract::refine(&mut doc);
        doc
    });
    &DOC
}

/// Records `todo_http_request_duration_seconds` by method, matched route and status.
pub(crate) async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!("todo_http_request_duration_seconds", "method" => method, "route" => route, "status" => status)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Adds the headers every answer carries, unless its handler set its own: the Content-Security-Policy
/// of the pages, `nosniff`, no framing and no referrer. The service applies it again over the routes
/// it merges after the API's (`/mcp`, Dapr's), so those answers carry them too.
pub fn security_headers<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(assets::CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
}

/// Builds the router over `state`.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/v1/auth/signup", post(auth::signup))
        .route("/api/v1/auth/login", post(auth::login))
        .route(
            "/api/v1/tasks",
            get(tasks::list_tasks).post(tasks::create_task),
        )
        .route(
            "/api/v1/tasks/{id}",
            get(tasks::get_task)
                .patch(tasks::update_task)
                .delete(tasks::delete_task),
        )
        .route("/api/v1/tasks/{id}/complete", post(tasks::complete_task))
        .route("/api/v1/tasks/{id}/reopen", post(tasks::reopen_task))
        .route("/api/v1/tasks/{id}/history", get(tasks::task_history))
        .route("/api/v1/tags", get(tasks::list_tags))
        .route("/api/v1/recurrence/preview", get(recurrence::preview))
        .route("/api/v1/stream", get(stream::stream))
        .route(
            "/api/v1/me/settings",
            get(settings::get_settings).patch(settings::update_settings),
        )
        .route("/api/v1/chat", post(chat::chat))
        .route("/api/v1/calendar/feed", post(calendar::create_feed))
        .route("/ical/{file}", get(calendar::feed))
        .route("/api/v1/push/vapid-key", get(push::vapid_key))
        .route("/api/v1/push/subscriptions", post(push::subscribe))
        .route(
            "/api/v1/push/subscriptions/{id}",
            axum::routing::delete(push::unsubscribe),
        )
        .route(
            "/api/v1/notifications",
            get(notifications::list_notifications),
        )
        .route(
            "/api/v1/notifications/{id}/read",
            post(notifications::mark_read),
        )
        .fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_found",
                "no such route",
            )
        });
    let ops = Router::new()
        .route("/openapi.json", get(ops::openapi))
        .merge(assets::routes())
        .merge(ops::routes(state.readiness.clone(), state.metrics.clone()));
    let cors = if state.config.http.cors_origins.is_empty() {
        CorsLayer::new()
    } else {
        let origins: Vec<HeaderValue> = state
            .config
            .http
            .cors_origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("last-event-id"),
            ])
    };
    let body_limit = state.config.http.body_limit;
    let api = api
        .merge(ops)
        .layer(middleware::from_fn(record_metrics))
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .layer(cors);
    security_headers(api)
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
                // The path only: a query string may carry an access token (EventSource), and a
                // calendar feed's path is its secret.
                let path = request.uri().path();
                let path = if path.starts_with("/ical/") {
                    "/ical/…"
                } else {
                    path
                };
                tracing::info_span!(
                    "http",
                    method = %request.method(),
                    path = %path,
                    user_id = tracing::field::Empty,
                )
            }),
        )
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;
    use todo_core::model::{TaskInput, TaskPatchInput};

    /// The property names of schema `name` in the document.
    fn properties(doc: &Value, name: &str) -> BTreeSet<String> {
        doc["components"]["schemas"][name]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("no schema {name}"))
            .keys()
            .cloned()
            .collect()
    }

    /// The field names the server's parser reads (what serde writes back).
    fn fields(value: impl serde::Serialize) -> BTreeSet<String> {
        serde_json::to_value(value)
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn the_request_bodies_are_documented_by_the_types_the_server_parses() {
        let doc = serde_json::to_value(super::api_doc()).unwrap();
        let body = |method: &str, path: &str| {
            doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
                ["$ref"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(
            body("post", "/api/v1/tasks"),
            "#/components/schemas/TaskInput"
        );
        assert_eq!(
            body("patch", "/api/v1/tasks/{id}"),
            "#/components/schemas/TaskPatchInput"
        );
        assert_eq!(properties(&doc, "TaskInput"), fields(TaskInput::default()));
        assert_eq!(
            properties(&doc, "TaskPatchInput"),
            fields(TaskPatchInput::default())
        );
        // Only the title is required to create a task; recurrence is a preset or a rule object.
        assert_eq!(
            doc["components"]["schemas"]["TaskInput"]["required"],
            serde_json::json!(["title"])
        );
        assert_eq!(
            doc["components"]["schemas"]["Priority"]["enum"],
            serde_json::json!(["high", "medium", "low"])
        );
        assert!(doc["components"]["schemas"]["Recurrence"]["oneOf"].is_array());
    }

    #[test]
    fn every_operation_that_needs_a_token_documents_401() {
        let doc = serde_json::to_value(super::api_doc()).unwrap();
        for (path, operations) in doc["paths"].as_object().unwrap() {
            for (method, operation) in operations.as_object().unwrap() {
                if operation.get("security").is_some() {
                    assert!(
                        operation["responses"].get("401").is_some(),
                        "{method} {path} takes a bearer token but does not document 401"
                    );
                }
            }
        }
    }
}
