//! A fresh, migrated database file in a temporary directory per test.

#![allow(dead_code)] // each test binary uses part of it

use std::path::PathBuf;
use std::sync::Arc;

use todo_sqlite::{migrate, open, Database, OpenOptions, SqliteTaskRepository};

/// A temporary directory holding a database; the directory goes when this is dropped.
pub struct TempDb {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

/// A new migrated database in a fresh temporary directory, and a repository over it.
pub async fn fresh_store() -> (TempDb, Arc<SqliteTaskRepository>) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("todo.db");
    let db = open_migrated(&path).await;
    (
        TempDb { dir, path },
        Arc::new(SqliteTaskRepository::new(db)),
    )
}

/// Opens and migrates the database at `path`.
pub async fn open_migrated(path: &std::path::Path) -> Database {
    let db = open(path, &OpenOptions::default())
        .await
        .expect("opening the database");
    migrate(&db).await.expect("migrating the database");
    db
}
