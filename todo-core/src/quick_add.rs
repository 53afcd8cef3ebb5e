//! Quick-add: a task from one line of plain words, read deterministically (no I/O, no LLM).
//!
//! The full grammar (dates, times, recurrence, priority, tags, reminders) is being written; until then
//! the whole line is the title.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::error::ValidationError;
use crate::model::TaskInput;

/// Reads `text` as a new task, with dates in `timezone` relative to `now`. The answer is the same
/// input the REST API takes (`POST /api/v1/tasks`), so it is validated by the same rules.
///
/// # Errors
///
/// A line with nothing that can be a title (field `text`).
pub fn parse(text: &str, now: DateTime<Utc>, timezone: Tz) -> Result<TaskInput, ValidationError> {
    let _ = now;
    let title = text.trim();
    if title.is_empty() {
        return Err(ValidationError::new("text", "say what the task is"));
    }
    Ok(TaskInput {
        title: title.to_owned(),
        timezone: Some(timezone.name().to_owned()),
        ..TaskInput::default()
    })
}
