//! Chat: what a message to the assistant asks for, read deterministically (no I/O, no LLM).
//!
//! [`understand`] turns one message into an [`Intent`]; the caller (the chat endpoint, the MCP server)
//! carries it out with the use cases and finds the task a [`Target`] names. Matching ignores case and
//! trailing `?` `!` `.`.
//!
//! # Grammar
//!
//! - **Add**: `add ...`, `new ...`, `create ...`, `todo ...`, `remind me to ...`, or any message that is
//!   no other command: the rest is a [quick-add](crate::quick_add) line (`add pay rent tomorrow 9am`,
//!   `remind me to call mum at 6pm`, `buy milk #home`).
//! - **Complete**: `complete X`, `done X`, `done with X`, `finish X`, `finished X`, `i did X`,
//!   `i finished X`, `tick off X`, `check off X`, `mark X as done` (or `done`, `complete`, `completed`,
//!   `finished`, with or without `as`).
//! - **Delete**: `delete X`, `remove X`, `cancel X`, `drop X`, `forget X`.
//! - **Reopen**: `reopen X`, `uncomplete X`, `undo X`, `mark X as not done` (or `pending`, `open`,
//!   `undone`, `incomplete`).
//! - **Reschedule**: `move X to WHEN`, `reschedule X to WHEN`, `postpone X to WHEN`, `push X to WHEN`,
//!   `defer X until WHEN` (`to`, `until`, `till` or `for`), where WHEN is a quick-add date and/or time
//!   (`friday`, `tomorrow 10am`, `next week`, `in 3 days`). `postpone X`, `push X`, `defer X` or
//!   `delay X` without one moves it to tomorrow at 09:00.
//! - **List**: see [below](#lists).
//! - **Help**: `help`, `?`, `what can you do`, `commands`; also a command without its task
//!   (`complete`) or an add with nothing to add.
//!
//! X, the task, is `it`, `that`, `this` (optionally with `one` or `task`): the task last mentioned in
//! the conversation. Otherwise it is the words to search the user's tasks by, without a leading `the`
//! or `my` and a trailing `task`.
//!
//! # Lists
//!
//! A message that starts with `what`, `what's`, `which`, `show`, `list`, `any` or `overdue` is a list.
//! Its words, in any order:
//! - `today`, `tomorrow`, `this week`, `next week`, `this month`, `next month`: tasks due in that span of local time,
//!   whole days from 00:00 to 23:59:59. **This week runs from Monday 00:00 to Sunday 23:59:59**, so
//!   what was due earlier this week and is still pending shows too (as a weekly view does);
//! - `overdue` (or `late`): pending tasks past their due date;
//! - `completed` / `done` / `finished`: completed tasks; `all` / `everything`: any status; otherwise
//!   **pending** tasks only;
//! - `high`, `medium`, `low` (with or without `priority`), `urgent` or `important` (high);
//! - `#work`, `tagged work`: a tag;
//! - `about`, `matching`, `containing`, `called` or `named` followed by words: a keyword search;
//! - small words (`is`, `my`, `tasks`, `due`, ...) are ignored, and any other word is a tag
//!   (`show high priority work tasks` is tag `work`).
//!
//! `find X`, `search X`, `search for X` and `look for X` search for X, in any status.

mod list;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Days, Utc};
use chrono_tz::Tz;

use crate::model::TaskInput;
use crate::query::QueryParams;
use crate::quick_add;

/// What a chat message asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// Create this task (read by [`quick_add::parse`]).
    Add(TaskInput),
    /// Complete the task.
    Complete(Target),
    /// Delete the task.
    Delete(Target),
    /// Mark the completed task pending again.
    Reopen(Target),
    /// Give the task a new due date.
    Reschedule {
        /// Which task.
        target: Target,
        /// Its new due date.
        due: DateTime<Utc>,
    },
    /// Find tasks: the query parameters of `GET /api/v1/tasks`.
    List(QueryParams),
    /// Explain what can be said.
    Help,
}

/// The task a command is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Words to search the user's tasks by (`pay rent`).
    Named(String),
    /// `it`, `that`, `this`: the task last mentioned in the conversation.
    LastMentioned,
}

/// Reads a chat message, with dates in `timezone` relative to `now`. See the
/// [module documentation](self) for what a message may say.
#[must_use]
pub fn understand(message: &str, now: DateTime<Utc>, timezone: Tz) -> Intent {
    let message = message.trim().trim_end_matches(['?', '!', '.']).trim();
    let words: Vec<&str> = message.split_whitespace().collect();
    let keys: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let rest = |from: usize| words.get(from..).unwrap_or_default().join(" ");
    if is_help(&keys) || message.is_empty() {
        return Intent::Help;
    }
    if let Some(from) = add_prefix(&keys) {
        return add(&rest(from), now, timezone);
    }
    if let Some(intent) = on_target(&keys, &words) {
        return intent;
    }
    if let Some(intent) = reschedule(&keys, &words, now, timezone) {
        return intent;
    }
    if let Some(params) = list::query(&keys, &words, now, timezone) {
        return Intent::List(params);
    }
    add(message, now, timezone)
}

fn is_help(keys: &[&str]) -> bool {
    matches!(
        keys,
        ["help"]
            | ["?"]
            | ["commands"]
            | ["what", "can", "you", "do"]
            | ["how", "does", "this", "work"]
    )
}

/// Where the quick-add line starts, if the message asks to add.
fn add_prefix(keys: &[&str]) -> Option<usize> {
    match keys {
        ["remind", "me", "to", ..] => Some(3),
        ["add", "a", "task", ..] | ["add", "task", "to", ..] => Some(keys.len().min(3)),
        ["add" | "new" | "create" | "todo", "task", ..] => Some(2),
        ["add" | "new" | "create" | "todo", ..] => Some(1),
        _ => None,
    }
}

fn add(line: &str, now: DateTime<Utc>, timezone: Tz) -> Intent {
    quick_add::parse(line, now, timezone).map_or(Intent::Help, Intent::Add)
}

/// Complete, delete and reopen: a verb and the task's words.
fn on_target(keys: &[&str], words: &[&str]) -> Option<Intent> {
    type Make = fn(Target) -> Intent;
    let (make, from, to): (Make, usize, usize) = match keys {
        ["done", "with", ..] | ["i", "did" | "finished" | "completed", ..] => {
            (Intent::Complete, 2, keys.len())
        }
        ["tick" | "check", "off", ..] => (Intent::Complete, 2, keys.len()),
        ["complete" | "done" | "finish" | "finished", ..] => (Intent::Complete, 1, keys.len()),
        ["delete" | "remove" | "cancel" | "drop" | "forget", ..] => (Intent::Delete, 1, keys.len()),
        ["reopen" | "uncomplete" | "undo", ..] => (Intent::Reopen, 1, keys.len()),
        ["mark", .., "as", "not", "done"] => (Intent::Reopen, 1, keys.len() - 3),
        ["mark", .., "not", "done"] => (Intent::Reopen, 1, keys.len() - 2),
        ["mark", .., "as", "pending" | "open" | "undone" | "incomplete"] => {
            (Intent::Reopen, 1, keys.len() - 2)
        }
        ["mark", .., "pending" | "open" | "undone" | "incomplete"] => {
            (Intent::Reopen, 1, keys.len() - 1)
        }
        ["mark", .., "as", "done" | "complete" | "completed" | "finished"] => {
            (Intent::Complete, 1, keys.len() - 2)
        }
        ["mark", .., "done" | "complete" | "completed" | "finished"] => {
            (Intent::Complete, 1, keys.len() - 1)
        }
        _ => return None,
    };
    Some(target(words.get(from..to)?).map_or(Intent::Help, make))
}

/// Move, reschedule, postpone: a verb, the task, and when (`move pay rent to friday`).
fn reschedule(keys: &[&str], words: &[&str], now: DateTime<Utc>, timezone: Tz) -> Option<Intent> {
    let verb = *keys.first()?;
    let defaults_to_tomorrow = matches!(verb, "postpone" | "push" | "defer" | "delay");
    if !defaults_to_tomorrow && !matches!(verb, "move" | "reschedule") {
        return None;
    }
    // The last `to` whose rest is a date: a title may itself hold `to`.
    let split = (2..keys.len()).rev().find_map(|at| {
        let joiner = matches!(keys[at], "to" | "until" | "till" | "for");
        let when = words.get(at + 1..).unwrap_or_default().join(" ");
        joiner
            .then(|| quick_add::moment(&when, now, timezone))
            .flatten()
            .map(|due| (at, due))
    });
    let (end, due) = match split {
        Some(found) => found,
        None if defaults_to_tomorrow => (keys.len(), tomorrow_morning(now, timezone)?),
        None => return Some(Intent::Help),
    };
    Some(match target(words.get(1..end)?) {
        Some(target) => Intent::Reschedule { target, due },
        None => Intent::Help,
    })
}

fn tomorrow_morning(now: DateTime<Utc>, timezone: Tz) -> Option<DateTime<Utc>> {
    let tomorrow = now
        .with_timezone(&timezone)
        .date_naive()
        .checked_add_days(Days::new(1))?;
    quick_add::moment(&tomorrow.format("%Y-%m-%d").to_string(), now, timezone)
}

/// The task named by `words`: `it`/`that`/`this`, or the words themselves.
fn target(words: &[&str]) -> Option<Target> {
    let keys: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    if matches!(
        keys.as_slice(),
        ["it" | "that" | "this"] | ["that" | "this", "one" | "task"] | ["the", "last", "one"]
    ) {
        return Some(Target::LastMentioned);
    }
    let start = usize::from(matches!(keys.first(), Some(&("the" | "my"))));
    let end = keys.len() - usize::from(keys.len() > start + 1 && keys.last() == Some(&"task"));
    let name = words.get(start..end)?.join(" ");
    let name = name.trim_matches(['"', '\'']).trim();
    (!name.is_empty()).then(|| Target::Named(name.to_owned()))
}
