//! Unit tests: the SPEC examples, anchors, COUNT/UNTIL, parse errors and the outside forms.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::America::New_York;
use chrono_tz::Europe::{Berlin, London};
use chrono_tz::Tz;

use super::*;

/// The instant of a local date-time that exists exactly once.
fn local(tz: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    tz.with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("an unambiguous local time")
        .with_timezone(&Utc)
}

fn rule(text: &str) -> Recurrence {
    Recurrence::Rule(CustomRule::parse(text, Anchor::Due).expect("a valid rule"))
}

fn completion_rule(text: &str) -> Recurrence {
    Recurrence::Rule(CustomRule::parse(text, Anchor::Completion).expect("a valid rule"))
}

/// An occurrence due at `due`, completed an hour later, in a series anchored at `anchor`.
fn done_on_time(
    due: DateTime<Utc>,
    anchor: DateTime<Utc>,
    occurrence: u32,
    tz: Tz,
) -> CompletedOccurrence {
    CompletedOccurrence {
        due: Some(due),
        completed_at: due + chrono::TimeDelta::hours(1),
        series_anchor: Some(anchor),
        occurrence,
        timezone: tz,
    }
}

/// Completes occurrences one after the other, on time, and returns their due dates (the first included).
fn walk(recurrence: &Recurrence, first: DateTime<Utc>, tz: Tz, max: usize) -> Vec<DateTime<Utc>> {
    let mut dues = vec![first];
    let mut completed = done_on_time(first, first, 1, tz);
    while dues.len() < max {
        let Some(next) = next_occurrence(recurrence, &completed) else {
            break;
        };
        assert_eq!(next.occurrence, completed.occurrence + 1);
        dues.push(next.due);
        completed = done_on_time(next.due, next.series_anchor, next.occurrence, tz);
    }
    dues
}

#[test]
fn monthly_on_the_31st_clamps_to_february_29_and_returns_to_the_31st() {
    let dues = walk(
        &Recurrence::Monthly,
        local(Berlin, 2028, 1, 31, 9, 0),
        Berlin,
        5,
    );
    assert_eq!(
        dues,
        vec![
            local(Berlin, 2028, 1, 31, 9, 0),
            local(Berlin, 2028, 2, 29, 9, 0),
            local(Berlin, 2028, 3, 31, 9, 0),
            local(Berlin, 2028, 4, 30, 9, 0),
            local(Berlin, 2028, 5, 31, 9, 0),
        ]
    );
}

#[test]
fn monthly_on_the_31st_clamps_to_february_28_in_a_common_year() {
    let dues = walk(
        &Recurrence::Monthly,
        local(Berlin, 2027, 1, 31, 9, 0),
        Berlin,
        3,
    );
    assert_eq!(dues[1], local(Berlin, 2027, 2, 28, 9, 0));
    assert_eq!(dues[2], local(Berlin, 2027, 3, 31, 9, 0));
}

#[test]
fn a_custom_monthly_rule_on_the_31st_skips_months_without_one() {
    let dues = walk(
        &rule("FREQ=MONTHLY"),
        local(Berlin, 2028, 1, 31, 9, 0),
        Berlin,
        3,
    );
    assert_eq!(dues[1], local(Berlin, 2028, 3, 31, 9, 0));
    assert_eq!(dues[2], local(Berlin, 2028, 5, 31, 9, 0));
}

#[test]
fn weekly_at_nine_stays_at_nine_in_new_york_across_both_dst_changes() {
    // DST starts 2026-03-08 and ends 2026-11-01.
    let march = walk(
        &Recurrence::Weekly,
        local(New_York, 2026, 3, 2, 9, 0),
        New_York,
        2,
    );
    assert_eq!(
        march[1],
        Utc.with_ymd_and_hms(2026, 3, 9, 13, 0, 0).unwrap()
    );
    let november = walk(
        &Recurrence::Weekly,
        local(New_York, 2026, 10, 26, 9, 0),
        New_York,
        2,
    );
    assert_eq!(
        november[1],
        Utc.with_ymd_and_hms(2026, 11, 2, 14, 0, 0).unwrap()
    );
    let rrule = walk(
        &rule("FREQ=WEEKLY"),
        local(New_York, 2026, 10, 26, 9, 0),
        New_York,
        2,
    );
    assert_eq!(rrule, november);
}

#[test]
fn daily_stays_at_the_same_local_time_across_london_dst_changes() {
    // BST starts 2026-03-29 and ends 2026-10-25.
    let spring = walk(
        &Recurrence::Daily,
        local(London, 2026, 3, 28, 8, 0),
        London,
        3,
    );
    assert_eq!(
        spring,
        vec![
            Utc.with_ymd_and_hms(2026, 3, 28, 8, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 29, 7, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 30, 7, 0, 0).unwrap(),
        ]
    );
    let autumn = walk(
        &Recurrence::Daily,
        local(London, 2026, 10, 24, 8, 0),
        London,
        2,
    );
    assert_eq!(
        autumn[1],
        Utc.with_ymd_and_hms(2026, 10, 25, 8, 0, 0).unwrap()
    );
}

#[test]
fn a_local_time_in_the_spring_forward_gap_moves_forward_by_the_gap() {
    let dues = walk(
        &Recurrence::Daily,
        local(New_York, 2026, 3, 7, 2, 30),
        New_York,
        3,
    );
    // 2026-03-08 02:30 does not exist in New York: 03:30 EDT; the day after is 02:30 EDT again.
    assert_eq!(dues[1], Utc.with_ymd_and_hms(2026, 3, 8, 7, 30, 0).unwrap());
    assert_eq!(dues[2], Utc.with_ymd_and_hms(2026, 3, 9, 6, 30, 0).unwrap());
}

#[test]
fn a_local_time_repeated_at_fall_back_is_its_earlier_instant() {
    let dues = walk(
        &Recurrence::Daily,
        local(New_York, 2026, 10, 31, 1, 30),
        New_York,
        3,
    );
    assert_eq!(
        dues[1],
        Utc.with_ymd_and_hms(2026, 11, 1, 5, 30, 0).unwrap()
    ); // 01:30 EDT
    assert_eq!(
        dues[2],
        Utc.with_ymd_and_hms(2026, 11, 2, 6, 30, 0).unwrap()
    ); // 01:30 EST
}

#[test]
fn a_missed_week_is_skipped_not_piled_up() {
    let due = local(New_York, 2026, 3, 2, 9, 0);
    let completed = CompletedOccurrence {
        due: Some(due),
        completed_at: local(New_York, 2026, 3, 11, 12, 0),
        series_anchor: Some(due),
        occurrence: 1,
        timezone: New_York,
    };
    for recurrence in [Recurrence::Weekly, rule("FREQ=WEEKLY")] {
        let next = next_occurrence(&recurrence, &completed).expect("weekly never ends");
        assert_eq!(next.due, local(New_York, 2026, 3, 16, 9, 0));
        assert_eq!(next.series_anchor, due);
        assert_eq!(next.occurrence, 2);
    }
}

#[test]
fn completing_early_gives_the_occurrence_after_the_due_date() {
    let due = local(London, 2026, 5, 11, 9, 0);
    let completed = CompletedOccurrence {
        due: Some(due),
        completed_at: local(London, 2026, 5, 4, 9, 0),
        series_anchor: Some(due),
        occurrence: 1,
        timezone: London,
    };
    let next = next_occurrence(&Recurrence::Weekly, &completed).expect("weekly never ends");
    assert_eq!(next.due, local(London, 2026, 5, 18, 9, 0));
}

#[test]
fn count_3_ends_the_series_after_the_third_occurrence() {
    let dues = walk(
        &rule("FREQ=DAILY;COUNT=3"),
        local(London, 2026, 6, 1, 9, 0),
        London,
        10,
    );
    assert_eq!(dues.len(), 3);
    assert_eq!(dues[2], local(London, 2026, 6, 3, 9, 0));
}

#[test]
fn count_counts_skipped_occurrences_when_anchored_on_due_dates() {
    let first = local(London, 2026, 6, 1, 9, 0);
    let completed = CompletedOccurrence {
        due: Some(first),
        completed_at: local(London, 2026, 6, 3, 12, 0),
        series_anchor: Some(first),
        occurrence: 1,
        timezone: London,
    };
    // Occurrences 2 and 3 were missed; COUNT=3 leaves nothing after them.
    assert_eq!(
        next_occurrence(&rule("FREQ=DAILY;COUNT=3"), &completed),
        None
    );
    let next = next_occurrence(&rule("FREQ=DAILY;COUNT=4"), &completed).expect("the 4th remains");
    assert_eq!(next.due, local(London, 2026, 6, 4, 9, 0));
}

#[test]
fn until_ends_the_series_after_its_last_occurrence() {
    let recurrence = rule("FREQ=WEEKLY;UNTIL=20260615T080000Z");
    let dues = walk(&recurrence, local(London, 2026, 6, 1, 9, 0), London, 10);
    // 2026-06-15 09:00 BST is 08:00Z, the last one UNTIL allows.
    assert_eq!(
        dues,
        vec![
            local(London, 2026, 6, 1, 9, 0),
            local(London, 2026, 6, 8, 9, 0),
            local(London, 2026, 6, 15, 9, 0),
        ]
    );
}

#[test]
fn an_until_already_past_ends_the_series() {
    let recurrence = rule("FREQ=DAILY;UNTIL=20200101T000000Z");
    let due = local(London, 2026, 6, 1, 9, 0);
    assert_eq!(
        next_occurrence(&recurrence, &done_on_time(due, due, 1, London)),
        None
    );
}

#[test]
fn a_completion_anchored_rule_restarts_at_the_completion_minute() {
    let due = local(Berlin, 2026, 3, 1, 9, 0);
    let completed_at = Utc.with_ymd_and_hms(2026, 3, 5, 13, 23, 45).unwrap(); // 14:23:45 CET
    let completed = CompletedOccurrence {
        due: Some(due),
        completed_at,
        series_anchor: Some(due),
        occurrence: 1,
        timezone: Berlin,
    };
    let next = next_occurrence(&completion_rule("FREQ=DAILY;INTERVAL=3"), &completed)
        .expect("the rule does not end");
    assert_eq!(next.due, local(Berlin, 2026, 3, 8, 14, 23));
    assert_eq!(next.series_anchor, local(Berlin, 2026, 3, 5, 14, 23));
    assert_eq!(next.occurrence, 2);
}

#[test]
fn a_completion_anchored_rule_with_byday_takes_the_next_matching_day_after_completion() {
    let due = local(Berlin, 2026, 3, 2, 9, 0); // Monday
    let completed = CompletedOccurrence {
        due: Some(due),
        completed_at: local(Berlin, 2026, 3, 4, 18, 0), // Wednesday
        series_anchor: Some(due),
        occurrence: 1,
        timezone: Berlin,
    };
    let recurrence = completion_rule("FREQ=WEEKLY;BYDAY=MO,FR;BYHOUR=9;BYMINUTE=0;BYSECOND=0");
    let next = next_occurrence(&recurrence, &completed).expect("weekly never ends");
    assert_eq!(next.due, local(Berlin, 2026, 3, 6, 9, 0));
}

#[test]
fn a_completion_anchored_count_limits_the_number_of_occurrences() {
    let recurrence = completion_rule("FREQ=DAILY;COUNT=2");
    let due = local(Berlin, 2026, 3, 1, 9, 0);
    let first = next_occurrence(&recurrence, &done_on_time(due, due, 1, Berlin));
    assert!(first.is_some());
    assert_eq!(
        next_occurrence(&recurrence, &done_on_time(due, due, 2, Berlin)),
        None
    );
}

#[test]
fn a_task_without_a_due_date_takes_its_next_one_from_the_completion_time() {
    let completed = CompletedOccurrence {
        due: None,
        completed_at: Utc.with_ymd_and_hms(2026, 7, 1, 12, 34, 56).unwrap(),
        series_anchor: None,
        occurrence: 1,
        timezone: London,
    };
    let daily = next_occurrence(&Recurrence::Daily, &completed).expect("daily never ends");
    assert_eq!(daily.due, local(London, 2026, 7, 2, 13, 34));
    assert_eq!(daily.series_anchor, local(London, 2026, 7, 1, 13, 34));
    let custom = next_occurrence(
        &rule("FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0"),
        &completed,
    )
    .expect("weekly never ends");
    // 2026-07-01 is a Wednesday; BYSECOND comes from the truncated start, 0.
    assert_eq!(custom.due, local(London, 2026, 7, 6, 9, 0));
}

#[test]
fn without_a_series_anchor_the_due_date_starts_the_series() {
    let due = local(London, 2026, 1, 31, 9, 0);
    let completed = CompletedOccurrence {
        series_anchor: None,
        ..done_on_time(due, due, 1, London)
    };
    let next = next_occurrence(&Recurrence::Monthly, &completed).expect("monthly never ends");
    assert_eq!(next.due, local(London, 2026, 2, 28, 9, 0));
    assert_eq!(next.series_anchor, due);
}

#[test]
fn the_series_anchor_keeps_the_interval_aligned() {
    // Every other week from Monday 2026-01-05; the completed one was re-scheduled to a Thursday.
    let anchor = local(London, 2026, 1, 5, 9, 0);
    let completed = CompletedOccurrence {
        due: Some(local(London, 2026, 1, 22, 9, 0)),
        completed_at: local(London, 2026, 1, 22, 10, 0),
        series_anchor: Some(anchor),
        occurrence: 2,
        timezone: London,
    };
    let next = next_occurrence(&rule("FREQ=WEEKLY;INTERVAL=2"), &completed).expect("never ends");
    assert_eq!(next.due, local(London, 2026, 2, 2, 9, 0));
}

#[test]
fn a_series_anchored_decades_ago_finds_its_next_occurrence_quickly() {
    let anchor = local(New_York, 1990, 1, 1, 9, 15);
    let due = local(New_York, 2026, 4, 1, 9, 15);
    let completed = CompletedOccurrence {
        due: Some(due),
        completed_at: due,
        series_anchor: Some(anchor),
        occurrence: 500,
        timezone: New_York,
    };
    let started = std::time::Instant::now();
    let hourly = next_occurrence(&rule("FREQ=HOURLY;INTERVAL=5"), &completed).expect("never ends");
    // 1990-01-01 09:15 plus a multiple of 5 wall-clock hours.
    let hours = (hourly.due.with_timezone(&New_York).naive_local()
        - anchor.with_timezone(&New_York).naive_local())
    .num_hours();
    assert_eq!(hours % 5, 0);
    assert!(hourly.due > due && hourly.due <= due + chrono::TimeDelta::hours(5));
    let daily = next_occurrence(&Recurrence::Daily, &completed).expect("never ends");
    assert_eq!(daily.due, local(New_York, 2026, 4, 2, 9, 15));
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

#[test]
fn parse_errors_name_the_field_and_the_problem() {
    let cases = [
        ("", "empty"),
        ("   ", "empty"),
        ("RRULE:", "empty"),
        ("FREQ=SECONDLY", "too frequent"),
        ("FREQ=MINUTELY", "too frequent"),
        ("FREQ=FORTNIGHTLY", "not a frequency"),
        ("BYDAY=MO", "FREQ is missing"),
        ("DTSTART:20260101T090000Z\nRRULE:FREQ=DAILY", "DTSTART"),
        ("FREQ=DAILY;EXDATE=20260102T090000Z", "EXDATE"),
        ("FREQ=DAILY;RDATE=20260102T090000Z", "RDATE"),
        ("FREQ=DAILY;COUNT=0", "COUNT=0 is out of range"),
        ("FREQ=DAILY;COUNT=10001", "out of range"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL=0"),
        ("FREQ=DAILY;INTERVAL=99999999", "INTERVAL"),
        ("FREQ=DAILY;UNTIL=20261231", "UTC date-time"),
        ("FREQ=DAILY;UNTIL=20261231T000000", "UTC date-time"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "never produces"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6", "never produces"),
        ("FREQ=DAILY;FOO=BAR", "FOO is not an RRULE part"),
        ("FREQ=DAILY;BYDAY=XX", "not a weekday"),
        ("FREQ=DAILY;BYHOUR=24", "BYHOUR"),
        ("FREQ=DAILY;BYMONTHDAY=0", "BYMONTHDAY"),
        ("FREQ=DAILY;BYMONTHDAY=abc", "not a number"),
        ("FREQ=DAILY;;BYMONTH", "not a NAME=VALUE"),
        ("FREQ=DAILY;BYMONTH=", "no value"),
        ("FREQ=DAILY;BYDAY=MO\u{e9}", "contains"),
    ];
    for (text, expected) in cases {
        let error = CustomRule::parse(text, Anchor::Due).expect_err(text);
        assert_eq!(error.field, "recurrence", "{text}");
        assert!(
            error.message.contains(expected),
            "{text:?}: {}",
            error.message
        );
    }
    let too_long = format!("FREQ=DAILY;BYMONTHDAY={}", vec!["1"; 300].join(","));
    let error = CustomRule::parse(&too_long, Anchor::Due).expect_err("too long");
    assert!(
        error.message.contains("longer than 500"),
        "{}",
        error.message
    );
}

#[test]
fn parse_accepts_a_prefix_any_case_and_stores_the_normalised_rule() {
    let parsed = CustomRule::parse(
        "  rrule:freq=weekly;byday=we,mo;interval=2;  ",
        Anchor::Completion,
    )
    .expect("valid");
    assert_eq!(parsed.rrule(), "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE");
    assert_eq!(parsed.anchor(), Anchor::Completion);
}

#[test]
fn json_forms_match_the_rest_contract() {
    let cases: [(Recurrence, &str); 5] = [
        (Recurrence::Daily, r#""daily""#),
        (Recurrence::Weekly, r#""weekly""#),
        (Recurrence::Monthly, r#""monthly""#),
        (
            rule("FREQ=WEEKLY;BYDAY=MO,WE;INTERVAL=2"),
            r#"{"rrule":"FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE","anchor":"due"}"#,
        ),
        (
            completion_rule("FREQ=DAILY;INTERVAL=3"),
            r#"{"rrule":"FREQ=DAILY;INTERVAL=3","anchor":"completion"}"#,
        ),
    ];
    for (recurrence, json) in cases {
        assert_eq!(
            serde_json::to_string(&recurrence).expect("serialises"),
            json
        );
        let back: Recurrence = serde_json::from_str(json).expect("deserialises");
        assert_eq!(back, recurrence);
    }
}

#[test]
fn json_without_an_anchor_is_anchored_on_due_dates() {
    let parsed: Recurrence = serde_json::from_str(r#"{"rrule":"freq=daily"}"#).expect("valid");
    assert_eq!(parsed, rule("FREQ=DAILY"));
}

#[test]
fn json_null_is_no_recurrence() {
    let parsed: Option<Recurrence> = serde_json::from_str("null").expect("valid");
    assert_eq!(parsed, None);
}

#[test]
fn invalid_json_is_refused_with_a_clear_message() {
    let cases = [
        (r#""yearly""#, "unknown recurrence \"yearly\""),
        (r#""Daily""#, "unknown recurrence"),
        (r#"{"rrule":"FREQ=SECONDLY"}"#, "too frequent"),
        (
            r#"{"rrule":"FREQ=DAILY","anchor":"start"}"#,
            "unknown variant `start`",
        ),
        (
            r#"{"rrule":"FREQ=DAILY","every":2}"#,
            "unknown field `every`",
        ),
        (r#"{"anchor":"due"}"#, "missing field `rrule`"),
        ("42", "expected \"daily\""),
        ("[]", "expected \"daily\""),
    ];
    for (json, expected) in cases {
        let error = serde_json::from_str::<Recurrence>(json)
            .expect_err(json)
            .to_string();
        assert!(error.contains(expected), "{json}: {error}");
    }
}

#[test]
fn the_storage_text_round_trips() {
    let cases = [
        (Recurrence::Daily, "daily"),
        (Recurrence::Weekly, "weekly"),
        (Recurrence::Monthly, "monthly"),
        (
            rule("FREQ=MONTHLY;BYDAY=-1FR"),
            "RRULE:FREQ=MONTHLY;BYDAY=-1FR",
        ),
        (
            completion_rule("FREQ=DAILY;INTERVAL=3"),
            "RRULE:FREQ=DAILY;INTERVAL=3;anchor=completion",
        ),
    ];
    for (recurrence, text) in cases {
        assert_eq!(recurrence.to_string(), text);
        assert_eq!(text.parse::<Recurrence>(), Ok(recurrence));
    }
    assert_eq!(
        "FREQ=DAILY;anchor=due".parse::<Recurrence>(),
        Ok(rule("FREQ=DAILY"))
    );
    assert!("RRULE:FREQ=DAILY;anchor=later"
        .parse::<Recurrence>()
        .is_err());
    assert!("hourly".parse::<Recurrence>().is_err());
}

#[test]
fn occurrences_lists_a_series_from_its_start() {
    let start = local(Berlin, 2028, 1, 31, 9, 0);
    let monthly: Vec<_> = Recurrence::Monthly
        .occurrences(start, Berlin)
        .take(3)
        .collect();
    assert_eq!(
        monthly,
        vec![
            start,
            local(Berlin, 2028, 2, 29, 9, 0),
            local(Berlin, 2028, 3, 31, 9, 0)
        ]
    );
    let counted: Vec<_> = rule("FREQ=MONTHLY;BYDAY=2TU;COUNT=2")
        .occurrences(start, Berlin)
        .collect();
    assert_eq!(
        counted,
        vec![
            local(Berlin, 2028, 2, 8, 9, 0),
            local(Berlin, 2028, 3, 14, 9, 0)
        ]
    );
}

#[test]
fn a_series_starting_outside_years_1_to_9999_has_no_occurrences() {
    let far = NaiveDate::from_ymd_opt(12000, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("date");
    let far = Utc.from_utc_datetime(&far);
    assert_eq!(Recurrence::Daily.occurrences(far, London).next(), None);
    assert_eq!(rule("FREQ=DAILY").occurrences(far, London).next(), None);
}

#[test]
fn instants_at_the_edges_of_time_give_no_occurrence_instead_of_panicking() {
    let edges = [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC];
    let tz = chrono_tz::Asia::Tokyo;
    for recurrence in [Recurrence::Daily, Recurrence::Monthly, rule("FREQ=DAILY")] {
        for edge in edges {
            assert_eq!(recurrence.occurrences(edge, tz).next(), None);
            for (due, completed_at) in [(Some(edge), edge), (None, edge), (Some(edge), Utc::now())]
            {
                let completed = CompletedOccurrence {
                    due,
                    completed_at,
                    series_anchor: Some(edge),
                    occurrence: u32::MAX,
                    timezone: tz,
                };
                assert_eq!(next_occurrence(&recurrence, &completed), None);
            }
        }
    }
}

#[test]
fn a_series_in_year_9999_ends_instead_of_overflowing() {
    let start = local(London, 9999, 12, 30, 9, 0);
    assert_eq!(Recurrence::Daily.occurrences(start, London).count(), 2);
    let completed = done_on_time(start, start, 1, London);
    assert!(next_occurrence(&Recurrence::Daily, &completed).is_some());
    let last = done_on_time(local(London, 9999, 12, 31, 9, 0), start, 2, London);
    assert_eq!(next_occurrence(&Recurrence::Daily, &last), None);
    assert_eq!(next_occurrence(&rule("FREQ=MONTHLY"), &last), None);
}
