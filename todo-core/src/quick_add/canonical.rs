//! The canonical quick-add line of a task: the one line that [`parse`](super::parse) reads back as the
//! same task, whatever the clock says.

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;

use super::marks::reminder_text;
use super::title::quote;
use crate::model::{parse_due_date, Priority, TaskInput};
use crate::recurrence::wall_clock::{to_instant, to_local, whole_minutes};
use crate::recurrence::Recurrence;

/// The canonical quick-add line of `input` in `timezone`: the one line that [`parse`](super::parse)
/// reads back as the same task, whatever the clock says.
///
/// Form: `title YYYY-MM-DD HH:MM recurrence remind Nu before !priority #tag...`, each part only when
/// set. The due date is the local date and 24-hour time in `timezone`, or an RFC 3339 instant when no
/// local time names it exactly (seconds, or the second pass of a fall-back hour). The recurrence is its
/// storage text (`daily`, `weekly`, `monthly` or `RRULE:...`), read back as written. The title is
/// quoted when its words would otherwise be read as parts (`"meet friday" 2026-03-28 09:00`).
///
/// Parsing it in the same zone gives back the same title, due date, recurrence, priority, tags and
/// reminder. Not carried: the description (quick-add has no syntax for it), and the absence of a due
/// date on a recurring task (quick-add gives every recurring task its first occurrence). Values that
/// the REST API would refuse are written as they are and refused again when parsed.
#[must_use]
pub fn canonical(input: &TaskInput, timezone: Tz) -> String {
    let due = input
        .due_date
        .as_deref()
        .and_then(|d| parse_due_date(d, "due_date").ok());
    let parts = parts(input, due, timezone);
    let title = input.title.trim();
    let plain = line(title.to_owned(), &parts);
    let quoted = line(quote(title), &parts);
    let now = due.unwrap_or(DateTime::UNIX_EPOCH);
    let read = |line: &str| super::parse(line, now, timezone).ok();
    let read_plain = read(&plain);
    if read_plain.is_some() && read_plain == read(&quoted) {
        plain
    } else {
        quoted
    }
}

fn line(title: String, parts: &[String]) -> String {
    let mut line = title;
    for part in parts {
        line.push(' ');
        line.push_str(part);
    }
    line
}

/// Everything but the title, in canonical order.
fn parts(input: &TaskInput, due: Option<DateTime<Utc>>, timezone: Tz) -> Vec<String> {
    let mut parts = Vec::new();
    if let Some(due) = due {
        parts.push(due_text(due, timezone));
    }
    if let Some(recurrence) = input
        .recurrence
        .as_ref()
        .and_then(|r| serde_json::from_value::<Recurrence>(r.clone()).ok())
    {
        parts.push(recurrence.to_string());
    }
    if let Some(minutes) = input.remind_before {
        parts.push(reminder_text(minutes));
    }
    if let Some(priority) = input
        .priority
        .as_deref()
        .and_then(|p| Priority::parse_for(p, "priority").ok())
    {
        parts.push(format!("!{}", priority.as_str()));
    }
    for tag in input.tags.iter().flatten() {
        parts.push(format!("#{}", tag.trim().to_lowercase()));
    }
    parts
}

/// `2026-12-24 09:00` when that local time is exactly `due`, else `due` in RFC 3339.
fn due_text(due: DateTime<Utc>, timezone: Tz) -> String {
    let local = to_local(timezone, due).map(whole_minutes);
    match local {
        Some(local) if to_instant(timezone, local) == Some(due) => {
            local.format("%Y-%m-%d %H:%M").to_string()
        }
        _ => due.to_rfc3339_opts(SecondsFormat::Secs, true),
    }
}
