//! Parsers at the boundary never panic: whatever a client, a broker or a stored row hands them, they
//! answer `Ok` or an error. Arbitrary text and JSON, and near misses of valid input (a valid value
//! with one part replaced by something random), for cursors, the task query parameters, request
//! bodies, recurrence JSON, due dates and time zones, calendar secrets and topic payloads.
//!
//! RRULE text, quick-add and chat have their own no-panic properties beside their laws:
//! `tests/recurrence_laws.rs` (`parse_never_panics_on_arbitrary_strings`), `src/quick_add/tests.rs`
//! and `src/chat/tests.rs`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, TimeZone as _, Utc};
use proptest::prelude::*;
use serde_json::{json, Value};
use todo_core::calendar::FeedSecret;
use todo_core::events::{topics, DomainEvent, Message};
use todo_core::model::{
    parse_due_date, EventId, NewTask, SeriesId, Task, TaskId, TaskInput, TaskPatch, TaskPatchInput,
    TimeZone, UserId,
};
use todo_core::query::{evaluate, Cursor, QueryParams};
use todo_core::recurrence::Recurrence;
use todo_core::usecases::{decode_reminder_event, decode_task_event};

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
        tricky_text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
            prop::collection::btree_map(field_name(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Names that occur in our JSON, and some that do not.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "title",
            "description",
            "priority",
            "tags",
            "due_date",
            "timezone",
            "remind_before",
            "recurrence",
            "rrule",
            "anchor",
            "version",
            "id",
            "event_id",
            "schema_version",
            "event_type",
            "task_id",
            "user_id",
            "task_data",
            "timestamp",
            "due_at",
            "remind_at",
            "old_status",
            "new_status",
            "sort",
            "order",
            "value",
            "due_date",
            "created_at",
        ])
        .prop_map(str::to_owned),
        "[a-z_]{1,12}",
    ]
}

/// Text near the values our parsers read: dates at the edges of time, numbers past every bound,
/// rules, zones, presets and odd Unicode.
fn tricky_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            " ",
            "0",
            "-1",
            "1",
            "200",
            "201",
            "-9223372036854775808",
            "9223372036854775807",
            "99999999999999999999999",
            "1e400",
            "NaN",
            "true",
            "null",
            "pending",
            "completed",
            "all",
            "high",
            "medium",
            "low",
            "high,low,",
            ",,,",
            "asc",
            "desc",
            "due_date",
            "priority",
            "created_at",
            "title",
            "daily",
            "weekly",
            "monthly",
            "due",
            "completion",
            "UTC",
            "Europe/London",
            "America/St_Johns",
            "Etc/GMT+14",
            "../../etc/passwd",
            "2030-01-01T00:00:00Z",
            "2030-01-01",
            "9999-12-31T23:59:59Z",
            "+262143-12-31T23:59:59Z",
            "-262144-01-01T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "2030-02-30T00:00:00Z",
            "2030-01-01T24:00:00+14:00",
            "2030-01-01T00:00:00-25:00",
            "FREQ=DAILY",
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
            "FREQ=SECONDLY;INTERVAL=0",
            "FREQ=MONTHLY;BYDAY=-53MO;COUNT=99999999999",
            "FREQ=WEEKLY;UNTIL=99991231T235959Z",
            "DTSTART:20300101T000000Z\nRRULE:FREQ=DAILY",
            "\u{0}",
            "\u{feff}",
            "e\u{301}",
            "🦀🦀🦀",
            "\u{202e}evil",
            "a\r\nb",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,30}",
        any::<i64>().prop_map(|n| n.to_string()),
        (any::<i32>(), 1u32..13, 1u32..32)
            .prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}T00:00:00Z")),
    ]
}

/// Mostly absent, so that a case often gets past the other parameters to the one it varies.
fn optional_text() -> impl Strategy<Value = Option<String>> {
    prop::option::weighted(0.15, prop_oneof![tricky_text(), ".{0,40}"])
}

/// Query parameters, each absent or anything near a value.
fn query_params() -> impl Strategy<Value = QueryParams> {
    (
        (
            optional_text(),
            optional_text(),
            optional_text(),
            optional_text(),
        ),
        (
            optional_text(),
            optional_text(),
            optional_text(),
            optional_text(),
        ),
        (optional_text(), optional_text(), optional_text()),
        prop::option::weighted(0.5, cursor_text()),
    )
        .prop_map(
            |(
                (q, status, priority, tags),
                (tags_all, due_from, due_to, overdue),
                (sort, order, limit),
                cursor,
            )| QueryParams {
                q,
                status,
                priority,
                tags,
                tags_all,
                due_from,
                due_to,
                overdue,
                sort,
                order,
                limit,
                cursor,
            },
        )
}

/// Cursor text: garbage, base64 of garbage, base64 of JSON near a cursor.
fn cursor_text() -> impl Strategy<Value = String> {
    let near = (
        prop::sample::select(vec![
            "due_date",
            "priority",
            "created_at",
            "title",
            "other",
            "",
        ]),
        prop::sample::select(vec!["asc", "desc", "sideways"]),
        prop_oneof![
            tricky_text().prop_map(|t| json!({"due_date": t})),
            Just(json!({"due_date": null})),
            any::<i64>().prop_map(|n| json!({"priority": n})),
            (0u8..3).prop_map(|n| json!({"priority": n})),
            tricky_text().prop_map(|t| json!({"created_at": t})),
            tricky_text().prop_map(|t| json!({"title": t})),
            any_json(),
        ],
        prop_oneof![any::<i64>().prop_map(Value::from), any_json()],
    )
        .prop_map(|(sort, order, value, id)| {
            let cursor = json!({"sort": sort, "order": order, "value": value, "id": id});
            URL_SAFE_NO_PAD.encode(cursor.to_string())
        });
    prop_oneof![
        ".{0,60}",
        prop::collection::vec(any::<u8>(), 0..80).prop_map(|b| URL_SAFE_NO_PAD.encode(b)),
        any_json().prop_map(|v| URL_SAFE_NO_PAD.encode(v.to_string())),
        near,
    ]
}

/// A few tasks to run accepted queries against.
fn tasks() -> Vec<Task> {
    let at = Utc
        .with_ymd_and_hms(2030, 1, 1, 9, 0, 0)
        .single()
        .expect("a valid date");
    let inputs = [
        json!({"title": "Buy milk", "priority": "high", "tags": ["home"], "due_date": "2030-01-02T09:00:00Z"}),
        json!({"title": "Weekly review", "recurrence": "weekly", "due_date": "2030-01-03T16:00:00Z", "tags": ["work"]}),
        json!({"title": "Someday", "priority": "low"}),
    ];
    inputs
        .into_iter()
        .enumerate()
        .map(|(i, input)| {
            let input: TaskInput = serde_json::from_value(input).expect("a valid body");
            let new = NewTask::parse(input).expect("a valid task");
            let id = TaskId(i64::try_from(i).expect("small") + 1);
            Task::create(
                id,
                UserId(uuid::Uuid::nil()),
                new,
                SeriesId(uuid::Uuid::nil()),
                at,
            )
        })
        .collect()
}

/// A valid body of `POST /api/v1/tasks` with one field replaced, removed or added.
fn near_task_body() -> impl Strategy<Value = Value> {
    let valid = json!({"title": "Team sync", "description": "notes", "priority": "high",
        "tags": ["work", "weekly"], "due_date": "2030-01-06T09:00:00Z", "timezone": "Europe/London",
        "remind_before": 30, "recurrence": {"rrule": "FREQ=WEEKLY;BYDAY=MO", "anchor": "due"}});
    (
        field_name(),
        prop_oneof![
            any_json(),
            tricky_text().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
        ],
        any::<bool>(),
    )
        .prop_map(move |(field, value, remove)| {
            let mut body = valid.clone();
            if remove {
                body.as_object_mut().map(|o| o.remove(&field));
            } else {
                body[field] = value;
            }
            body
        })
}

/// A valid event payload of `topic` with one field replaced or removed.
fn near_event(topic: &'static str) -> impl Strategy<Value = Value> {
    let task_event = {
        let task = &tasks()[1];
        let event = todo_core::events::TaskEvent::new(
            EventId(uuid::Uuid::nil()),
            todo_core::events::TaskEventType::Completed,
            task,
            task.created_at,
        );
        serde_json::to_value(event).expect("an event serialises")
    };
    let valid = match topic {
        topics::REMINDERS => json!({
            "event_id": uuid::Uuid::nil(), "schema_version": 1, "task_id": 1,
            "user_id": uuid::Uuid::nil(), "title": "x",
            "due_at": "2025-12-31T18:00:00Z", "remind_at": "2025-12-31T17:00:00Z"
        }),
        topics::TASK_UPDATES => json!({
            "event_id": uuid::Uuid::nil(), "schema_version": 1, "event_type": "status_changed",
            "task_id": 123, "user_id": uuid::Uuid::nil(), "old_status": "pending",
            "new_status": "completed", "timestamp": "2025-12-30T12:00:00Z"
        }),
        _ => task_event,
    };
    (
        prop_oneof![
            field_name(),
            prop::sample::select(vec![
                "task_data.title",
                "task_data.due_date",
                "task_data.recurrence",
                "task_data.id",
                "task_data.series_id",
                "task_data.priority",
                "task_data.timezone",
            ])
            .prop_map(str::to_owned),
        ],
        any_json(),
        any::<bool>(),
    )
        .prop_map(move |(path, value, remove)| {
            let mut event = valid.clone();
            let (object, field) = match path.split_once('.') {
                Some((outer, inner)) => (&mut event[outer], inner.to_owned()),
                None => (&mut event, path),
            };
            if remove {
                object.as_object_mut().map(|o| o.remove(&field));
            } else if object.is_object() {
                object[field] = value;
            }
            event
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A cursor decodes or is refused naming `cursor`; an accepted one pages through tasks.
    #[test]
    fn any_cursor_text_decodes_or_is_refused(text in cursor_text()) {
        match Cursor::decode(&text) {
            Ok(cursor) => {
                prop_assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
            }
            Err(e) => prop_assert_eq!(e.field, "cursor"),
        }
    }

    /// Any query parameters parse or are refused naming a parameter; an accepted query evaluates.
    #[test]
    fn any_query_parameters_parse_or_are_refused(params in query_params(), seconds in -8_000_000_000i64..300_000_000_000) {
        match params.parse() {
            Ok(query) => {
                let now = DateTime::from_timestamp(seconds, 0).unwrap_or_default();
                let page = evaluate(tasks().iter(), &query, now);
                prop_assert!(page.items.len() <= 3);
            }
            Err(e) => prop_assert!(!e.field.is_empty()),
        }
    }

    /// Any JSON body of create or update is refused or becomes a valid task or patch.
    #[test]
    fn any_task_body_is_parsed_or_refused(body in prop_oneof![any_json(), near_task_body()]) {
        if let Ok(input) = serde_json::from_value::<TaskInput>(body.clone()) {
            if let Ok(new) = NewTask::parse(input) {
                let task = Task::create(TaskId(1), UserId(uuid::Uuid::nil()), new, SeriesId(uuid::Uuid::nil()), Utc::now());
                let _ = task.remind_at();
                let _ = serde_json::to_value(&task.recurrence);
            }
        }
        if let Ok(input) = serde_json::from_value::<TaskPatchInput>(body) {
            let _ = TaskPatch::parse(input);
        }
    }

    /// Recurrence JSON (a preset or a rule object) deserialises or is refused; what is accepted
    /// yields occurrences without panicking.
    #[test]
    fn any_recurrence_json_is_read_or_refused(value in prop_oneof![
        any_json(),
        (tricky_text(), tricky_text()).prop_map(|(rrule, anchor)| json!({"rrule": rrule, "anchor": anchor})),
        tricky_text().prop_map(|rrule| json!({"rrule": rrule})),
    ]) {
        if let Ok(recurrence) = serde_json::from_value::<Recurrence>(value) {
            let start = Utc.with_ymd_and_hms(2030, 1, 1, 9, 0, 0).single().expect("a valid date");
            let _ = recurrence.occurrences(start, chrono_tz::Europe::London).take(3).count();
        }
    }

    /// Dates, zones and calendar secrets from clients are read or refused.
    #[test]
    fn due_dates_zones_and_feed_secrets_are_read_or_refused(text in prop_oneof![tricky_text(), ".{0,60}"]) {
        let _ = parse_due_date(&text, "due_date");
        let _ = TimeZone::parse(&text);
        let _ = FeedSecret::parse(&text);
    }

    /// A topic's payload decodes into its event or is an error that dead-letters it, whatever the
    /// topic and the JSON; the consumers' decoders agree.
    #[test]
    fn any_topic_payload_decodes_or_is_refused(
        topic in prop::sample::select(vec![topics::TASK_EVENTS, topics::REMINDERS, topics::TASK_UPDATES, "other", ""]),
        payload in prop_oneof![
            any_json(),
            near_event(topics::TASK_EVENTS),
            near_event(topics::REMINDERS),
            near_event(topics::TASK_UPDATES),
        ],
    ) {
        let decoded = DomainEvent::decode(topic, &payload);
        let message = Message {
            id: EventId(uuid::Uuid::nil()),
            topic: topic.to_owned(),
            key: String::new(),
            event_type: String::new(),
            payload,
        };
        prop_assert_eq!(decode_task_event(&message).is_ok(), matches!(decoded, Ok(DomainEvent::Task(_))));
        prop_assert_eq!(decode_reminder_event(&message).is_ok(), matches!(decoded, Ok(DomainEvent::Reminder(_))));
        if let Ok(event) = decoded {
            let again = event.to_message();
            prop_assert_eq!(DomainEvent::decode(&again.topic, &again.payload).ok(), Some(event));
        }
    }
}
