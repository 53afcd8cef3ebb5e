//! The inbox: the reminders the notification service stored for you, newest first.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use todo_core::error::ValidationError;
use todo_core::ports::Notification;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiQuery, AuthUser};
use crate::app::AppState;

/// One stored reminder.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationDto {
    /// The reminder's event id (also the `id:` of its event on the stream).
    pub id: uuid::Uuid,
    /// The task it reminds of.
    pub task_id: i64,
    /// The task's title when the reminder fired.
    pub title: String,
    /// When the task is due.
    pub due_at: DateTime<Utc>,
    /// When the reminder was due.
    pub remind_at: DateTime<Utc>,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// When you marked it read; `null` while unread.
    pub read_at: Option<DateTime<Utc>>,
}

impl From<&Notification> for NotificationDto {
    fn from(n: &Notification) -> Self {
        Self {
            id: n.id,
            task_id: n.task_id.0,
            title: n.title.clone(),
            due_at: n.due_at,
            remind_at: n.remind_at,
            created_at: n.created_at,
            read_at: n.read_at,
        }
    }
}

/// A page of the inbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationListDto {
    /// Newest reminder first.
    pub items: Vec<NotificationDto>,
}

/// Query parameters of the inbox.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxParams {
    limit: Option<String>,
}

/// Your stored reminders, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications",
    params(("limit" = Option<u32>, Query, description = "1..=200, default 50")),
    responses((status = 200, body = NotificationListDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_notifications(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiQuery(params): ApiQuery<InboxParams>,
) -> Result<Json<NotificationListDto>, ApiError> {
    let limit = match params.limit.as_deref() {
        None => 50,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=200).contains(n))
            .ok_or_else(|| {
                ApiError::bad_parameter(ValidationError::new(
                    "limit",
                    "expected a whole number from 1 to 200",
                ))
            })?,
    };
    let items = state
        .notifications
        .list(user, limit)
        .await
        .map_err(todo_core::error::TaskError::from)?;
    Ok(Json(NotificationListDto {
        items: items.iter().map(NotificationDto::from).collect(),
    }))
}

/// Marks one of your stored reminders read (idempotent: the first read time stays).
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn mark_read(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such notification");
    let id = uuid::Uuid::parse_str(&id).map_err(|_| not_found())?;
    let now = chrono::Utc::now();
    let found = state
        .notifications
        .mark_read(user, id, now)
        .await
        .map_err(todo_core::error::TaskError::from)?;
    if found {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found())
    }
}
