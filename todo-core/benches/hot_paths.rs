//! The pure paths every request or event goes through: evaluating a task query (the in-memory
//! adapters' and the differential tests' reference), finding a recurring task's next occurrence, and
//! writing a task as JSON (every answer and every event carries one).
//!
//! `cargo bench -p todo-core --bench hot_paths`; figures in docs/benchmarks.md.

// criterion_group! generates an undocumented function.
#![allow(missing_docs)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use todo_core::model::{
    Description, NewTask, Priority, SeriesId, Tags, Task, TaskId, TimeZone as Tz, Title, UserId,
};
use todo_core::query::{evaluate, QueryParams};
use todo_core::recurrence::{next_occurrence, Anchor, CompletedOccurrence, CustomRule, Recurrence};

const WORDS: [&str; 6] = ["groceries", "report", "call", "invoice", "plants", "review"];
const TAGS: [&str; 4] = ["work", "home", "errand", "health"];

fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0)
        .single()
        .expect("a valid instant")
}

/// `n` tasks of one user, varied like the API benchmark's seed: words, priorities, tags, due dates,
/// a third completed.
fn tasks(n: usize) -> Vec<Task> {
    let user = UserId(uuid::Uuid::from_u128(1));
    (0..n)
        .map(|i| {
            let word = WORDS[i % WORDS.len()];
            let new = NewTask {
                title: Title::parse(&format!("{word} number {i}")).expect("a title"),
                description: Description::parse(&format!("about {}", WORDS[(i / 7) % 6]))
                    .expect("a description"),
                priority: Priority::ALL[i % Priority::ALL.len()],
                tags: Tags::parse(&[TAGS[i % 4].to_owned(), TAGS[(i / 4) % 4].to_owned()])
                    .expect("tags"),
                due_date: (i % 5 != 0).then(|| epoch() + Duration::hours((i % 2000) as i64)),
                timezone: Tz::default(),
                remind_before: None,
                recurrence: None,
            };
            let created = epoch() + Duration::seconds(i as i64);
            let mut task = Task::create(
                TaskId(i as i64 + 1),
                user,
                new,
                SeriesId(uuid::Uuid::nil()),
                created,
            );
            if i % 3 == 0 {
                task.complete(created);
            }
            task
        })
        .collect()
}

fn query(q: &str, priority: &str, sort: &str) -> todo_core::query::TaskQuery {
    QueryParams {
        q: Some(q.to_owned()),
        priority: Some(priority.to_owned()),
        sort: Some(sort.to_owned()),
        limit: Some("50".to_owned()),
        ..QueryParams::default()
    }
    .parse()
    .expect("a valid query")
}

fn query_evaluation(c: &mut Criterion) {
    let now = epoch() + Duration::days(30);
    let mut group = c.benchmark_group("evaluate");
    for n in [1_000, 10_000] {
        let all = tasks(n);
        let search = query("groceries", "high,medium", "due_date");
        group.bench_with_input(
            BenchmarkId::new("search+priority, due-date sort, page of 50", n),
            &all,
            |b, all| b.iter(|| evaluate(black_box(all), black_box(&search), now)),
        );
        let list = QueryParams {
            limit: Some("50".to_owned()),
            ..QueryParams::default()
        }
        .parse()
        .expect("a valid query");
        group.bench_with_input(
            BenchmarkId::new("first page, default sort", n),
            &all,
            |b, all| b.iter(|| evaluate(black_box(all), black_box(&list), now)),
        );
    }
    group.finish();
}

fn next_occurrences(c: &mut Criterion) {
    let london: chrono_tz::Tz = chrono_tz::Europe::London;
    let due = Utc
        .with_ymd_and_hms(2026, 3, 27, 9, 0, 0)
        .single()
        .expect("a valid instant");
    let rules = [
        ("daily", Recurrence::Daily),
        ("monthly", Recurrence::Monthly),
        (
            "last weekday of the month",
            Recurrence::Rule(
                CustomRule::parse("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", Anchor::Due)
                    .expect("a rule"),
            ),
        ),
        (
            "every 2 weeks mon+thu at 7:30",
            Recurrence::Rule(
                CustomRule::parse(
                    "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;BYHOUR=7;BYMINUTE=30",
                    Anchor::Due,
                )
                .expect("a rule"),
            ),
        ),
        (
            "29 Feb, yearly",
            Recurrence::Rule(
                CustomRule::parse("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", Anchor::Due)
                    .expect("a rule"),
            ),
        ),
    ];
    let mut group =
        c.benchmark_group("next_occurrence (London, due two days before the clocks change)");
    for (name, recurrence) in &rules {
        let completed = CompletedOccurrence {
            due: Some(due),
            completed_at: due + Duration::hours(2),
            series_anchor: Some(due - Duration::days(400)),
            occurrence: 40,
            timezone: london,
        };
        group.bench_function(*name, |b| {
            b.iter(|| next_occurrence(black_box(recurrence), black_box(&completed)))
        });
    }
    group.finish();
}

fn task_json(c: &mut Criterion) {
    let all = tasks(50);
    let mut group = c.benchmark_group("task JSON");
    group.bench_function("one task", |b| {
        b.iter(|| serde_json::to_vec(black_box(&all[7])).expect("serialises"))
    });
    group.bench_function("a page of 50", |b| {
        b.iter(|| serde_json::to_vec(black_box(&all)).expect("serialises"))
    });
    group.finish();
}

criterion_group!(benches, query_evaluation, next_occurrences, task_json);
criterion_main!(benches);
