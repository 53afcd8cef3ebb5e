//! Building blocks of the repository cases: fresh users, tasks with chosen fields, messages, audit lines.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::events::{Message, TaskEventType};
use crate::model::{
    EventId, NewTask, Priority, RemindBefore, SeriesId, Status, Tags, Task, TaskId, UserId,
};
use crate::ports::{AuditEntry, Changes, TaskRepository, TaskSnapshot, TaskWrite};

/// A user no earlier run has seen.
pub(super) fn fresh_user() -> UserId {
    UserId(Uuid::new_v4())
}

/// A fixed instant, in whole seconds, that the cases treat as "now".
pub(super) fn base_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2030-06-15T12:00:00Z")
        .expect("a valid RFC 3339 literal")
        .to_utc()
}

/// A pending, untagged, medium-priority task without a due date, created at [`base_time`].
pub(super) fn task(id: TaskId, user: UserId, title: &str) -> Task {
    let new = NewTask::titled(title).expect("fixture titles are valid");
    Task::create(id, user, new, SeriesId(Uuid::new_v4()), base_time())
}

/// Fluent adjustments of a fixture task.
pub(super) trait TaskFixture {
    fn tagged(self, tags: &[&str]) -> Self;
    fn due(self, due: DateTime<Utc>, remind_before_minutes: Option<i64>) -> Self;
    fn completed(self) -> Self;
    fn priority(self, priority: Priority) -> Self;
}

impl TaskFixture for Task {
    fn tagged(mut self, tags: &[&str]) -> Self {
        self.tags = Tags::parse(tags).expect("fixture tags are valid");
        self
    }

    fn due(mut self, due: DateTime<Utc>, remind_before_minutes: Option<i64>) -> Self {
        self.due_date = Some(due);
        self.remind_before = remind_before_minutes
            .map(|m| RemindBefore::new(m).expect("fixture lead times are valid"));
        self
    }

    fn completed(mut self) -> Self {
        self.status = Status::Completed;
        self.completed_at = Some(self.created_at + Duration::hours(1));
        self.updated_at = self.created_at + Duration::hours(1);
        self.version += 1;
        self
    }

    fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }
}

/// A unit of work inserting `tasks`.
pub(super) fn inserts(tasks: impl IntoIterator<Item = Task>) -> Changes {
    Changes {
        writes: tasks.into_iter().map(TaskWrite::Insert).collect(),
        ..Changes::default()
    }
}

/// Reserves an id and builds a fixture task with it.
pub(super) async fn new_task<R: TaskRepository + ?Sized>(
    repo: &R,
    user: UserId,
    title: &str,
) -> Task {
    let id = repo.next_task_id().await.expect("next_task_id failed");
    task(id, user, title)
}

/// Stores a pending task titled `title` for `user` (fixed whole-second times, no due date), for an
/// adapter's own tests that need a row to work on.
pub async fn store_task(repo: &dyn TaskRepository, user: UserId, title: &str) -> Task {
    stored_task(repo, user, title, |t| t).await
}

/// Reserves an id, builds a fixture task with it, adjusts it with `build` and commits it.
pub(super) async fn stored_task<R: TaskRepository + ?Sized>(
    repo: &R,
    user: UserId,
    title: &str,
    build: impl FnOnce(Task) -> Task,
) -> Task {
    let task = build(new_task(repo, user, title).await);
    repo.commit(inserts([task.clone()]))
        .await
        .unwrap_or_else(|e| panic!("inserting a valid new task {} failed: {e}", task.id));
    task
}

/// A message on a conformance topic with a nested payload.
pub(super) fn message(key: &str, payload: serde_json::Value) -> Message {
    Message {
        id: EventId(Uuid::now_v7()),
        topic: "task-events".to_owned(),
        key: key.to_owned(),
        event_type: "com.todo.task.created".to_owned(),
        payload,
    }
}

/// An audit line about `task`.
pub(super) fn audit_entry(task: &Task, action: TaskEventType, at: DateTime<Utc>) -> AuditEntry {
    AuditEntry {
        event_id: EventId(Uuid::now_v7()),
        task_id: task.id,
        user_id: task.user_id,
        action,
        at,
        snapshot: TaskSnapshot::from_value(
            &serde_json::json!({ "id": task.id.0, "title": task.title.as_str(), "tags": ["a", "b"] }),
        ),
    }
}
