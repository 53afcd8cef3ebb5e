//! SQLite adapters of the task manager, the embedded default (SPEC §13): the
//! [`TaskRepository`](todo_core::ports::TaskRepository), [`OutboxStore`](todo_core::ports::OutboxStore),
//! [`AuditLog`](todo_core::ports::AuditLog), [`UserRepository`](todo_core::ports::UserRepository),
//! [`NotificationStore`](todo_core::ports::NotificationStore),
//! [`PushSubscriptionStore`](todo_core::ports::PushSubscriptionStore) and
//! [`StateStore`](todo_core::ports::StateStore) ports in one database file, with embedded migrations.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::path::Path;
//! use std::sync::Arc;
//! use todo_sqlite::{migrate, open, OpenOptions, SqliteTaskRepository};
//!
//! let db = open(Path::new("todo.db"), &OpenOptions::default()).await?;
//! migrate(&db).await?;
//! let store = Arc::new(SqliteTaskRepository::new(db));
//! // `store` is the TaskRepository, OutboxStore, AuditLog, UserRepository, NotificationStore and
//! // StateStore of the use cases.
//! # Ok(()) }
//! ```
//!
//! # Schema
//!
//! `migrations/` holds the schema (embedded with `sqlx::migrate!`, see [`MIGRATOR`]). Tables are
//! `STRICT`; instants are `INTEGER` microseconds since the Unix epoch (the precision of the domain's
//! [`Clock`](todo_core::ports::Clock), so they round-trip exactly and sort as integers), UUIDs 16-byte
//! `BLOB`s, JSON `TEXT`.
//!
//! | table | holds |
//! |---|---|
//! | `users` | accounts (e-mail unique case-insensitively through `email_key`, lower-cased in Rust; password hash) and every task owner (an owner is recorded on its first task) |
//! | `task_ids` | one row: the last task id reserved by [`TaskRepository::next_task_id`](todo_core::ports::TaskRepository::next_task_id) |
//! | `tasks` | one row per task: SPEC §3 fields with `status` as text and `priority` as its rank (0 high, 1 medium, 2 low, so ascending is high → low), the series fields of [`Series`](todo_core::model::Series), the recurrence's storage text, `version`, and two derived columns `title_key` and `search_text` |
//! | `task_search` | FTS5 index (trigram tokenizer) of `tasks.search_text`, external content, kept in step by triggers on `tasks` |
//! | `task_tags` | one row per (task, tag) with the task's owner, deleted with the task |
//! | `task_recurrence` | per recurring task: the pattern (`daily`/`weekly`/`monthly`/`custom` + RRULE) and the due date of its next occurrence |
//! | `outbox` | events committed with their change, until relayed (and until purged after) |
//! | `processed_events` | (consumer group, event id) pairs: idempotent consumers |
//! | `audit_log` | append-only (triggers refuse UPDATE and DELETE) history of task events, one row per event id |
//! | `notifications` | the in-app inbox: one row per reminder firing (its event id), newest first per user |
//! | `push_subscriptions` | the browsers each user registered for Web Push, unique per (user, endpoint) |
//! | `state_etag`, `state_store` | keyed JSON with ETags from one counter (the state port without Dapr) |
//!
//! Two unique indexes make duplicate occurrences impossible whatever the callers do:
//! `(series_id, due_date)` (one occurrence per due date in a series) and `(predecessor_id)` (one
//! successor per completed occurrence). Fifty concurrent completions of one recurring task create
//! exactly one next occurrence (tested).
//!
//! `title_key` (the lower-cased title) and `search_text` (lower-cased title, a line feed, lower-cased
//! description) are computed in Rust with [`str::to_lowercase`], the same function the reference
//! query semantics uses, so sorting and search agree with [`todo_core::query::evaluate`] byte for
//! byte (SQLite's `lower()` and `NOCASE` fold ASCII only). `title_key` uses the BINARY collation,
//! which compares UTF-8 bytes: code point order, like Rust's `str` ordering.
//!
//! # One writer, many readers
//!
//! [`open`] takes an exclusive lock on `PATH.lock`, so one process owns the file. Every write goes
//! through [`Database`]'s single writer connection (SQLite allows one writer at a time anyway;
//! callers queue for it in the process instead of spinning on `SQLITE_BUSY`). It is a connection
//! behind a lock, not a pool of one: `sqlx` pings every connection given back to a pool, which
//! doubled the round trips of the busiest connection in the process. Reads go through
//! a pool of read-only connections which WAL lets run beside the writer, each seeing the last
//! committed state when its statement starts.
//!
//! # Writes and the outbox
//!
//! [`TaskRepository::commit`](todo_core::ports::TaskRepository::commit) stores a unit of work (the
//! processed-event mark, the outbox rows, each task write with its tags and recurrence row, the
//! audit rows) atomically on the writer. Updates and deletes carry `WHERE version = ?expected`; when
//! they change nothing, a read in the same transaction tells `NotFound` from `Conflict`, so a stale
//! write never overwrites. Unique violations are `AlreadyExists`. Nothing of a failed unit is stored.
//!
//! **Group commit.** Units that arrive while the writer is busy are committed together: each caller
//! queues its unit and waits for its outcome, and one background task (the flusher) runs the queued
//! units (and queued audit appends and the relay's sent marks) in groups, each in one
//! `BEGIN IMMEDIATE` transaction, answering everyone after its `COMMIT` and starting the next group
//! at once. (When callers took the writer in turn, each group waited for a caller's task to be
//! woken first: the writer idled half the time under load.) One commit writes each touched page to
//! the WAL once for the whole group, and the search index gets one segment per group, not per task:
//! under 32 concurrent creates this took the API from 930 to about 3 400 creates/s
//! (docs/benchmarks.md). A caller hears back only after its group's `COMMIT`, so an acknowledged
//! write is committed; if the group's transaction fails as a whole (a full disk rolls it all back),
//! every unit in it gets the error.
//!
//! **Batches.** The inserts of a group (creates, next occurrences, audit appends, outbox messages,
//! processed-event marks) go in one script of one statement per table, each reading the rows of
//! every unit from a JSON array bound to it (`json_each`); a group of inserts only is one round trip
//! to the connection's thread, `BEGIN IMMEDIATE` to `COMMIT`, however many units it holds. Those
//! round trips, not SQLite's own work, were what kept the writer busy: 2 800-2 900 creates/s with a
//! round trip per unit, 4 300-4 400 with one per group, on the same machine and load
//! (docs/benchmarks.md). The script's text is fixed, so its statements are prepared once. Updates
//! and deletes run each in its own savepoint, since their version checks need their own statement's
//! result; and when a batch fails (a redelivered event, a duplicate task), it is undone and its
//! units run one by one, each in a savepoint, so a failing unit is undone alone with its own error.
//!
//! Transactions are plain `BEGIN IMMEDIATE` / `COMMIT` / `ROLLBACK` statements, not sqlx's
//! transaction manager: SQLite rolls a transaction back by itself when a statement fails with
//! `SQLITE_FULL` (or some I/O errors), sqlx's own `ROLLBACK` then fails and it believes a
//! transaction is still open, after which every `begin` on the writer fails. Here a rollback that
//! finds no transaction is fine, and a writer whose state is unknown (a failed rollback, a caller
//! that dropped the future mid-transaction) is closed rather than reused; the next caller opens a new
//! one.
//! A unit of work that hits a full disk is therefore `Unavailable`, stores nothing, and the next
//! write works once there is room (tested).
//!
//! Task ids come from the one-row `task_ids` counter, 64 at a time: one writer statement reserves a
//! block, the repository hands it out from memory (increasing; a block unused at exit is skipped).
//!
//! The outbox relay ([`todo_core::usecases::OutboxRelay`]) claims due rows with one
//! `UPDATE … RETURNING` on the writer and a lease, publishes them and marks them sent only after the
//! broker acknowledged (the marks join the writer's next group); see [`outbox`] for per-task
//! ordering.
//!
//! # Queries and indexes
//!
//! Queries are assembled from fixed SQL fragments with every value bound as a parameter (see
//! [`query`] for the mapping of each rule of SPEC §3). Every query is scoped by `user_id`, and every
//! index of `tasks` used for listing leads with it:
//!
//! - `tasks_user_due_asc`, `tasks_user_due_desc`, `tasks_user_priority`, `tasks_user_created`,
//!   `tasks_user_title`: `(user_id, sort value, id, status, priority, due_date)`. A page is one range
//!   scan in the requested order (from the start, or from a keyset cursor as a row-value comparison)
//!   that stops after `limit + 1` matches, with no sort step; the trailing columns let the status,
//!   priority, due-range and overdue filters be checked on the index entry. The due-date sort uses
//!   `coalesce(due_date, ±(2⁶³ - 1))` so tasks without a due date come last in both orders, which
//!   takes one index per direction (the query uses the index's exact expression, or SQLite would not
//!   use it); the other keys scan backwards for `desc`.
//! - `task_tags_user_tag`: `task_tags (user_id, tag, task_id)`, so a tag filter is one range per tag
//!   and a user's tag counts never read the tasks.
//! - `tasks_reminder_window`: the reminder reconciler's window, a partial index of the pending
//!   tasks with a reminder by `(due_date - remind_before * 60000000, id)` (the instant the reminder
//!   is due, then id) covering the columns a pass reads: a pass walks only the reminders from the
//!   earliest still ahead to the end of its horizon, in keyset pages. `tasks_series` for a series'
//!   pending occurrences.
//!
//! ## Search
//!
//! The reference search is a substring match of each lower-cased word in the lower-cased title or
//! description, which full-text search over whole, normalised words cannot reproduce ("milk" must
//! find "oat-milk", "100%" must find "100%", "é" must not find "e"). So search uses the FTS5
//! `trigram` tokenizer, which indexes every three-character sequence and answers substring queries:
//!
//! - `task_search` indexes `search_text` with `tokenize = 'trigram case_sensitive 1'`: the text is
//!   already lower-cased in Rust, so the tokenizer must not fold case again (its folding differs
//!   from [`str::to_lowercase`] outside ASCII).
//! - Each search word of three or more characters (characters, not bytes: the tokenizer works on
//!   Unicode characters) becomes an FTS5 string (double-quoted, `"` doubled, so no word is ever FTS5
//!   syntax), all of them ANDed in one `MATCH` that selects candidate rows from the index.
//! - Every word is also checked exactly with `instr(search_text, word) > 0`. The recheck makes the
//!   result exact whatever the tokenizer does; a word of one or two characters has no trigram and is
//!   only this check, over the rows the other conditions leave.
//!
//! Which way round is faster depends on how common the words are ([`query::Plan`]). A word in most
//! of the user's tasks fills a page of 50 from the first rows of the sort index, where the trigram
//! index would first list every match (thousands of row ids) only to keep 50; a rare word is the
//! opposite. So a search first scans the first 400 candidates in the page's order (the range of the
//! sort index that ends at the 400th task passing the other filters, each checked with `instr`); if
//! that fills the page it is the answer (the first matches in order are the first matches overall).
//! Otherwise the trigram index lists the matches, which are joined to their rows, filtered and
//! sorted. On 10 000 tasks with "groceries" in 6 of 10, the first plan answers in 0.1 ms where the
//! index-driven one takes 2.5 ms; for a word in no task the index answers in microseconds. The
//! differential test checks both plans (and scans of 1 and 3) against the reference. The trigram
//! index is global, not per user, so a word common in other users' tasks makes its list long; for
//! the embedded default (one or a few users per file) that is the right trade, and a many-tenant
//! deployment uses PostgreSQL, whose trigram index leads with the user.
//!
//! `EXPLAIN QUERY PLAN` checks that a search scans a bounded range of the sort index, then reads
//! `task_search` through its index, and that listings
//! read the per-user indexes (tests/query_plans.rs); [`query::explain_statement`] gives the plan of
//! any query.
//!
//! # Build settings
//!
//! SQLite is compiled into the binary by `libsqlite3-sys`. The workspace's `.cargo/config.toml`
//! builds it with
//! `LIBSQLITE3_FLAGS = "SQLITE_DEFAULT_MEMSTATUS=0 -USQLITE_ENABLE_MEMORY_MANAGEMENT"`:
//!
//! - without memory statistics, an allocation inside SQLite no longer takes one process-wide mutex;
//! - without memory management, every connection has its own page cache (and its own lock on it).
//!   With it, SQLite pools all connections' caches into one, with one least-recently-used list: after
//!   a burst of writes the readers' pages were evicted while they were in use, and a search page
//!   re-read about 300 pages from the file.
//!
//! Together with the 2 MiB page cache per connection ([`OpenOptions::cache_kib`]), search pages on
//! the embedded default went from about 1 900 to 2 800 per second, and to 2 600 instead of
//! 1 500 right after a burst of creates (docs/benchmarks.md). An application that embeds this crate
//! sets the same in its own `.cargo/config.toml`; without it everything works, only slower.
//!
//! # Durability
//!
//! The database runs in WAL mode. With [`Durability::Normal`] (the default, `synchronous = NORMAL`) a
//! commit is in the operating system once acknowledged, so it survives the process being killed; the
//! WAL is synced at checkpoints, so a power loss or kernel crash may lose the last commits before it,
//! but never corrupts the file. [`Durability::Full`] (`synchronous = FULL`) syncs the WAL at every
//! commit, so an acknowledged write survives a power loss too. [`backup`] writes a consistent,
//! compacted copy with `VACUUM INTO` while the server runs.
//!
//! # Errors
//!
//! Unique violations are `AlreadyExists`; a busy or locked database, a full disk (or a reached
//! `max_page_count`), an I/O error, a closed or exhausted pool are `Unavailable` (with a retry hint),
//! and the transaction is rolled back; a row that does not decode into the domain (an unknown
//! status or priority, an invalid time zone or recurrence, a malformed UUID or JSON text, an
//! instant out of range) is `Corrupt`. Nothing here panics on data from the database.

mod audit;
mod batch;
mod calendar_feeds;
mod deliveries;
mod error;
mod notifications;
pub mod outbox;
mod push;
pub mod query;
mod repository;
mod row;
mod setup;
mod state;
mod transaction;
mod unit_of_work;
mod users;
mod writer;

pub use error::SetupError;
pub use repository::SqliteTaskRepository;
pub use setup::{
    backup, lock_path, migrate, open, Backup, Database, Durability, OpenOptions, MIGRATOR,
};
pub use writer::WriterConnection;
