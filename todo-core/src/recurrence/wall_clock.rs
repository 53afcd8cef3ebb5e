//! Local wall-clock date-times and the instants they stand for in a time zone.
//!
//! Recurrence runs on the wall clock, so every occurrence is first a local date-time and only then an
//! instant. Two local date-times a day are not one instant each, and this module owns the single policy
//! for them: a time skipped by a spring-forward gap is read with the offset in force before the gap (so
//! 02:30 on the day New York skips 02:00–03:00 becomes 03:30 EDT, "forward by the gap"), and a time that
//! occurs twice at a fall-back is the earlier instant (the first 01:30). Both are "the offset in force
//! before the transition", which is also what Python's `zoneinfo` does with `fold=0`, and hence what
//! python-dateutil computes for a time-zone-aware DTSTART.

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDateTime, Offset, TimeDelta, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;

/// The years occurrences are computed in: chrono cannot represent every local date-time near its limits,
/// the `rrule` crate works within ±10 000 years, and no due date belongs outside 1..=9999.
pub(crate) const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// How far back [`to_instant`] looks for the start of a gap, in half-hour steps. The longest gap on
/// record is a whole day (Pacific/Apia skipped 2011-12-30), so 100 steps (50 hours) is plenty.
const GAP_SEARCH_STEPS: u32 = 100;

/// The instant a local date-time stands for in `tz`, resolving DST gaps and folds as the module explains;
/// `None` only at the edges of the representable range.
pub(crate) fn to_instant(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => Some(at.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, second) => Some(first.min(second).with_timezone(&Utc)),
        LocalResult::None => {
            let offset_before_gap = offset_before(tz, local)?;
            let utc = local.checked_sub_signed(TimeDelta::seconds(i64::from(offset_before_gap)))?;
            Some(Utc.from_utc_datetime(&utc))
        }
    }
}

/// The UTC offset (seconds east) of the latest existing local time before `local`.
fn offset_before(tz: Tz, local: NaiveDateTime) -> Option<i32> {
    let step = TimeDelta::minutes(30);
    let mut probe = local;
    for _ in 0..GAP_SEARCH_STEPS {
        probe = probe.checked_sub_signed(step)?;
        if let Some(offset) = tz.offset_from_local_datetime(&probe).latest() {
            return Some(offset.fix().local_minus_utc());
        }
    }
    None
}

/// The local date-time of `instant` in `tz`; `None` outside [`YEARS`] (in UTC).
pub(crate) fn to_local(tz: Tz, instant: DateTime<Utc>) -> Option<NaiveDateTime> {
    YEARS
        .contains(&instant.year())
        .then(|| instant.with_timezone(&tz).naive_local())
}

/// `local` without its fraction of a second (RFC 5545 date-times have whole seconds).
pub(crate) fn whole_seconds(local: NaiveDateTime) -> NaiveDateTime {
    local.with_nanosecond(0).unwrap_or(local)
}

/// `local` truncated to the minute.
pub(crate) fn whole_minutes(local: NaiveDateTime) -> NaiveDateTime {
    let seconds = whole_seconds(local);
    seconds.with_second(0).unwrap_or(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(h, min, 0))
            .expect("valid test date")
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.from_utc_datetime(&local(y, m, d, h, min))
    }

    #[test]
    fn a_time_in_the_spring_forward_gap_moves_forward_by_the_gap() {
        let at = to_instant(chrono_tz::America::New_York, local(2026, 3, 8, 2, 30));
        // 02:30 EST = 07:30Z = 03:30 EDT.
        assert_eq!(at, Some(utc(2026, 3, 8, 7, 30)));
    }

    #[test]
    fn a_time_repeated_at_fall_back_is_the_earlier_instant() {
        let at = to_instant(chrono_tz::America::New_York, local(2026, 11, 1, 1, 30));
        // The first 01:30 is EDT (UTC-4).
        assert_eq!(at, Some(utc(2026, 11, 1, 5, 30)));
    }

    #[test]
    fn a_half_hour_gap_in_lord_howe_moves_forward_by_half_an_hour() {
        // Lord Howe goes from +10:30 to +11:00 at 02:00 on the first Sunday of October.
        let at = to_instant(chrono_tz::Australia::Lord_Howe, local(2026, 10, 4, 2, 15));
        // 02:15 at +10:30 = 15:45Z the day before = 02:45 at +11:00.
        assert_eq!(at, Some(utc(2026, 10, 3, 15, 45)));
    }

    #[test]
    fn a_skipped_day_resolves_a_whole_day_forward() {
        // Samoa skipped 2011-12-30, moving from UTC-10 to UTC+14.
        let at = to_instant(chrono_tz::Pacific::Apia, local(2011, 12, 30, 9, 0));
        assert_eq!(at, Some(utc(2011, 12, 30, 19, 0)));
    }

    #[test]
    fn an_ordinary_time_is_its_single_instant() {
        let at = to_instant(chrono_tz::Europe::London, local(2026, 7, 1, 9, 0));
        assert_eq!(at, Some(utc(2026, 7, 1, 8, 0)));
    }
}
