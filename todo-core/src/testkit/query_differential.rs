//! The differential property test of [`TaskRepository::query`]: random task sets and random queries
//! give identical pages (items and cursors, walked to the last page) from the adapter and from the
//! reference [`query::evaluate`](crate::query::evaluate).
//!
//! One store serves every case; each case writes its tasks for a fresh user (plus a few for a second
//! user that no query may return). An adapter with several query plans over the same data (SQLite's
//! search scans) passes them as extra readers, and every reader must give the same page.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use uuid::Uuid;

use crate::model::{
    Description, NewTask, Priority, RemindBefore, SeriesId, Status, Tag, Tags, Task, TaskId, UserId,
};
use crate::ports::{Changes, Page, TaskRepository, TaskWrite};
use crate::query::{self, Order, SortKey, StatusFilter, TaskQuery};

/// Title and description words: case variants, non-ASCII case mappings (final sigma, dotted I,
/// sharp s, Kelvin sign), LIKE metacharacters, punctuation that locale collations ignore, and
/// full-text syntax (FTS5's quotes, `*`, `^`, `OR`, `NEAR`), which must match literally.
const WORDS: &[&str] = &[
    "Buy",
    "buy",
    "BUY",
    "milk",
    "Milk",
    "oat-milk",
    "groceries",
    "report",
    "Report",
    "call",
    "mom",
    "Café",
    "CAFÉ",
    "cafe",
    "école",
    "ÉCOLE",
    "100%",
    "100",
    "a_b",
    "axb",
    "a%b",
    "c:\\tmp",
    "\\",
    "ΣΟΦΙΑ",
    "σοφια",
    "ὈΔΥΣΣΕΎΣ",
    "İstanbul",
    "istanbul",
    "Straße",
    "STRASSE",
    "ẞ",
    "\u{212A}",
    "k",
    "zebra",
    "Zebra-crossing",
    "(urgent)",
    "_",
    "%",
    "日本語",
    "🚀",
    "x",
    "xy",
    "xyz",
    "xyz_1",
    "XYZ%2",
    "say\"hi\"",
    "a*b",
    "OR",
    "NEAR(x)",
    "^start",
    "don't",
];
/// Words searched for: substrings of the above, whole words, and misses.
const SEARCH: &[&str] = &[
    "buy",
    "BUY",
    "milk",
    "oat",
    "-",
    "groc",
    "report",
    "café",
    "cafe",
    "é",
    "école",
    "100%",
    "%",
    "_",
    "a_b",
    "a%b",
    "\\",
    "c:\\",
    "σοφια",
    "σ",
    "ς",
    "ὀδυσσεύς",
    "i\u{307}stanbul",
    "istanbul",
    "straße",
    "strasse",
    "ß",
    "k",
    "zebra",
    "(urgent)",
    "日本",
    "🚀",
    "xy",
    "x",
    "nothing",
    "xyz_",
    "xyz%",
    "c:\\tmp",
    "z_1",
    "oat-milk",
    "\"hi",
    "\"",
    "hi\"",
    "a*b",
    "*",
    "or",
    "near(x)",
    "^st",
    "n't",
    "don't",
];
const TAGS: &[&str] = &["work", "home", "urgent", "errand", "q3", "ünï"];

fn base() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2030-03-10T09:00:00Z")
        .expect("a valid literal")
        .to_utc()
}

/// Small pools of instants, so ties on every sort key are frequent; includes "now".
fn instant(slot: i64) -> DateTime<Utc> {
    base() + Duration::hours(6 * slot)
}

#[derive(Debug, Clone)]
struct TaskSpec {
    title: Vec<usize>,
    description: Vec<usize>,
    tags: Vec<usize>,
    priority: usize,
    due: Option<i64>,
    created: i64,
    completed: bool,
    micros: u32,
}

fn task_spec() -> impl Strategy<Value = TaskSpec> {
    (
        prop::collection::vec(0..WORDS.len(), 1..4),
        prop::collection::vec(0..WORDS.len(), 0..4),
        prop::collection::vec(0..TAGS.len(), 0..3),
        0..3usize,
        prop::option::weighted(0.75, -6i64..6),
        -8i64..0,
        prop::bool::weighted(0.3),
        prop_oneof![Just(0u32), 0u32..1_000_000],
    )
        .prop_map(
            |(title, description, tags, priority, due, created, completed, micros)| TaskSpec {
                title,
                description,
                tags,
                priority,
                due,
                created,
                completed,
                micros,
            },
        )
}

fn build_task(spec: &TaskSpec, id: TaskId, user: UserId) -> Task {
    let title: Vec<&str> = spec.title.iter().map(|i| WORDS[*i]).collect();
    let description: Vec<&str> = spec.description.iter().map(|i| WORDS[*i]).collect();
    let tags: Vec<&str> = spec.tags.iter().map(|i| TAGS[*i]).collect();
    let created_at = instant(spec.created) + Duration::microseconds(i64::from(spec.micros));
    let mut task = Task::create(
        id,
        user,
        NewTask::titled(&title.join(" ")).expect("generated titles are valid"),
        SeriesId(Uuid::nil()),
        created_at,
    );
    task.description = Description::parse(&description.join(" ")).expect("a valid description");
    task.tags = Tags::parse(&tags).expect("valid tags");
    task.priority = Priority::ALL[spec.priority];
    task.due_date = spec.due.map(instant);
    task.remind_before = task.due_date.map(|_| RemindBefore::DEFAULT);
    if spec.completed {
        task.status = Status::Completed;
        task.completed_at = Some(created_at + Duration::minutes(5));
        task.updated_at = created_at + Duration::minutes(5);
        task.version = 2;
    }
    task
}

fn tag_set(indices: &[usize]) -> BTreeSet<Tag> {
    indices
        .iter()
        .map(|i| Tag::parse(TAGS[*i]).expect("a valid tag"))
        .collect()
}

/// `inner`'s value with probability `p`, else the empty default.
fn sometimes<T: std::fmt::Debug + Default + Clone>(
    p: f64,
    inner: impl Strategy<Value = T>,
) -> impl Strategy<Value = T> {
    prop::option::weighted(p, inner).prop_map(Option::unwrap_or_default)
}

fn task_query() -> impl Strategy<Value = (TaskQuery, i64)> {
    (
        (
            sometimes(0.5, prop::collection::vec(0..SEARCH.len(), 1..3)),
            prop_oneof![
                3 => Just(StatusFilter::All),
                1 => Just(StatusFilter::Only(Status::Pending)),
                1 => Just(StatusFilter::Only(Status::Completed)),
            ],
            sometimes(0.3, prop::collection::btree_set(0..3usize, 1..3)),
            sometimes(0.25, prop::collection::vec(0..TAGS.len(), 1..3)),
            sometimes(0.15, prop::collection::vec(0..TAGS.len(), 1..3)),
        ),
        (
            prop::option::weighted(0.15, -6i64..6),
            prop::option::weighted(0.15, -6i64..6),
            prop::bool::weighted(0.1),
            prop_oneof![
                Just(SortKey::DueDate),
                Just(SortKey::Priority),
                Just(SortKey::CreatedAt),
                Just(SortKey::Title),
            ],
            prop_oneof![Just(Order::Asc), Just(Order::Desc)],
            1usize..12,
            -3i64..3,
        ),
    )
        .prop_map(
            |(
                (words, status, priorities, tags_any, tags_all),
                (due_from, due_to, overdue, sort, order, limit, now),
            )| {
                let text: Vec<&str> = words.iter().map(|i| SEARCH[*i]).collect();
                let query = TaskQuery {
                    words: TaskQuery::search_words(&text.join(" ")),
                    status,
                    priorities: priorities.into_iter().map(|p| Priority::ALL[p]).collect(),
                    tags_any: tag_set(&tags_any),
                    tags_all: tag_set(&tags_all),
                    due_from: due_from.map(instant),
                    due_to: due_to.map(instant),
                    overdue,
                    sort,
                    order,
                    limit,
                    cursor: None,
                };
                (query, now)
            },
        )
}

/// Compares an adapter's query pages with the reference evaluation on generated tasks and queries.
///
/// The cases run on a runtime the caller owns (proptest's runner is synchronous), so the adapter's
/// store can be opened on that runtime first.
pub struct QueryDifferential {
    store: Arc<dyn TaskRepository>,
    plans: Vec<(String, Arc<dyn TaskRepository>)>,
    cases: u32,
}

impl QueryDifferential {
    /// A differential test of `store`; `PROPTEST_CASES` sets the number of cases (300 by default).
    pub fn new(store: Arc<dyn TaskRepository>) -> Self {
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(300);
        Self {
            store,
            plans: Vec::new(),
            cases,
        }
    }

    /// Other readers of the same data (another query plan, a replica), each named for the failure
    /// message: every one of them must answer every page exactly as the store does.
    #[must_use]
    pub fn with_plans(mut self, plans: Vec<(String, Arc<dyn TaskRepository>)>) -> Self {
        self.plans = plans;
        self
    }

    /// Runs the cases on `runtime`, panicking with the (shrunk) failing case.
    ///
    /// Also fails when the generated queries matched almost nothing, which would make the test vacuous.
    pub fn run(&self, runtime: &tokio::runtime::Runtime) {
        let mut runner = TestRunner::new(Config {
            cases: self.cases,
            // Shrinking replays cases against the same store: bounded, so a failure reports quickly.
            max_shrink_iters: 200,
            failure_persistence: None,
            ..Config::default()
        });
        let strategy = (
            prop::collection::vec(task_spec(), 0..40),
            prop::collection::vec(task_spec(), 0..4),
            prop::collection::vec(task_query(), 1..5),
        );
        let total = std::cell::Cell::new(0);
        let result = runner.run(&strategy, |(specs, foreign, queries)| {
            let compared = runtime.block_on(self.check_case(&specs, &foreign, &queries))?;
            total.set(total.get() + compared);
            Ok(())
        });
        if let Err(failure) = result {
            panic!("{failure}");
        }
        let total = total.get();
        tracing::info!(total, cases = self.cases, "compared query results");
        assert!(
            total > 1_000,
            "the generated queries matched almost nothing ({total} items over {} cases)",
            self.cases
        );
    }

    /// Stores the case's tasks and walks every page of every query on every side.
    async fn check_case(
        &self,
        specs: &[TaskSpec],
        foreign: &[TaskSpec],
        queries: &[(TaskQuery, i64)],
    ) -> Result<usize, TestCaseError> {
        let repo = &*self.store;
        let (user, other) = (UserId(Uuid::new_v4()), UserId(Uuid::new_v4()));
        let mut tasks = Vec::new();
        let mut writes = Vec::new();
        for (n, spec) in specs.iter().chain(foreign).enumerate() {
            let id = repo.next_task_id().await.expect("next_task_id");
            let owner = if n < specs.len() { user } else { other };
            let task = build_task(spec, id, owner);
            if owner == user {
                tasks.push(task.clone());
            }
            writes.push(TaskWrite::Insert(task));
        }
        repo.commit(Changes {
            writes,
            ..Changes::default()
        })
        .await
        .expect("inserting generated tasks");

        let mut compared = 0;
        for (query, now) in queries {
            let now = instant(*now);
            let mut page_query = query.clone();
            for page in 0..=tasks.len() + 1 {
                let expected = query::evaluate(&tasks, &page_query, now);
                let actual = repo
                    .query(user, &page_query, now)
                    .await
                    .map_err(|e| TestCaseError::fail(format!("query failed: {e}")))?;
                for (plan, reader) in &self.plans {
                    let other = reader.query(user, &page_query, now).await.map_err(|e| {
                        TestCaseError::fail(format!("query with {plan} failed: {e}"))
                    })?;
                    prop_assert_eq!(&other.items, &actual.items, "items with {}", plan);
                    prop_assert_eq!(
                        &other.next_cursor,
                        &actual.next_cursor,
                        "cursor with {}",
                        plan
                    );
                }
                let ids = |p: &Page| p.items.iter().map(|t| t.id.0).collect::<Vec<_>>();
                prop_assert_eq!(
                    ids(&actual),
                    ids(&expected),
                    "ids of page {} of {:?}",
                    page,
                    page_query
                );
                prop_assert_eq!(&actual.items, &expected.items, "tasks of page {}", page);
                prop_assert_eq!(
                    &actual.next_cursor,
                    &expected.next_cursor,
                    "cursor of page {}",
                    page
                );
                compared += actual.items.len();
                match expected.next_cursor {
                    Some(cursor) => page_query.cursor = Some(cursor),
                    None => break,
                }
            }
        }
        Ok(compared)
    }
}
