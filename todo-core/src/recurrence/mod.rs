//! Recurrence: the presets and RFC 5545 rules that roll a task forward, computed on the wall clock of the
//! task's time zone.
//!
//! One function, [`next_occurrence`], answers "what is the next occurrence after this one was completed at
//! time t". Everything else here parses and describes rules.
//!
//! # Rules
//!
//! - [`Recurrence::Daily`], [`Recurrence::Weekly`] and [`Recurrence::Monthly`] repeat the series anchor's
//!   local date-time every day, week or month. Months are added to the anchor, not to the previous
//!   occurrence, so a series anchored on the 31st clamps to shorter months' last day and comes back:
//!   Jan 31 → Feb 29 → Mar 31.
//! - [`Recurrence::Rule`] is any RFC 5545 RRULE ([`CustomRule::parse`]) whose DTSTART is the series anchor's
//!   local date-time in the task's zone (the `TZID=` form). It follows RFC 5545 exactly, as python-dateutil
//!   does: a date that does not exist (Feb 30, the 5th Monday of a short month) is skipped, not clamped.
//!   A test checks hundreds of random rules against python-dateutil.
//!
//! # Time zones
//!
//! Occurrences are local date-times first: a 09:00 weekly task stays at 09:00 local across DST changes.
//! A local time skipped by a spring-forward gap moves forward by the gap (02:30 becomes 03:30), and a time
//! repeated at a fall-back is the earlier of its two instants. Both mean "read with the offset in force
//! before the transition", which is what Python's `zoneinfo` does with `fold=0`.
//!
//! # The next occurrence
//!
//! [`next_occurrence`] returns the first occurrence strictly after the completed one's due date and
//! strictly after its completion time: occurrences missed while the task was overdue are skipped, never
//! piled up. It uses the recorded completion time, not the clock, so replaying a completion gives the
//! same answer.
//!
//! - [`Anchor::Due`] (and every preset): the series keeps its start. COUNT counts rule occurrences from it
//!   (skipped ones count), UNTIL ends it, and either yields `None` when no occurrence is left.
//! - [`Anchor::Completion`]: the rule restarts at the completion time, truncated to the minute ("every 3
//!   days after I do it"), and the next occurrence is the first after the completion, even if the task
//!   was done before its due date. COUNT then limits the number of occurrences in the series, by
//!   [`CompletedOccurrence::occurrence`]; UNTIL applies as usual.
//! - A completed occurrence without a due date also restarts the series at its completion time.
//!
//! # Limits
//!
//! [`CustomRule::parse`] refuses what a task list cannot use or the computation cannot bound: MINUTELY and
//! SECONDLY, more than 96 occurrences a day, COUNT above 10 000, a BYDAY that mixes plain and ordinal
//! weekdays (RFC 5545 means either kind, python-dateutil and the `rrule` crate keep only days that match
//! both) and a rule that never occurs. A rule that occurs for some starts but not for a given one (say
//! `FREQ=YEARLY;BYMONTH=2` started on the 30th) simply has no next occurrence. Dates are kept within years
//! 1 to 9999. Finding the next occurrence never walks the series from a distant start: a rule without
//! COUNT restarts at an aligned period just before the completion, and one with COUNT walks at most COUNT
//! occurrences.
//!
//! # Example
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use todo_core::recurrence::{next_occurrence, CompletedOccurrence, Recurrence};
//!
//! // Every other Monday and Wednesday, 09:00 in New York.
//! let rule: Recurrence = "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE".parse()?;
//! let due = Utc.with_ymd_and_hms(2026, 3, 4, 14, 0, 0).unwrap(); // Wed 09:00 EST
//! let completed = CompletedOccurrence {
//!     due: Some(due),
//!     completed_at: Utc.with_ymd_and_hms(2026, 3, 4, 18, 0, 0).unwrap(),
//!     series_anchor: Some(Utc.with_ymd_and_hms(2026, 3, 2, 14, 0, 0).unwrap()), // Mon Mar 2
//!     occurrence: 2,
//!     timezone: chrono_tz::America::New_York,
//! };
//! let next = next_occurrence(&rule, &completed).expect("the rule does not end");
//! // Monday two weeks on, still 09:00 local, now EDT.
//! assert_eq!(next.due, Utc.with_ymd_and_hms(2026, 3, 16, 13, 0, 0).unwrap());
//! assert_eq!(next.occurrence, 3);
//! # Ok::<(), todo_core::error::ValidationError>(())
//! ```

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

pub(crate) mod calendar;
mod engine;
mod rule;
mod series;
pub(crate) mod wall_clock;
mod wire;

pub use series::Occurrences;

use rule::RuleParts;
use wall_clock::{to_instant, to_local, whole_minutes, whole_seconds};

/// How a task repeats.
///
/// Serialises as `"daily"`, `"weekly"`, `"monthly"` or `{"rrule": "...", "anchor": "due" | "completion"}`
/// (deserialising validates the rule); `Display`/`FromStr` give a one-line storage text such as
/// `RRULE:FREQ=DAILY;INTERVAL=3;anchor=completion`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recurrence {
    /// Every day at the anchor's local time.
    Daily,
    /// Every week on the anchor's weekday and local time.
    Weekly,
    /// Every month on the anchor's day (clamped to the month's last day) and local time.
    Monthly,
    /// Any RFC 5545 RRULE.
    Rule(CustomRule),
}

impl Recurrence {
    /// The occurrences of a series that starts at `series_start` (its DTSTART, to the second) in
    /// `timezone`, in order, as instants; for previews and tests. A custom rule runs as written from that
    /// start, COUNT and UNTIL included, whatever its anchor, and its start is an occurrence only if it
    /// matches the rule (as in python-dateutil). Occurrences are limited to years 1 to 9999.
    #[must_use]
    pub fn occurrences(&self, series_start: DateTime<Utc>, timezone: Tz) -> Occurrences {
        match to_local(timezone, series_start) {
            Some(start) => Occurrences::new(self, whole_seconds(start), timezone),
            None => Occurrences::none(),
        }
    }
}

/// What a custom rule's occurrences follow after a completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// The rule keeps its series start; the next occurrence follows the completed one's due date.
    #[default]
    Due,
    /// The rule restarts from the completion time ("every!" in Todoist).
    Completion,
}

/// A validated RFC 5545 RRULE (without DTSTART; the series supplies it) and its anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomRule {
    rrule: String,
    anchor: Anchor,
    parts: Box<RuleParts>,
}

impl CustomRule {
    /// Parses and validates an RRULE such as `FREQ=WEEKLY;BYDAY=MO,WE;INTERVAL=2`.
    ///
    /// Accepts an optional `RRULE:` prefix and any letter case. Refuses, with a message naming the problem:
    /// an empty rule or one over 500 characters; DTSTART, EXDATE, RDATE or EXRULE (the series supplies its
    /// start); FREQ=MINUTELY or SECONDLY; COUNT outside 1..=10 000 or together with UNTIL; an UNTIL that is
    /// not a UTC date-time (`20261231T235959Z`); values out of range or parts RFC 5545 forbids together;
    /// more than 96 occurrences a day; and a rule that can never occur (`BYMONTH=2;BYMONTHDAY=30`).
    pub fn parse(rrule: &str, anchor: Anchor) -> Result<Self, ValidationError> {
        let parts = RuleParts::parse(rrule)?;
        Ok(Self {
            rrule: parts.to_string(),
            anchor,
            parts: Box::new(parts),
        })
    }

    /// The normalised rule text: upper case, parts in a fixed order, lists sorted, defaults left out.
    #[must_use]
    pub fn rrule(&self) -> &str {
        &self.rrule
    }

    /// What the rule follows after a completion.
    #[must_use]
    pub fn anchor(&self) -> Anchor {
        self.anchor
    }

    pub(crate) fn parts(&self) -> &RuleParts {
        &self.parts
    }
}

/// Where a completed occurrence stood in its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompletedOccurrence {
    /// The completed occurrence's due date, if it had one.
    pub due: Option<DateTime<Utc>>,
    /// When it was completed.
    pub completed_at: DateTime<Utc>,
    /// The series start (RFC 5545 DTSTART) as an instant; its local date-time in `timezone` is the anchor.
    /// `None` means the due date (or, without one, the completion time) starts the series.
    pub series_anchor: Option<DateTime<Utc>>,
    /// 1-based number of this occurrence in its series.
    pub occurrence: u32,
    /// The task's time zone, in which the rule runs on the wall clock.
    pub timezone: Tz,
}

/// The occurrence that follows a completed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextOccurrence {
    /// Its due date.
    pub due: DateTime<Utc>,
    /// The series start to carry forward.
    pub series_anchor: DateTime<Utc>,
    /// Its 1-based number in the series.
    pub occurrence: u32,
}

/// The next occurrence after `completed`, or `None` when the rule has ended (COUNT, UNTIL).
///
/// See the [module documentation](self) for which occurrence that is. Pure and deterministic; walks at most
/// a few periods of the rule (or, for a rule with COUNT anchored on due dates, at most COUNT occurrences).
#[must_use]
pub fn next_occurrence(
    recurrence: &Recurrence,
    completed: &CompletedOccurrence,
) -> Option<NextOccurrence> {
    let tz = completed.timezone;
    let anchor = series::anchor_of(recurrence);
    let (start, after) = match completed.due {
        Some(due) if anchor == Anchor::Due => {
            let start = completed.series_anchor.unwrap_or(due);
            (
                whole_seconds(to_local(tz, start)?),
                due.max(completed.completed_at),
            )
        }
        _ => (
            whole_minutes(to_local(tz, completed.completed_at)?),
            completed.completed_at,
        ),
    };
    if let (Anchor::Completion, Recurrence::Rule(rule)) = (anchor, recurrence) {
        if rule
            .parts()
            .count
            .is_some_and(|count| completed.occurrence >= count)
        {
            return None;
        }
    }
    let series_anchor = to_instant(tz, start)?;
    let due = series::first_after(recurrence, start, tz, after, anchor == Anchor::Due)?;
    Some(NextOccurrence {
        due,
        series_anchor,
        occurrence: completed.occurrence.saturating_add(1),
    })
}

#[cfg(test)]
mod tests;
