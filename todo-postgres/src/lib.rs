//! PostgreSQL adapters of the task manager: the [`TaskRepository`](todo_core::ports::TaskRepository),
//! [`OutboxStore`](todo_core::ports::OutboxStore), [`AuditLog`](todo_core::ports::AuditLog),
//! [`UserRepository`](todo_core::ports::UserRepository),
//! [`NotificationStore`](todo_core::ports::NotificationStore),
//! [`PushSubscriptionStore`](todo_core::ports::PushSubscriptionStore) and
//! [`StateStore`](todo_core::ports::StateStore) ports on one database, with embedded migrations.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use todo_postgres::{connect, migrate, PoolSettings, PostgresTaskRepository};
//!
//! let pool = connect("postgres://todo@localhost/todo", &PoolSettings::default()).await?;
//! migrate(&pool).await?; // idempotent; safe from several init containers at once
//! let store = Arc::new(PostgresTaskRepository::new(pool));
//! // `store` is the TaskRepository, OutboxStore, AuditLog and UserRepository of the use cases.
//! # Ok(()) }
//! ```
//!
//! # Schema
//!
//! `migrations/` holds the schema (embedded with `sqlx::migrate!`, see [`MIGRATOR`]):
//!
//! | table | holds |
//! |---|---|
//! | `users` | accounts (e-mail unique case-insensitively, password hash) and every task owner (an owner is recorded on its first task, so tasks can reference it before sign-up or with an external identity provider) |
//! | `tasks` | one row per task: SPEC §3 fields with `priority` and `status` as Postgres enums, the series fields of [`Series`](todo_core::model::Series) (`series_id`, `series_anchor`, `occurrence`, `predecessor_id`), the recurrence's storage text, `version`, its tags (a sorted `text[]`: a task is read from one row, and tag filters and counts read it there), and two derived columns `title_key` and `search_text` |
//! | `task_recurrence` | per recurring task: the pattern (`daily`/`weekly`/`monthly`/`custom` + RRULE) and the due date of its next occurrence |
//! | `outbox` | events committed with their change, until relayed (and for a retention period after); pages filled to 40 %, so a claim's lease is written beside the row without touching the indexes |
//! | `processed_events` | (consumer group, event id) pairs: idempotent consumers |
//! | `audit_log` | append-only history of task events, one row per event id |
//! | `notifications` | the in-app inbox: one row per reminder firing (its event id), newest first per user |
//! | `push_subscriptions` | the browsers each user registered for Web Push, unique per (user, endpoint) |
//! | `state_store` | keyed JSON with ETags from one sequence (the state port without Dapr) |
//!
//! Two unique indexes make duplicate occurrences impossible whatever the callers do:
//! `tasks_one_occurrence_per_due_date` on `(series_id, due_date)` (one occurrence per due date in a
//! series) and `tasks_one_successor` on `predecessor_id` (one successor per completed occurrence).
//! Both cover only the tasks of a series (partial indexes), so a plain task's insert skips them. Fifty concurrent completions of
//! one recurring task therefore create exactly one next occurrence (tested).
//!
//! `title_key` (the lower-cased title) and `search_text` (lower-cased title, a line feed, lower-cased
//! description) are computed in Rust with [`str::to_lowercase`], the same function the reference
//! query semantics uses, so sorting and search agree with [`todo_core::query::evaluate`] byte for byte
//! whatever the database's locale; `title_key` is `COLLATE "C"` so it sorts by code point.
//!
//! # Writes and the outbox
//!
//! [`TaskRepository::commit`](todo_core::ports::TaskRepository::commit) runs one transaction per unit
//! of work: the processed-event mark, the outbox rows, each task write (one statement that writes the
//! task, its tags and its recurrence row through data-modifying CTEs) and the audit rows. Updates and
//! deletes carry `WHERE version = $expected`; when they change nothing, a read tells `NotFound` from
//! `Conflict`, so a stale write never overwrites. Unique violations are `AlreadyExists`.
//!
//! The outbox relay ([`todo_core::usecases::OutboxRelay`]) claims due rows with
//! `FOR UPDATE SKIP LOCKED` and a lease, publishes them and marks them sent only after the broker
//! acknowledged; see [`outbox`] for the details and for how per-task order is kept.
//!
//! # Queries and indexes
//!
//! Queries are assembled from fixed SQL fragments with every value bound as a parameter (see
//! [`query`] for the mapping of each rule of SPEC §3). Every query is scoped by `user_id`, and every
//! index of `tasks` leads with it:
//!
//! - `tasks_user_due_asc`, `tasks_user_due_desc`, `tasks_user_priority`, `tasks_user_created`,
//!   `tasks_user_title`: `(user_id, sort value, id) INCLUDE (status, priority, due_date)`. A page is
//!   one range scan in the requested order (from the start, or from a keyset cursor) that stops after
//!   `limit + 1` matches. A filtered listing without search words runs in two steps: an inner query
//!   picks the page's ids checking the status, priority, due-range and overdue filters on the index
//!   entries, and the outer one reads only those rows; rows that miss the page are never read (a tag
//!   filter needs the row, so with one the page is read in one step). (An unfiltered page reads its
//!   rows directly: the extra step would only add lookups, measured 0.9 → 1.7 ms at the median.) The
//!   due-date sort uses `coalesce(due_date, ±infinity)` so tasks without a due date come last in
//!   both orders, which takes one index per direction; the other keys scan backwards for `desc`.
//! - `tasks_user_tags`: a GIN index on `(user_id, tags)`. A tag filter is `tags && ..` (any of) or
//!   `tags @> ..` (all of) on the row: checked on the rows an ordered scan reads for a common tag,
//!   and found through this index for a rare one. Tags used to have a table of their own, one row
//!   per tag with two indexes and a foreign key: a create wrote 4 WAL records more with it, and an
//!   update deleted and re-inserted its tag rows (migration 15). The price is the tag counts, which
//!   now read the tags of every row of the user: about 12 ms for 10 000 tasks, against 2 ms as an
//!   index-only scan of that table (`cargo bench -p todo-postgres --bench latency`).
//! - `tasks_user_search_trgm`: a GIN index on `(user_id, search_text gin_trgm_ops)` (`btree_gin`
//!   provides the uuid column). The reference search is a substring match of each word, which
//!   full-text search (whole, normalised words) cannot reproduce, so search uses trigrams: each word
//!   becomes `search_text LIKE '%word%'` (`%`, `_`, `\` escaped), and the recheck keeps the result
//!   exact. Leading with the user lets GIN intersect the user's short posting list with the words'
//!   long ones; a trigram index on `search_text` alone decodes every user's matches of a common word
//!   and measured four times slower than scanning the user's rows. A word without three letters or
//!   digits in a row has no trigram to look up; it becomes `strpos(search_text, word) > 0`, which the
//!   index never serves (as a `LIKE`, a cached generic plan could scan the whole index for it).
//! - `tasks_reminder_window`: the reminder reconciler's window. A partial index of the pending tasks
//!   with a reminder by `(reminder_at(due_date, remind_before), id)`, including the columns a pass
//!   reads: a pass walks only the reminders from the earliest still ahead (a due date after now less
//!   the longest lead time) to the end of its horizon, in keyset pages. `reminder_at` is an immutable
//!   SQL function (a due date less whole minutes does not depend on the time zone), so the index and
//!   the query share one expression and no column has to be kept in step.
//!
//! The measurements behind these choices (1 000 000 tasks, 1 000 users) are in `docs/benchmarks.md`
//! (PostgreSQL section), produced by `cargo bench -p todo-postgres --bench latency`.
//!
//! # Locks
//!
//! [`PostgresLocks`] gives the [`Locks`](todo_core::ports::Locks) port on session-level advisory
//! locks, so replicas sharing the database take turns (one reminder reconciliation at a time).
//!
//! # Errors
//!
//! Unique violations are `AlreadyExists`; connection failures, pool exhaustion, statement or lock
//! timeouts, deadlocks and serialisation failures are `Unavailable` (with a retry hint); a row that
//! does not decode into the domain (an unknown enum label, an invalid time zone or recurrence) is
//! `Corrupt`. Nothing here panics on data from the database.

mod audit;
mod calendar_feeds;
mod deliveries;
mod error;
mod group_commit;
mod insert_batch;
mod json_text;
mod locks;
mod notifications;
pub mod outbox;
mod push;
pub mod query;
mod repository;
mod row;
mod setup;
mod state;
mod unit_of_work;
mod users;

pub use error::SetupError;
pub use locks::PostgresLocks;
pub use repository::PostgresTaskRepository;
pub use setup::{connect, connect_options, migrate, PoolSettings, MIGRATION_LOCK_KEY, MIGRATOR};
