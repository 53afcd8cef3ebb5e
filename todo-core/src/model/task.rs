//! The task aggregate, the validated input that creates it and the patch that changes it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use super::{
    parse_due_date, Description, Priority, RemindBefore, SeriesId, Status, Tags, TaskId, TimeZone,
    Title, UserId,
};
use crate::error::ValidationError;
use crate::recurrence::{CompletedOccurrence, NextOccurrence, Recurrence};

/// A user's task. Every field holds a valid value; change it through the methods below.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "TaskRecord", try_from = "TaskRecord")]
pub struct Task {
    /// Assigned by the repository.
    pub id: TaskId,
    /// Owner; every query is scoped to it.
    pub user_id: UserId,
    /// What to do.
    pub title: Title,
    /// Details.
    pub description: Description,
    /// Pending or completed.
    pub status: Status,
    /// High, medium or low.
    pub priority: Priority,
    /// Labels.
    pub tags: Tags,
    /// Deadline, if any (whole seconds, UTC).
    pub due_date: Option<DateTime<Utc>>,
    /// The zone whose wall clock recurrence follows.
    pub timezone: TimeZone,
    /// Reminder lead time; `None` means no reminder.
    pub remind_before: Option<RemindBefore>,
    /// How the task repeats, if it does.
    pub recurrence: Option<Recurrence>,
    /// The recurring series this occurrence belongs to.
    pub series: Option<Series>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was completed, while it is.
    pub completed_at: Option<DateTime<Utc>>,
    /// Incremented by every change; a stale version is a conflict.
    pub version: i64,
}

/// Where an occurrence stands in its recurring series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Series {
    /// Shared by all occurrences.
    pub id: SeriesId,
    /// The series start (RFC 5545 DTSTART); `None` until the series has a due date.
    pub anchor: Option<DateTime<Utc>>,
    /// 1-based number of this occurrence.
    pub occurrence: u32,
    /// The occurrence whose completion created this one; at most one successor per task.
    pub predecessor: Option<TaskId>,
}

impl Task {
    /// Builds a new pending task from validated input. `series_id` is used when it recurs.
    pub fn create(
        id: TaskId,
        user_id: UserId,
        new: NewTask,
        series_id: SeriesId,
        now: DateTime<Utc>,
    ) -> Task {
        let series = new.recurrence.as_ref().map(|_| Series {
            id: series_id,
            anchor: new.due_date,
            occurrence: 1,
            predecessor: None,
        });
        Task {
            id,
            user_id,
            title: new.title,
            description: new.description,
            status: Status::Pending,
            priority: new.priority,
            tags: new.tags,
            due_date: new.due_date,
            timezone: new.timezone,
            remind_before: new
                .remind_before
                .or(new.due_date.map(|_| RemindBefore::DEFAULT)),
            recurrence: new.recurrence,
            series,
            created_at: now,
            updated_at: now,
            completed_at: None,
            version: 1,
        }
    }

    /// When the reminder is due: `due_date - remind_before`, if both are set.
    pub fn remind_at(&self) -> Option<DateTime<Utc>> {
        Some(self.due_date? - self.remind_before?.duration())
    }

    /// Pending and past its due date.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status == Status::Pending && self.due_date.is_some_and(|due| due < now)
    }

    /// Whether a reminder should be scheduled now, and for when.
    ///
    /// The past-reminder rule: a `remind_at` already past fires at once while the due date is ahead,
    /// and is skipped once the due date has passed.
    pub fn reminder_due(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.status != Status::Pending {
            return None;
        }
        let remind_at = self.remind_at()?;
        let due = self.due_date?;
        if due <= now {
            return None;
        }
        Some(remind_at.max(now))
    }

    /// Applies a validated patch; `series_id` is used if the patch makes the task recur.
    /// Returns whether anything changed (the version is bumped only then).
    pub fn apply(&mut self, patch: TaskPatch, series_id: SeriesId, now: DateTime<Utc>) -> bool {
        let before = self.clone();
        if let Some(title) = patch.title {
            self.title = title;
        }
        if let Some(description) = patch.description {
            self.description = description;
        }
        if let Some(priority) = patch.priority {
            self.priority = priority;
        }
        if let Some(tags) = patch.tags {
            self.tags = tags;
        }
        if let Some(timezone) = patch.timezone {
            self.timezone = timezone;
        }
        if let Some(remind_before) = patch.remind_before {
            self.remind_before = remind_before;
        }
        if let Some(due_date) = patch.due_date {
            if due_date.is_some() && self.due_date.is_none() && patch.remind_before.is_none() {
                self.remind_before = self.remind_before.or(Some(RemindBefore::DEFAULT));
            }
            self.due_date = due_date;
            // Changing an occurrence's due date re-anchors its series there.
            if let Some(series) = &mut self.series {
                series.anchor = due_date;
            }
        }
        if let Some(recurrence) = patch.recurrence {
            match (&recurrence, &mut self.series) {
                (Some(_), None) => {
                    self.series = Some(Series {
                        id: series_id,
                        anchor: self.due_date,
                        occurrence: 1,
                        predecessor: None,
                    })
                }
                (Some(_), Some(series)) => series.anchor = self.due_date.or(series.anchor),
                (None, _) => self.series = None,
            }
            self.recurrence = recurrence;
        }
        let changed = *self != before;
        if changed {
            self.touch(now);
        }
        changed
    }

    /// Marks the task completed at `now`; returns false if it already was.
    pub fn complete(&mut self, now: DateTime<Utc>) -> bool {
        if self.status == Status::Completed {
            return false;
        }
        self.status = Status::Completed;
        self.completed_at = Some(now);
        self.touch(now);
        true
    }

    /// Marks the task pending again; returns false if it already was.
    pub fn reopen(&mut self, now: DateTime<Utc>) -> bool {
        if self.status == Status::Pending {
            return false;
        }
        self.status = Status::Pending;
        self.completed_at = None;
        self.touch(now);
        true
    }

    /// The occurrence after this completed one, by its recurrence rule; `None` when the task does not
    /// recur or its rule has ended.
    pub fn next_occurrence(&self) -> Option<NextOccurrence> {
        let recurrence = self.recurrence.as_ref()?;
        let series = self.series?;
        let completed = CompletedOccurrence {
            due: self.due_date,
            completed_at: self.completed_at?,
            series_anchor: series.anchor,
            occurrence: series.occurrence,
            timezone: self.timezone.tz(),
        };
        crate::recurrence::next_occurrence(recurrence, &completed)
    }

    /// The pending task that follows this completed one, with id `id`.
    pub fn successor(&self, id: TaskId, next: NextOccurrence, now: DateTime<Utc>) -> Option<Task> {
        let series = self.series?;
        Some(Task {
            id,
            status: Status::Pending,
            due_date: Some(next.due),
            series: Some(Series {
                id: series.id,
                anchor: Some(next.series_anchor),
                occurrence: next.occurrence,
                predecessor: Some(self.id),
            }),
            created_at: now,
            updated_at: now,
            completed_at: None,
            version: 1,
            remind_before: self.remind_before.or(Some(RemindBefore::DEFAULT)),
            ..self.clone()
        })
    }

    fn touch(&mut self, now: DateTime<Utc>) {
        self.updated_at = now.max(self.updated_at);
        self.version += 1;
    }
}

/// The raw fields of a create request, before validation (what a client sends).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct TaskInput {
    /// Required.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, example = "Buy groceries")
    )]
    pub title: String,
    /// Optional, empty by default.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 10000))]
    pub description: Option<String>,
    /// `high`, `medium` (default) or `low`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::model::Priority>))]
    pub priority: Option<String>,
    /// Tag names.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 20, example = json!(["home"])))]
    pub tags: Option<Vec<String>>,
    /// RFC 3339 date-time.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime, example = "2030-01-06T09:00:00Z"))]
    pub due_date: Option<String>,
    /// IANA zone, `UTC` by default.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = "Europe/London"))]
    pub timezone: Option<String>,
    /// Minutes; 60 by default when a due date is set.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub remind_before: Option<i64>,
    /// `"daily"`, `"weekly"`, `"monthly"` or `{"rrule": ..., "anchor"?: ...}`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::recurrence::Recurrence>))]
    pub recurrence: Option<serde_json::Value>,
}

/// Validated input for a new task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    /// Title.
    pub title: Title,
    /// Description.
    pub description: Description,
    /// Priority.
    pub priority: Priority,
    /// Tags.
    pub tags: Tags,
    /// Due date.
    pub due_date: Option<DateTime<Utc>>,
    /// Time zone.
    pub timezone: TimeZone,
    /// Reminder lead time (defaults to 60 minutes when a due date is set).
    pub remind_before: Option<RemindBefore>,
    /// Recurrence.
    pub recurrence: Option<Recurrence>,
}

impl NewTask {
    /// A task with only a title and every default.
    pub fn titled(title: &str) -> Result<Self, ValidationError> {
        Self::parse(TaskInput {
            title: title.to_owned(),
            ..TaskInput::default()
        })
    }

    /// Validates every field; the error names the first field that broke a rule.
    pub fn parse(input: TaskInput) -> Result<Self, ValidationError> {
        Ok(NewTask {
            title: Title::parse(&input.title)?,
            description: input
                .description
                .as_deref()
                .map(Description::parse)
                .transpose()?
                .unwrap_or_default(),
            priority: input
                .priority
                .as_deref()
                .map(|p| Priority::parse_for(p, "priority"))
                .transpose()?
                .unwrap_or_default(),
            tags: input
                .tags
                .as_deref()
                .map(Tags::parse)
                .transpose()?
                .unwrap_or_default(),
            due_date: input
                .due_date
                .as_deref()
                .map(|d| parse_due_date(d, "due_date"))
                .transpose()?,
            timezone: input
                .timezone
                .as_deref()
                .map(TimeZone::parse)
                .transpose()?
                .unwrap_or_default(),
            remind_before: input.remind_before.map(RemindBefore::new).transpose()?,
            recurrence: parse_recurrence(input.recurrence)?,
        })
    }
}

fn parse_recurrence(raw: Option<serde_json::Value>) -> Result<Option<Recurrence>, ValidationError> {
    match raw {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(value) => serde_json::from_value::<Recurrence>(value)
            .map(Some)
            .map_err(|e| ValidationError::new("recurrence", e.to_string())),
    }
}

/// The raw fields of a PATCH request. A field left out is unchanged; `null` clears a nullable one.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct TaskPatchInput {
    /// New title.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub title: Option<String>,
    /// New description (`null` clears).
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 10000))]
    pub description: Option<Option<String>>,
    /// New priority.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::model::Priority>))]
    pub priority: Option<String>,
    /// New tag set (`null` clears).
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<String>>, max_items = 20))]
    pub tags: Option<Option<Vec<String>>>,
    /// New due date (`null` clears).
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub due_date: Option<Option<String>>,
    /// New time zone.
    #[serde(default)]
    pub timezone: Option<String>,
    /// New lead time (`null` turns the reminder off).
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>, minimum = 0))]
    pub remind_before: Option<Option<i64>>,
    /// New recurrence (`null` stops recurring).
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::recurrence::Recurrence>))]
    pub recurrence: Option<Option<serde_json::Value>>,
    /// The version the client last saw; a different current version is a conflict.
    #[serde(default)]
    pub version: Option<i64>,
}

/// Distinguishes a field sent as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A validated change to a task. `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskPatch {
    /// New title.
    pub title: Option<Title>,
    /// New description.
    pub description: Option<Description>,
    /// New priority.
    pub priority: Option<Priority>,
    /// New tags.
    pub tags: Option<Tags>,
    /// New due date, or `Some(None)` to clear it.
    pub due_date: Option<Option<DateTime<Utc>>>,
    /// New time zone.
    pub timezone: Option<TimeZone>,
    /// New lead time, or `Some(None)` for no reminder.
    pub remind_before: Option<Option<RemindBefore>>,
    /// New recurrence, or `Some(None)` to stop recurring.
    pub recurrence: Option<Option<Recurrence>>,
    /// Expected current version (optimistic concurrency), if the client sent one.
    pub expected_version: Option<i64>,
}

impl TaskPatch {
    /// Validates every field present.
    pub fn parse(input: TaskPatchInput) -> Result<Self, ValidationError> {
        Ok(TaskPatch {
            title: input.title.as_deref().map(Title::parse).transpose()?,
            description: input
                .description
                .map(|d| Description::parse(d.as_deref().unwrap_or("")))
                .transpose()?,
            priority: input
                .priority
                .as_deref()
                .map(|p| Priority::parse_for(p, "priority"))
                .transpose()?,
            tags: input
                .tags
                .map(|t| Tags::parse(&t.unwrap_or_default()))
                .transpose()?,
            due_date: input
                .due_date
                .map(|d| {
                    d.as_deref()
                        .map(|d| parse_due_date(d, "due_date"))
                        .transpose()
                })
                .transpose()?,
            timezone: input.timezone.as_deref().map(TimeZone::parse).transpose()?,
            remind_before: input
                .remind_before
                .map(|r| r.map(RemindBefore::new).transpose())
                .transpose()?,
            recurrence: input.recurrence.map(parse_recurrence).transpose()?,
            expected_version: input.version,
        })
    }
}

/// The full-task JSON shape used in events (`task_data`) and by stores that keep documents.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TaskRecord {
    id: TaskId,
    user_id: UserId,
    title: Title,
    description: Description,
    status: Status,
    priority: Priority,
    tags: Tags,
    due_date: Option<DateTime<Utc>>,
    timezone: TimeZone,
    remind_before: Option<RemindBefore>,
    #[serde(default)]
    remind_at: Option<DateTime<Utc>>,
    recurrence: Option<Recurrence>,
    series_id: Option<SeriesId>,
    #[serde(default)]
    series_anchor: Option<DateTime<Utc>>,
    #[serde(default)]
    occurrence: Option<u32>,
    #[serde(default)]
    predecessor_id: Option<TaskId>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    version: i64,
}

impl From<Task> for TaskRecord {
    fn from(t: Task) -> Self {
        TaskRecord {
            remind_at: t.remind_at(),
            id: t.id,
            user_id: t.user_id,
            title: t.title,
            description: t.description,
            status: t.status,
            priority: t.priority,
            tags: t.tags,
            due_date: t.due_date,
            timezone: t.timezone,
            remind_before: t.remind_before,
            recurrence: t.recurrence,
            series_id: t.series.map(|s| s.id),
            series_anchor: t.series.and_then(|s| s.anchor),
            occurrence: t.series.map(|s| s.occurrence),
            predecessor_id: t.series.and_then(|s| s.predecessor),
            created_at: t.created_at,
            updated_at: t.updated_at,
            completed_at: t.completed_at,
            version: t.version,
        }
    }
}

impl TryFrom<TaskRecord> for Task {
    type Error = ValidationError;
    fn try_from(r: TaskRecord) -> Result<Self, Self::Error> {
        Ok(Task {
            id: r.id,
            user_id: r.user_id,
            title: r.title,
            description: r.description,
            status: r.status,
            priority: r.priority,
            tags: r.tags,
            due_date: r.due_date,
            timezone: r.timezone,
            remind_before: r.remind_before,
            recurrence: r.recurrence,
            series: r.series_id.map(|id| Series {
                id,
                anchor: r.series_anchor,
                occurrence: r.occurrence.unwrap_or(1),
                predecessor: r.predecessor_id,
            }),
            created_at: r.created_at,
            updated_at: r.updated_at,
            completed_at: r.completed_at,
            version: r.version,
        })
    }
}
