//! A task as rows: the column values written for a task, the decoding of a selected row back into a
//! [`Task`] (a value that breaks a rule of the domain is [`PortError::Corrupt`]), and the storage of
//! instants as integer microseconds.

use chrono::{DateTime, Utc};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Row, Sqlite};
use uuid::Uuid;

use todo_core::model::{
    Description, Priority, RemindBefore, Series, SeriesId, Status, Tags, Task, TaskId, TimeZone,
    Title, UserId,
};
use todo_core::ports::PortResult;
use todo_core::recurrence::{next_occurrence, CompletedOccurrence, Recurrence};

use crate::error::{corrupt, port_error};

/// The select list of a task row, over `tasks t`; the tags come as one JSON array.
macro_rules! task_columns {
    () => {
        "t.id, t.user_id, t.title, t.description, t.status, t.priority, t.due_date, t.timezone, \
         t.remind_before, t.recurrence, t.series_id, t.series_anchor, t.occurrence, \
         t.predecessor_id, t.created_at, t.updated_at, t.completed_at, t.version, \
         (SELECT json_group_array(g.tag) FROM task_tags g WHERE g.task_id = t.id) AS tags"
    };
}
pub(crate) use task_columns;

/// An instant as stored: microseconds since the Unix epoch (the domain's clock precision; finer
/// digits are dropped, as PostgreSQL's `timestamptz` drops them).
pub(crate) fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// A stored instant; `what` names the column for the error when the integer is out of range.
pub(crate) fn instant(value: i64, what: &str) -> PortResult<DateTime<Utc>> {
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| corrupt(format!("stored {what}"), format!("{value} is out of range")))
}

/// A stored optional instant.
pub(crate) fn optional_instant(
    value: Option<i64>,
    what: &str,
) -> PortResult<Option<DateTime<Utc>>> {
    value.map(|v| instant(v, what)).transpose()
}

/// Reads a column, mapping a decoding failure to [`PortError::Corrupt`].
pub(crate) fn get<'r, T>(row: &'r SqliteRow, column: &str) -> PortResult<T>
where
    T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
{
    row.try_get(column).map_err(port_error)
}

/// Reads a UUID column (a 16-byte BLOB).
pub(crate) fn get_uuid(row: &SqliteRow, column: &str) -> PortResult<Uuid> {
    let bytes: Vec<u8> = get(row, column)?;
    Uuid::from_slice(&bytes).map_err(|e| corrupt(format!("stored {column}"), e))
}

/// Reads an optional UUID column.
pub(crate) fn get_optional_uuid(row: &SqliteRow, column: &str) -> PortResult<Option<Uuid>> {
    let bytes: Option<Vec<u8>> = get(row, column)?;
    bytes
        .map(|b| Uuid::from_slice(&b).map_err(|e| corrupt(format!("stored {column}"), e)))
        .transpose()
}

/// Reads an instant column.
pub(crate) fn get_instant(row: &SqliteRow, column: &str) -> PortResult<DateTime<Utc>> {
    instant(get(row, column)?, column)
}

/// Reads an optional instant column.
pub(crate) fn get_optional_instant(
    row: &SqliteRow,
    column: &str,
) -> PortResult<Option<DateTime<Utc>>> {
    optional_instant(get(row, column)?, column)
}

/// Reads a JSON column (TEXT).
pub(crate) fn get_json(row: &SqliteRow, column: &str) -> PortResult<serde_json::Value> {
    let text: String = get(row, column)?;
    serde_json::from_str(&text).map_err(|e| corrupt(format!("stored {column}"), e))
}

/// Every column value of a task, derived once for an insert or update.
pub(crate) struct TaskValues<'a> {
    pub(crate) task: &'a Task,
    remind_before: Option<i64>,
    occurrence: Option<i64>,
    recurrence: Option<String>,
    title_key: String,
    search_text: String,
    /// The task's tags, normalised.
    pub(crate) tags: Vec<String>,
    /// The `task_recurrence` row: pattern, custom rule, next due date; `None` when the task does not
    /// recur or its rule has ended.
    pub(crate) recurrence_row: Option<(&'static str, Option<String>, i64)>,
}

impl<'a> TaskValues<'a> {
    /// Derives the stored columns of `task`.
    pub(crate) fn of(task: &'a Task) -> PortResult<Self> {
        let (pattern, rrule) = match &task.recurrence {
            None => (None, None),
            Some(Recurrence::Daily) => (Some("daily"), None),
            Some(Recurrence::Weekly) => (Some("weekly"), None),
            Some(Recurrence::Monthly) => (Some("monthly"), None),
            Some(Recurrence::Rule(rule)) => (Some("custom"), Some(rule.rrule().to_owned())),
        };
        let recurrence_row = match (pattern, next_due_date(task)) {
            (Some(pattern), Some(next)) => Some((pattern, rrule, micros(next))),
            _ => None,
        };
        let title_key = task.title.as_str().to_lowercase();
        // Search words never contain whitespace, so no word can match across the line feed: a word
        // occurs in this text exactly when it occurs in the lower-cased title or description.
        let search_text = format!("{title_key}\n{}", task.description.as_str().to_lowercase());
        Ok(Self {
            task,
            remind_before: task.remind_before.map(|r| i64::from(r.minutes())),
            occurrence: task.series.map(|s| i64::from(s.occurrence)),
            recurrence: task.recurrence.as_ref().map(ToString::to_string),
            title_key,
            search_text,
            tags: task.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            recurrence_row,
        })
    }

    /// Binds the 20 task columns, in the order of [`crate::unit_of_work`]'s insert and update:
    /// id, user_id, title, description, status, priority, due_date, timezone, remind_before,
    /// recurrence, series_id, series_anchor, occurrence, predecessor_id, created_at, updated_at,
    /// completed_at, version, title_key, search_text.
    pub(crate) fn bind<'q>(
        &'q self,
        query: Query<'q, Sqlite, SqliteArguments<'q>>,
    ) -> Query<'q, Sqlite, SqliteArguments<'q>> {
        let t = self.json();
        query
            .bind(t.id)
            .bind(t.user_id.0)
            .bind(t.title)
            .bind(t.description)
            .bind(t.status)
            .bind(t.priority)
            .bind(t.due_date)
            .bind(t.timezone)
            .bind(t.remind_before)
            .bind(t.recurrence)
            .bind(t.series_id.map(|id| id.0))
            .bind(t.series_anchor)
            .bind(t.occurrence)
            .bind(t.predecessor_id)
            .bind(t.created_at)
            .bind(t.updated_at)
            .bind(t.completed_at)
            .bind(t.version)
            .bind(t.title_key)
            .bind(t.search_text)
    }
}

/// A task's columns as one element of the JSON array that a batch of inserts reads with
/// `json_each` (see [`crate::batch`]): the keys are the column names; UUIDs are hex text, which
/// `unhex` turns back into the stored 16-byte BLOBs.
#[derive(serde::Serialize)]
pub(crate) struct TaskJson<'a> {
    id: i64,
    user_id: Hex,
    title: &'a str,
    description: &'a str,
    status: &'a str,
    priority: i64,
    due_date: Option<i64>,
    timezone: &'a str,
    remind_before: Option<i64>,
    recurrence: Option<&'a str>,
    series_id: Option<Hex>,
    series_anchor: Option<i64>,
    occurrence: Option<i64>,
    predecessor_id: Option<i64>,
    created_at: i64,
    updated_at: i64,
    completed_at: Option<i64>,
    version: i64,
    title_key: &'a str,
    search_text: &'a str,
}

impl TaskValues<'_> {
    /// The task's columns, for a batch of inserts and for [`TaskValues::bind`].
    pub(crate) fn json(&self) -> TaskJson<'_> {
        let t = self.task;
        TaskJson {
            id: t.id.0,
            user_id: Hex(t.user_id.0),
            title: t.title.as_str(),
            description: t.description.as_str(),
            status: t.status.as_str(),
            priority: i64::from(t.priority.rank()),
            due_date: t.due_date.map(micros),
            timezone: t.timezone.name(),
            remind_before: self.remind_before,
            recurrence: self.recurrence.as_deref(),
            series_id: t.series.map(|s| Hex(s.id.0)),
            series_anchor: t.series.and_then(|s| s.anchor).map(micros),
            occurrence: self.occurrence,
            predecessor_id: t.series.and_then(|s| s.predecessor).map(|p| p.0),
            created_at: micros(t.created_at),
            updated_at: micros(t.updated_at),
            completed_at: t.completed_at.map(micros),
            version: t.version,
            title_key: &self.title_key,
            search_text: &self.search_text,
        }
    }
}

/// A UUID serialised as 32 lower-case hex digits, for SQLite's `unhex`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Hex(pub(crate) Uuid);

impl serde::Serialize for Hex {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0.simple())
    }
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

/// Decodes a row selected with [`task_columns!`].
pub(crate) fn decode_task(row: &SqliteRow) -> PortResult<Task> {
    let id = TaskId(get::<i64>(row, "id")?);
    let bad = |field: &str, problem: &dyn std::fmt::Display| {
        corrupt(format!("task {id}: stored {field}"), problem.to_string())
    };
    let title = get::<String>(row, "title")?;
    let description = get::<String>(row, "description")?;
    let status = get::<String>(row, "status")?;
    let priority = get::<i64>(row, "priority")?;
    let timezone = get::<String>(row, "timezone")?;
    let tags_json = get::<String>(row, "tags")?;
    let tags: Vec<String> = serde_json::from_str(&tags_json).map_err(|e| bad("tags", &e))?;
    let remind_before = get::<Option<i64>>(row, "remind_before")?;
    let recurrence = get::<Option<String>>(row, "recurrence")?;
    let series_id = get_optional_uuid(row, "series_id")?;
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
                anchor: get_optional_instant(row, "series_anchor")?,
                occurrence,
                predecessor: get::<Option<i64>>(row, "predecessor_id")?.map(TaskId),
            })
        }
    };
    Ok(Task {
        id,
        user_id: UserId(get_uuid(row, "user_id")?),
        title: Title::parse(&title).map_err(|e| bad("title", &e))?,
        description: Description::parse(&description).map_err(|e| bad("description", &e))?,
        status: status.parse::<Status>().map_err(|e| bad("status", &e))?,
        priority: priority_of_rank(priority).ok_or_else(|| bad("priority", &priority))?,
        tags: Tags::parse(&tags).map_err(|e| bad("tags", &e))?,
        due_date: get_optional_instant(row, "due_date")?,
        timezone: TimeZone::parse(&timezone).map_err(|e| bad("timezone", &e))?,
        remind_before: remind_before
            .map(RemindBefore::new)
            .transpose()
            .map_err(|e| bad("remind_before", &e))?,
        recurrence: recurrence
            .map(|r| r.parse::<Recurrence>())
            .transpose()
            .map_err(|e| bad("recurrence", &e))?,
        series,
        created_at: get_instant(row, "created_at")?,
        updated_at: get_instant(row, "updated_at")?,
        completed_at: get_optional_instant(row, "completed_at")?,
        version: get(row, "version")?,
    })
}

/// The priority stored as `rank` (0 = high); `None` for any other number.
pub(crate) fn priority_of_rank(rank: i64) -> Option<Priority> {
    Priority::ALL
        .into_iter()
        .find(|p| i64::from(p.rank()) == rank)
}

#[cfg(test)]
mod tests {
    use super::*;
    use todo_core::model::NewTask;

    #[test]
    fn priority_ranks_are_exact() {
        assert_eq!(priority_of_rank(0), Some(Priority::High));
        assert_eq!(priority_of_rank(2), Some(Priority::Low));
        assert_eq!(priority_of_rank(3), None);
        assert_eq!(priority_of_rank(-1), None);
    }

    #[test]
    fn instants_round_trip_at_microsecond_precision() {
        let at = DateTime::parse_from_rfc3339("2030-06-15T12:00:00.123456Z")
            .unwrap()
            .to_utc();
        assert_eq!(instant(micros(at), "x").unwrap(), at);
        assert!(instant(i64::MAX, "x").is_err());
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
