//! `POST /api/v1/chat`: a message to the assistant (SPEC §12); [`crate::chat`] says who answers.

use axum::extract::State;
use axum::http::request::Parts;
use axum::response::Response;

use super::error::ErrorBody;
use super::extract::{bearer, ApiJson, AuthUser};
use crate::app::AppState;
use crate::chat::{ChatReplyDto, ChatRequest};

/// Says something to the assistant: adds, completes, lists, moves or deletes tasks.
///
/// `it` refers to the task the conversation last mentioned.
#[utoipa::path(
    post, path = "/api/v1/chat", tag = "chat",
    security(("bearer" = [])),
    request_body = ChatRequest,
    responses(
        (status = 200, description = "The reply and the tasks it created, changed or found", body = ChatReplyDto),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 422, description = "Message too long, or the task it describes breaks a rule; nothing changed", body = ErrorBody),
        (status = 503, description = "The assistant (the MCP service) is unreachable; nothing changed", body = ErrorBody),
    )
)]
pub async fn chat(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    parts: Parts,
    ApiJson(request): ApiJson<ChatRequest>,
) -> Response {
    // AuthUser has checked the header, so the token is there.
    let token = bearer(&parts).unwrap_or_default();
    state.assistant.answer(user, &token, &request.message).await
}
