//! Recurrence phrases (`every friday`, `every 2 weeks`, `every last day of the month`): recognising them,
//! finding their first occurrence, and choosing between a preset and an RRULE.

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};

use super::when::weekday;

use super::words::{number, ordinal_day};
use super::Clock;
use crate::error::ValidationError;
use crate::recurrence::{Anchor, CustomRule, Recurrence};

/// How often a pattern repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freq {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

/// A recurrence as the words describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    freq: Freq,
    interval: u64,
    weekdays: Vec<Weekday>,
    /// Day of the month; -1 for the last.
    month_day: Option<i32>,
}

/// A recognised recurrence: words, or a raw rule typed as `RRULE:...`.
#[derive(Debug, Clone)]
pub(crate) enum RepeatPhrase {
    Pattern(Pattern),
    Rule(Result<Recurrence, ValidationError>),
}

const WORKDAYS: [Weekday; 5] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
];

/// Recognises `every ...` or a raw `RRULE:...` at the start of `keys`. Tried before [`frequency_word`],
/// so that `weekly review every friday` repeats on Fridays and keeps `weekly` in its title.
pub(crate) fn every_phrase(keys: &[&str]) -> Option<(usize, RepeatPhrase)> {
    match *keys.first()? {
        rule if rule.starts_with("rrule:") => Some((1, RepeatPhrase::Rule(rule.parse()))),
        "every" => every(&keys[1..]).map(|(taken, p)| (taken + 1, RepeatPhrase::Pattern(p))),
        _ => None,
    }
}

/// `daily`, `weekly`, `monthly`, `yearly`, `annually`.
pub(crate) fn frequency_word(keys: &[&str]) -> Option<(usize, RepeatPhrase)> {
    let freq = match *keys.first()? {
        "daily" => Freq::Daily,
        "weekly" => Freq::Weekly,
        "monthly" => Freq::Monthly,
        "yearly" | "annually" => Freq::Yearly,
        _ => return None,
    };
    Some((1, RepeatPhrase::Pattern(Pattern::every(freq, 1))))
}

/// What follows `every`.
fn every(keys: &[&str]) -> Option<(usize, Pattern)> {
    let first = *keys.first()?;
    let (interval, unit_at) = match (first, number(first)) {
        ("other", _) => (2, 1),
        (_, Some(n)) => (n, 1),
        _ => (1, 0),
    };
    if let Some(freq) = keys
        .get(unit_at)
        .and_then(|unit| unit_freq(unit, interval > 1 || unit_at > 0))
    {
        let pattern = Pattern::every(freq, interval);
        return Some(pattern.with_details(&keys[unit_at + 1..], unit_at + 1));
    }
    if unit_at > 0 {
        return None;
    }
    match first {
        "weekday" | "workday" => Some((1, Pattern::on_days(WORKDAYS.to_vec()))),
        "weekend" => Some((1, Pattern::on_days(vec![Weekday::Sat, Weekday::Sun]))),
        "last" => last_day_of_month(&keys[1..]).map(|taken| (taken + 1, Pattern::on_month_day(-1))),
        _ => ordinal_day(first)
            .map(|d| (1, Pattern::on_month_day(i32::try_from(d).unwrap_or(1))))
            .or_else(|| weekday_list(keys).map(|(taken, days)| (taken, Pattern::on_days(days)))),
    }
}

fn unit_freq(unit: &str, plural_allowed: bool) -> Option<Freq> {
    let freq = match unit.trim_end_matches('s') {
        "day" => Freq::Daily,
        "week" => Freq::Weekly,
        "month" => Freq::Monthly,
        "year" => Freq::Yearly,
        _ => return None,
    };
    (plural_allowed || !unit.ends_with('s')).then_some(freq)
}

/// `day of the month`, `day of month`, `day`; the count of words taken.
fn last_day_of_month(keys: &[&str]) -> Option<usize> {
    match keys {
        ["day", "of", "the", "month", ..] => Some(4),
        ["day", "of", "month", ..] => Some(3),
        ["day", ..] => Some(1),
        _ => None,
    }
}

/// A weekday after `every` or `on`, where all three-letter names are safe (`every mon`).
fn any_weekday(key: &str) -> Option<Weekday> {
    weekday(key).or(match key {
        "mon" => Some(Weekday::Mon),
        "wed" => Some(Weekday::Wed),
        "sat" => Some(Weekday::Sat),
        "sun" => Some(Weekday::Sun),
        _ => None,
    })
}

/// `monday and wednesday`, `mon, wed and fri`.
fn weekday_list(keys: &[&str]) -> Option<(usize, Vec<Weekday>)> {
    let mut days = vec![any_weekday(keys.first()?)?];
    let mut taken = 1;
    loop {
        let (skip, next) = match keys.get(taken) {
            Some(&("and" | "&")) => (2, keys.get(taken + 1).and_then(|k| any_weekday(k))),
            Some(key) => (1, any_weekday(key)),
            None => (0, None),
        };
        match next {
            Some(day) => {
                days.push(day);
                taken += skip;
            }
            None => return Some((taken, days)),
        }
    }
}

impl Pattern {
    fn every(freq: Freq, interval: u64) -> Self {
        Self {
            freq,
            interval,
            weekdays: Vec::new(),
            month_day: None,
        }
    }

    fn on_days(mut days: Vec<Weekday>) -> Self {
        days.sort_by_key(|d| d.num_days_from_monday());
        days.dedup();
        Self {
            weekdays: days,
            ..Self::every(Freq::Weekly, 1)
        }
    }

    fn on_month_day(day: i32) -> Self {
        Self {
            month_day: Some(day),
            ..Self::every(Freq::Monthly, 1)
        }
    }

    /// Reads `on monday and friday` after a week unit, `on the 1st` / `on the last day` after a month.
    fn with_details(mut self, keys: &[&str], taken: usize) -> (usize, Self) {
        match (self.freq, keys) {
            (Freq::Weekly, ["on", rest @ ..]) => {
                if let Some((n, days)) = weekday_list(rest) {
                    self.weekdays = Self::on_days(days).weekdays;
                    return (taken + 1 + n, self);
                }
            }
            (Freq::Monthly, ["on", "the", "last", rest @ ..]) => {
                if let Some(n) = last_day_of_month(rest) {
                    self.month_day = Some(-1);
                    return (taken + 3 + n, self);
                }
            }
            (Freq::Monthly, ["on", "the", day, ..]) => {
                if let Some(day) = ordinal_day(day) {
                    self.month_day = i32::try_from(day).ok();
                    return (taken + 3, self);
                }
            }
            _ => {}
        }
        (taken, self)
    }

    /// Whether `date` can be an occurrence.
    fn matches(&self, date: NaiveDate) -> bool {
        let day_ok = match self.month_day {
            Some(-1) => date.succ_opt().is_none_or(|next| next.day() == 1),
            Some(day) => i32::try_from(date.day()).is_ok_and(|d| d == day),
            None => true,
        };
        day_ok && (self.weekdays.is_empty() || self.weekdays.contains(&date.weekday()))
    }

    /// The first occurrence date: from `start` when the line gave a date, else the first still ahead
    /// of the clock from today.
    pub(crate) fn first_date(
        &self,
        start: Option<NaiveDate>,
        time: NaiveTime,
        clock: &Clock,
    ) -> Option<NaiveDate> {
        // Eight years cover every pattern, the 29th of February included.
        const SPAN: usize = 366 * 8 + 1;
        match start {
            Some(start) => start.iter_days().take(SPAN).find(|d| self.matches(*d)),
            None => super::when::first_ahead(clock.today(), SPAN as u64, time, clock, |d| {
                self.matches(d)
            }),
        }
    }

    /// The preset when the words name no day ("every week", "monthly"): it repeats from the due date,
    /// wherever the task is moved. Words that name days ("every friday", "every month on the 1st")
    /// become an RRULE that keeps them, so a task moved to the 4th still comes back on the 1st.
    pub(crate) fn recurrence(&self) -> Result<Recurrence, ValidationError> {
        let simple = self.interval == 1 && self.weekdays.is_empty() && self.month_day.is_none();
        match self.freq {
            Freq::Daily if simple => return Ok(Recurrence::Daily),
            Freq::Weekly if simple => return Ok(Recurrence::Weekly),
            Freq::Monthly if simple => return Ok(Recurrence::Monthly),
            _ => {}
        }
        CustomRule::parse(&self.rrule(), Anchor::Due).map(Recurrence::Rule)
    }

    fn rrule(&self) -> String {
        let freq = match self.freq {
            Freq::Daily => "DAILY",
            Freq::Weekly => "WEEKLY",
            Freq::Monthly => "MONTHLY",
            Freq::Yearly => "YEARLY",
        };
        let mut rule = format!("FREQ={freq}");
        if self.interval != 1 {
            rule.push_str(&format!(";INTERVAL={}", self.interval));
        }
        if !self.weekdays.is_empty() {
            let days: Vec<&str> = self.weekdays.iter().map(|d| byday(*d)).collect();
            rule.push_str(&format!(";BYDAY={}", days.join(",")));
        }
        if let Some(day) = self.month_day {
            rule.push_str(&format!(";BYMONTHDAY={day}"));
        }
        rule
    }
}

fn byday(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}
