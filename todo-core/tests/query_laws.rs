//! Property tests of the query semantics (SPEC §3) on the reference evaluation.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use todo_core::model::{
    Description, NewTask, Priority, SeriesId, Status, Tag, Tags, Task, TaskId, TimeZone as Tz,
    Title, UserId,
};
use todo_core::query::{evaluate, Order, SortKey, StatusFilter, TaskQuery};

const WORDS: &[&str] = &[
    "buy",
    "groceries",
    "milk",
    "report",
    "Work",
    "call",
    "mum",
    "GROCERIES",
];
const TAGS: &[&str] = &["work", "home", "personal", "errand"];

fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

fn now() -> DateTime<Utc> {
    epoch() + Duration::days(15)
}

/// Title, description, priority, tags, due day, creation minute, completed.
type Spec = (
    String,
    String,
    Priority,
    Vec<String>,
    Option<i64>,
    i64,
    bool,
);

prop_compose! {
    fn task_strategy()(
        title_words in prop::collection::vec(prop::sample::select(WORDS), 1..4),
        desc_words in prop::collection::vec(prop::sample::select(WORDS), 0..3),
        priority in prop::sample::select(&Priority::ALL[..]),
        tags in prop::collection::btree_set(prop::sample::select(TAGS), 0..3),
        due_day in prop::option::of(0i64..30),
        created_min in 0i64..500,
        completed in any::<bool>(),
    ) -> Spec {
        (
            title_words.join(" "),
            desc_words.join(" "),
            priority,
            tags.into_iter().map(str::to_owned).collect(),
            due_day,
            created_min,
            completed,
        )
    }
}

fn build(specs: &[Spec]) -> Vec<Task> {
    let user = UserId(uuid::Uuid::from_u128(1));
    specs
        .iter()
        .enumerate()
        .map(
            |(i, (title, desc, priority, tags, due_day, created_min, completed))| {
                let new = NewTask {
                    title: Title::parse(title).unwrap(),
                    description: Description::parse(desc).unwrap(),
                    priority: *priority,
                    tags: Tags::parse(tags).unwrap(),
                    due_date: due_day.map(|d| epoch() + Duration::days(d)),
                    timezone: Tz::default(),
                    remind_before: None,
                    recurrence: None,
                };
                let created = epoch() + Duration::minutes(*created_min);
                let mut task = Task::create(
                    TaskId(i as i64 + 1),
                    user,
                    new,
                    SeriesId(uuid::Uuid::nil()),
                    created,
                );
                if *completed {
                    task.complete(created);
                }
                task
            },
        )
        .collect()
}

prop_compose! {
    fn query_strategy()(
        words in prop::collection::vec(prop::sample::select(WORDS), 0..2),
        status in prop::sample::select(vec![StatusFilter::All, StatusFilter::Only(Status::Pending), StatusFilter::Only(Status::Completed)]),
        priorities in prop::collection::btree_set(prop::sample::select(&Priority::ALL[..]), 0..2),
        tags_any in prop::collection::btree_set(prop::sample::select(TAGS), 0..2),
        tags_all in prop::collection::btree_set(prop::sample::select(TAGS), 0..2),
        range in prop::option::of((0i64..30, 0i64..30)),
        overdue in any::<bool>(),
        sort in prop::sample::select(vec![SortKey::DueDate, SortKey::Priority, SortKey::CreatedAt, SortKey::Title]),
        desc in any::<bool>(),
        limit in 1usize..8,
    ) -> TaskQuery {
        let tag = |t: &&str| Tag::parse(t).unwrap();
        TaskQuery {
            words: TaskQuery::search_words(&words.join(" ")),
            status,
            priorities,
            tags_any: tags_any.iter().map(tag).collect(),
            tags_all: tags_all.iter().map(tag).collect(),
            due_from: range.map(|(a, b)| epoch() + Duration::days(a.min(b))),
            due_to: range.map(|(a, b)| epoch() + Duration::days(a.max(b))),
            overdue,
            sort,
            order: if desc { Order::Desc } else { Order::Asc },
            limit,
            cursor: None,
        }
    }
}

fn all_at_once(tasks: &[Task], query: &TaskQuery) -> Vec<TaskId> {
    let q = TaskQuery {
        limit: usize::MAX,
        cursor: None,
        ..query.clone()
    };
    evaluate(tasks, &q, now())
        .items
        .iter()
        .map(|t| t.id)
        .collect()
}

fn walk_pages(tasks: &[Task], query: &TaskQuery) -> Vec<TaskId> {
    let mut seen = Vec::new();
    let mut q = query.clone();
    for _ in 0..=tasks.len() + 1 {
        let page = evaluate(tasks, &q, now());
        assert!(page.items.len() <= q.limit);
        seen.extend(page.items.iter().map(|t| t.id));
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return seen,
        }
    }
    panic!("pagination did not terminate");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn pagination_never_skips_or_repeats(specs in prop::collection::vec(task_strategy(), 0..40), query in query_strategy()) {
        let tasks = build(&specs);
        prop_assert_eq!(walk_pages(&tasks, &query), all_at_once(&tasks, &query));
    }

    #[test]
    fn sort_is_total_and_independent_of_input_order(specs in prop::collection::vec(task_strategy(), 0..40), query in query_strategy(), seed in any::<u64>()) {
        let tasks = build(&specs);
        let mut shuffled = tasks.clone();
        // A deterministic shuffle from the seed.
        let n = shuffled.len();
        for i in (1..n).rev() {
            let j = (seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64) % (i as u64 + 1)) as usize;
            shuffled.swap(i, j);
        }
        let ordered = all_at_once(&tasks, &query);
        prop_assert_eq!(&ordered, &all_at_once(&shuffled, &query));
        let unique: HashSet<_> = ordered.iter().collect();
        prop_assert_eq!(unique.len(), ordered.len());
    }

    #[test]
    fn filters_commute_and_compose_by_intersection(specs in prop::collection::vec(task_strategy(), 0..40), query in query_strategy()) {
        let tasks = build(&specs);
        let combined: BTreeSet<TaskId> = all_at_once(&tasks, &query).into_iter().collect();
        let base = TaskQuery { sort: query.sort, order: query.order, ..TaskQuery::default() };
        let singles = [
            TaskQuery { words: query.words.clone(), ..base.clone() },
            TaskQuery { status: query.status, ..base.clone() },
            TaskQuery { priorities: query.priorities.clone(), ..base.clone() },
            TaskQuery { tags_any: query.tags_any.clone(), ..base.clone() },
            TaskQuery { tags_all: query.tags_all.clone(), ..base.clone() },
            TaskQuery { due_from: query.due_from, due_to: query.due_to, ..base.clone() },
            TaskQuery { overdue: query.overdue, ..base.clone() },
        ];
        let mut intersection: BTreeSet<TaskId> = tasks.iter().map(|t| t.id).collect();
        for single in &singles {
            let hits: BTreeSet<TaskId> = all_at_once(&tasks, single).into_iter().collect();
            intersection = intersection.intersection(&hits).copied().collect();
        }
        prop_assert_eq!(combined, intersection);
    }

    #[test]
    fn descending_reverses_ascending_with_undated_tasks_last(specs in prop::collection::vec(task_strategy(), 0..40), query in query_strategy()) {
        let tasks = build(&specs);
        let asc = all_at_once(&tasks, &TaskQuery { order: Order::Asc, ..query.clone() });
        let desc = all_at_once(&tasks, &TaskQuery { order: Order::Desc, ..query.clone() });
        let dated = |id: &TaskId| tasks[(id.0 - 1) as usize].due_date.is_some();
        if query.sort == SortKey::DueDate {
            let asc_dated: Vec<_> = asc.iter().filter(|i| dated(i)).collect();
            let mut desc_dated: Vec<_> = desc.iter().filter(|i| dated(i)).collect();
            desc_dated.reverse();
            prop_assert_eq!(asc_dated, desc_dated);
            // Undated tasks come after every dated one, in both orders.
            for list in [&asc, &desc] {
                let first_undated = list.iter().position(|i| !dated(i)).unwrap_or(list.len());
                prop_assert!(list[first_undated..].iter().all(|i| !dated(i)));
            }
        } else {
            let mut reversed = desc.clone();
            reversed.reverse();
            prop_assert_eq!(asc, reversed);
        }
    }

    #[test]
    fn pages_stay_consistent_while_tasks_are_inserted(specs in prop::collection::vec(task_strategy(), 1..30), extra in prop::collection::vec(task_strategy(), 1..10), query in query_strategy()) {
        let mut tasks = build(&specs);
        let before: Vec<TaskId> = all_at_once(&tasks, &query);
        let inserted = build(&extra);
        let offset = tasks.len() as i64;
        let mut pending = inserted.into_iter().map(|mut t| { t.id = TaskId(t.id.0 + offset); t });
        let mut seen = Vec::new();
        let mut q = query.clone();
        loop {
            let page = evaluate(&tasks, &q, now());
            seen.extend(page.items.iter().map(|t| t.id));
            if let Some(t) = pending.next() { tasks.push(t); }
            match page.next_cursor { Some(c) => q.cursor = Some(c), None => break }
        }
        let unique: HashSet<_> = seen.iter().collect();
        prop_assert_eq!(unique.len(), seen.len(), "a task was repeated");
        for id in before {
            prop_assert!(seen.contains(&id), "task {} present all along was skipped", id);
        }
    }
}

#[test]
fn priority_ascending_lists_high_then_medium_then_low() {
    let specs: Vec<_> = [
        Priority::Low,
        Priority::High,
        Priority::Medium,
        Priority::High,
    ]
    .into_iter()
    .map(|p| ("t".to_owned(), String::new(), p, vec![], None, 0, false))
    .collect();
    let tasks = build(&specs);
    let q = TaskQuery {
        sort: SortKey::Priority,
        ..TaskQuery::default()
    };
    let ids = all_at_once(&tasks, &q);
    assert_eq!(ids, vec![TaskId(2), TaskId(4), TaskId(3), TaskId(1)]);
}

#[test]
fn search_is_case_insensitive_and_every_word_must_match() {
    let specs: Vec<_> = [
        ("Buy GROCERIES", ""),
        ("Groceries list", "buy eggs"),
        ("buy milk", ""),
    ]
    .into_iter()
    .map(|(t, d)| {
        (
            t.to_owned(),
            d.to_owned(),
            Priority::Medium,
            vec![],
            None,
            0,
            false,
        )
    })
    .collect();
    let tasks = build(&specs);
    let q = TaskQuery {
        words: TaskQuery::search_words("groceries BUY"),
        ..TaskQuery::default()
    };
    assert_eq!(all_at_once(&tasks, &q), vec![TaskId(1), TaskId(2)]);
}
