//! The differential query case: a few hundred generated tasks, a broad set of generated queries, and
//! every page of every query compared with [`crate::query::evaluate`] over the same tasks.
//!
//! The data is built to catch the usual ways a database drifts from the reference: ties on every sort
//! key (broken by id), titles equal but for case, non-ASCII case folding (`Café`/`CAFÉ`), LIKE
//! metacharacters in search words (`100%`, `a_b` beside `100 apples` and `axb`), punctuation that
//! locale collations ignore, missing and past due dates, and boundaries of ranges and of "overdue".

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::fixtures::{base_time, fresh_user, inserts};
use super::repository::{ok, TaskRepositorySuite};
use crate::model::{Description, Priority, RemindBefore, Status, Tag, Tags, Task, UserId};
use crate::ports::TaskRepository;
use crate::query::{self, Order, SortKey, StatusFilter, TaskQuery};

/// The generator's seed: a failure reproduces on every run.
const SEED: u64 = 0x7A5C_2030;
/// Tasks of the user whose queries are compared.
const TASKS: usize = 240;
/// Tasks of another user that every query must ignore.
const FOREIGN_TASKS: usize = 30;

const WORDS: &[&str] = &[
    "Buy",
    "buy",
    "groceries",
    "Groceries",
    "milk",
    "MILK",
    "work",
    "Work",
    "report",
    "call",
    "mom",
    "Café",
    "CAFÉ",
    "café",
    "école",
    "100%",
    "100",
    "apples",
    "a_b",
    "axb",
    "plan",
    "dentist",
    "Zebra-crossing",
    "zebra",
    "a b",
    "ab",
    "a-b",
    "(urgent)",
    "Ünïcode",
];
const DESCRIPTION_WORDS: &[&str] = &[
    "before",
    "noon",
    "friday",
    "oat",
    "milk",
    "groceries",
    "work",
    "100%",
];
const TAGS: &[&str] = &["work", "home", "urgent", "errand", "health", "q3"];

/// Due dates come from a small pool so that ties are frequent; one of them is exactly "now".
fn due_pool() -> Vec<DateTime<Utc>> {
    (-12..=12)
        .map(|k| base_time() + Duration::hours(7 * k))
        .collect()
}

fn pick<'a>(rng: &mut StdRng, pool: &[&'a str]) -> &'a str {
    pool.choose(rng).copied().expect("pools are not empty")
}

fn generated_task(rng: &mut StdRng, id: crate::model::TaskId, user: UserId) -> Task {
    let words = rng.gen_range(1..=3);
    let title: Vec<&str> = (0..words).map(|_| pick(rng, WORDS)).collect();
    let separator = if rng.gen_bool(0.2) { " - " } else { " " };
    let description: Vec<&str> = (0..rng.gen_range(0..=4))
        .map(|_| pick(rng, DESCRIPTION_WORDS))
        .collect();
    let tags: Vec<&str> = TAGS
        .iter()
        .copied()
        .filter(|_| rng.gen_bool(0.25))
        .collect();
    let created_at = base_time() - Duration::hours(3 * rng.gen_range(1..=60));
    let due_date = rng
        .gen_bool(0.8)
        .then(|| *due_pool().choose(rng).expect("a non-empty pool"));
    let mut task = Task::create(
        id,
        user,
        crate::model::NewTask::titled(&title.join(separator)).expect("generated titles are valid"),
        crate::model::SeriesId(uuid::Uuid::nil()),
        created_at,
    );
    task.description = Description::parse(&description.join(" ")).expect("a valid description");
    task.tags = Tags::parse(&tags).expect("valid tags");
    task.priority = *Priority::ALL.choose(rng).expect("three priorities");
    task.due_date = due_date;
    task.remind_before = due_date.map(|_| RemindBefore::DEFAULT);
    if rng.gen_bool(0.25) {
        task.status = Status::Completed;
        task.completed_at = Some(created_at + Duration::hours(1));
        task.updated_at = created_at + Duration::hours(1);
        task.version = 2;
    }
    task
}

fn tags(names: &[&str]) -> BTreeSet<Tag> {
    names
        .iter()
        .map(|t| Tag::parse(t).expect("a valid tag"))
        .collect()
}

/// The filters every sort key and order is combined with.
fn filters() -> Vec<TaskQuery> {
    let pool = due_pool();
    let words = |ws: &[&str]| ws.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>();
    let q = TaskQuery::default;
    vec![
        q(),
        TaskQuery {
            status: StatusFilter::Only(Status::Pending),
            ..q()
        },
        TaskQuery {
            status: StatusFilter::Only(Status::Completed),
            ..q()
        },
        TaskQuery {
            priorities: [Priority::High].into(),
            ..q()
        },
        TaskQuery {
            priorities: [Priority::High, Priority::Low].into(),
            ..q()
        },
        TaskQuery {
            tags_any: tags(&["work"]),
            ..q()
        },
        TaskQuery {
            tags_any: tags(&["work", "home"]),
            ..q()
        },
        TaskQuery {
            tags_all: tags(&["work", "urgent"]),
            ..q()
        },
        TaskQuery {
            tags_any: tags(&["errand", "q3"]),
            tags_all: tags(&["home"]),
            ..q()
        },
        TaskQuery {
            due_from: Some(pool[9]),
            due_to: Some(pool[14]),
            ..q()
        },
        TaskQuery {
            due_from: Some(pool[12]),
            ..q()
        },
        TaskQuery {
            due_to: Some(pool[12]),
            ..q()
        },
        TaskQuery {
            overdue: true,
            ..q()
        },
        TaskQuery {
            overdue: true,
            tags_any: tags(&["work"]),
            ..q()
        },
        TaskQuery {
            words: words(&["milk"]),
            ..q()
        },
        TaskQuery {
            words: words(&["buy", "milk"]),
            ..q()
        },
        TaskQuery {
            words: words(&["café"]),
            ..q()
        },
        TaskQuery {
            words: words(&["100%"]),
            ..q()
        },
        TaskQuery {
            words: words(&["a_b"]),
            ..q()
        },
        TaskQuery {
            words: words(&["groceries"]),
            status: StatusFilter::Only(Status::Pending),
            ..q()
        },
        TaskQuery {
            words: words(&["work"]),
            priorities: [Priority::High, Priority::Medium].into(),
            due_to: Some(pool[20]),
            ..q()
        },
        TaskQuery {
            words: words(&["nothing-matches-this"]),
            ..q()
        },
    ]
}

impl TaskRepositorySuite {
    /// Every page of a broad set of queries (each filter × every sort key × both orders, small page
    /// sizes) equals the reference evaluation over the same tasks, cursors included.
    pub async fn queries_match_the_reference_evaluation(&self) {
        let repo = &*self.repo;
        let mut rng = StdRng::seed_from_u64(SEED);
        let (user, other) = (fresh_user(), fresh_user());
        let mut tasks = Vec::with_capacity(TASKS);
        let mut foreign = Vec::with_capacity(FOREIGN_TASKS);
        for n in 0..TASKS + FOREIGN_TASKS {
            let id = repo.next_task_id().await.expect("next_task_id failed");
            if n < TASKS {
                tasks.push(generated_task(&mut rng, id, user));
            } else {
                foreign.push(generated_task(&mut rng, id, other));
            }
        }
        for chunk in tasks.chunks(50).chain(foreign.chunks(50)) {
            ok(
                repo.commit(inserts(chunk.to_vec())).await,
                "inserting generated tasks",
            );
        }

        let now = base_time();
        let mut checked = 0;
        for filter in filters() {
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
                        limit: rng.gen_range(1..=7),
                        ..filter.clone()
                    };
                    checked += compare_every_page(repo, user, &tasks, &query, now).await;
                }
            }
        }
        assert!(
            checked > TASKS,
            "the generated queries matched almost nothing ({checked} items)"
        );
    }
}

/// Walks `query` page by page on the repository and on the reference; returns the items compared.
async fn compare_every_page(
    repo: &dyn TaskRepository,
    user: UserId,
    tasks: &[Task],
    query: &TaskQuery,
    now: DateTime<Utc>,
) -> usize {
    let describe = || {
        format!(
            "query (seed {SEED:#x}): words={:?} status={:?} priorities={:?} tags_any={:?} tags_all={:?} \
             due_from={:?} due_to={:?} overdue={} sort={:?} order={:?} limit={}",
            query.words,
            query.status,
            query.priorities,
            query.tags_any,
            query.tags_all,
            query.due_from,
            query.due_to,
            query.overdue,
            query.sort,
            query.order,
            query.limit
        )
    };
    let mut page_query = query.clone();
    let mut compared = 0;
    for page_number in 0..=tasks.len() + 1 {
        let expected = query::evaluate(tasks, &page_query, now);
        let actual = repo
            .query(user, &page_query, now)
            .await
            .unwrap_or_else(|e| panic!("page {page_number} of {} failed: {e}", describe()));
        let ids = |page: &crate::ports::Page| page.items.iter().map(|t| t.id.0).collect::<Vec<_>>();
        assert_eq!(
            ids(&actual),
            ids(&expected),
            "task ids of page {page_number} of {}",
            describe()
        );
        assert_eq!(
            actual.items,
            expected.items,
            "tasks of page {page_number} of {}",
            describe()
        );
        assert_eq!(
            actual.next_cursor,
            expected.next_cursor,
            "next_cursor of page {page_number} of {}",
            describe()
        );
        compared += actual.items.len();
        match expected.next_cursor {
            Some(cursor) => page_query.cursor = Some(cursor),
            None => return compared,
        }
    }
    panic!("{} never reached its last page", describe());
}
