//! Chat: a table of messages read at a fixed clock, and the law that no message makes it panic.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Europe::London;
use proptest::prelude::*;

use super::{understand, Intent, Target};
use crate::query::QueryParams;
use crate::quick_add;

/// Friday 2026-03-27, 12:00 in London (GMT; the clocks go forward on Sunday the 29th).
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 27, 12, 0, 0)
        .single()
        .expect("a valid instant")
}

fn add(line: &str) -> Intent {
    Intent::Add(quick_add::parse(line, now(), London).expect("a valid line"))
}

fn named(words: &str) -> Target {
    Target::Named(words.to_owned())
}

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("a valid instant")
        .with_timezone(&Utc)
}

fn list(pairs: &[(&str, &str)]) -> Intent {
    let mut params = QueryParams::default();
    for (key, value) in pairs {
        let value = Some((*value).to_owned());
        match *key {
            "q" => params.q = value,
            "status" => params.status = value,
            "priority" => params.priority = value,
            "tags" => params.tags = value,
            "due_from" => params.due_from = value,
            "due_to" => params.due_to = value,
            "overdue" => params.overdue = value,
            other => panic!("no parameter {other} in this table"),
        }
    }
    Intent::List(params)
}

fn table() -> Vec<(&'static str, Intent)> {
    let pending = ("status", "pending");
    vec![
        ("add pay rent tomorrow 9am", add("pay rent tomorrow 9am")),
        ("Add task buy milk #home", add("buy milk #home")),
        (
            "new water plants every 3 days",
            add("water plants every 3 days"),
        ),
        ("remind me to call mum at 6pm", add("call mum at 6pm")),
        ("buy milk tomorrow", add("buy milk tomorrow")),
        (
            "weekly review every friday 16:00 #work",
            add("weekly review every friday 16:00 #work"),
        ),
        ("complete pay rent", Intent::Complete(named("pay rent"))),
        ("done with pay rent", Intent::Complete(named("pay rent"))),
        ("mark pay rent as done", Intent::Complete(named("pay rent"))),
        (
            "mark the pay rent task done.",
            Intent::Complete(named("pay rent")),
        ),
        ("complete it", Intent::Complete(Target::LastMentioned)),
        ("I finished that", Intent::Complete(Target::LastMentioned)),
        ("tick off groceries", Intent::Complete(named("groceries"))),
        ("delete pay rent", Intent::Delete(named("pay rent"))),
        ("remove it", Intent::Delete(Target::LastMentioned)),
        ("cancel this one", Intent::Delete(Target::LastMentioned)),
        ("reopen pay rent", Intent::Reopen(named("pay rent"))),
        (
            "mark pay rent as not done",
            Intent::Reopen(named("pay rent")),
        ),
        (
            "move pay rent to friday",
            Intent::Reschedule {
                target: named("pay rent"),
                due: at("2026-04-03T08:00:00Z"),
            },
        ),
        (
            "reschedule it to tomorrow 10am",
            Intent::Reschedule {
                target: Target::LastMentioned,
                due: at("2026-03-28T10:00:00Z"),
            },
        ),
        (
            "postpone pay rent to next week",
            Intent::Reschedule {
                target: named("pay rent"),
                due: at("2026-03-30T08:00:00+00:00"),
            },
        ),
        (
            "move talk to bob to monday 2pm",
            Intent::Reschedule {
                target: named("talk to bob"),
                due: at("2026-03-30T13:00:00Z"),
            },
        ),
        (
            "postpone it",
            Intent::Reschedule {
                target: Target::LastMentioned,
                due: at("2026-03-28T09:00:00Z"),
            },
        ),
        (
            "what is due this week",
            // Monday 00:00 GMT to Sunday 23:59:59 BST (the clocks change on Sunday).
            list(&[
                pending,
                ("due_from", "2026-03-23T00:00:00Z"),
                ("due_to", "2026-03-29T22:59:59Z"),
            ]),
        ),
        (
            "What's due today?",
            list(&[
                pending,
                ("due_from", "2026-03-27T00:00:00Z"),
                ("due_to", "2026-03-27T23:59:59Z"),
            ]),
        ),
        (
            "what is due next week",
            list(&[
                pending,
                ("due_from", "2026-03-29T23:00:00Z"),
                ("due_to", "2026-04-05T22:59:59Z"),
            ]),
        ),
        ("what's overdue", list(&[pending, ("overdue", "true")])),
        ("overdue", list(&[pending, ("overdue", "true")])),
        (
            "show high priority work tasks",
            list(&[pending, ("priority", "high"), ("tags", "work")]),
        ),
        ("list my tasks", list(&[pending])),
        ("show all tasks", list(&[("status", "all")])),
        ("show completed tasks", list(&[("status", "completed")])),
        (
            "show #home tasks tagged errands",
            list(&[pending, ("tags", "home,errands")]),
        ),
        (
            "show tasks about pay rent",
            list(&[pending, ("q", "pay rent")]),
        ),
        ("find groceries", list(&[("q", "groceries")])),
        ("search for Pay Rent", list(&[("q", "Pay Rent")])),
        ("help", Intent::Help),
        ("what can you do?", Intent::Help),
        ("complete", Intent::Help),
        ("add", Intent::Help),
        ("", Intent::Help),
    ]
}

#[test]
fn messages_are_understood_as_their_intents() {
    let mut failures = Vec::new();
    for (message, expected) in table() {
        let got = understand(message, now(), London);
        if got != expected {
            failures.push(format!("{message:?}: got {got:?}, want {expected:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_list_intent_is_a_valid_query() {
    for (message, intent) in table() {
        if let Intent::List(params) = intent {
            assert!(params.parse().is_ok(), "{message:?}: {params:?}");
        }
    }
}

proptest! {
    #[test]
    fn any_message_is_understood_without_panicking(
        message in prop_oneof![
            any::<String>(),
            "\\PC{0,40}",
            prop::collection::vec(
                prop::sample::select(vec![
                    "add", "complete", "mark", "as", "done", "not", "move", "to", "postpone",
                    "it", "what", "is", "due", "this", "week", "show", "high", "#work",
                    "find", "tomorrow", "10am", "in", "99999999999", "days", "remind", "me",
                ]),
                0..8,
            )
            .prop_map(|words| words.join(" ")),
        ],
        seconds in -2_000_000_000i64..4_000_000_000,
    ) {
        let now = DateTime::from_timestamp(seconds, 0).expect("in range");
        if let Intent::List(params) = understand(&message, now, London) {
            // Tags come from the user's words and may be invalid (too long); the rest never is.
            prop_assert!(params.tags.is_some() || params.parse().is_ok(), "{:?}", params);
        }
    }
}
