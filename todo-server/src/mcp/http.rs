//! `/mcp`: the tools over Streamable HTTP, behind the same bearer token as the REST API.
//!
//! The transport runs stateless (no `Mcp-Session-Id`, one JSON answer per POST): every request
//! carries its token and is served by any replica, like a REST call, so nothing about a client lives
//! in one process. The `Host` allow-list that protects token-less local servers from DNS rebinding
//! is off: a request without a valid token is refused before it reaches the protocol.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use todo_core::usecases::ChatService;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;

use super::{Authenticated, Caller, McpServer, TaskTools};
use crate::auth::Accounts;
use crate::chat::{answer_here, ChatRequest, CHAT_METHOD};
use crate::http::{ApiError, ApiJson};

pub(super) fn routes(server: &McpServer, body_limit: usize, shutdown: CancellationToken) -> Router {
    let tools = TaskTools {
        server: server.clone(),
        caller: Caller::Bearer,
    };
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .disable_allowed_hosts()
        .with_max_request_body_bytes(body_limit)
        .with_cancellation_token(shutdown);
    let service = StreamableHttpService::new(
        move || Ok(tools.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    let chat = Router::new()
        .route(&format!("/{CHAT_METHOD}"), post(chat))
        .with_state(server.chat.clone());
    Router::new()
        .route_service("/mcp", service)
        .merge(chat)
        .layer(middleware::from_fn_with_state(
            server.accounts.clone(),
            authenticate,
        ))
        .layer(middleware::from_fn(crate::http::record_metrics))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
                tracing::info_span!(
                    "http",
                    method = %request.method(),
                    path = %request.uri().path(),
                    user_id = tracing::field::Empty,
                )
            }),
        )
}

/// 401 with the API's error body unless the request carries a valid bearer token; otherwise the
/// request goes on with its user as [`Authenticated`].
async fn authenticate(State(accounts): State<Accounts>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let Some(token) = crate::http::bearer(&parts) else {
        return ApiError::unauthorized("sign in: send `Authorization: Bearer <token>`")
            .into_response();
    };
    match accounts.verify(&token) {
        Ok(user) => {
            tracing::Span::current().record("user_id", tracing::field::display(user));
            parts.extensions.insert(Authenticated(user));
            next.run(Request::from_parts(parts, body)).await
        }
        Err(error) => ApiError::from(error).into_response(),
    }
}

/// `POST /chat`: the API's chat, invoked through Dapr with the caller's bearer token.
async fn chat(
    State(chat): State<ChatService>,
    Extension(Authenticated(user)): Extension<Authenticated>,
    ApiJson(request): ApiJson<ChatRequest>,
) -> Response {
    answer_here(&chat, user, &request.message).await
}
