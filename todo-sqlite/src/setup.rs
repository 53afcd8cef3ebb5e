//! Opening, locking, migrating and backing up the database file.
//!
//! One process owns a database file: [`open`] takes an exclusive lock on `PATH.lock` beside it, so
//! a second server on the same file stops at start with a message naming the file instead of
//! competing for the writer. Writes go through one connection (SQLite has one writer at a time
//! anyway; callers queue for it in the process instead of spinning on `SQLITE_BUSY`, see
//! [`crate::writer`]), reads through a pool of read-only connections, which WAL lets run beside
//! the writer.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::ConnectOptions;
use tracing::info;

use todo_core::ports::PortResult;

use crate::error::SetupError;
use crate::writer::{Writer, WriterConnection};

/// The schema, embedded in the binary: `todo-sqlite/migrations/*.sql`, applied in order.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// When a commit is on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous = NORMAL` in WAL mode: a commit is in the operating system once acknowledged, so
    /// it survives the process being killed; the WAL is synced at each checkpoint, so a power loss
    /// or kernel crash can roll back the last commits before it, never corrupt the file.
    #[default]
    Normal,
    /// `synchronous = FULL`: the WAL is synced at every commit, so an acknowledged write survives a
    /// power loss too, at the cost of one `fsync` per write.
    Full,
}

/// How the database is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOptions {
    /// Read-only connections beside the one writer.
    pub readers: u32,
    /// How long a statement waits for a lock held by another connection before it is `Unavailable`.
    pub busy_timeout: Duration,
    /// How long a caller waits for a free connection (the writer, under load) before the call is
    /// `Unavailable`.
    pub acquire_timeout: Duration,
    /// When commits reach the disk.
    pub durability: Durability,
    /// SQLite's page cache per connection, in KiB; every connection has its own, so it multiplies
    /// by `readers + 1` in the process's memory (at most: a cache grows as pages are read). The
    /// default 2 MiB holds what a search page reads (about 160 pages of 4 KiB on 10 000 tasks);
    /// with 512 KiB each page of results re-read 130 pages from the operating system's file cache,
    /// one `pread` each (docs/benchmarks.md).
    pub cache_kib: u32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            readers: 3,
            busy_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(5),
            durability: Durability::Normal,
            cache_kib: 2048,
        }
    }
}

/// An open database file: one writer connection and a pool of readers.
#[derive(Debug, Clone)]
pub struct Database {
    pub(crate) writer: Writer,
    pub(crate) reader: SqlitePool,
    path: Arc<PathBuf>,
    /// Held for as long as any clone lives: the file's owner lock.
    _lock: Arc<File>,
}

impl Database {
    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The one writer connection, once it is free (for diagnostics and tests: the repository
    /// waits for it until the returned connection is dropped).
    pub async fn writer(&self) -> PortResult<WriterConnection> {
        self.writer.acquire().await
    }

    /// The pool of read-only connections (for diagnostics and tests).
    pub fn reader_pool(&self) -> &SqlitePool {
        &self.reader
    }

    /// Closes every connection (a checkpoint folds the WAL into the file).
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

/// The lock file that marks a database file as in use: `PATH.lock`.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Opens (creating it if missing) the database file at `path` for this process alone.
///
/// Fails with a [`SetupError`] naming the file when its directory cannot be written, another
/// process has it open, or it is not a SQLite database. The schema is not touched: see [`migrate`].
pub async fn open(path: &Path, options: &OpenOptions) -> Result<Database, SetupError> {
    let lock = take_lock(path)?;
    let writer_options = connect_options(path, options)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal);
    let mut conn = writer_options
        .connect()
        .await
        .map_err(|source| SetupError::open(path, source))?;
    // The first statement that reads the file tells whether it is a database at all.
    sqlx::query("SELECT count(*) FROM sqlite_schema")
        .execute(&mut conn)
        .await
        .map_err(|source| SetupError::open(path, source))?;
    let writer = Writer::new(conn, writer_options, options.acquire_timeout);
    let reader = SqlitePoolOptions::new()
        .max_connections(options.readers.max(1))
        .acquire_timeout(options.acquire_timeout)
        .test_before_acquire(false)
        .connect_with(connect_options(path, options).read_only(true))
        .await
        .map_err(|source| SetupError::open(path, source))?;
    Ok(Database {
        writer,
        reader,
        path: Arc::new(path.to_owned()),
        _lock: Arc::new(lock),
    })
}

fn connect_options(path: &Path, options: &OpenOptions) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .busy_timeout(options.busy_timeout)
        .foreign_keys(true)
        .synchronous(match options.durability {
            Durability::Normal => SqliteSynchronous::Normal,
            Durability::Full => SqliteSynchronous::Full,
        })
        .pragma("temp_store", "memory")
        .pragma("cache_size", format!("-{}", options.cache_kib))
        // Statements are cached per connection; the repository uses a few dozen.
        .statement_cache_capacity(64)
}

/// Takes the owner lock of `path` (creating the directory's lock file), or says who holds it.
fn take_lock(path: &Path) -> Result<File, SetupError> {
    let lock_path = lock_path(path);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|source| SetupError::Io {
            path: lock_path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(SetupError::Locked {
            path: path.to_owned(),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(SetupError::Io {
            path: lock_path,
            source,
        }),
    }
}

/// Brings the schema up to date; a no-op when it is.
pub async fn migrate(db: &Database) -> Result<(), SetupError> {
    let mut conn = db.writer.acquire_or_driver_error().await?;
    let before = applied_migrations(&mut conn).await?;
    MIGRATOR.run_direct(&mut *conn).await?;
    let after = applied_migrations(&mut conn).await?;
    if after > before {
        info!(applied = after - before, total = after, path = %db.path.display(), "database schema migrated");
    } else {
        info!(total = after, path = %db.path.display(), "database schema is up to date");
    }
    Ok(())
}

async fn applied_migrations(conn: &mut SqliteConnection) -> Result<i64, SetupError> {
    let table: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(&mut *conn)
    .await?;
    if table == 0 {
        return Ok(0);
    }
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(conn)
            .await?,
    )
}

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    /// The copy.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Writes a consistent copy of the database at `source` to `target` (`VACUUM INTO`), while a
/// server may be using it: the copy is one read transaction's snapshot, compacted, with no WAL
/// beside it. `target` must not exist yet.
pub async fn backup(source: &Path, target: &Path) -> Result<Backup, SetupError> {
    if target.exists() {
        return Err(SetupError::TargetExists {
            path: target.to_owned(),
        });
    }
    if !source.exists() {
        return Err(SetupError::Missing {
            path: source.to_owned(),
        });
    }
    let options = SqliteConnectOptions::new()
        .filename(source)
        .busy_timeout(Duration::from_secs(30));
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(|e| SetupError::open(source, e))?;
    let target_text = target.to_str().ok_or_else(|| SetupError::Io {
        path: target.to_owned(),
        source: std::io::Error::other("the path is not valid UTF-8"),
    })?;
    let result = sqlx::query("VACUUM INTO ?")
        .bind(target_text)
        .execute(&pool)
        .await
        .map_err(|e| SetupError::open(source, e));
    pool.close().await;
    result?;
    let bytes = std::fs::metadata(target)
        .map_err(|source| SetupError::Io {
            path: target.to_owned(),
            source,
        })?
        .len();
    info!(from = %source.display(), to = %target.display(), bytes, "backup written");
    Ok(Backup {
        path: target.to_owned(),
        bytes,
    })
}

/// A database in a fresh temporary directory, migrated unless `migrated` is false; keep the
/// directory for as long as the database is used.
#[cfg(test)]
pub(crate) async fn temporary(migrated: bool) -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = open(&dir.path().join("todo.db"), &OpenOptions::default())
        .await
        .expect("the database opens");
    if migrated {
        migrate(&db).await.expect("the migrations apply");
    }
    (dir, db)
}
