//! The FTS5 trigram index follows every write of a task (insert, update, delete, rollback), and
//! migrations build the schema once.

mod support;

use chrono::Utc;
use uuid::Uuid;

use todo_core::model::{Description, NewTask, SeriesId, Task, TaskId, Title, UserId};
use todo_core::ports::{Changes, TaskRepository, TaskWrite};
use todo_core::query::TaskQuery;
use todo_sqlite::{migrate, SqliteTaskRepository};

async fn found(repo: &SqliteTaskRepository, user: UserId, q: &str) -> Vec<TaskId> {
    let query = TaskQuery {
        words: TaskQuery::search_words(q),
        ..TaskQuery::default()
    };
    repo.query(user, &query, Utc::now())
        .await
        .expect("search")
        .items
        .iter()
        .map(|t| t.id)
        .collect()
}

async fn index_is_consistent(repo: &SqliteTaskRepository) {
    sqlx::query("INSERT INTO task_search (task_search) VALUES ('integrity-check')")
        .execute(&mut *repo.database().writer().await.unwrap())
        .await
        .expect("the FTS5 index matches the tasks");
}

async fn commit(repo: &SqliteTaskRepository, write: TaskWrite) {
    repo.commit(Changes {
        writes: vec![write],
        ..Changes::default()
    })
    .await
    .expect("commit");
}

#[tokio::test]
async fn the_search_index_follows_inserts_updates_and_deletes() {
    let (_db, repo) = support::fresh_store().await;
    let user = UserId(Uuid::new_v4());
    let id = repo.next_task_id().await.unwrap();
    let mut task = Task::create(
        id,
        user,
        NewTask::titled("Buy Oat-Milk").unwrap(),
        SeriesId(Uuid::new_v4()),
        chrono::SubsecRound::trunc_subsecs(Utc::now(), 6),
    );
    commit(&repo, TaskWrite::Insert(task.clone())).await;
    assert_eq!(found(&repo, user, "milk").await, [id]);
    assert_eq!(found(&repo, user, "OAT-M").await, [id]);
    assert!(found(&repo, user, "mom").await.is_empty());

    let mut edit = task.clone();
    edit.title = Title::parse("Call Mom").unwrap();
    edit.description = Description::parse("about the ΣΟΦΙΑ trip").unwrap();
    edit.version = 2;
    commit(
        &repo,
        TaskWrite::Update {
            task: edit.clone(),
            expected_version: 1,
        },
    )
    .await;
    assert!(found(&repo, user, "milk").await.is_empty(), "old text left");
    assert_eq!(found(&repo, user, "mom").await, [id]);
    assert_eq!(found(&repo, user, "σοφια trip").await, [id]);
    index_is_consistent(&repo).await;

    // A refused update changes nothing in the index either.
    task.title = Title::parse("Stale milk").unwrap();
    task.version = 2;
    let stale = repo
        .commit(Changes {
            writes: vec![TaskWrite::Update {
                task,
                expected_version: 1,
            }],
            ..Changes::default()
        })
        .await;
    assert!(stale.is_err());
    assert!(found(&repo, user, "stale").await.is_empty());

    commit(
        &repo,
        TaskWrite::Delete {
            user_id: user,
            id,
            expected_version: 2,
        },
    )
    .await;
    assert!(found(&repo, user, "mom").await.is_empty());
    index_is_consistent(&repo).await;
}

#[tokio::test]
async fn migrating_again_changes_nothing() {
    let (_db, repo) = support::fresh_store().await;
    let schema = || async {
        let rows: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT name, sql FROM sqlite_schema ORDER BY name")
                .fetch_all(repo.database().reader_pool())
                .await
                .unwrap();
        rows
    };
    let before = schema().await;
    migrate(repo.database()).await.unwrap();
    assert_eq!(schema().await, before);
    assert!(before.iter().any(|(name, _)| name == "task_search"));
}
