//! `EXPLAIN QUERY PLAN` of the queries the repository runs: a search reads the FTS5 trigram index,
//! and listings and filters read the per-user sort indexes in order, never scanning every task nor
//! sorting afterwards.

mod support;

use chrono::{Duration, Utc};
use sqlx::Row;
use uuid::Uuid;

use todo_core::model::{NewTask, Priority, SeriesId, Status, Tag, Tags, Task, UserId};
use todo_core::ports::{Changes, TaskRepository, TaskWrite};
use todo_core::query::{Order, SortKey, StatusFilter, TaskQuery};
use todo_sqlite::query::{explain_statement, Plan};
use todo_sqlite::SqliteTaskRepository;

/// A few hundred tasks over several users, so the planner has rows to weigh.
async fn populate(repo: &SqliteTaskRepository) -> UserId {
    let now = Utc::now();
    let mut writes = Vec::new();
    let mut first = None;
    for u in 0..5 {
        let user = UserId(Uuid::new_v4());
        first.get_or_insert(user);
        for n in 0..60 {
            let id = repo.next_task_id().await.unwrap();
            let mut task = Task::create(
                id,
                user,
                NewTask::titled(&format!("Buy milk {u} {n}")).unwrap(),
                SeriesId(Uuid::new_v4()),
                now,
            );
            task.tags = Tags::parse(&["home"]).unwrap();
            if n % 2 == 0 {
                task.due_date = Some(now + Duration::hours(n));
            }
            writes.push(TaskWrite::Insert(task));
        }
    }
    repo.commit(Changes {
        writes,
        ..Changes::default()
    })
    .await
    .unwrap();
    first.expect("a user")
}

/// The plan of the statement the repository runs first for `query`.
async fn plan_of(repo: &SqliteTaskRepository, user: UserId, query: &TaskQuery) -> String {
    plan_with(
        repo,
        user,
        query,
        Plan::Scan {
            budget: SqliteTaskRepository::SEARCH_SCAN,
        },
    )
    .await
}

async fn plan_with(
    repo: &SqliteTaskRepository,
    user: UserId,
    query: &TaskQuery,
    plan: Plan,
) -> String {
    let rows = explain_statement(user, query, Utc::now(), plan)
        .build()
        .fetch_all(repo.database().reader_pool())
        .await
        .expect("explaining the query");
    plan_text(&rows)
}

/// The `detail` column of `EXPLAIN QUERY PLAN` rows, one line each.
fn plan_text(rows: &[sqlx::sqlite::SqliteRow]) -> String {
    rows.iter()
        .map(|row| row.get::<String, _>("detail"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn index_of(sort: SortKey, order: Order) -> &'static str {
    match (sort, order) {
        (SortKey::DueDate, Order::Asc) => "tasks_user_due_asc",
        (SortKey::DueDate, Order::Desc) => "tasks_user_due_desc",
        (SortKey::Priority, _) => "tasks_user_priority",
        (SortKey::CreatedAt, _) => "tasks_user_created",
        (SortKey::Title, _) => "tasks_user_title",
    }
}

/// No full scan of `tasks` and no sort after the scan: the page comes out of the index in order.
fn assert_no_scan_nor_sort(name: &str, plan: &str) {
    assert!(
        !plan
            .lines()
            .any(|l| l == "SCAN t" || l.starts_with("SCAN t ")),
        "{name} scans every task:\n{plan}"
    );
    assert!(
        !plan.contains("TEMP B-TREE FOR ORDER BY"),
        "{name} sorts after reading:\n{plan}"
    );
}

#[tokio::test]
async fn every_listing_reads_its_per_user_sort_index_in_order() {
    let (_db, repo) = support::fresh_store().await;
    let user = populate(&repo).await;
    for (name, query) in queries() {
        let plan = plan_of(&repo, user, &query).await;
        let index = index_of(query.sort, query.order);
        assert!(
            plan.contains(&format!("SEARCH t USING INDEX {index} (user_id=?")),
            "{name} ({:?} {:?}) does not read {index}:\n{plan}",
            query.sort,
            query.order
        );
        assert_no_scan_nor_sort(name, &plan);
    }
}

#[tokio::test]
async fn a_cursor_starts_the_index_range_after_its_position() {
    let (_db, repo) = support::fresh_store().await;
    let user = populate(&repo).await;
    for (name, mut query) in queries() {
        query.limit = 5;
        let first = repo.query(user, &query, Utc::now()).await.unwrap();
        let Some(cursor) = first.next_cursor else {
            continue;
        };
        query.cursor = Some(cursor);
        let plan = plan_of(&repo, user, &query).await;
        let index = index_of(query.sort, query.order);
        assert!(
            plan.contains(&format!("SEARCH t USING INDEX {index} (user_id=? AND ")),
            "{name}: the cursor is not an index range of {index}:\n{plan}"
        );
        assert_no_scan_nor_sort(name, &plan);
    }
}

#[tokio::test]
async fn a_search_scans_the_first_candidates_in_order_then_asks_the_trigram_index() {
    let (_db, repo) = support::fresh_store().await;
    let user = populate(&repo).await;
    let query = TaskQuery {
        words: vec!["milk".into(), "up".into()],
        ..TaskQuery::default()
    };
    // First: a range of the sort index that ends at the last of the first candidates.
    let plan = plan_of(&repo, user, &query).await;
    assert!(
        plan.contains("SEARCH t USING INDEX tasks_user_due_asc (user_id=? AND <expr><?)"),
        "the scan is not a bounded range of the sort index:\n{plan}"
    );
    assert!(!plan.contains("task_search"), "{plan}");
    assert_no_scan_nor_sort("search scan", &plan);

    // Then, when those did not fill the page: the trigram index. FTS5 reports a MATCH constraint
    // as "M<column>" in its index string.
    let plan = plan_with(&repo, user, &query, Plan::Index).await;
    assert!(
        plan.contains("SCAN s VIRTUAL TABLE INDEX") && plan.contains(":M"),
        "the search does not use the FTS5 index:\n{plan}"
    );
    assert!(
        plan.contains("SEARCH t USING INTEGER PRIMARY KEY (rowid=?)"),
        "{plan}"
    );

    // A search with only short words has no trigram: it is checked on the user's rows in order.
    let short = TaskQuery {
        words: vec!["up".into()],
        ..TaskQuery::default()
    };
    for plan in [
        plan_of(&repo, user, &short).await,
        plan_with(&repo, user, &short, Plan::Index).await,
    ] {
        assert!(!plan.contains("task_search"), "{plan}");
        assert_no_scan_nor_sort("short search", &plan);
    }
}

#[tokio::test]
async fn tag_filters_read_the_users_tag_index() {
    let (_db, repo) = support::fresh_store().await;
    let user = populate(&repo).await;
    for tags_all in [false, true] {
        let tags = [Tag::parse("home").unwrap(), Tag::parse("work").unwrap()]
            .into_iter()
            .collect();
        let query = if tags_all {
            TaskQuery {
                tags_all: tags,
                ..TaskQuery::default()
            }
        } else {
            TaskQuery {
                tags_any: tags,
                ..TaskQuery::default()
            }
        };
        let plan = plan_of(&repo, user, &query).await;
        assert!(
            plan.contains("USING COVERING INDEX task_tags_user_tag (user_id=? AND tag=?)"),
            "{plan}"
        );
        assert_no_scan_nor_sort("tags", &plan);
    }
}

fn queries() -> Vec<(&'static str, TaskQuery)> {
    let mut out = Vec::new();
    for sort in [
        SortKey::DueDate,
        SortKey::Priority,
        SortKey::CreatedAt,
        SortKey::Title,
    ] {
        for order in [Order::Asc, Order::Desc] {
            out.push((
                "list",
                TaskQuery {
                    sort,
                    order,
                    ..TaskQuery::default()
                },
            ));
        }
    }
    out.push((
        "filtered",
        TaskQuery {
            status: StatusFilter::Only(Status::Pending),
            priorities: [Priority::High, Priority::Low].into_iter().collect(),
            ..TaskQuery::default()
        },
    ));
    out.push((
        "overdue by title, descending",
        TaskQuery {
            overdue: true,
            due_from: Some(Utc::now() - Duration::days(3)),
            sort: SortKey::Title,
            order: Order::Desc,
            ..TaskQuery::default()
        },
    ));
    out.push((
        "search by priority",
        TaskQuery {
            words: vec!["milk".into(), "up".into()],
            sort: SortKey::Priority,
            ..TaskQuery::default()
        },
    ));
    out
}

#[tokio::test]
async fn a_reconciliation_page_is_one_range_of_the_reminder_window_index() {
    let (_db, repo) = support::fresh_store().await;
    populate(&repo).await;
    let now = Utc::now();
    let rows = sqlx::query(&format!(
        "EXPLAIN QUERY PLAN {}",
        SqliteTaskRepository::PENDING_REMINDERS
    ))
    .bind(now.timestamp_micros())
    .bind((now + Duration::minutes(11)).timestamp_micros())
    .bind((now - Duration::days(365)).timestamp_micros())
    .bind(0_i64)
    .bind(500_i64)
    .fetch_all(repo.database().reader_pool())
    .await
    .expect("explaining the query");
    let plan = plan_text(&rows);
    assert!(
        plan.contains(
            "SEARCH t USING COVERING INDEX tasks_reminder_window (<expr>>? AND <expr><?)"
        ) || plan.contains("SEARCH t USING COVERING INDEX tasks_reminder_window ("),
        "a page does not read a range of tasks_reminder_window:\n{plan}"
    );
    assert_no_scan_nor_sort("the reminder window", &plan);
}

#[tokio::test]
async fn a_batch_of_processed_events_is_looked_up_by_the_primary_key() {
    let (_db, repo) = support::fresh_store().await;
    let sql = SqliteTaskRepository::processed_among_sql(3);
    let explain = format!("EXPLAIN QUERY PLAN {sql}");
    let mut query = sqlx::query(&explain).bind("reminder-firings");
    for _ in 0..3 {
        query = query.bind(Uuid::new_v4());
    }
    let rows = query
        .fetch_all(repo.database().reader_pool())
        .await
        .expect("explaining the query");
    let plan = plan_text(&rows);
    assert!(
        plan.contains("SEARCH processed_events USING PRIMARY KEY (consumer=? AND event_id=?)"),
        "the lookup does not probe the primary key:\n{plan}"
    );
    assert!(
        !plan.lines().any(|l| l.starts_with("SCAN processed_events")),
        "the lookup scans every processed event:\n{plan}"
    );
}
