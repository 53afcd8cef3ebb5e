//! RFC 5545 RRULE text: parsing, validation and the canonical text.
//!
//! The text is parsed here rather than by the `rrule` crate so that every value is checked with a message a
//! user can act on, the stored text is canonical (upper case, sorted, no defaults spelled out), and nothing
//! the crate would mishandle reaches it: the crate's own `Display` drops the `1` of `1MO`, and its iterator
//! can allocate a whole period of occurrences at once, so dense rules are refused up front.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday};

use super::engine::crate_iter;
use crate::error::ValidationError;

/// Longest accepted rule text.
pub(crate) const MAX_RULE_LEN: usize = 500;
/// Largest accepted COUNT: a walk from the series start is bounded by it.
pub(crate) const MAX_COUNT: u32 = 10_000;
/// Most occurrences a rule may produce in a day (BYHOUR × BYMINUTE × BYSECOND, 24 for HOURLY): one every
/// 15 minutes on average. Denser rules are not tasks, and the `rrule` crate materialises a whole period
/// (a year for YEARLY) of occurrences at once.
pub(crate) const MAX_TIMES_PER_DAY: usize = 96;

/// The supported frequencies; MINUTELY and SECONDLY are refused as too frequent for tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freq {
    Yearly,
    Monthly,
    Weekly,
    Daily,
    Hourly,
}

impl Freq {
    fn name(self) -> &'static str {
        match self {
            Self::Yearly => "YEARLY",
            Self::Monthly => "MONTHLY",
            Self::Weekly => "WEEKLY",
            Self::Daily => "DAILY",
            Self::Hourly => "HOURLY",
        }
    }
}

/// One BYDAY entry: an optional ordinal (`2MO`, `-1FR`) and a weekday (0 = Monday).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ByDay {
    pub(super) weekday: u8,
    pub(super) nth: Option<i8>,
}

/// A parsed, validated rule: every rule part with its value, lists sorted and deduplicated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RuleParts {
    pub(crate) freq: Freq,
    pub(crate) interval: u16,
    pub(crate) count: Option<u32>,
    pub(crate) until: Option<DateTime<Utc>>,
    pub(crate) week_start: u8,
    pub(crate) by_month: Vec<u8>,
    pub(crate) by_week_no: Vec<i8>,
    pub(crate) by_year_day: Vec<i16>,
    pub(crate) by_month_day: Vec<i8>,
    pub(crate) by_day: Vec<ByDay>,
    pub(crate) by_hour: Vec<u8>,
    pub(crate) by_minute: Vec<u8>,
    pub(crate) by_second: Vec<u8>,
    pub(crate) by_set_pos: Vec<i16>,
}

fn invalid(message: impl Into<String>) -> ValidationError {
    ValidationError::new("recurrence", message)
}

const WEEKDAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

fn weekday_code(text: &str) -> Option<u8> {
    WEEKDAYS
        .iter()
        .position(|code| *code == text)
        .and_then(|i| u8::try_from(i).ok())
}

pub(crate) fn weekday(index: u8) -> Weekday {
    Weekday::try_from(index).unwrap_or(Weekday::Mon)
}

/// Parses one signed integer in `min..=max`, zero excluded when `min` is negative (RFC 5545 ordinals).
fn integer(key: &str, text: &str, min: i64, max: i64) -> Result<i64, ValidationError> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    let in_range = || {
        if min < 0 {
            format!("{key} values must be whole numbers from {min} to -1 or 1 to {max}")
        } else {
            format!("{key} values must be whole numbers from {min} to {max}")
        }
    };
    if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(format!(
            "{key}={text} is not a number; {}",
            in_range()
        )));
    }
    let value: i64 = text.parse().map_err(|_| invalid(in_range()))?;
    if value < min || value > max || (min < 0 && value == 0) {
        return Err(invalid(format!(
            "{key}={value} is out of range; {}",
            in_range()
        )));
    }
    Ok(value)
}

/// Parses a comma-separated list of integers, sorted and deduplicated.
fn integers<T: TryFrom<i64> + Ord>(
    key: &str,
    text: &str,
    min: i64,
    max: i64,
) -> Result<Vec<T>, ValidationError> {
    let mut values = Vec::new();
    for item in text.split(',') {
        let value = integer(key, item.trim(), min, max)?;
        values.push(
            T::try_from(value).map_err(|_| invalid(format!("{key}={value} is out of range")))?,
        );
    }
    values.sort_unstable();
    values.dedup();
    Ok(values)
}

fn by_days(text: &str) -> Result<Vec<ByDay>, ValidationError> {
    let mut days = Vec::new();
    for item in text.split(',') {
        let item = item.trim();
        let split = item.len().saturating_sub(2);
        let (ordinal, code) = (
            item.get(..split).unwrap_or(""),
            item.get(split..).unwrap_or(""),
        );
        let Some(weekday) = weekday_code(code) else {
            return Err(invalid(format!(
                "BYDAY={item} is not a weekday; use MO, TU, WE, TH, FR, SA or SU, optionally with an ordinal like 2MO or -1FR"
            )));
        };
        let nth = if ordinal.is_empty() {
            None
        } else {
            let n = integer("BYDAY ordinal", ordinal, -53, 53)?;
            Some(i8::try_from(n).map_err(|_| invalid("BYDAY ordinal out of range"))?)
        };
        days.push(ByDay { weekday, nth });
    }
    days.sort_unstable();
    days.dedup();
    Ok(days)
}

fn until(text: &str) -> Result<DateTime<Utc>, ValidationError> {
    let message = || {
        invalid(format!(
            "UNTIL={text} must be a UTC date-time such as 20261231T235959Z (RFC 5545 requires UTC when the series has a time zone)"
        ))
    };
    let local = text.strip_suffix('Z').ok_or_else(message)?;
    if local.len() != 15 {
        return Err(message());
    }
    let naive = NaiveDateTime::parse_from_str(local, "%Y%m%dT%H%M%S").map_err(|_| message())?;
    Ok(Utc.from_utc_datetime(&naive))
}

/// Strips `prefix` from the start of `text`, ignoring ASCII case.
fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

impl RuleParts {
    /// Parses rule text such as `FREQ=WEEKLY;BYDAY=MO,WE;INTERVAL=2`, with or without an `RRULE:` prefix.
    pub(crate) fn parse(input: &str) -> Result<Self, ValidationError> {
        let text = input.trim();
        if text.chars().count() > MAX_RULE_LEN {
            return Err(invalid(format!(
                "the rule is longer than {MAX_RULE_LEN} characters"
            )));
        }
        let body = strip_prefix_ignore_case(text, "RRULE:")
            .unwrap_or(text)
            .trim();
        if body.is_empty() {
            return Err(invalid(
                "the rule is empty; write one such as FREQ=WEEKLY;BYDAY=MO",
            ));
        }
        let upper = body.to_ascii_uppercase();
        if upper.contains("DTSTART") {
            return Err(invalid(
                "DTSTART cannot be part of the rule: the task's due date starts the series",
            ));
        }
        for property in ["EXDATE", "RDATE", "EXRULE"] {
            if upper.contains(property) {
                return Err(invalid(format!(
                    "{property} is not supported; give a single RRULE"
                )));
            }
        }
        if let Some(bad) = body.chars().find(|c| !(c.is_ascii_graphic() || *c == ' ')) {
            return Err(invalid(format!(
                "the rule contains {bad:?}; only NAME=VALUE parts separated by ';' are allowed"
            )));
        }

        let mut parts: BTreeMap<String, String> = BTreeMap::new();
        for part in upper.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, value)) = part.split_once('=') else {
                return Err(invalid(format!("`{part}` is not a NAME=VALUE rule part")));
            };
            let (key, value) = (key.trim(), value.trim());
            if value.is_empty() {
                return Err(invalid(format!("{key} has no value")));
            }
            if parts.insert(key.to_owned(), value.to_owned()).is_some() {
                return Err(invalid(format!("{key} appears more than once")));
            }
        }
        Self::from_parts(parts)
    }

    fn from_parts(mut parts: BTreeMap<String, String>) -> Result<Self, ValidationError> {
        let mut take = |key: &str| parts.remove(key);
        let freq = match take("FREQ").as_deref() {
            None => {
                return Err(invalid(
                    "FREQ is missing; start the rule with e.g. FREQ=WEEKLY",
                ))
            }
            Some("YEARLY") => Freq::Yearly,
            Some("MONTHLY") => Freq::Monthly,
            Some("WEEKLY") => Freq::Weekly,
            Some("DAILY") => Freq::Daily,
            Some("HOURLY") => Freq::Hourly,
            Some(too_often @ ("MINUTELY" | "SECONDLY")) => {
                return Err(invalid(format!(
                    "FREQ={too_often} is too frequent for a task; use HOURLY or less often"
                )))
            }
            Some(other) => {
                return Err(invalid(format!(
                    "FREQ={other} is not a frequency; use YEARLY, MONTHLY, WEEKLY, DAILY or HOURLY"
                )))
            }
        };
        let interval = match take("INTERVAL") {
            Some(text) => u16::try_from(integer("INTERVAL", &text, 1, i64::from(u16::MAX))?)
                .map_err(|_| invalid("INTERVAL is out of range"))?,
            None => 1,
        };
        let count = match take("COUNT") {
            Some(text) => Some(
                u32::try_from(integer("COUNT", &text, 1, i64::from(MAX_COUNT))?)
                    .map_err(|_| invalid("COUNT is out of range"))?,
            ),
            None => None,
        };
        let until = take("UNTIL").as_deref().map(until).transpose()?;
        let week_start = match take("WKST") {
            Some(text) => weekday_code(&text).ok_or_else(|| {
                invalid(format!(
                    "WKST={text} is not a weekday; use MO, TU, WE, TH, FR, SA or SU"
                ))
            })?,
            None => 0,
        };
        let list = |key: &str,
                    text: Option<String>,
                    min: i64,
                    max: i64|
         -> Result<Vec<i64>, ValidationError> {
            text.map_or(Ok(Vec::new()), |t| integers(key, &t, min, max))
        };
        let rule = Self {
            freq,
            interval,
            count,
            until,
            week_start,
            by_month: narrow(list("BYMONTH", take("BYMONTH"), 1, 12)?),
            by_week_no: narrow(list("BYWEEKNO", take("BYWEEKNO"), -53, 53)?),
            by_year_day: narrow(list("BYYEARDAY", take("BYYEARDAY"), -366, 366)?),
            by_month_day: narrow(list("BYMONTHDAY", take("BYMONTHDAY"), -31, 31)?),
            by_day: take("BYDAY")
                .as_deref()
                .map(by_days)
                .transpose()?
                .unwrap_or_default(),
            by_hour: narrow(list("BYHOUR", take("BYHOUR"), 0, 23)?),
            by_minute: narrow(list("BYMINUTE", take("BYMINUTE"), 0, 59)?),
            by_second: narrow(list("BYSECOND", take("BYSECOND"), 0, 59)?),
            by_set_pos: narrow(list("BYSETPOS", take("BYSETPOS"), -366, 366)?),
        };
        if let Some(unknown) = parts.keys().next() {
            return Err(invalid(format!(
                "{unknown} is not an RRULE part; use FREQ, INTERVAL, COUNT, UNTIL, WKST, BYMONTH, BYWEEKNO, \
                 BYYEARDAY, BYMONTHDAY, BYDAY, BYHOUR, BYMINUTE, BYSECOND or BYSETPOS"
            )));
        }
        rule.check_combinations()?;
        rule.check_it_occurs()?;
        Ok(rule)
    }

    /// RFC 5545 constraints between rule parts, and our density limit.
    fn check_combinations(&self) -> Result<(), ValidationError> {
        let freq = self.freq.name();
        if self.count.is_some() && self.until.is_some() {
            return Err(invalid(
                "COUNT and UNTIL cannot both be given; choose one way to end the series",
            ));
        }
        if !self.by_month_day.is_empty() && self.freq == Freq::Weekly {
            return Err(invalid("BYMONTHDAY cannot be used with FREQ=WEEKLY"));
        }
        if !self.by_year_day.is_empty()
            && matches!(self.freq, Freq::Monthly | Freq::Weekly | Freq::Daily)
        {
            return Err(invalid(format!(
                "BYYEARDAY cannot be used with FREQ={freq}"
            )));
        }
        if !self.by_week_no.is_empty() && self.freq != Freq::Yearly {
            return Err(invalid("BYWEEKNO can only be used with FREQ=YEARLY"));
        }
        let ordinals = self.by_day.iter().filter(|d| d.nth.is_some()).count();
        if ordinals > 0 && ordinals < self.by_day.len() {
            // python-dateutil (and the `rrule` crate after it) would keep only the days that match both
            // kinds, which is never what was meant and usually nothing at all.
            return Err(invalid(
                "BYDAY cannot mix weekdays (FR) with ordinal weekdays (-1WE); use one kind per rule",
            ));
        }
        for day in &self.by_day {
            let Some(nth) = day.nth else { continue };
            match self.freq {
                Freq::Monthly if nth.abs() > 5 => {
                    return Err(invalid(format!(
                        "BYDAY={nth}{} is out of range; a month has at most 5 of each weekday",
                        WEEKDAYS[usize::from(day.weekday)]
                    )))
                }
                Freq::Yearly if !self.by_week_no.is_empty() => {
                    return Err(invalid("BYDAY ordinals like 2MO cannot be combined with BYWEEKNO"))
                }
                Freq::Monthly | Freq::Yearly => {}
                _ => {
                    return Err(invalid(format!(
                        "BYDAY ordinals like 2MO only work with FREQ=MONTHLY or FREQ=YEARLY, not FREQ={freq}"
                    )))
                }
            }
        }
        let has_other_by_part = !(self.by_month.is_empty()
            && self.by_week_no.is_empty()
            && self.by_year_day.is_empty()
            && self.by_month_day.is_empty()
            && self.by_day.is_empty()
            && self.by_hour.is_empty()
            && self.by_minute.is_empty()
            && self.by_second.is_empty());
        if !self.by_set_pos.is_empty() && !has_other_by_part {
            return Err(invalid(
                "BYSETPOS needs another BYxxx part (such as BYDAY) to pick from",
            ));
        }
        let hours = match (self.by_hour.len(), self.freq) {
            (0, Freq::Hourly) => 24,
            (0, _) => 1,
            (n, _) => n,
        };
        let times_per_day = hours * self.by_minute.len().max(1) * self.by_second.len().max(1);
        if times_per_day > MAX_TIMES_PER_DAY {
            return Err(invalid(format!(
                "the rule occurs up to {times_per_day} times a day; tasks can repeat at most {MAX_TIMES_PER_DAY} \
                 times a day (BYHOUR × BYMINUTE × BYSECOND)"
            )));
        }
        Ok(())
    }

    /// Refuses a rule that cannot occur whatever its start, such as `FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30`.
    ///
    /// The check runs the rule with INTERVAL=1 (an INTERVAL only picks some of those periods, and which ones
    /// depends on the start: `FREQ=MONTHLY;INTERVAL=2;BYMONTH=8` occurs only for a start in an even month
    /// distance from August) from a reference start on January 1st at 00:00, whose day of month and month
    /// (parts RFC 5545 takes from DTSTART when absent) exist in every period. The Gregorian calendar repeats
    /// every 400 years, so a rule that visits every period and finds nothing in the 800 years the `rrule`
    /// crate searches after 9201 (it stops at year 10 000, or after 100 000 periods, 270 years of days) never
    /// occurs. UNTIL is ignored: whether it has passed depends on the series start. A rule can still have
    /// no occurrence for a particular start; that series then simply ends.
    fn check_it_occurs(&self) -> Result<(), ValidationError> {
        let every_period = Self {
            interval: 1,
            ..self.clone()
        };
        let reference = NaiveDate::from_ymd_opt(9201, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .ok_or_else(|| invalid("internal error: no reference date"))?;
        let rule = every_period
            .validated(reference, false)
            .map_err(|error| invalid(format!("the rule is invalid: {error}")))?;
        if crate_iter(reference, rule).next().is_none() {
            return Err(invalid(
                "the rule never produces an occurrence (for example BYMONTH=2;BYMONTHDAY=30)",
            ));
        }
        Ok(())
    }
}

fn narrow<T: TryFrom<i64>>(values: Vec<i64>) -> Vec<T> {
    values
        .into_iter()
        .filter_map(|v| T::try_from(v).ok())
        .collect()
}

fn join<T: fmt::Display>(values: &[T]) -> String {
    let mut out = String::new();
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{value}");
    }
    out
}

impl fmt::Display for RuleParts {
    /// The canonical text: FREQ first, then the other parts in a fixed order, upper case, lists sorted,
    /// INTERVAL=1 and WKST=MO (the defaults) left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FREQ={}", self.freq.name())?;
        if self.interval != 1 {
            write!(f, ";INTERVAL={}", self.interval)?;
        }
        if let Some(count) = self.count {
            write!(f, ";COUNT={count}")?;
        }
        if let Some(until) = self.until {
            write!(f, ";UNTIL={}", until.format("%Y%m%dT%H%M%SZ"))?;
        }
        if self.week_start != 0 {
            write!(f, ";WKST={}", WEEKDAYS[usize::from(self.week_start)])?;
        }
        let lists: [(&str, String); 8] = [
            ("BYMONTH", join(&self.by_month)),
            ("BYWEEKNO", join(&self.by_week_no)),
            ("BYYEARDAY", join(&self.by_year_day)),
            ("BYMONTHDAY", join(&self.by_month_day)),
            ("BYDAY", {
                let days: Vec<String> = self
                    .by_day
                    .iter()
                    .map(|d| {
                        format!(
                            "{}{}",
                            d.nth.map(|n| n.to_string()).unwrap_or_default(),
                            WEEKDAYS[usize::from(d.weekday)]
                        )
                    })
                    .collect();
                days.join(",")
            }),
            ("BYHOUR", join(&self.by_hour)),
            ("BYMINUTE", join(&self.by_minute)),
            ("BYSECOND", join(&self.by_second)),
        ];
        for (key, value) in lists {
            if !value.is_empty() {
                write!(f, ";{key}={value}")?;
            }
        }
        if !self.by_set_pos.is_empty() {
            write!(f, ";BYSETPOS={}", join(&self.by_set_pos))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(text: &str) -> String {
        RuleParts::parse(text)
            .map(|r| r.to_string())
            .unwrap_or_else(|e| format!("error: {}", e.message))
    }

    fn error(text: &str) -> String {
        match RuleParts::parse(text) {
            Ok(rule) => panic!("{text} was accepted as {rule}"),
            Err(e) => {
                assert_eq!(e.field, "recurrence");
                e.message
            }
        }
    }

    #[test]
    fn the_canonical_text_is_upper_case_sorted_and_without_defaults() {
        assert_eq!(
            canonical(" rrule:freq=weekly;byday=we,mo;interval=2 "),
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE"
        );
        assert_eq!(canonical("FREQ=WEEKLY;INTERVAL=1;WKST=MO"), "FREQ=WEEKLY");
        assert_eq!(
            canonical("FREQ=MONTHLY;BYDAY=+1MO,-1FR,1MO"),
            "FREQ=MONTHLY;BYDAY=1MO,-1FR"
        );
        assert_eq!(
            canonical("FREQ=MONTHLY;BYMONTHDAY=+05,-1,5;"),
            "FREQ=MONTHLY;BYMONTHDAY=-1,5"
        );
        assert_eq!(
            canonical("FREQ=DAILY;UNTIL=20261231T235959Z;WKST=SU"),
            "FREQ=DAILY;UNTIL=20261231T235959Z;WKST=SU"
        );
    }

    #[test]
    fn the_canonical_text_parses_to_itself() {
        for text in [
            "FREQ=YEARLY;BYMONTH=1,7;BYDAY=2MO,-1FR;BYHOUR=9,17;BYMINUTE=30;BYSETPOS=1,-1",
            "FREQ=MONTHLY;INTERVAL=3;COUNT=12;BYMONTHDAY=-3,15,31",
            "FREQ=YEARLY;WKST=SU;BYWEEKNO=1,-1;BYDAY=MO",
        ] {
            let once = canonical(text);
            assert_eq!(canonical(&once), once);
        }
    }

    #[test]
    fn a_rule_part_given_twice_is_rejected() {
        assert!(error("FREQ=DAILY;FREQ=WEEKLY").contains("FREQ appears more than once"));
    }

    #[test]
    fn ordinals_outside_monthly_and_yearly_are_rejected() {
        assert!(error("FREQ=WEEKLY;BYDAY=2MO").contains("only work with FREQ=MONTHLY"));
        assert!(error("FREQ=MONTHLY;BYDAY=6MO").contains("at most 5"));
        assert!(error("FREQ=MONTHLY;BYDAY=0MO").contains("out of range"));
    }

    #[test]
    fn byday_cannot_mix_weekdays_with_ordinal_weekdays() {
        assert!(error("FREQ=MONTHLY;BYDAY=FR,-1WE").contains("cannot mix"));
        assert!(canonical("FREQ=MONTHLY;BYDAY=FR,WE").starts_with("FREQ=MONTHLY"));
        assert!(canonical("FREQ=MONTHLY;BYDAY=1FR,-1WE").starts_with("FREQ=MONTHLY"));
    }

    #[test]
    fn a_rule_that_occurs_only_for_some_starts_is_accepted() {
        // From a January start it never reaches August; from an August start it does.
        assert!(
            canonical("FREQ=MONTHLY;INTERVAL=2;BYMONTH=8;BYDAY=1SA").starts_with("FREQ=MONTHLY")
        );
        assert!(canonical("FREQ=HOURLY;INTERVAL=2;BYHOUR=3").starts_with("FREQ=HOURLY"));
        assert!(canonical("FREQ=DAILY;INTERVAL=7;BYDAY=TU").starts_with("FREQ=DAILY"));
    }

    #[test]
    fn rfc_part_combinations_are_enforced() {
        assert!(error("FREQ=WEEKLY;BYMONTHDAY=1")
            .contains("BYMONTHDAY cannot be used with FREQ=WEEKLY"));
        assert!(error("FREQ=MONTHLY;BYYEARDAY=1").contains("BYYEARDAY cannot"));
        assert!(error("FREQ=MONTHLY;BYWEEKNO=1").contains("BYWEEKNO can only"));
        assert!(error("FREQ=DAILY;BYSETPOS=1").contains("BYSETPOS needs"));
        assert!(error("FREQ=DAILY;COUNT=3;UNTIL=20261231T000000Z").contains("COUNT and UNTIL"));
    }

    #[test]
    fn dense_rules_are_rejected() {
        assert!(error("FREQ=HOURLY;BYMINUTE=0,15,30,45,50").contains("times a day"));
        assert!(canonical("FREQ=HOURLY;BYMINUTE=0,15,30,45").starts_with("FREQ=HOURLY"));
        assert!(
            error("FREQ=DAILY;BYHOUR=1,2;BYMINUTE=1,2,3,4,5,6,7,8,9,10;BYSECOND=1,2,3,4,5")
                .contains("times a day")
        );
    }
}
