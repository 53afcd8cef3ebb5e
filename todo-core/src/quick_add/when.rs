//! Dates and times of day: recognising the phrases, then resolving them to a local date and time.

use chrono::{Datelike, Days, Months, NaiveDate, NaiveTime, Weekday};

use super::words::{day_of_month, number, ordinal_day};
use super::Clock;

/// The time a date without one gets: 09:00 local.
pub(crate) const DEFAULT_TIME: NaiveTime = match NaiveTime::from_hms_opt(9, 0, 0) {
    Some(t) => t,
    None => panic!("09:00 is a time"),
};

/// Words that may introduce a date and belong to it (`on friday`, `due tomorrow`, `from monday`).
const DATE_PREFIXES: [&str; 5] = ["on", "due", "by", "from", "starting"];

/// A date as written, before it is resolved against the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DatePhrase {
    /// `today` (0), `tomorrow` (1).
    DaysFromToday(u64),
    /// `in 2 weeks` (14 days), `in 3 days`.
    InDays(u64),
    /// `in 2 months`.
    InMonths(u64),
    /// `friday`: the next Friday whose time is still ahead (today included).
    Weekday(Weekday),
    /// `next friday`: the Friday of next week (weeks start on Monday).
    NextWeekday(Weekday),
    /// `next week`: Monday of next week.
    NextWeek,
    /// `next month`: the 1st of next month.
    NextMonth,
    /// `2026-12-24`, or `dec 24 2027`.
    Exact(NaiveDate),
    /// `dec 24`, `24 december`: the next such date still ahead.
    MonthDay(u32, u32),
    /// `the 1st`: the next 1st of a month still ahead.
    DayOfMonth(u32),
}

/// Recognises a date phrase at the start of `keys`, with an optional prefix such as `on`.
pub(crate) fn date_phrase(keys: &[&str]) -> Option<(usize, DatePhrase)> {
    if let Some(rest) = keys
        .split_first()
        .and_then(|(first, rest)| DATE_PREFIXES.contains(first).then_some(rest))
    {
        if let Some((taken, phrase)) = bare_date(rest) {
            return Some((taken + 1, phrase));
        }
    }
    bare_date(keys)
}

fn bare_date(keys: &[&str]) -> Option<(usize, DatePhrase)> {
    let first = *keys.first()?;
    let second = keys.get(1).copied();
    match (first, second) {
        ("today", _) => Some((1, DatePhrase::DaysFromToday(0))),
        ("tomorrow" | "tmrw", _) => Some((1, DatePhrase::DaysFromToday(1))),
        ("next", Some("week")) => Some((2, DatePhrase::NextWeek)),
        ("next", Some("month")) => Some((2, DatePhrase::NextMonth)),
        ("next", Some(day)) => weekday(day).map(|d| (2, DatePhrase::NextWeekday(d))),
        ("in", Some(n)) => in_phrase(number(n)?, keys.get(2)?),
        ("the", Some(day)) => ordinal_day(day).map(|d| (2, DatePhrase::DayOfMonth(d))),
        _ => weekday(first)
            .map(|d| (1, DatePhrase::Weekday(d)))
            .or_else(|| iso_date(first).map(|d| (1, DatePhrase::Exact(d))))
            .or_else(|| month_and_day(keys)),
    }
}

fn in_phrase(n: u64, unit: &str) -> Option<(usize, DatePhrase)> {
    let phrase = match unit {
        "day" | "days" => DatePhrase::InDays(n),
        "week" | "weeks" => DatePhrase::InDays(n.saturating_mul(7)),
        "month" | "months" => DatePhrase::InMonths(n),
        _ => return None,
    };
    Some((3, phrase))
}

/// `dec 24`, `december 24th`, `24 dec`, each optionally followed by a four-digit year.
fn month_and_day(keys: &[&str]) -> Option<(usize, DatePhrase)> {
    let (month, day) = match (month(keys.first()?), keys.get(1)) {
        (Some(m), Some(d)) => (m, day_of_month(d)?),
        (None, Some(m)) => (month(m)?, day_of_month(keys.first()?)?),
        _ => return None,
    };
    let year = keys
        .get(2)
        .filter(|y| y.len() == 4)
        .and_then(|y| number(y))
        .and_then(|y| i32::try_from(y).ok());
    match year {
        Some(y) => NaiveDate::from_ymd_opt(y, month, day).map(|d| (3, DatePhrase::Exact(d))),
        None => {
            NaiveDate::from_ymd_opt(2000, month, day).map(|_| (2, DatePhrase::MonthDay(month, day)))
        }
    }
}

/// A full or three-letter weekday name (`friday`, `fri`); `sat`, `sun`, `wed` and `mon` only in full,
/// as they are also ordinary words.
pub(crate) fn weekday(key: &str) -> Option<Weekday> {
    Some(match key {
        "monday" => Weekday::Mon,
        "tuesday" | "tue" | "tues" => Weekday::Tue,
        "wednesday" => Weekday::Wed,
        "thursday" | "thu" | "thur" | "thurs" => Weekday::Thu,
        "friday" | "fri" => Weekday::Fri,
        "saturday" => Weekday::Sat,
        "sunday" => Weekday::Sun,
        _ => return None,
    })
}

fn month(key: &str) -> Option<u32> {
    const NAMES: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    NAMES
        .iter()
        .position(|name| key == *name || (key.len() == 3 && name.starts_with(key) && key != "may"))
        .or_else(|| (key == "sept").then_some(8))
        .and_then(|i| u32::try_from(i + 1).ok())
}

fn iso_date(key: &str) -> Option<NaiveDate> {
    if key.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(key, "%Y-%m-%d").ok()
}

/// Recognises a time of day at the start of `keys`: `at 9am`, `9am`, `9 pm`, `9:30am`, `18:30`,
/// `at noon`, `midnight`, and `at 9` (a bare hour only after `at`).
pub(crate) fn time_phrase(keys: &[&str]) -> Option<(usize, NaiveTime)> {
    let (offset, rest) = match keys.split_first() {
        Some((&"at", rest)) => (1, rest),
        _ => (0, keys),
    };
    let first = *rest.first()?;
    let found = match (first, rest.get(1).copied()) {
        ("noon" | "midday", _) => Some((1, NaiveTime::from_hms_opt(12, 0, 0)?)),
        ("midnight", _) => Some((1, NaiveTime::MIN)),
        (clock, Some(half @ ("am" | "pm"))) => twelve_hour(clock, half).map(|t| (2, t)),
        (clock, _) => clock_time(clock)
            .or_else(|| {
                let (digits, half) = ["am", "pm"]
                    .into_iter()
                    .find_map(|half| clock.strip_suffix(half).map(|d| (d, half)))?;
                twelve_hour(digits, half)
            })
            .or_else(|| (offset == 1).then(|| hour(clock, 0..=23)).flatten())
            .map(|t| (1, t)),
    };
    found.map(|(taken, time)| (taken + offset, time))
}

fn twelve_hour(clock: &str, half: &str) -> Option<NaiveTime> {
    let (h, m) = match clock.split_once(':') {
        Some((h, m)) if m.len() == 2 => (number(h)?, number(m)?),
        Some(_) => return None,
        None => (number(clock)?, 0),
    };
    if !(1..=12).contains(&h) {
        return None;
    }
    let h = match half {
        "am" => h % 12,
        "pm" => h % 12 + 12,
        _ => return None,
    };
    NaiveTime::from_hms_opt(u32::try_from(h).ok()?, u32::try_from(m).ok()?, 0)
}

fn clock_time(clock: &str) -> Option<NaiveTime> {
    let (h, m) = clock.split_once(':')?;
    if m.len() != 2 || h.is_empty() || h.len() > 2 {
        return None;
    }
    NaiveTime::from_hms_opt(
        u32::try_from(number(h)?).ok()?,
        u32::try_from(number(m)?).ok()?,
        0,
    )
}

fn hour(key: &str, range: std::ops::RangeInclusive<u64>) -> Option<NaiveTime> {
    number(key)
        .filter(|h| range.contains(h))
        .and_then(|h| NaiveTime::from_hms_opt(u32::try_from(h).ok()?, 0, 0))
}

/// The local date a phrase stands for, at `time`; `None` when it falls outside the calendar.
pub(crate) fn resolve(phrase: DatePhrase, time: NaiveTime, clock: &Clock) -> Option<NaiveDate> {
    let today = clock.today();
    match phrase {
        DatePhrase::DaysFromToday(n) | DatePhrase::InDays(n) => {
            today.checked_add_days(Days::new(n))
        }
        DatePhrase::InMonths(n) => today.checked_add_months(Months::new(u32::try_from(n).ok()?)),
        DatePhrase::Weekday(day) => first_ahead(today, 8, time, clock, |d| d.weekday() == day),
        DatePhrase::NextWeekday(day) => {
            next_monday(today)?.checked_add_days(Days::new(u64::from(day.num_days_from_monday())))
        }
        DatePhrase::NextWeek => next_monday(today),
        DatePhrase::NextMonth => today.with_day(1)?.checked_add_months(Months::new(1)),
        DatePhrase::Exact(date) => Some(date),
        DatePhrase::MonthDay(month, day) => first_ahead(today, 366 * 8 + 1, time, clock, |d| {
            d.month() == month && d.day() == day
        }),
        DatePhrase::DayOfMonth(day) => first_ahead(today, 366, time, clock, |d| d.day() == day),
    }
}

/// The first of the `span` days from `from` that `matches` and whose `time` is still ahead of the clock.
pub(crate) fn first_ahead(
    from: NaiveDate,
    span: u64,
    time: NaiveTime,
    clock: &Clock,
    matches: impl Fn(NaiveDate) -> bool,
) -> Option<NaiveDate> {
    from.iter_days()
        .take(usize::try_from(span).unwrap_or(usize::MAX))
        .find(|d| matches(*d) && clock.is_ahead(d.and_time(time)))
}

fn next_monday(today: NaiveDate) -> Option<NaiveDate> {
    today.checked_add_days(Days::new(u64::from(
        7 - today.weekday().num_days_from_monday(),
    )))
}
