//! Questions about the user's tasks, as the query parameters of `GET /api/v1/tasks`.
//!
//! The grammar is in the [chat module's documentation](super).

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, SecondsFormat, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::query::QueryParams;
use crate::recurrence::wall_clock::{to_instant, to_local};

/// Words that say nothing about which tasks to show.
const IGNORED: &[&str] = &[
    "what",
    "what's",
    "whats",
    "which",
    "show",
    "list",
    "any",
    "is",
    "are",
    "was",
    "my",
    "me",
    "all",
    "the",
    "a",
    "of",
    "tasks",
    "task",
    "items",
    "things",
    "todos",
    "to",
    "do",
    "for",
    "i",
    "have",
    "there",
    "with",
    "priority",
    "prio",
    "due",
    "that",
    "please",
    "on",
    "in",
    "still",
    "left",
    "can",
    "you",
    "see",
    "everything",
    "anything",
    "by",
];

/// The query a list message asks for, or `None` when the message is not a list.
pub(super) fn query(
    keys: &[&str],
    words: &[&str],
    now: DateTime<Utc>,
    timezone: Tz,
) -> Option<QueryParams> {
    match keys {
        ["find" | "search", "for", ..] | ["look", "for", ..] => Some(search(&words[2..])),
        ["find" | "search", ..] => Some(search(&words[1..])),
        ["what" | "what's" | "whats" | "which" | "show" | "list" | "any" | "overdue", ..] => {
            Some(filters(keys, words, now, timezone))
        }
        _ => None,
    }
}

fn search(words: &[&str]) -> QueryParams {
    QueryParams {
        q: Some(words.join(" ")).filter(|q| !q.is_empty()),
        ..QueryParams::default()
    }
}

fn filters(keys: &[&str], words: &[&str], now: DateTime<Utc>, timezone: Tz) -> QueryParams {
    let mut params = QueryParams {
        status: Some("pending".to_owned()),
        ..QueryParams::default()
    };
    let mut priorities = Vec::new();
    let mut tags = Vec::new();
    let mut at = 0;
    while at < keys.len() {
        let key = keys[at];
        let next = keys.get(at + 1).copied();
        at += 1;
        match (key, next) {
            ("this" | "next", Some(span @ ("week" | "month"))) => {
                let range = span_of(key, span, now, timezone);
                set_range(&mut params, range);
                at += 1;
            }
            ("today" | "tomorrow" | "tonight", _) => {
                set_range(&mut params, day_of(key != "tomorrow", now, timezone));
            }
            ("overdue" | "late", _) => params.overdue = Some("true".to_owned()),
            ("completed" | "done" | "finished", _) => params.status = Some("completed".to_owned()),
            ("pending" | "open" | "unfinished" | "remaining", _) => {
                params.status = Some("pending".to_owned())
            }
            ("all" | "everything", _) => params.status = Some("all".to_owned()),
            ("high" | "urgent" | "important", _) => priorities.push("high"),
            ("medium", _) => priorities.push("medium"),
            ("low", _) => priorities.push("low"),
            ("tagged", Some(_)) => {
                tags.push(keys[at].trim_start_matches('#').to_owned());
                at += 1;
            }
            ("about" | "matching" | "containing" | "called" | "named", Some(_)) => {
                params.q = Some(words[at..].join(" "));
                at = keys.len();
            }
            (tag, _) if tag.starts_with('#') && tag.len() > 1 => tags.push(tag[1..].to_owned()),
            (word, _) if IGNORED.contains(&word) || word.contains(',') => {}
            (word, _) => tags.push(word.to_owned()),
        }
    }
    params.priority = (!priorities.is_empty()).then(|| priorities.join(","));
    params.tags = (!tags.is_empty()).then(|| tags.join(","));
    params
}

fn set_range(params: &mut QueryParams, range: Option<(DateTime<Utc>, DateTime<Utc>)>) {
    if let Some((from, to)) = range {
        params.due_from = Some(from.to_rfc3339_opts(SecondsFormat::Secs, true));
        params.due_to = Some(to.to_rfc3339_opts(SecondsFormat::Secs, true));
    }
}

/// Today or tomorrow, local midnight to the second before the next.
fn day_of(today: bool, now: DateTime<Utc>, timezone: Tz) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let date = local_today(now, timezone)?;
    let date = if today {
        date
    } else {
        date.checked_add_days(Days::new(1))?
    };
    days(date, date.checked_add_days(Days::new(1))?, timezone)
}

/// This or next week (Monday to Sunday) or month, in local days.
fn span_of(
    which: &str,
    span: &str,
    now: DateTime<Utc>,
    timezone: Tz,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let today = local_today(now, timezone)?;
    let weekday = u64::from(today.weekday().num_days_from_monday());
    let (start, step): (NaiveDate, fn(NaiveDate) -> Option<NaiveDate>) = match span {
        "week" => (today.checked_sub_days(Days::new(weekday))?, |d| {
            d.checked_add_days(Days::new(7))
        }),
        _ => (today.with_day(1)?, |d| d.checked_add_months(Months::new(1))),
    };
    let start = if which == "next" { step(start)? } else { start };
    days(start, step(start)?, timezone)
}

/// From local midnight of `first` to the second before local midnight of `end`.
fn days(first: NaiveDate, end: NaiveDate, timezone: Tz) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let from = to_instant(timezone, first.and_time(chrono::NaiveTime::MIN))?;
    let to = to_instant(timezone, end.and_time(chrono::NaiveTime::MIN))? - TimeDelta::seconds(1);
    Some((from, to))
}

fn local_today(now: DateTime<Utc>, timezone: Tz) -> Option<NaiveDate> {
    to_local(timezone, now).map(|local| local.date())
}
