//! The private calendar feed: a user's dated tasks as one RFC 5545 iCalendar document.
//!
//! Pure and deterministic: the same tasks give the same bytes, so the server can derive an `ETag` from
//! the text and a calendar client polling the feed downloads it again only after a change.
//!
//! # Why VEVENT and not VTODO
//!
//! RFC 5545 has a to-do component, but Google Calendar ignores VTODO altogether and Apple Calendar shows
//! subscribed VTODOs nowhere; people subscribe to this feed to see their deadlines *in their calendar*.
//! Each pending task with a due date is therefore a VEVENT that starts at the due date and lasts
//! [`EVENT_MINUTES`], with the task's reminder as a VALARM (`TRIGGER:-PT{remind_before}M`).
//!
//! # Recurring tasks
//!
//! A recurring series appears once, as its pending occurrence with an RRULE: DTSTART is the pending
//! occurrence's due date in the task's zone (`DTSTART;TZID=Europe/Paris:…`), and the rule is written so
//! that its expansion from there equals the occurrences the recurrence engine computes from the series
//! anchor (see `recurrence::calendar`). Completed occurrences are not in the feed, so nothing done comes
//! back as a past instance, and each series has one UID for its lifetime (`series-{id}@todo`), so a
//! client replaces the event when the next occurrence takes over instead of showing both.
//!
//! # Time zones
//!
//! DTSTART carries the task's IANA zone name as its TZID without a VTIMEZONE: Google Calendar, Apple
//! Calendar, Thunderbird and Outlook resolve IANA names, and python's `icalendar` does too. Tasks in
//! UTC are written in UTC (`…Z`).

mod content;
mod secret;

use chrono::{DateTime, Utc};

use crate::model::{Priority, Task};
use crate::recurrence::calendar::{feed_rule, series_start};
use content::{escape_text, Document};
pub use secret::{FeedDigest, FeedSecret};

/// How long a task's event lasts in a calendar, in minutes: long enough to be seen, short enough not
/// to block the day.
pub const EVENT_MINUTES: u32 = 15;

/// The product identifier written in every feed.
const PRODID: &str = "-//todo//calendar feed 1.0//EN";

/// A strong HTTP entity tag for a rendered feed (quotes included): a digest of its bytes, so it changes
/// exactly when the document does.
#[must_use]
pub fn entity_tag(document: &str) -> String {
    use sha2::{Digest as _, Sha256};
    let digest = Sha256::digest(document.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Renders the user's tasks as an iCalendar document (CRLF lines, folded at 75 octets).
///
/// Tasks without a due date and completed tasks are left out; the others appear in the order given.
/// `calendar_name` is shown by clients as the calendar's name (`X-WR-CALNAME`).
#[must_use]
pub fn render_feed(calendar_name: &str, tasks: &[Task]) -> String {
    let mut doc = Document::default();
    doc.line("BEGIN", "VCALENDAR");
    doc.line("VERSION", "2.0");
    doc.line("PRODID", PRODID);
    doc.line("CALSCALE", "GREGORIAN");
    doc.line("METHOD", "PUBLISH");
    doc.line("X-WR-CALNAME", &escape_text(calendar_name));
    for task in tasks {
        if task.completed_at.is_none() {
            if let Some(due) = task.due_date {
                event(&mut doc, task, due);
            }
        }
    }
    doc.line("END", "VCALENDAR");
    doc.finish()
}

fn utc_stamp(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

fn event(doc: &mut Document, task: &Task, due: DateTime<Utc>) {
    let tz = task.timezone.tz();
    doc.line("BEGIN", "VEVENT");
    let uid = match &task.series {
        Some(series) if task.recurrence.is_some() => format!("series-{}@todo", series.id),
        _ => format!("task-{}@todo", task.id),
    };
    doc.line("UID", &uid);
    doc.line("DTSTAMP", &utc_stamp(task.updated_at));
    doc.line("CREATED", &utc_stamp(task.created_at));
    doc.line("LAST-MODIFIED", &utc_stamp(task.updated_at));
    if tz == chrono_tz::UTC {
        doc.line("DTSTART", &utc_stamp(due));
    } else {
        let anchor = task.series.and_then(|s| s.anchor).unwrap_or(due);
        let local = match &task.recurrence {
            Some(_) => series_start(anchor, due, tz),
            None => None,
        }
        .unwrap_or_else(|| due.with_timezone(&tz).naive_local());
        let local = local.format("%Y%m%dT%H%M%S").to_string();
        doc.line(&format!("DTSTART;TZID={}", tz.name()), &local);
    }
    doc.line("DURATION", &format!("PT{EVENT_MINUTES}M"));
    if let Some(recurrence) = &task.recurrence {
        let (anchor, occurrence) = task
            .series
            .map_or((due, 1), |s| (s.anchor.unwrap_or(due), s.occurrence));
        if let Some(rule) = feed_rule(recurrence, anchor, due, occurrence, tz) {
            doc.line("RRULE", &rule);
        }
    }
    doc.line("SUMMARY", &escape_text(task.title.as_str()));
    if !task.description.as_str().is_empty() {
        doc.line("DESCRIPTION", &escape_text(task.description.as_str()));
    }
    let tags: Vec<String> = task.tags.iter().map(|t| escape_text(t.as_str())).collect();
    if !tags.is_empty() {
        doc.line("CATEGORIES", &tags.join(","));
    }
    let priority = match task.priority {
        Priority::High => "1",
        Priority::Medium => "5",
        Priority::Low => "9",
    };
    doc.line("PRIORITY", priority);
    doc.line("TRANSP", "TRANSPARENT");
    if let Some(before) = task.remind_before {
        doc.line("BEGIN", "VALARM");
        doc.line("ACTION", "DISPLAY");
        doc.line("TRIGGER", &format!("-PT{}M", before.minutes()));
        doc.line("DESCRIPTION", &escape_text(task.title.as_str()));
        doc.line("END", "VALARM");
    }
    doc.line("END", "VEVENT");
}

#[cfg(test)]
mod tests;
