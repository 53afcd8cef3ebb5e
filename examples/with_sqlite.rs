//! Embeds `todo-core` with SQLite storage (`todo-sqlite`), the embedded default's database: the
//! same scenario as `with_postgres`, in one file and with nothing else to run.
//!
//! 1. opens the database file (creating it) and applies the migrations;
//! 2. creates a weekly recurring task and two others, and searches them (FTS5 trigram index);
//! 3. completes the recurring task: the `completed` event is written to the `outbox` table in the
//!    same transaction as the task;
//! 4. relays the outbox to an in-process event bus, where the recurring-task handler consumes the
//!    event and stores the next occurrence (one week later, same local time).
//!
//! ```sh
//! cargo run --example with_sqlite                 # a database in a new temporary directory
//! cargo run --example with_sqlite -- my-tasks.db  # or this file (run it twice: the tasks stay)
//! ```

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use todo_sqlite::{migrate, open, OpenOptions, SqliteTaskRepository};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let scratch = std::env::temp_dir().join(format!("todo-example-{}", std::process::id()));
    let path = match std::env::args_os().nth(1) {
        Some(path) => PathBuf::from(path),
        None => {
            std::fs::create_dir_all(&scratch).context("creating a temporary directory")?;
            scratch.join("todo.db")
        }
    };

    // 1. Storage: one file, owned by this process while it runs (a `.lock` file beside it), the
    //    schema migrated. `SqliteTaskRepository` is the task repository, the outbox and the state
    //    store of the use cases.
    let db = open(&path, &OpenOptions::default())
        .await
        .with_context(|| format!("opening {}", path.display()))?;
    migrate(&db).await.context("applying the migrations")?;
    println!("opened {} and applied the migrations", path.display());
    let store = Arc::new(SqliteTaskRepository::new(db.clone()));

    let outcome = todo_examples::storage::complete_a_recurring_task(store).await;
    db.close().await;
    let _ = std::fs::remove_dir_all(&scratch);
    outcome
}
