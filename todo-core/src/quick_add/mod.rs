//! Quick-add: a task from one line of plain words, read deterministically (no I/O, no LLM).
//!
//! [`parse`] reads a line in the user's time zone relative to a given `now`; [`canonical`] writes a task
//! back as the one line that parses to it. Every part below may appear anywhere in the line, in any
//! order; what no part recognises is the title (whitespace collapsed). Words are matched without regard
//! to case or to trailing `,` `.` `;` `?`. When a part appears twice, the first is used and the second
//! stays in the title.
//!
//! # Grammar
//!
//! **Dates** (optionally after `on`, `due`, `by`, `from` or `starting`):
//! - `today`, `tomorrow` (`tmrw`);
//! - a weekday, `friday` (also `fri`, `tue`, `thu`; `mon`, `wed`, `sat`, `sun` only in full): the next
//!   Friday whose time is still ahead, so today when it is Friday and the time has not passed (as
//!   Todoist does);
//! - `next friday`: the Friday of next week (weeks start on Monday); `next week`: next Monday;
//!   `next month`: the 1st of next month;
//! - `in 3 days`, `in 2 weeks`, `in 1 month`;
//! - `2026-12-24`; `dec 24`, `24 dec`, `december 24th` (the next such date still ahead), optionally
//!   followed by a year (`dec 24 2027`);
//! - `the 1st` (`on the 1st`): the next 1st of a month still ahead;
//! - an RFC 3339 instant, `2026-12-24T09:00:00-05:00` (what [`canonical`] writes for an instant no
//!   local time names, such as the second 01:30 of a fall-back night).
//!
//! **Times**: `9am`, `9 am`, `9:30pm`, `18:30`, `noon`, `midnight`, each optionally after `at`; a bare
//! hour only after `at` (`at 9` is 09:00). A date without a time is at **09:00**; a time without a date
//! is today if still ahead, else tomorrow.
//!
//! **Recurrence**:
//! - `daily`, `weekly`, `monthly`, `yearly` (`annually`);
//! - `every day`, `every week`, `every month`, `every year`, `every other week`, `every 3 days`,
//!   `every 2 weeks`, optionally `on monday and friday` after a week unit and `on the 1st` or
//!   `on the last day` after a month unit;
//! - `every weekday` (Monday to Friday), `every weekend`, `every friday`, `every monday and wednesday`
//!   (also `every mon, wed and fri`), `every 1st`, `every last day of the month`;
//! - `RRULE:FREQ=...` (any RFC 5545 rule, as the REST API takes it, `;anchor=completion` allowed).
//!
//! It becomes the preset `daily`, `weekly` or `monthly` when that repeats exactly alike from the first
//! occurrence (`every friday` is `weekly` from a Friday, `every month on the 1st` is `monthly` from a 1st;
//! the 29th to 31st stay rules, as the preset clamps to short months), else an RRULE
//! (`every weekday` is `FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR`). The first due date is the first occurrence
//! still ahead of `now`, at the time given or 09:00; with a date in the line (`every week from monday`),
//! the first occurrence on or after that date.
//!
//! **Priority**: `!high` `!medium` `!low`, `!1` `!2` `!3`, `p1` `p2` `p3`.
//!
//! **Tags**: `#home` (lower-cased; every `#word` is a tag).
//!
//! **Reminder**: `remind 30m before`, `remind me 2h before`, `remind 1 day before` (units `m`/`min`/
//! `minutes`, `h`/`hr`/`hours`, `d`/`days`, `w`/`weeks`).
//!
//! **Literal title**: a line that starts with a double-quoted text (`"meet friday" tomorrow`) takes it
//! as the start of the title, word for word; `\"` and `\\` escape inside it.
//!
//! # Time zones
//!
//! Dates are computed as local dates, then turned into instants by the recurrence engine's wall-clock
//! rules: a time skipped by a spring-forward gap moves forward by the gap, and a time that occurs twice
//! is the earlier instant. So `tomorrow 9am` is 09:00 local whether or not the clocks change tonight.
//!
//! # Example
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use todo_core::quick_add::{canonical, parse};
//!
//! let now = Utc.with_ymd_and_hms(2026, 3, 27, 12, 0, 0).unwrap(); // a Friday
//! let london = chrono_tz::Europe::London;
//! let task = parse("call mum tomorrow 6pm remind 30m before #family", now, london)?;
//! assert_eq!(task.title, "call mum");
//! assert_eq!(task.due_date.as_deref(), Some("2026-03-28T18:00:00Z"));
//! assert_eq!(task.remind_before, Some(30));
//! assert_eq!(canonical(&task, london), "call mum 2026-03-28 18:00 remind 30m before #family");
//! # Ok::<(), todo_core::error::ValidationError>(())
//! ```

mod canonical;
mod marks;
mod repeat;
mod title;
mod when;
mod words;

#[cfg(test)]
mod tests;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};
use chrono_tz::Tz;

use crate::error::ValidationError;
use crate::model::{parse_due_date, NewTask, TaskInput};
use crate::recurrence::wall_clock::{to_instant, to_local};
use crate::recurrence::Recurrence;

pub use canonical::canonical;
use when::{date_phrase, resolve, time_phrase, DEFAULT_TIME};
use words::Words;

use repeat::RepeatPhrase;
use when::DatePhrase;

/// `now` on the user's wall clock: what "today" and "still ahead" mean.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    now: DateTime<Utc>,
    timezone: Tz,
    today: NaiveDate,
}

impl Clock {
    /// The clock at `now` in `timezone`.
    pub(crate) fn new(now: DateTime<Utc>, timezone: Tz) -> Self {
        let today = to_local(timezone, now).map_or(NaiveDate::MIN, |local| local.date());
        Self {
            now,
            timezone,
            today,
        }
    }

    /// Today's local date.
    pub(crate) fn today(&self) -> NaiveDate {
        self.today
    }

    /// The instant a local date-time stands for (the recurrence engine's DST rules).
    pub(crate) fn instant(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        to_instant(self.timezone, local)
    }

    /// Whether a local date-time is still ahead of `now`.
    pub(crate) fn is_ahead(&self, local: NaiveDateTime) -> bool {
        self.instant(local).is_some_and(|at| at > self.now)
    }
}

/// Everything a line said, before it is resolved against the clock.
#[derive(Debug, Default)]
struct Phrases {
    repeat: Option<RepeatPhrase>,
    reminder: Option<u64>,
    priority: Option<crate::model::Priority>,
    tags: Vec<String>,
    instant: Option<DateTime<Utc>>,
    date: Option<DatePhrase>,
    time: Option<NaiveTime>,
}

/// Reads `text` as a new task, with dates in `timezone` relative to `now`. The answer is the same
/// input the REST API takes (`POST /api/v1/tasks`), and always passes [`NewTask::parse`]. See the
/// [module documentation](self) for what the line may say.
///
/// # Errors
///
/// A line with nothing that can be a title (field `text`); a date outside years 1 to 9999
/// (`due_date`); an invalid rule or interval (`recurrence`); a reminder over a year (`remind_before`);
/// an invalid tag (`tags`); a title over 200 characters (`title`).
pub fn parse(text: &str, now: DateTime<Utc>, timezone: Tz) -> Result<TaskInput, ValidationError> {
    let clock = Clock::new(now, timezone);
    let (literal, rest) = title::split_literal(text);
    let mut words = Words::new(rest);
    let phrases = Phrases {
        repeat: words
            .claim(repeat::every_phrase)
            .or_else(|| words.claim(repeat::frequency_word)),
        reminder: words.claim(marks::reminder),
        priority: words.claim(marks::priority),
        tags: words.claim_each(marks::tag),
        instant: words.claim(|keys| instant(keys.first()?).map(|at| (1, at))),
        date: words.claim(date_phrase),
        time: words.claim(time_phrase),
    };
    let title = title::join(literal, &words.rest());
    if title.trim().is_empty() {
        return Err(ValidationError::new("text", "say what the task is"));
    }
    let (due, recurrence) = schedule(&phrases, &clock)?;
    let input = TaskInput {
        title,
        description: None,
        priority: phrases.priority.map(|p| p.as_str().to_owned()),
        tags: (!phrases.tags.is_empty()).then_some(phrases.tags),
        due_date: due.map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, true)),
        timezone: Some(timezone.name().to_owned()),
        remind_before: phrases
            .reminder
            .map(|m| i64::try_from(m).unwrap_or(i64::MAX)),
        recurrence: recurrence
            .map(|r| serde_json::to_value(&r))
            .transpose()
            .map_err(|e| ValidationError::new("recurrence", e.to_string()))?,
    };
    NewTask::parse(input.clone())?;
    Ok(input)
}

/// The due date and recurrence the phrases stand for.
fn schedule(
    phrases: &Phrases,
    clock: &Clock,
) -> Result<(Option<DateTime<Utc>>, Option<Recurrence>), ValidationError> {
    let time = phrases.time.unwrap_or(DEFAULT_TIME);
    let outside = || ValidationError::new("due_date", "that date is outside the calendar");
    let date = phrases
        .date
        .map(|phrase| resolve(phrase, time, clock).ok_or_else(outside))
        .transpose()?;
    let at = |date: NaiveDate| clock.instant(date.and_time(time)).ok_or_else(outside);
    match &phrases.repeat {
        Some(RepeatPhrase::Pattern(pattern)) => {
            let recurrence = pattern.recurrence()?;
            let due = match phrases.instant {
                Some(instant) => instant,
                None => at(pattern.first_date(date, time, clock).ok_or_else(outside)?)?,
            };
            Ok((Some(due), Some(recurrence)))
        }
        Some(RepeatPhrase::Rule(rule)) => {
            let recurrence = rule.clone()?;
            let due = match (phrases.instant, date) {
                (Some(instant), _) => instant,
                (None, Some(date)) => at(date)?,
                (None, None) => {
                    first_rule_occurrence(&recurrence, time, clock).ok_or_else(outside)?
                }
            };
            Ok((Some(due), Some(recurrence)))
        }
        None => {
            let due = match (phrases.instant, date, phrases.time) {
                (Some(instant), _, _) => Some(instant),
                (None, Some(date), _) => Some(at(date)?),
                (None, None, Some(_)) => {
                    let day = when::first_ahead(clock.today(), 2, time, clock, |_| true);
                    Some(at(day.ok_or_else(outside)?)?)
                }
                (None, None, None) => None,
            };
            Ok((due, None))
        }
    }
}

/// The instant a phrase made only of a date and/or a time stands for (`friday 10am`, `next week`,
/// `in 3 days`), read as [`parse`] reads them; `None` when any word is something else.
pub(crate) fn moment(text: &str, now: DateTime<Utc>, timezone: Tz) -> Option<DateTime<Utc>> {
    let clock = Clock::new(now, timezone);
    let mut words = Words::new(text);
    let phrases = Phrases {
        instant: words.claim(|keys| instant(keys.first()?).map(|at| (1, at))),
        date: words.claim(date_phrase),
        time: words.claim(time_phrase),
        ..Phrases::default()
    };
    if !words.rest().is_empty() {
        return None;
    }
    schedule(&phrases, &clock).ok()?.0
}

/// The first occurrence still ahead of a raw rule started today at `time`.
fn first_rule_occurrence(
    recurrence: &Recurrence,
    time: NaiveTime,
    clock: &Clock,
) -> Option<DateTime<Utc>> {
    // A rule that has not occurred within this many occurrences of today is not worth waiting for.
    const LOOKAHEAD: usize = 10_000;
    let start = clock.instant(clock.today().and_time(time))?;
    recurrence
        .occurrences(start, clock.timezone)
        .take(LOOKAHEAD)
        .find(|at| *at > clock.now)
}

/// An RFC 3339 instant typed as one word (`2026-12-24T09:00:00Z`).
fn instant(key: &str) -> Option<DateTime<Utc>> {
    if key.len() < 20 || key.as_bytes().get(10) != Some(&b't') {
        return None;
    }
    parse_due_date(key, "due_date").ok()
}
