//! The JSON shapes of the REST contract (SPEC §6), with their OpenAPI schemas.

use chrono::{DateTime, Utc};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use todo_core::model::Task;
use todo_core::ports::{AuditEntry, Page, TagCount, TaskSnapshot, User};
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

/// A task written as [`TaskDto`]'s JSON straight from the task, without copying its text first: the
/// form of the task answers, where a page of 50 tasks would otherwise copy each title, description,
/// tag and time zone once more before writing it.
#[derive(Debug, Clone, Copy)]
pub struct TaskJson<'a>(pub &'a Task);

impl Serialize for TaskJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// The tags as a list of strings.
        struct TagList<'a>(&'a Task);
        impl Serialize for TagList<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.tags.iter().map(|tag| tag.as_str()))
            }
        }
        let t = self.0;
        let mut task = serializer.serialize_struct("TaskDto", 16)?;
        task.serialize_field("id", &t.id.0)?;
        task.serialize_field("title", t.title.as_str())?;
        task.serialize_field("description", t.description.as_str())?;
        task.serialize_field("status", t.status.as_str())?;
        task.serialize_field("priority", t.priority.as_str())?;
        task.serialize_field("tags", &TagList(t))?;
        task.serialize_field("due_date", &t.due_date)?;
        task.serialize_field("timezone", t.timezone.name())?;
        task.serialize_field(
            "remind_before",
            &t.remind_before.map(|r| i64::from(r.minutes())),
        )?;
        task.serialize_field("remind_at", &t.remind_at())?;
        task.serialize_field("recurrence", &t.recurrence)?;
        task.serialize_field("series_id", &t.series.map(|s| s.id.0))?;
        task.serialize_field("created_at", &t.created_at)?;
        task.serialize_field("updated_at", &t.updated_at)?;
        task.serialize_field("completed_at", &t.completed_at)?;
        task.serialize_field("version", &t.version)?;
        task.end()
    }
}

/// A task answer: [`TaskDto`]'s JSON, written by [`TaskJson`].
#[derive(Debug)]
pub struct TaskBody(pub Task);

impl Serialize for TaskBody {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        TaskJson(&self.0).serialize(serializer)
    }
}

/// A page answer: [`TaskPageDto`]'s JSON, each task written by [`TaskJson`].
#[derive(Debug)]
pub struct TaskPageBody(pub Page);

impl Serialize for TaskPageBody {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// The page's tasks as a list.
        struct Items<'a>(&'a [Task]);
        impl Serialize for Items<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.iter().map(TaskJson))
            }
        }
        let mut page = serializer.serialize_struct("TaskPageDto", 2)?;
        page.serialize_field("items", &Items(&self.0.items))?;
        page.serialize_field(
            "next_cursor",
            &self.0.next_cursor.as_ref().map(|c| c.encode()),
        )?;
        page.end()
    }
}

/// The answer of `POST /api/v1/tasks/{id}/complete`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompletionDto {
    /// The completed task.
    #[schema(value_type = TaskDto)]
    pub task: TaskBody,
    /// Its next occurrence, when it already exists.
    #[schema(value_type = Option<TaskDto>)]
    pub next: Option<TaskBody>,
}

impl From<todo_core::usecases::Completion> for CompletionDto {
    fn from(done: todo_core::usecases::Completion) -> Self {
        Self {
            task: TaskBody(done.task),
            next: done.next.map(TaskBody),
        }
    }
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
    pub task: TaskSnapshot,
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

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use todo_core::model::{
        NewTask, Priority, RemindBefore, SeriesId, TaskId, TaskInput, TimeZone, UserId,
    };
    use todo_core::query::{Cursor, Order, SortKey, SortValue};
    use todo_core::recurrence::Recurrence;

    use super::*;

    /// Tasks with every optional field absent and present: plain, recurring by RRULE with a
    /// reminder, completed, tagged.
    fn tasks() -> Vec<Task> {
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 9, 30, 0).unwrap();
        let user = UserId(uuid::Uuid::from_u128(7));
        let plain = Task::create(
            TaskId(1),
            user,
            NewTask::titled("Plain \"quoted\" title").unwrap(),
            SeriesId(uuid::Uuid::from_u128(1)),
            now,
        );
        let full = NewTask::parse(TaskInput {
            title: "Standup ✓".into(),
            description: Some("line one\nline two".into()),
            priority: Some("high".into()),
            tags: Some(vec!["work".into(), "daily".into()]),
            due_date: Some("2026-12-02T12:30:00Z".into()),
            timezone: Some("Europe/London".into()),
            remind_before: Some(15),
            recurrence: Some(
                serde_json::json!({"rrule": "FREQ=WEEKLY;BYDAY=MO,WE", "anchor": "completion"}),
            ),
        })
        .unwrap();
        let mut recurring = Task::create(
            TaskId(2),
            user,
            full,
            SeriesId(uuid::Uuid::from_u128(2)),
            now,
        );
        let mut done = recurring.clone();
        done.id = TaskId(3);
        assert!(done.complete(now + chrono::Duration::minutes(5)));
        recurring.priority = Priority::Low;
        recurring.remind_before = RemindBefore::new(0).ok();
        recurring.timezone = TimeZone::parse("Asia/Tokyo").unwrap();
        assert!(matches!(recurring.recurrence, Some(Recurrence::Rule(_))));
        vec![plain, recurring, done]
    }

    /// The mapping TaskJson must agree with, written field by field into the schema type.
    fn dto(t: &Task) -> TaskDto {
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

    #[test]
    fn task_json_writes_exactly_what_task_dto_writes() {
        for task in tasks() {
            let view = serde_json::to_value(TaskJson(&task)).unwrap();
            let dto = serde_json::to_value(dto(&task)).unwrap();
            assert_eq!(view, dto, "task {}", task.id);
            let body = serde_json::to_value(TaskBody(task.clone())).unwrap();
            assert_eq!(body, dto, "task {}", task.id);
        }
    }

    #[test]
    fn a_page_body_writes_exactly_what_task_page_dto_writes() {
        let items = tasks();
        let cursor = Cursor {
            sort: SortKey::DueDate,
            order: Order::Desc,
            value: SortValue::DueDate(items[2].due_date),
            id: items[2].id,
        };
        for next_cursor in [None, Some(cursor)] {
            let page = Page {
                items: items.clone(),
                next_cursor: next_cursor.clone(),
            };
            let dto = TaskPageDto {
                items: items.iter().map(dto).collect(),
                next_cursor: next_cursor.map(|c| c.encode()),
            };
            assert_eq!(
                serde_json::to_value(TaskPageBody(page)).unwrap(),
                serde_json::to_value(&dto).unwrap()
            );
        }
    }
}
