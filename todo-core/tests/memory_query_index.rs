//! The in-memory repository reads pages from per-user sort indexes; these tests hold it to the
//! reference [`evaluate`] page by page, for users with many tasks that are inserted, changed (every
//! sort key moves) and deleted, beside another user's tasks.

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use todo_core::memory::InMemoryTaskRepository;
use todo_core::model::{
    Description, NewTask, Priority, SeriesId, Status, Tag, Tags, Task, TaskId, TimeZone as Tz,
    Title, UserId,
};
use todo_core::ports::{Changes, TaskRepository, TaskWrite};
use todo_core::query::{evaluate, Cursor, Order, SortKey, SortValue, StatusFilter, TaskQuery};

const WORDS: &[&str] = &[
    "buy", "Buy", "milk", "Café", "CAFÉ", "report", "zebra", "a_b",
];
const TAGS: &[&str] = &["work", "home", "errand"];

fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

fn now() -> DateTime<Utc> {
    epoch() + Duration::days(10)
}

fn owner() -> UserId {
    UserId(uuid::Uuid::from_u128(1))
}

fn stranger() -> UserId {
    UserId(uuid::Uuid::from_u128(2))
}

/// Title words, priority, tags, due day, creation minute, completed: few values, so ties are frequent.
type Spec = (
    Vec<&'static str>,
    Priority,
    Vec<&'static str>,
    Option<i64>,
    i64,
    bool,
);

/// What happens to the user's tasks, in order.
#[derive(Debug, Clone)]
enum Op {
    Insert {
        spec: Spec,
        foreign: bool,
    },
    /// Rewrites the `n`-th live task (modulo their number) from `spec`.
    Update {
        n: usize,
        spec: Spec,
    },
    Delete {
        n: usize,
    },
}

fn spec_strategy() -> impl Strategy<Value = Spec> {
    (
        prop::collection::vec(prop::sample::select(WORDS), 1..3),
        prop::sample::select(&Priority::ALL[..]),
        prop::collection::vec(prop::sample::select(TAGS), 0..3),
        prop::option::of(0i64..20),
        0i64..50,
        any::<bool>(),
    )
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (spec_strategy(), prop::bool::weighted(0.2)).prop_map(|(spec, foreign)| Op::Insert { spec, foreign }),
        2 => (any::<usize>(), spec_strategy()).prop_map(|(n, spec)| Op::Update { n, spec }),
        1 => any::<usize>().prop_map(|n| Op::Delete { n }),
    ]
}

/// `spec` applied to a task with `id` of `user`.
fn shaped(id: TaskId, user: UserId, spec: &Spec) -> Task {
    let (words, priority, tags, due_day, created_min, completed) = spec;
    let new = NewTask {
        title: Title::parse(&words.join(" ")).unwrap(),
        description: Description::parse("").unwrap(),
        priority: *priority,
        tags: Tags::parse(tags).unwrap(),
        due_date: due_day.map(|d| epoch() + Duration::days(d)),
        timezone: Tz::default(),
        remind_before: None,
        recurrence: None,
    };
    let created = epoch() + Duration::minutes(*created_min);
    let mut task = Task::create(
        id,
        user,
        new,
        SeriesId(uuid::Uuid::from_u128(id.0 as u128)),
        created,
    );
    if *completed {
        task.complete(created);
    }
    task
}

async fn commit(repo: &InMemoryTaskRepository, write: TaskWrite) {
    repo.commit(Changes {
        writes: vec![write],
        ..Changes::default()
    })
    .await
    .unwrap();
}

/// Applies `ops` to a fresh repository.
async fn replay(ops: &[Op]) -> InMemoryTaskRepository {
    let repo = InMemoryTaskRepository::new();
    for op in ops {
        let live: Vec<Task> = repo
            .tasks()
            .into_iter()
            .filter(|t| t.user_id == owner())
            .collect();
        match op {
            Op::Insert { spec, foreign } => {
                let id = repo.next_task_id().await.unwrap();
                let user = if *foreign { stranger() } else { owner() };
                commit(&repo, TaskWrite::Insert(shaped(id, user, spec))).await;
            }
            Op::Update { n, spec } if !live.is_empty() => {
                let old = &live[n % live.len()];
                let mut task = shaped(old.id, owner(), spec);
                task.version = old.version + 1;
                let expected_version = old.version;
                commit(
                    &repo,
                    TaskWrite::Update {
                        task,
                        expected_version,
                    },
                )
                .await;
            }
            Op::Delete { n } if !live.is_empty() => {
                let old = &live[n % live.len()];
                let (user_id, id, expected_version) = (owner(), old.id, old.version);
                commit(
                    &repo,
                    TaskWrite::Delete {
                        user_id,
                        id,
                        expected_version,
                    },
                )
                .await;
            }
            Op::Update { .. } | Op::Delete { .. } => {}
        }
    }
    repo
}

/// Walks every page of `query` on the repository, comparing each with the reference over the
/// owner's tasks; returns how many items were listed.
async fn compare_every_page(repo: &InMemoryTaskRepository, query: &TaskQuery) -> usize {
    let tasks: Vec<Task> = repo
        .tasks()
        .into_iter()
        .filter(|t| t.user_id == owner())
        .collect();
    let mut page_query = query.clone();
    let mut listed = 0;
    for _ in 0..=tasks.len() + 1 {
        let expected = evaluate(&tasks, &page_query, now());
        let actual = repo.query(owner(), &page_query, now()).await.unwrap();
        assert_eq!(
            actual, expected,
            "page after {:?} of {query:?}",
            page_query.cursor
        );
        listed += actual.items.len();
        match actual.next_cursor {
            Some(cursor) => page_query.cursor = Some(cursor),
            None => return listed,
        }
    }
    panic!("pagination did not terminate for {query:?}");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime starts")
}

prop_compose! {
    fn query_strategy()(
        word in prop::option::of(prop::sample::select(WORDS)),
        status in prop::sample::select(vec![StatusFilter::All, StatusFilter::Only(Status::Pending), StatusFilter::Only(Status::Completed)]),
        priorities in prop::collection::btree_set(prop::sample::select(&Priority::ALL[..]), 0..2),
        tags_any in prop::collection::btree_set(prop::sample::select(TAGS), 0..2),
        range in prop::option::of((0i64..20, 0i64..20)),
        overdue in any::<bool>(),
        sort in prop::sample::select(vec![SortKey::DueDate, SortKey::Priority, SortKey::CreatedAt, SortKey::Title]),
        desc in any::<bool>(),
        limit in 1usize..12,
    ) -> TaskQuery {
        TaskQuery {
            words: word.map(TaskQuery::search_words).unwrap_or_default(),
            status,
            priorities,
            tags_any: tags_any.iter().map(|t| Tag::parse(t).unwrap()).collect(),
            due_from: range.map(|(a, b)| epoch() + Duration::days(a.min(b))),
            due_to: range.map(|(a, b)| epoch() + Duration::days(a.max(b))),
            overdue,
            sort,
            order: if desc { Order::Desc } else { Order::Asc },
            limit,
            ..TaskQuery::default()
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_page_of_a_changing_user_matches_the_reference(
        ops in prop::collection::vec(op_strategy(), 50..400),
        queries in prop::collection::vec(query_strategy(), 4),
    ) {
        runtime().block_on(async {
            let repo = replay(&ops).await;
            for query in &queries {
                compare_every_page(&repo, query).await;
            }
        });
    }
}

#[tokio::test]
async fn a_user_with_thousands_of_tasks_pages_like_the_reference_in_every_order() {
    let ops: Vec<Op> = (0..3000i64)
        .map(|i| {
            let spec: Spec = (
                vec![WORDS[(i * 7 % 8) as usize], WORDS[(i * 3 % 8) as usize]],
                Priority::ALL[(i % 3) as usize],
                vec![TAGS[(i % 3) as usize]],
                (i % 4 != 0).then_some(i * 13 % 20),
                i * 17 % 50,
                i % 5 == 0,
            );
            match i % 10 {
                7 => Op::Update {
                    n: (i * 31) as usize,
                    spec,
                },
                9 => Op::Delete {
                    n: (i * 17) as usize,
                },
                _ => Op::Insert {
                    spec,
                    foreign: i % 6 == 1,
                },
            }
        })
        .collect();
    let repo = replay(&ops).await;
    let filters = [
        TaskQuery::default(),
        TaskQuery {
            status: StatusFilter::Only(Status::Pending),
            ..TaskQuery::default()
        },
        TaskQuery {
            words: TaskQuery::search_words("café"),
            tags_any: [Tag::parse("home").unwrap()].into(),
            ..TaskQuery::default()
        },
    ];
    // Matches nothing: a scan in sort order gives up and walks every task (due-date order stops early).
    let empty = TaskQuery {
        due_from: Some(epoch() + Duration::days(25)),
        ..TaskQuery::default()
    };
    for filter in filters.iter().chain([&empty]) {
        for sort in [
            SortKey::DueDate,
            SortKey::Priority,
            SortKey::CreatedAt,
            SortKey::Title,
        ] {
            for order in [Order::Asc, Order::Desc] {
                let query = TaskQuery {
                    sort,
                    order,
                    ..filter.clone()
                };
                let listed = compare_every_page(&repo, &query).await;
                assert_eq!(listed == 0, filter == &empty, "{query:?}");
            }
        }
    }
}

#[tokio::test]
async fn cursors_of_another_order_or_of_another_key_s_value_follow_the_reference() {
    let ops: Vec<Op> = (0..200i64)
        .map(|i| Op::Insert {
            spec: (
                vec![WORDS[(i % 8) as usize]],
                Priority::ALL[(i % 3) as usize],
                vec![],
                (i % 3 != 0).then_some(i % 20),
                i % 50,
                false,
            ),
            foreign: false,
        })
        .collect();
    let repo = replay(&ops).await;
    let tasks = repo.tasks();
    for (sort, value) in [
        (SortKey::Title, SortValue::Priority(1)),
        (SortKey::DueDate, SortValue::Title("milk".into())),
        (SortKey::Priority, SortValue::DueDate(None)),
        (SortKey::DueDate, SortValue::DueDate(None)),
        (
            SortKey::DueDate,
            SortValue::DueDate(Some(epoch() + Duration::days(5))),
        ),
    ] {
        for (cursor_order, order) in [(Order::Asc, Order::Asc), (Order::Desc, Order::Asc)] {
            let query = TaskQuery {
                sort,
                order,
                limit: 7,
                cursor: Some(Cursor {
                    sort,
                    order: cursor_order,
                    value: value.clone(),
                    id: TaskId(100),
                }),
                ..TaskQuery::default()
            };
            assert_eq!(
                repo.query(owner(), &query, now()).await.unwrap(),
                evaluate(&tasks, &query, now()),
                "{query:?}"
            );
        }
    }
    assert_eq!(
        repo.query(stranger(), &TaskQuery::default(), now())
            .await
            .unwrap(),
        evaluate(&[], &TaskQuery::default(), now())
    );
}
