//! A task as rows: the column values written for a task, and the decoding of a selected row back into
//! a [`Task`], where a value that breaks a rule of the domain is [`PortError::Corrupt`].

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{Postgres, Row};
use uuid::Uuid;

use todo_core::error::PortError;
use todo_core::model::{
    Description, Priority, RemindBefore, Series, SeriesId, Status, Tags, Task, TaskId, TimeZone,
    Title, UserId,
};
use todo_core::ports::PortResult;
use todo_core::recurrence::{next_occurrence, CompletedOccurrence, Recurrence};

use crate::error::{corrupt, port_error};

/// The select list of a task row, over `tasks t`; enums are read as text so that an unknown value is a
/// decoding error of ours ([`PortError::Corrupt`]) rather than the driver's.
macro_rules! task_columns {
    () => {
        "t.id, t.user_id, t.title, t.description, t.status::text AS status, \
         t.priority::text AS priority, t.due_date, t.timezone, t.remind_before, t.recurrence, \
         t.series_id, t.series_anchor, t.occurrence, t.predecessor_id, t.created_at, t.updated_at, \
         t.completed_at, t.version, t.tags"
    };
}
pub(crate) use task_columns;

/// Every column value of a task, derived once for an insert or update. Binds as `$1..$24` in the
/// order the write statements of [`crate::unit_of_work`] expect.
pub(crate) struct TaskValues<'a> {
    task: &'a Task,
    remind_before: Option<i32>,
    occurrence: Option<i64>,
    recurrence: Option<String>,
    title_key: String,
    search_text: String,
    tags: Vec<String>,
    pattern: Option<&'static str>,
    rrule: Option<String>,
    next_due_date: Option<DateTime<Utc>>,
}

impl<'a> TaskValues<'a> {
    /// Derives the stored columns of `task`.
    pub(crate) fn of(task: &'a Task) -> PortResult<Self> {
        let remind_before = task
            .remind_before
            .map(|r| i32::try_from(r.minutes()))
            .transpose()
            .map_err(|e| {
                PortError::other(format!("task {}: remind_before out of range", task.id), e)
            })?;
        let (pattern, rrule) = match &task.recurrence {
            None => (None, None),
            Some(Recurrence::Daily) => (Some("daily"), None),
            Some(Recurrence::Weekly) => (Some("weekly"), None),
            Some(Recurrence::Monthly) => (Some("monthly"), None),
            Some(Recurrence::Rule(rule)) => (Some("custom"), Some(rule.rrule().to_owned())),
        };
        let title_key = task.title.as_str().to_lowercase();
        // Search words never contain whitespace, so no word can match across the line feed: a word
        // occurs in this text exactly when it occurs in the lower-cased title or description.
        let search_text = format!("{title_key}\n{}", task.description.as_str().to_lowercase());
        Ok(Self {
            task,
            remind_before,
            occurrence: task.series.map(|s| i64::from(s.occurrence)),
            recurrence: task.recurrence.as_ref().map(ToString::to_string),
            title_key,
            search_text,
            tags: task.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            pattern,
            rrule,
            next_due_date: next_due_date(task),
        })
    }

    /// The column values, in the order of the write statements.
    pub(crate) fn row(&self) -> TaskRow<'_> {
        let t = self.task;
        // A recurrence row only while the rule has a next occurrence.
        let pattern = self.next_due_date.and(self.pattern);
        TaskRow {
            id: t.id.0,
            user_id: t.user_id.0,
            title: t.title.as_str(),
            description: t.description.as_str(),
            status: t.status.as_str(),
            priority: t.priority.as_str(),
            due_date: t.due_date,
            timezone: t.timezone.name(),
            remind_before: self.remind_before,
            recurrence: self.recurrence.as_deref(),
            series_id: t.series.map(|s| s.id.0),
            series_anchor: t.series.and_then(|s| s.anchor),
            occurrence: self.occurrence,
            predecessor_id: t.series.and_then(|s| s.predecessor).map(|p| p.0),
            created_at: t.created_at,
            updated_at: t.updated_at,
            completed_at: t.completed_at,
            version: t.version,
            title_key: &self.title_key,
            search_text: &self.search_text,
            tags: &self.tags,
            pattern,
            rrule: pattern.and(self.rrule.as_deref()),
            next_due_date: pattern.and(self.next_due_date),
        }
    }

    /// Binds `$1..$24` of the insert and update statements.
    pub(crate) fn bind<'q>(
        &'q self,
        query: Query<'q, Postgres, PgArguments>,
    ) -> Query<'q, Postgres, PgArguments> {
        let row = self.row();
        query
            .bind(row.id)
            .bind(row.user_id)
            .bind(row.title)
            .bind(row.description)
            .bind(row.status)
            .bind(row.priority)
            .bind(row.due_date)
            .bind(row.timezone)
            .bind(row.remind_before)
            .bind(row.recurrence)
            .bind(row.series_id)
            .bind(row.series_anchor)
            .bind(row.occurrence)
            .bind(row.predecessor_id)
            .bind(row.created_at)
            .bind(row.updated_at)
            .bind(row.completed_at)
            .bind(row.version)
            .bind(row.title_key)
            .bind(row.search_text)
            .bind(row.tags)
            .bind(row.pattern)
            .bind(row.rrule)
            .bind(row.next_due_date)
    }
}

/// One task's stored column values (`$1..$24` of the write statements, in order).
pub(crate) struct TaskRow<'a> {
    pub(crate) id: i64,
    pub(crate) user_id: uuid::Uuid,
    pub(crate) title: &'a str,
    pub(crate) description: &'a str,
    pub(crate) status: &'static str,
    pub(crate) priority: &'static str,
    pub(crate) due_date: Option<DateTime<Utc>>,
    pub(crate) timezone: &'a str,
    pub(crate) remind_before: Option<i32>,
    pub(crate) recurrence: Option<&'a str>,
    pub(crate) series_id: Option<uuid::Uuid>,
    pub(crate) series_anchor: Option<DateTime<Utc>>,
    pub(crate) occurrence: Option<i64>,
    pub(crate) predecessor_id: Option<i64>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) completed_at: Option<DateTime<Utc>>,
    pub(crate) version: i64,
    pub(crate) title_key: &'a str,
    pub(crate) search_text: &'a str,
    pub(crate) tags: &'a [String],
    pub(crate) pattern: Option<&'static str>,
    pub(crate) rrule: Option<&'a str>,
    pub(crate) next_due_date: Option<DateTime<Utc>>,
}

/// The due date the next occurrence would get if `task` were completed on time (or, without a due date,
/// at its last change): what `task_recurrence.next_due_date` records. `None` when the rule has ended.
pub(crate) fn next_due_date(task: &Task) -> Option<DateTime<Utc>> {
    let recurrence = task.recurrence.as_ref()?;
    let series = task.series?;
    let completed = CompletedOccurrence {
        due: task.due_date,
        completed_at: task.due_date.unwrap_or(task.updated_at),
        series_anchor: series.anchor,
        occurrence: series.occurrence,
        timezone: task.timezone.tz(),
    };
    next_occurrence(recurrence, &completed).map(|next| next.due)
}

fn get<'r, T>(row: &'r PgRow, column: &str) -> PortResult<T>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(column).map_err(port_error)
}

/// Decodes a row selected with [`task_columns!`].
pub(crate) fn decode_task(row: &PgRow) -> PortResult<Task> {
    let id = TaskId(get::<i64>(row, "id")?);
    let bad = |field: &str, problem: &dyn std::fmt::Display| {
        corrupt(format!("task {id}: stored {field}"), problem.to_string())
    };
    let title = get::<String>(row, "title")?;
    let description = get::<String>(row, "description")?;
    let status = get::<String>(row, "status")?;
    let priority = get::<String>(row, "priority")?;
    let timezone = get::<String>(row, "timezone")?;
    let tags = get::<Vec<String>>(row, "tags")?;
    let remind_before = get::<Option<i32>>(row, "remind_before")?;
    let recurrence = get::<Option<String>>(row, "recurrence")?;
    let series_id = get::<Option<Uuid>>(row, "series_id")?;
    let occurrence = get::<Option<i64>>(row, "occurrence")?;

    let series = match series_id {
        None => None,
        Some(series_id) => {
            let occurrence = occurrence
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n >= 1)
                .ok_or_else(|| bad("occurrence", &format!("{occurrence:?}")))?;
            Some(Series {
                id: SeriesId(series_id),
                anchor: get(row, "series_anchor")?,
                occurrence,
                predecessor: get::<Option<i64>>(row, "predecessor_id")?.map(TaskId),
            })
        }
    };
    Ok(Task {
        id,
        user_id: UserId(get::<Uuid>(row, "user_id")?),
        title: Title::parse(&title).map_err(|e| bad("title", &e))?,
        description: Description::parse(&description).map_err(|e| bad("description", &e))?,
        status: status.parse::<Status>().map_err(|e| bad("status", &e))?,
        priority: parse_priority(&priority).ok_or_else(|| bad("priority", &priority))?,
        tags: Tags::parse(&tags).map_err(|e| bad("tags", &e))?,
        due_date: get(row, "due_date")?,
        timezone: TimeZone::parse(&timezone).map_err(|e| bad("timezone", &e))?,
        remind_before: remind_before
            .map(|m| RemindBefore::new(i64::from(m)))
            .transpose()
            .map_err(|e| bad("remind_before", &e))?,
        recurrence: recurrence
            .map(|r| r.parse::<Recurrence>())
            .transpose()
            .map_err(|e| bad("recurrence", &e))?,
        series,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        completed_at: get(row, "completed_at")?,
        version: get(row, "version")?,
    })
}

/// The stored enum label of a priority; exact, unlike the lenient parser of client input.
pub(crate) fn parse_priority(label: &str) -> Option<Priority> {
    Priority::ALL.into_iter().find(|p| p.as_str() == label)
}

/// The stored enum label of a priority rank (0 = high), as cursors carry it.
pub(crate) fn priority_label(rank: u8) -> Option<&'static str> {
    Priority::ALL
        .into_iter()
        .find(|p| p.rank() == rank)
        .map(Priority::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use todo_core::model::NewTask;

    #[test]
    fn priority_labels_are_exact() {
        assert_eq!(parse_priority("high"), Some(Priority::High));
        assert_eq!(parse_priority("HIGH"), None);
        assert_eq!(parse_priority("urgent"), None);
        assert_eq!(priority_label(2), Some("low"));
        assert_eq!(priority_label(3), None);
    }

    #[test]
    fn a_one_off_task_has_no_next_due_date() {
        let now = Utc::now();
        let task = Task::create(
            TaskId(1),
            UserId(Uuid::nil()),
            NewTask::titled("Once").unwrap(),
            SeriesId(Uuid::nil()),
            now,
        );
        assert_eq!(next_due_date(&task), None);
    }
}
