use chrono::TimeZone as _;
use uuid::Uuid;

use super::*;
use crate::model::{
    Description, RemindBefore, Series, SeriesId, Status, Tags, TaskId, TimeZone, Title, UserId,
};
use crate::recurrence::Recurrence;

fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
        .single()
        .expect("a valid test time")
}

fn task(id: i64, title: &str, due: Option<DateTime<Utc>>) -> Task {
    Task {
        id: TaskId(id),
        user_id: UserId::from(Uuid::nil()),
        title: Title::parse(title).expect("a valid title"),
        description: Description::parse("").expect("a valid description"),
        status: Status::Pending,
        priority: Priority::Medium,
        tags: Tags::parse::<&str>(&[]).expect("no tags"),
        due_date: due,
        timezone: TimeZone::parse("UTC").expect("UTC"),
        remind_before: due.map(|_| RemindBefore::DEFAULT),
        recurrence: None,
        series: None,
        created_at: at(2027, 1, 1, 8),
        updated_at: at(2027, 1, 2, 8),
        completed_at: None,
        version: 1,
    }
}

fn unfolded(text: &str) -> String {
    text.replace("\r\n ", "")
}

#[test]
fn a_feed_is_a_calendar_of_crlf_lines() {
    let text = render_feed("Tasks", &[]);
    assert!(text.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
    assert!(text.ends_with("END:VCALENDAR\r\n"));
    assert!(!text.replace("\r\n", "").contains('\n'));
}

#[test]
fn a_dated_task_is_an_event_at_its_due_date_with_its_reminder() {
    let text = render_feed("Tasks", &[task(7, "Pay rent", Some(at(2027, 3, 1, 9)))]);
    for line in [
        "BEGIN:VEVENT",
        "UID:task-7@todo",
        "DTSTAMP:20270102T080000Z",
        "DTSTART:20270301T090000Z",
        "DURATION:PT15M",
        "SUMMARY:Pay rent",
        "PRIORITY:5",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "TRIGGER:-PT60M",
        "END:VALARM",
        "END:VEVENT",
    ] {
        assert!(
            text.contains(&format!("{line}\r\n")),
            "{line} missing in\n{text}"
        );
    }
}

#[test]
fn undated_and_completed_tasks_are_left_out() {
    let mut done = task(2, "Done", Some(at(2027, 3, 1, 9)));
    done.status = Status::Completed;
    done.completed_at = Some(at(2027, 3, 1, 10));
    let text = render_feed("Tasks", &[task(1, "Someday", None), done]);
    assert!(!text.contains("VEVENT"));
}

#[test]
fn a_task_without_a_reminder_has_no_alarm() {
    let mut t = task(1, "Quiet", Some(at(2027, 3, 1, 9)));
    t.remind_before = None;
    assert!(!render_feed("Tasks", &[t]).contains("VALARM"));
}

#[test]
fn text_values_are_escaped_and_long_ones_folded() {
    let mut t = task(1, "Buy milk, eggs; and \\ flour", Some(at(2027, 3, 1, 9)));
    t.description = Description::parse(&format!("line one\nline two {}", "x".repeat(200)))
        .expect("a valid description");
    t.tags = Tags::parse(&["home", "shopping"]).expect("valid tags");
    let text = render_feed("Tasks", &[t]);
    assert!(text.lines().all(|l| l.trim_end_matches('\r').len() <= 75));
    let flat = unfolded(&text);
    assert!(flat.contains("SUMMARY:Buy milk\\, eggs\\; and \\\\ flour\r\n"));
    assert!(flat.contains("DESCRIPTION:line one\\nline two xxx"));
    assert!(flat.contains("CATEGORIES:home,shopping\r\n"));
}

#[test]
fn a_zoned_recurring_task_starts_on_its_local_wall_clock_with_its_rule() {
    let paris = TimeZone::parse("Europe/Paris").expect("a zone");
    let due = at(2027, 3, 22, 8); // Monday 09:00 CET
    let mut t = task(3, "Standup", Some(due));
    t.timezone = paris;
    t.recurrence = Some(Recurrence::Weekly);
    let series = SeriesId::from(Uuid::from_u128(5));
    t.series = Some(Series {
        id: series,
        anchor: Some(due),
        occurrence: 1,
        predecessor: None,
    });
    let text = render_feed("Tasks", &[t]);
    assert!(text.contains("DTSTART;TZID=Europe/Paris:20270322T090000\r\n"));
    assert!(text.contains("RRULE:FREQ=WEEKLY\r\n"));
    assert!(text.contains(&format!("UID:series-{series}@todo\r\n")));
}

#[test]
fn a_custom_rule_is_written_out() {
    let due = at(2027, 1, 31, 9);
    let mut t = task(4, "Invoices", Some(due));
    t.recurrence = Some("RRULE:FREQ=MONTHLY;BYMONTHDAY=-1".parse().expect("a rule"));
    t.series = Some(Series {
        id: SeriesId::from(Uuid::from_u128(6)),
        anchor: Some(due),
        occurrence: 1,
        predecessor: None,
    });
    assert!(render_feed("Tasks", &[t]).contains("RRULE:FREQ=MONTHLY;BYMONTHDAY=-1\r\n"));
}

#[test]
fn the_same_tasks_render_the_same_bytes() {
    let tasks = [task(1, "A", Some(at(2027, 3, 1, 9)))];
    assert_eq!(render_feed("Tasks", &tasks), render_feed("Tasks", &tasks));
}
