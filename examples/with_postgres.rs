//! Embeds `todo-core` with PostgreSQL storage (`todo-postgres`): the same use cases as the in-memory
//! walkthrough, but every task, event and processed-event mark is a row in a real database.
//!
//! 1. connects and applies the migrations (idempotent);
//! 2. creates a weekly recurring task and two others, and searches them;
//! 3. completes the recurring task: the `completed` event is written to the `outbox` table in the same
//!    transaction as the task;
//! 4. relays the outbox to an in-process event bus, where the recurring-task handler consumes the
//!    event and stores the next occurrence (one week later, same local time), as the `recurring`
//!    service does from Kafka in the distributed deployment.
//!
//! Run it against the local stack (any PostgreSQL ≥ 15 works; the migrations create the tables):
//!
//! ```sh
//! infra/todo-infra up                  # PostgreSQL, Kafka, the Dapr scheduler, Redis on loopback
//! eval "$(infra/todo-infra env)"       # TODO_PG_URL=postgres://postgres@127.0.0.1:<port>/postgres, ...
//! DATABASE_URL="$TODO_PG_URL" cargo run --example with_postgres
//! ```
//!
//! Every run works for a new user, so runs never see each other's tasks. Time is the real clock.

use std::sync::Arc;

use anyhow::Context;
use todo_examples::required_var;
use todo_postgres::{connect, migrate, PoolSettings, PostgresTaskRepository};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let url = required_var(
        "DATABASE_URL",
        "give it a PostgreSQL URL, e.g. `eval \"$(infra/todo-infra env)\"; \
         DATABASE_URL=\"$TODO_PG_URL\" cargo run --example with_postgres`",
    );

    // 1. Storage: one pool, the schema migrated. `PostgresTaskRepository` is the task repository,
    //    the outbox and the state store of the use cases, all on this one database.
    let pool = connect(&url, &PoolSettings::default())
        .await
        .with_context(|| format!("connecting to DATABASE_URL ({})", redact(&url)))?;
    migrate(&pool).await.context("applying the migrations")?;
    println!("connected to PostgreSQL and applied the migrations");
    let store = Arc::new(PostgresTaskRepository::new(pool));

    todo_examples::storage::complete_a_recurring_task(store).await
}

/// The URL without its password, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _password)) => {
                    format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
                }
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
