//! Quick-add: a table of phrasings read at fixed clocks, the DST cases, errors, and the laws (never
//! panics, always valid, canonical round trip).

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::America::New_York;
use chrono_tz::Europe::London;
use chrono_tz::Tz;
use proptest::prelude::*;

use super::{canonical, parse};
use crate::model::{NewTask, TaskInput};

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("a valid test instant")
}

/// Friday 2026-03-27, 12:00 in London (GMT; the clocks go forward on Sunday the 29th).
fn friday_noon() -> DateTime<Utc> {
    utc(2026, 3, 27, 12, 0)
}

fn read(text: &str, now: DateTime<Utc>, tz: Tz) -> TaskInput {
    parse(text, now, tz).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// Each phrase, read in London on Friday 2026-03-27 at 12:00, and the task it gives as its canonical line.
const LONDON_FRIDAY_NOON: &[(&str, &str)] = &[
    ("buy milk", "buy milk"),
    ("  buy   milk  ", "buy milk"),
    ("buy milk today", "buy milk 2026-03-27 09:00"),
    ("buy milk tomorrow", "buy milk 2026-03-28 09:00"),
    ("buy milk tmrw", "buy milk 2026-03-28 09:00"),
    ("Buy Milk TOMORROW", "Buy Milk 2026-03-28 09:00"),
    // Today is Friday and 09:00 has passed: the next Friday.
    ("buy milk friday", "buy milk 2026-04-03 09:00"),
    ("buy milk fri", "buy milk 2026-04-03 09:00"),
    // Today is Friday and 18:00 is still ahead: today.
    ("buy milk friday 6pm", "buy milk 2026-03-27 18:00"),
    ("buy milk saturday", "buy milk 2026-03-28 09:00"),
    ("buy milk on monday", "buy milk 2026-03-30 09:00"),
    ("buy milk next friday", "buy milk 2026-04-03 09:00"),
    ("buy milk next monday", "buy milk 2026-03-30 09:00"),
    ("buy milk next week", "buy milk 2026-03-30 09:00"),
    ("buy milk next month", "buy milk 2026-04-01 09:00"),
    ("buy milk in 3 days", "buy milk 2026-03-30 09:00"),
    ("buy milk in 2 weeks", "buy milk 2026-04-10 09:00"),
    ("buy milk in 1 month", "buy milk 2026-04-27 09:00"),
    ("buy milk 2026-12-24", "buy milk 2026-12-24 09:00"),
    ("buy milk dec 24", "buy milk 2026-12-24 09:00"),
    ("buy milk 24 dec", "buy milk 2026-12-24 09:00"),
    ("buy milk december 24th", "buy milk 2026-12-24 09:00"),
    ("buy milk dec 24 2027", "buy milk 2027-12-24 09:00"),
    ("buy milk jan 5", "buy milk 2027-01-05 09:00"),
    // Today's date, but its 09:00 has passed: next year.
    ("buy milk mar 27", "buy milk 2027-03-27 09:00"),
    ("buy milk on the 1st", "buy milk 2026-04-01 09:00"),
    ("buy milk at 9am", "buy milk 2026-03-28 09:00"),
    ("buy milk 9am", "buy milk 2026-03-28 09:00"),
    ("buy milk 6pm", "buy milk 2026-03-27 18:00"),
    ("buy milk 18:30", "buy milk 2026-03-27 18:30"),
    ("buy milk at 9:30pm", "buy milk 2026-03-27 21:30"),
    ("buy milk tomorrow at 7 am", "buy milk 2026-03-28 07:00"),
    // Noon is now, not ahead: tomorrow.
    ("buy milk at noon", "buy milk 2026-03-28 12:00"),
    ("buy milk midnight", "buy milk 2026-03-28 00:00"),
    ("buy milk at 17", "buy milk 2026-03-27 17:00"),
    ("buy milk 12am tomorrow", "buy milk 2026-03-28 00:00"),
    (
        "buy milk 2026-12-24T09:00:00-05:00",
        "buy milk 2026-12-24 14:00",
    ),
    ("stretch every day", "stretch 2026-03-28 09:00 daily"),
    ("stretch daily at 7pm", "stretch 2026-03-27 19:00 daily"),
    (
        "standup every weekday at 9:30",
        "standup 2026-03-30 09:30 RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    ),
    (
        "clean every 2 weeks",
        "clean 2026-03-28 09:00 RRULE:FREQ=WEEKLY;INTERVAL=2",
    ),
    (
        "sync every other week",
        "sync 2026-03-28 09:00 RRULE:FREQ=WEEKLY;INTERVAL=2",
    ),
    ("review weekly", "review 2026-03-28 09:00 weekly"),
    (
        "pay rent every month on the 1st",
        "pay rent 2026-04-01 09:00 RRULE:FREQ=MONTHLY;BYMONTHDAY=1",
    ),
    (
        "Pay rent every month on the 1st at 9am !high #home",
        "Pay rent 2026-04-01 09:00 RRULE:FREQ=MONTHLY;BYMONTHDAY=1 !high #home",
    ),
    (
        "pay bills every 1st",
        "pay bills 2026-04-01 09:00 RRULE:FREQ=MONTHLY;BYMONTHDAY=1",
    ),
    (
        "backup every last day of the month",
        "backup 2026-03-31 09:00 RRULE:FREQ=MONTHLY;BYMONTHDAY=-1",
    ),
    (
        "backup every month on the last day",
        "backup 2026-03-31 09:00 RRULE:FREQ=MONTHLY;BYMONTHDAY=-1",
    ),
    (
        "report every month on the 31st",
        "report 2026-03-31 09:00 RRULE:FREQ=MONTHLY;BYMONTHDAY=31",
    ),
    (
        "weekly review every friday 16:00 #work",
        "weekly review 2026-03-27 16:00 RRULE:FREQ=WEEKLY;BYDAY=FR #work",
    ),
    (
        "gym every friday at 16:00",
        "gym 2026-03-27 16:00 RRULE:FREQ=WEEKLY;BYDAY=FR",
    ),
    (
        "swim every monday and wednesday",
        "swim 2026-03-30 09:00 RRULE:FREQ=WEEKLY;BYDAY=MO,WE",
    ),
    (
        "gym every mon, wed and fri at 7am",
        "gym 2026-03-30 07:00 RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR",
    ),
    (
        "lie in every weekend",
        "lie in 2026-03-28 09:00 RRULE:FREQ=WEEKLY;BYDAY=SA,SU",
    ),
    (
        "run every 2 weeks on tuesday",
        "run 2026-03-31 09:00 RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
    ),
    (
        "birthday every year",
        "birthday 2026-03-28 09:00 RRULE:FREQ=YEARLY",
    ),
    (
        "water plants every 3 days",
        "water plants 2026-03-28 09:00 RRULE:FREQ=DAILY;INTERVAL=3",
    ),
    (
        "sync every week from monday",
        "sync 2026-03-30 09:00 weekly",
    ),
    ("task !high", "task !high"),
    ("task !1", "task !high"),
    ("task !2", "task !medium"),
    ("task p3", "task !low"),
    ("!low task", "task !low"),
    ("task #Home #work", "task #home #work"),
    (
        "call mum tomorrow 6pm remind 30m before",
        "call mum 2026-03-28 18:00 remind 30m before",
    ),
    (
        "call mum remind me 2h before tomorrow",
        "call mum 2026-03-28 09:00 remind 2h before",
    ),
    (
        "call mum tomorrow remind 1 day before",
        "call mum 2026-03-28 09:00 remind 1d before",
    ),
    (
        "call mum tomorrow remind me 90 minutes before",
        "call mum 2026-03-28 09:00 remind 90m before",
    ),
    (
        "\"meet friday\" tomorrow",
        "\"meet friday\" 2026-03-28 09:00",
    ),
    ("call mum, tomorrow.", "call mum, 2026-03-28 09:00"),
    // Ordinary words that only look like parts stay in the title.
    ("read the 3 little pigs", "read the 3 little pigs"),
    ("sat nav update", "sat nav update"),
    ("wed plans", "wed plans"),
];

#[test]
fn phrasings_read_in_london_on_a_friday_give_their_tasks() {
    let mut failures = Vec::new();
    for (text, expected) in LONDON_FRIDAY_NOON {
        let got = parse(text, friday_noon(), London).map(|task| canonical(&task, London));
        if got.as_deref() != Ok(*expected) {
            failures.push(format!("{text:?}: got {got:?}, want {expected:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A UTC clock reading to the hour: (year, month, day, hour).
type Hour = (i32, u32, u32, u32);

/// (zone, now, phrase, due in UTC): around the DST changes of 2026.
const DST_CASES: &[(Tz, Hour, &str, &str)] = &[
    // London springs forward on Sunday 29 March at 01:00 UTC.
    (
        London,
        (2026, 3, 28, 12),
        "x tomorrow 9am",
        "2026-03-29T08:00:00Z",
    ),
    (
        London,
        (2026, 3, 28, 12),
        "x tomorrow 1:30am",
        "2026-03-29T01:30:00Z",
    ),
    (
        London,
        (2026, 3, 28, 12),
        "x every day",
        "2026-03-29T08:00:00Z",
    ),
    (
        London,
        (2026, 3, 28, 12),
        "x in 2 days",
        "2026-03-30T08:00:00Z",
    ),
    // London falls back on Sunday 25 October.
    (
        London,
        (2026, 10, 24, 12),
        "x tomorrow 9am",
        "2026-10-25T09:00:00Z",
    ),
    (
        London,
        (2026, 10, 24, 12),
        "x sunday 1:30am",
        "2026-10-25T00:30:00Z",
    ),
    // New York springs forward on Sunday 8 March: 02:30 does not exist and moves to 03:30 EDT.
    (
        New_York,
        (2026, 3, 7, 15),
        "x tomorrow 9am",
        "2026-03-08T13:00:00Z",
    ),
    (
        New_York,
        (2026, 3, 7, 15),
        "x tomorrow 2:30am",
        "2026-03-08T07:30:00Z",
    ),
    (
        New_York,
        (2026, 3, 7, 15),
        "x every day at 9am",
        "2026-03-08T13:00:00Z",
    ),
    (New_York, (2026, 3, 7, 15), "x 9am", "2026-03-08T13:00:00Z"),
    // New York falls back on Sunday 1 November: 01:30 happens twice, the first (EDT) counts.
    (
        New_York,
        (2026, 10, 31, 15),
        "x tomorrow 1:30am",
        "2026-11-01T05:30:00Z",
    ),
    (
        New_York,
        (2026, 10, 31, 15),
        "x sunday 9am",
        "2026-11-01T14:00:00Z",
    ),
    // Late evening in New York is already tomorrow in UTC; "today" is the local day.
    (
        New_York,
        (2026, 3, 28, 2),
        "x today 9pm",
        "2026-03-28T01:00:00Z",
    ),
    (
        New_York,
        (2026, 3, 28, 2),
        "x tomorrow",
        "2026-03-28T13:00:00Z",
    ),
];

#[test]
fn dates_are_local_and_stay_on_the_wall_clock_across_dst() {
    for (tz, (y, m, d, h), text, due) in DST_CASES {
        let task = read(text, utc(*y, *m, *d, *h, 0), *tz);
        assert_eq!(task.due_date.as_deref(), Some(*due), "{text:?} in {tz}");
        assert_eq!(task.timezone.as_deref(), Some(tz.name()));
    }
}

#[test]
fn a_raw_rule_starts_at_its_first_occurrence_from_today() {
    let task = read("yoga RRULE:FREQ=WEEKLY;BYDAY=TU", friday_noon(), London);
    assert_eq!(task.due_date.as_deref(), Some("2026-03-31T08:00:00Z"));
    assert_eq!(
        task.recurrence,
        Some(serde_json::json!({"rrule": "FREQ=WEEKLY;BYDAY=TU", "anchor": "due"}))
    );
}

#[test]
fn the_spec_examples_give_their_fields() {
    let task = read(
        "call mum tomorrow 6pm remind 30m before",
        friday_noon(),
        London,
    );
    assert_eq!(task.title, "call mum");
    assert_eq!(task.remind_before, Some(30));
    let task = read(
        "Pay rent every month on the 1st at 9am !high #home",
        friday_noon(),
        London,
    );
    assert_eq!(task.priority.as_deref(), Some("high"));
    assert_eq!(task.tags, Some(vec!["home".to_owned()]));
    assert_eq!(
        task.recurrence,
        Some(serde_json::json!({"rrule": "FREQ=MONTHLY;BYMONTHDAY=1", "anchor": "due"}))
    );
    assert_eq!(task.due_date.as_deref(), Some("2026-04-01T08:00:00Z"));
}

#[test]
fn lines_that_break_a_rule_name_the_field() {
    for (text, field) in [
        ("", "text"),
        ("   ", "text"),
        ("tomorrow 9am", "text"),
        ("#home !high", "text"),
        ("x in 99999999999 days", "due_date"),
        ("x in 99999999999999999999999 months", "due_date"),
        ("x every 0 days", "recurrence"),
        ("x every 99999999999 weeks", "recurrence"),
        ("x RRULE:FREQ=SOMETIMES", "recurrence"),
        ("x remind 9999999 days before", "remind_before"),
        ("x #a,b", "tags"),
    ] {
        let err = parse(text, friday_noon(), London).expect_err(text);
        assert_eq!(err.field, field, "{text:?}: {err}");
    }
    let long = "word ".repeat(50);
    assert_eq!(
        parse(&long, friday_noon(), London).unwrap_err().field,
        "title"
    );
}

fn zones() -> impl Strategy<Value = Tz> {
    prop::sample::select(vec![
        chrono_tz::UTC,
        London,
        New_York,
        chrono_tz::Australia::Lord_Howe,
        chrono_tz::Pacific::Apia,
        chrono_tz::Asia::Kolkata,
    ])
}

fn instants() -> impl Strategy<Value = DateTime<Utc>> {
    // 1990 to 2100, to the minute.
    (631_152_000i64 / 60..4_102_444_800i64 / 60)
        .prop_map(|m| DateTime::from_timestamp(m * 60, 0).expect("in range"))
}

/// Lines built from the grammar's own pieces, so most of them mean something.
fn phrases() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "call",
        "mum",
        "the",
        "pay",
        "rent",
        "today",
        "tomorrow",
        "friday",
        "next",
        "monday",
        "week",
        "in",
        "3",
        "days",
        "2",
        "weeks",
        "2026-12-24",
        "dec",
        "24",
        "on",
        "1st",
        "at",
        "9am",
        "6pm",
        "18:30",
        "noon",
        "every",
        "day",
        "weekday",
        "month",
        "last",
        "of",
        "and",
        "wednesday",
        "year",
        "daily",
        "weekly",
        "other",
        "!high",
        "p2",
        "!3",
        "#home",
        "#Work",
        "remind",
        "me",
        "30m",
        "before",
        "1",
        "hours",
        "\"quoted",
        "words\"",
        "sat",
        "99999999999",
    ]);
    prop::collection::vec(piece, 0..10).prop_map(|words| words.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_line_is_read_without_panicking_and_only_into_valid_tasks(
        text in prop_oneof![any::<String>(), phrases(), "\\PC{0,60}"],
        now in instants(),
        tz in zones(),
    ) {
        if let Ok(task) = parse(&text, now, tz) {
            prop_assert!(NewTask::parse(task).is_ok());
        }
    }

    #[test]
    fn a_parsed_task_written_canonically_reads_back_as_the_same_task(
        text in phrases(),
        now in instants(),
        later in instants(),
        tz in zones(),
    ) {
        if let Ok(task) = parse(&text, now, tz) {
            let line = canonical(&task, tz);
            let again = parse(&line, later, tz);
            prop_assert!(again.is_ok(), "{text:?} -> {line:?}: {again:?}");
            let again = again.expect("checked");
            prop_assert_eq!(NewTask::parse(again), NewTask::parse(task), "{:?} -> {:?}", text, line);
        }
    }

    #[test]
    fn any_valid_task_written_canonically_reads_back_as_the_same_task(
        title in "[a-zA-Z0-9 \"\\\\#!:-]{1,30}",
        due in prop::option::of(instants()),
        seconds in 0i64..60,
        recurrence in prop::sample::select(vec![
            None,
            Some(serde_json::json!("daily")),
            Some(serde_json::json!("weekly")),
            Some(serde_json::json!("monthly")),
            Some(serde_json::json!({"rrule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE"})),
            Some(serde_json::json!({"rrule": "FREQ=DAILY;INTERVAL=3", "anchor": "completion"})),
        ]),
        priority in prop::option::of(prop::sample::select(vec!["high", "medium", "low"])),
        tags in prop::option::of(prop::collection::vec("[a-z0-9_]{1,10}", 0..4)),
        remind_before in prop::option::of(0i64..=525_600),
        tz in zones(),
        now in instants(),
    ) {
        let due = due.map(|d| d + chrono::TimeDelta::seconds(seconds));
        let input = TaskInput {
            title,
            priority: priority.map(str::to_owned),
            tags,
            due_date: due.map(|d| d.to_rfc3339()),
            timezone: Some(tz.name().to_owned()),
            remind_before,
            // Quick-add gives every recurring task a due date.
            recurrence: recurrence.filter(|_| due.is_some()),
            ..TaskInput::default()
        };
        prop_assume!(NewTask::parse(input.clone()).is_ok());
        let line = canonical(&input, tz);
        let again = parse(&line, now, tz);
        prop_assert!(again.is_ok(), "{line:?}: {again:?}");
        prop_assert_eq!(
            NewTask::parse(again.expect("checked")),
            NewTask::parse(input),
            "{:?}", line
        );
    }
}
