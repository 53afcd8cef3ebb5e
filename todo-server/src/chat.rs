//! Who answers `POST /api/v1/chat` (SPEC §12): the chat use case in this process, or the MCP service
//! through Dapr service invocation.
//!
//! ```text
//!   all, or api without Dapr:  api ─▶ ChatService (in process)
//!   api with Dapr:             api ─▶ daprd ─▶ daprd ─▶ mcp: POST /chat ─▶ ChatService
//!                                    (resiliency policy for the app todo-mcp)
//! ```
//!
//! Invoked, the caller's bearer token travels with the message, so the MCP service acts for the same
//! user; its answer (a reply or an error) is passed back as it is. When Dapr cannot reach the MCP
//! service the answer is 503 with `Retry-After`, and the rest of the API is unaffected.

use std::time::Duration;

use axum::body::Body;
use axum::http::Method;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use todo_core::model::UserId;
use todo_core::usecases::{ChatReply, ChatService};
use todo_dapr::ServiceInvoker;
use utoipa::ToSchema;

use crate::http::{ApiError, TaskBody, TaskDto};

/// The method of the MCP service that the API invokes.
pub const CHAT_METHOD: &str = "chat";

/// `POST /api/v1/chat`'s body.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    /// What you say, e.g. `complete pay rent` (at most 500 characters).
    #[schema(example = "call mum tomorrow 6pm remind 30m before")]
    pub message: String,
}

/// The assistant's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatReplyDto {
    /// One line for people.
    #[schema(example = "Added \"call mum\", due Sun 29 Mar 18:00.")]
    pub reply: String,
    /// The tasks it created, changed or found.
    #[schema(value_type = Vec<TaskDto>)]
    pub tasks: Vec<TaskBody>,
}

impl From<&ChatReply> for ChatReplyDto {
    fn from(reply: &ChatReply) -> Self {
        Self {
            reply: reply.reply.clone(),
            tasks: reply.tasks.iter().cloned().map(TaskBody).collect(),
        }
    }
}

/// Who answers chat messages.
#[derive(Clone)]
pub enum Assistant {
    /// The chat use case in this process.
    InProcess(ChatService),
    /// The MCP service, through the sidecar.
    Invoked {
        /// Calls through the local daprd.
        invoker: ServiceInvoker,
        /// The MCP service's Dapr app id (`TODO_MCP_APP_ID`).
        app_id: String,
    },
}

impl Assistant {
    /// Answers `message` for `user`, whose bearer `token` the MCP service checks again when invoked.
    pub async fn answer(&self, user: UserId, token: &str, message: &str) -> Response {
        match self {
            Assistant::InProcess(chat) => answer_here(chat, user, message).await,
            Assistant::Invoked { invoker, app_id } => {
                let body = serde_json::json!({ "message": message });
                let authorization = format!("Bearer {token}");
                match invoker
                    .invoke_with_headers(
                        app_id,
                        Method::POST,
                        CHAT_METHOD,
                        Some(&body),
                        &[("authorization", &authorization)],
                    )
                    .await
                {
                    Ok(invoked) => {
                        let status =
                            StatusCode::from_u16(invoked.status).unwrap_or(StatusCode::BAD_GATEWAY);
                        let mut response = Response::new(Body::from(invoked.body));
                        *response.status_mut() = status;
                        response.headers_mut().insert(
                            header::CONTENT_TYPE,
                            header::HeaderValue::from_static("application/json"),
                        );
                        response
                    }
                    Err(error) => {
                        tracing::warn!(app_id = %app_id, error = %todo_core::error::chain(&error),
                                       "the MCP service could not be invoked");
                        ApiError::unavailable(
                            "the assistant is unavailable right now; try again shortly (everything else works)",
                            Some(Duration::from_secs(5)),
                        )
                        .into_response()
                    }
                }
            }
        }
    }
}

/// Answers in this process: the reply, or the API's error for the message.
pub async fn answer_here(chat: &ChatService, user: UserId, message: &str) -> Response {
    match chat.reply(user, message).await {
        Ok(reply) => Json(ChatReplyDto::from(&reply)).into_response(),
        Err(error) => ApiError::from(error).into_response(),
    }
}
