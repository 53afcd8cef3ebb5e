//! The JSON shapes of the REST contract (SPEC §6), with their OpenAPI schemas.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use todo_core::model::Task;
use todo_core::ports::{AuditEntry, TagCount, User};
use utoipa::ToSchema;
use uuid::Uuid;

/// A task as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskDto {
    /// Task id.
    pub id: i64,
    /// 1..=200 characters.
    pub title: String,
    /// Up to 10 000 characters.
    pub description: String,
    /// `pending` or `completed`.
    #[schema(example = "pending")]
    pub status: String,
    /// `high`, `medium` or `low`.
    #[schema(value_type = todo_core::model::Priority, example = "high")]
    pub priority: String,
    /// Lower-case tags.
    pub tags: Vec<String>,
    /// RFC 3339 due date.
    pub due_date: Option<DateTime<Utc>>,
    /// IANA time zone.
    #[schema(example = "Europe/London")]
    pub timezone: String,
    /// Minutes before the due date to remind; `null` for no reminder.
    pub remind_before: Option<i64>,
    /// When the reminder fires.
    pub remind_at: Option<DateTime<Utc>>,
    /// `null`, `"daily"`, `"weekly"`, `"monthly"` or `{"rrule": "...", "anchor": "due"|"completion"}`.
    #[schema(value_type = Option<todo_core::recurrence::Recurrence>)]
    pub recurrence: serde_json::Value,
    /// Shared by all occurrences of a recurring task.
    pub series_id: Option<Uuid>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Completion time, while completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// Optimistic-concurrency version; send it back in a PATCH to detect lost updates.
    pub version: i64,
}

impl From<&Task> for TaskDto {
    fn from(t: &Task) -> Self {
        TaskDto {
            id: t.id.0,
            title: t.title.as_str().to_owned(),
            description: t.description.as_str().to_owned(),
            status: t.status.as_str().to_owned(),
            priority: t.priority.as_str().to_owned(),
            tags: t.tags.iter().map(|tag| tag.as_str().to_owned()).collect(),
            due_date: t.due_date,
            timezone: t.timezone.name().to_owned(),
            remind_before: t.remind_before.map(|r| i64::from(r.minutes())),
            remind_at: t.remind_at(),
            recurrence: serde_json::to_value(&t.recurrence).unwrap_or(serde_json::Value::Null),
            series_id: t.series.map(|s| s.id.0),
            created_at: t.created_at,
            updated_at: t.updated_at,
            completed_at: t.completed_at,
            version: t.version,
        }
    }
}

/// The answer of `POST /api/v1/tasks/{id}/complete`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CompletionDto {
    /// The completed task.
    pub task: TaskDto,
    /// Its next occurrence, when it already exists.
    pub next: Option<TaskDto>,
}

/// One page of tasks.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TaskPageDto {
    /// Tasks in the requested order.
    pub items: Vec<TaskDto>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A tag and how many tasks carry it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TagCountDto {
    /// The tag.
    pub tag: String,
    /// How many of your tasks carry it.
    pub count: u64,
}

impl From<&TagCount> for TagCountDto {
    fn from(t: &TagCount) -> Self {
        Self {
            tag: t.tag.as_str().to_owned(),
            count: t.count,
        }
    }
}

/// A list of tags.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TagListDto {
    /// Tags by name.
    pub items: Vec<TagCountDto>,
}

/// One line of a task's history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEntryDto {
    /// The event recorded.
    pub event_id: Uuid,
    /// `created`, `updated`, `completed` or `deleted`.
    pub action: String,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The task after the change.
    #[schema(value_type = Object)]
    pub task: serde_json::Value,
}

impl From<&AuditEntry> for AuditEntryDto {
    fn from(e: &AuditEntry) -> Self {
        Self {
            event_id: e.event_id.0,
            action: e.action.as_str().to_owned(),
            at: e.at,
            task: e.snapshot.clone(),
        }
    }
}

/// A task's history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryDto {
    /// Oldest first.
    pub items: Vec<AuditEntryDto>,
}

/// The body of `POST /api/v1/auth/signup`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    /// Your e-mail address.
    pub email: String,
    /// 8 to 128 characters.
    pub password: String,
    /// Display name.
    pub name: Option<String>,
}

/// The body of `POST /api/v1/auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Your e-mail address.
    pub email: String,
    /// Your password.
    pub password: String,
}

/// A user as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserDto {
    /// User id.
    pub id: Uuid,
    /// E-mail address.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
}

/// A token and the user it is for.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuthResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// The signed-in user.
    pub user: UserDto,
}

impl AuthResponse {
    /// Builds the answer for `user`.
    pub fn new(user: &User, token: String) -> Self {
        Self {
            token,
            user: UserDto {
                id: user.id.0,
                email: user.email.clone(),
                name: user.name.clone(),
            },
        }
    }
}
