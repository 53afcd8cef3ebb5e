//! Running a parsed rule through the `rrule` crate, on floating wall-clock date-times.
//!
//! The crate is given the series start as a "UTC" date-time that is really the local wall-clock time, so
//! that it does pure calendar arithmetic (as RFC 5545 defines recurrence on local time); time zones are
//! applied afterwards by [`super::wall_clock::to_instant`]. UNTIL is left to the caller for the same
//! reason: it is an instant, compared after that resolution.

use chrono::{DateTime, Datelike, Month, NaiveDateTime, TimeZone, Timelike};
use rrule::{Frequency, NWeekday, RRule, Unvalidated, Validated};

use super::rule::{weekday, ByDay, Freq, RuleParts};

impl RuleParts {
    /// The rule as the `rrule` crate's validated type, with `start` as a floating (wall-clock) DTSTART.
    /// UNTIL is left out: it is an instant, compared by the caller after time-zone resolution. COUNT is
    /// included only when `with_count`.
    pub(crate) fn validated(
        &self,
        start: NaiveDateTime,
        with_count: bool,
    ) -> Result<RRule<Validated>, rrule::RRuleError> {
        let frequency = match self.freq {
            Freq::Yearly => Frequency::Yearly,
            Freq::Monthly => Frequency::Monthly,
            Freq::Weekly => Frequency::Weekly,
            Freq::Daily => Frequency::Daily,
            Freq::Hourly => Frequency::Hourly,
        };
        let months: Vec<Month> = self
            .by_month
            .iter()
            .filter_map(|m| Month::try_from(*m).ok())
            .collect();
        let mut rule: RRule<Unvalidated> = RRule::new(frequency)
            .interval(self.interval)
            .week_start(weekday(self.week_start))
            .by_month(&months)
            .by_week_no(self.by_week_no.clone())
            .by_year_day(self.by_year_day.clone())
            .by_month_day(self.by_month_day.clone())
            .by_weekday(
                self.by_day
                    .iter()
                    .map(|d| NWeekday::new(d.nth.map(i16::from), weekday(d.weekday)))
                    .collect(),
            )
            .by_hour(self.by_hour.clone())
            .by_minute(self.by_minute.clone())
            .by_second(self.by_second.clone())
            .by_set_pos(self.by_set_pos.iter().map(|p| i32::from(*p)).collect());
        if let (true, Some(count)) = (with_count, self.count) {
            rule = rule.count(count);
        }
        rule.validate(floating(start))
    }

    /// The same rule with the parts RFC 5545 takes from DTSTART written out, so that it can be restarted
    /// at a later period start without changing its occurrences (see `series::fast_forward`).
    pub(crate) fn with_start_defaults(&self, start: NaiveDateTime) -> Self {
        let mut rule = self.clone();
        let day = u8::try_from(start.day()).unwrap_or(1);
        if rule.by_week_no.is_empty()
            && rule.by_year_day.is_empty()
            && rule.by_month_day.is_empty()
            && rule.by_day.is_empty()
        {
            match rule.freq {
                Freq::Yearly => {
                    if rule.by_month.is_empty() {
                        rule.by_month = vec![u8::try_from(start.month()).unwrap_or(1)];
                    }
                    rule.by_month_day = vec![i8::try_from(day).unwrap_or(1)];
                }
                Freq::Monthly => rule.by_month_day = vec![i8::try_from(day).unwrap_or(1)],
                Freq::Weekly => {
                    let weekday = u8::try_from(start.weekday().num_days_from_monday()).unwrap_or(0);
                    rule.by_day = vec![ByDay { weekday, nth: None }];
                }
                Freq::Daily | Freq::Hourly => {}
            }
        }
        if rule.by_hour.is_empty() && rule.freq != Freq::Hourly {
            rule.by_hour = vec![u8::try_from(start.hour()).unwrap_or(0)];
        }
        if rule.by_minute.is_empty() {
            rule.by_minute = vec![u8::try_from(start.minute()).unwrap_or(0)];
        }
        if rule.by_second.is_empty() {
            rule.by_second = vec![u8::try_from(start.second()).unwrap_or(0)];
        }
        rule
    }

    /// The weekday weeks start on (WKST), 0 = Monday.
    pub(crate) fn week_start(&self) -> u8 {
        self.week_start
    }
}

/// A wall-clock date-time as the `rrule` crate's "UTC" date-time (see the module documentation).
pub(crate) fn floating(local: NaiveDateTime) -> DateTime<rrule::Tz> {
    rrule::Tz::UTC.from_utc_datetime(&local)
}

/// The crate's iterator over `rule` from `start`, with its loop limit on (it gives up after 100 000
/// periods without an occurrence).
pub(crate) fn crate_iter(start: NaiveDateTime, rule: RRule<Validated>) -> rrule::RRuleSetIter {
    rrule::RRuleSet::new(floating(start))
        .limit()
        .rrule(rule)
        .into_iter()
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn the_defaults_from_the_start_are_written_out() {
        let start = NaiveDate::from_ymd_opt(2026, 1, 31)
            .and_then(|d| d.and_hms_opt(9, 30, 15))
            .expect("date");
        let rule = RuleParts::parse("FREQ=YEARLY")
            .expect("valid")
            .with_start_defaults(start);
        assert_eq!(
            rule.to_string(),
            "FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=31;BYHOUR=9;BYMINUTE=30;BYSECOND=15"
        );
        let rule = RuleParts::parse("FREQ=WEEKLY")
            .expect("valid")
            .with_start_defaults(start);
        assert_eq!(
            rule.to_string(),
            "FREQ=WEEKLY;BYDAY=SA;BYHOUR=9;BYMINUTE=30;BYSECOND=15"
        );
        let rule = RuleParts::parse("FREQ=HOURLY")
            .expect("valid")
            .with_start_defaults(start);
        assert_eq!(rule.to_string(), "FREQ=HOURLY;BYMINUTE=30;BYSECOND=15");
    }
}
