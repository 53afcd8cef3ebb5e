//! SQLite adapters of the task manager, the embedded default (SPEC §13): the
//! [`TaskRepository`](todo_core::ports::TaskRepository), [`OutboxStore`](todo_core::ports::OutboxStore),
//! [`AuditLog`](todo_core::ports::AuditLog), [`UserRepository`](todo_core::ports::UserRepository),
//! [`NotificationStore`](todo_core::ports::NotificationStore) and
//! [`StateStore`](todo_core::ports::StateStore) ports in one database file, with embedded migrations.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::path::Path;
//! use todo_sqlite::{migrate, open, OpenOptions};
//!
//! let db = open(Path::new("todo.db"), &OpenOptions::default()).await?;
//! migrate(&db).await?;
//! # Ok(()) }
//! ```

mod error;
mod setup;

pub use error::SetupError;
pub use setup::{backup, lock_path, migrate, open, Backup, Database, Durability, OpenOptions, MIGRATOR};
