//! Recurrence: the presets and RFC 5545 rules that roll a task forward, computed on the wall clock of the
//! task's time zone.
//!
//! One function, [`next_occurrence`], answers "what is the next occurrence after this one was completed at
//! time t". Everything else here parses and describes rules.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// How a task repeats.
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
}

impl CustomRule {
    /// Parses and validates an RRULE such as `FREQ=WEEKLY;BYDAY=MO,WE;INTERVAL=2`.
    pub fn parse(rrule: &str, anchor: Anchor) -> Result<Self, ValidationError> {
        let _ = (rrule, anchor);
        Err(ValidationError::new("recurrence", "custom rules are not supported yet"))
    }

    /// The normalised rule text.
    pub fn rrule(&self) -> &str {
        &self.rrule
    }

    /// What the rule follows after a completion.
    pub fn anchor(&self) -> Anchor {
        self.anchor
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
pub fn next_occurrence(recurrence: &Recurrence, completed: &CompletedOccurrence) -> Option<NextOccurrence> {
    let _ = (recurrence, completed);
    None
}
