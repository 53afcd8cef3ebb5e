//! When a task is due and when to remind: its time zone, due date and reminder lead time.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// An IANA time zone name such as `Europe/London`; recurrence runs on its wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    /// Checks an IANA time zone name.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        raw.trim().parse::<chrono_tz::Tz>().map(Self).map_err(|_| {
            ValidationError::new("timezone", format!("unknown IANA time zone `{raw}`"))
        })
    }

    /// The zone for date arithmetic.
    pub fn tz(self) -> chrono_tz::Tz {
        self.0
    }

    /// The IANA name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        Self(chrono_tz::UTC)
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TimeZone {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for TimeZone {
    type Error = ValidationError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<TimeZone> for String {
    fn from(tz: TimeZone) -> Self {
        tz.name().to_owned()
    }
}

/// Minutes before the due date at which to remind: 0 (at the due time) up to one year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct RemindBefore(u32);

impl RemindBefore {
    /// Longest lead time: one year, in minutes.
    pub const MAX_MINUTES: u32 = 525_600;
    /// The longest lead time.
    pub const MAX: RemindBefore = RemindBefore(Self::MAX_MINUTES);
    /// Used when a due date is set without a lead time.
    pub const DEFAULT: RemindBefore = RemindBefore(60);

    /// Checks a lead time in minutes.
    pub fn new(minutes: i64) -> Result<Self, ValidationError> {
        u32::try_from(minutes)
            .ok()
            .filter(|m| *m <= Self::MAX_MINUTES)
            .map(Self)
            .ok_or_else(|| {
                ValidationError::new(
                    "remind_before",
                    format!("must be between 0 and {} minutes", Self::MAX_MINUTES),
                )
            })
    }

    /// The lead time in minutes.
    pub fn minutes(self) -> u32 {
        self.0
    }

    /// The lead time as a duration.
    pub fn duration(self) -> Duration {
        Duration::minutes(i64::from(self.0))
    }
}

impl TryFrom<i64> for RemindBefore {
    type Error = ValidationError;
    fn try_from(minutes: i64) -> Result<Self, Self::Error> {
        Self::new(minutes)
    }
}

impl From<RemindBefore> for i64 {
    fn from(r: RemindBefore) -> Self {
        i64::from(r.0)
    }
}

/// Parses an RFC 3339 due date (any offset) into UTC, truncated to whole seconds.
///
/// Dates before year 1 or after 9999 are rejected so every store can hold them.
pub fn parse_due_date(raw: &str, field: &str) -> Result<DateTime<Utc>, ValidationError> {
    let parsed = DateTime::parse_from_rfc3339(raw.trim()).map_err(|_| {
        ValidationError::new(field, format!("`{raw}` is not an RFC 3339 date-time"))
    })?;
    let utc = parsed.with_timezone(&Utc).trunc_subsecs(0);
    if !(1..=9999).contains(&chrono::Datelike::year(&utc)) {
        return Err(ValidationError::new(
            field,
            "year must be between 1 and 9999",
        ));
    }
    Ok(utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(
            TimeZone::parse("America/New_York").unwrap().name(),
            "America/New_York"
        );
        assert_eq!(
            TimeZone::parse("Mars/Olympus").unwrap_err().field,
            "timezone"
        );
        assert_eq!(TimeZone::default().name(), "UTC");
    }

    #[test]
    fn remind_before_is_bounded() {
        assert_eq!(RemindBefore::new(0).unwrap().minutes(), 0);
        assert!(RemindBefore::new(-1).is_err());
        assert!(RemindBefore::new(525_601).is_err());
    }

    #[test]
    fn due_dates_are_normalised_to_utc_seconds() {
        let due = parse_due_date("2026-03-08T09:00:00.750-05:00", "due_date").unwrap();
        assert_eq!(due.to_rfc3339(), "2026-03-08T14:00:00+00:00");
        assert_eq!(
            parse_due_date("tomorrow", "due_date").unwrap_err().field,
            "due_date"
        );
    }
}
