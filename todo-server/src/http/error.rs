//! The one place errors become HTTP responses: `{"error":{"code","message","details"?}}`. Internal
//! details go to the log, never to the client.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use todo_core::error::{chain, TaskError, ValidationError};
use utoipa::ToSchema;

use crate::auth::AuthError;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Option<serde_json::Value>,
    retry_after: Option<Duration>,
}

/// The error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `validation_failed`.
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
    /// Extra facts, e.g. `{"field":"title"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    /// Any status with a code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    /// 400 for a malformed request or an invalid query parameter.
    pub fn bad_request(field: &str, message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::BAD_REQUEST, "bad_request", message);
        e.details = Some(serde_json::json!({ "field": field }));
        e
    }

    /// 400 naming a query parameter.
    pub fn bad_parameter(error: ValidationError) -> Self {
        let message = format!("query parameter `{}`: {}", error.field, error.message);
        Self::bad_request(&error.field, message)
    }

    /// 422 for a body whose values break a rule.
    pub fn invalid(error: ValidationError) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            error.to_string(),
        );
        e.details = Some(serde_json::json!({ "field": error.field }));
        e
    }

    /// 401.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 404.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such task")
    }

    /// 503 with `Retry-After`.
    pub fn unavailable(message: impl Into<String>, retry_after: Option<Duration>) -> Self {
        let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message);
        e.retry_after = Some(retry_after.unwrap_or(Duration::from_secs(5)));
        e
    }

    /// Adds a `Retry-After` header.
    #[must_use]
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// The sentence for people (what an MCP tool error carries).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error body `{"error":{"code","message","details"?}}`, for answers that are not HTTP
    /// responses (MCP tool errors).
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({
            "error": ErrorDetail {
                code: self.code,
                message: self.message.clone(),
                details: self.details.clone(),
            }
        })
    }

    /// 500, logging the cause.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side",
        )
    }
}

impl From<TaskError> for ApiError {
    fn from(error: TaskError) -> Self {
        match error {
            TaskError::Invalid(e) => ApiError::invalid(e),
            TaskError::NotFound => ApiError::not_found(),
            TaskError::Conflict { current_version } => {
                let mut e = ApiError::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    "the task was changed by someone else; reload it and try again",
                );
                e.details = Some(serde_json::json!({ "current_version": current_version }));
                e
            }
            TaskError::Unavailable(cause) => {
                tracing::warn!(error = %chain(&cause), "dependency unavailable");
                ApiError::unavailable(
                    "a backing service is unavailable; try again shortly",
                    cause.retry_after(),
                )
            }
            other => ApiError::internal(chain(&other)),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Invalid(e) => ApiError::invalid(e),
            AuthError::EmailTaken => {
                ApiError::new(StatusCode::CONFLICT, "email_taken", error.to_string())
            }
            AuthError::WrongCredentials | AuthError::BadToken => {
                ApiError::unauthorized(error.to_string())
            }
            AuthError::Port(e) => TaskError::from(e).into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                details: self.details,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(after) = self.retry_after {
            let seconds = after.as_secs().max(1).to_string();
            if let Ok(value) = HeaderValue::from_str(&seconds) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
