-- The task manager's schema on SQLite: users, tasks with their tags and recurrence, keyword search,
-- the transactional outbox, consumer idempotency records, the audit log, in-app notifications and the
-- state store. The crate documentation of todo-sqlite explains each table and index.
--
-- Conventions: instants are INTEGER microseconds since the Unix epoch (UTC), the precision of the
-- domain's clock, so they sort and compare as integers; UUIDs are 16-byte BLOBs; JSON is TEXT.

-- Every principal that owns tasks. The repository records a user on its first task (the id is the
-- JWT subject); sign-up fills in the credentials. `email_key` is the e-mail lower-cased in Rust
-- (str::to_lowercase, not SQLite's ASCII-only lower()), unique across accounts.
CREATE TABLE users (
    id            BLOB    PRIMARY KEY,
    email         TEXT,
    email_key     TEXT,
    name          TEXT,
    password_hash TEXT,
    created_at    INTEGER
) STRICT;
CREATE UNIQUE INDEX users_email_key ON users (email_key) WHERE email_key IS NOT NULL;

-- Task ids are handed out before the insert (TaskRepository::next_task_id): the last id reserved.
CREATE TABLE task_ids (
    only_row INTEGER PRIMARY KEY CHECK (only_row = 1),
    last_id  INTEGER NOT NULL
) STRICT;
INSERT INTO task_ids (only_row, last_id) VALUES (1, 0);

CREATE TABLE tasks (
    id             INTEGER PRIMARY KEY,
    user_id        BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title          TEXT    NOT NULL,
    description    TEXT    NOT NULL DEFAULT '',
    status         TEXT    NOT NULL CHECK (status IN ('pending', 'completed')),
    -- The priority's rank: 0 high, 1 medium, 2 low, so ascending is high -> medium -> low.
    priority       INTEGER NOT NULL,
    due_date       INTEGER,
    timezone       TEXT    NOT NULL DEFAULT 'UTC',
    -- Minutes before the due date; NULL means no reminder.
    remind_before  INTEGER CHECK (remind_before >= 0),
    -- The recurrence's canonical storage text (todo_core::recurrence::Recurrence Display/FromStr).
    recurrence     TEXT,
    -- Place in a recurring series (todo_core::model::Series); all NULL for a one-off task.
    series_id      BLOB,
    series_anchor  INTEGER,
    occurrence     INTEGER CHECK (occurrence >= 1),
    predecessor_id INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    completed_at   INTEGER,
    version        INTEGER NOT NULL DEFAULT 1,
    -- Derived in Rust with str::to_lowercase, so that sorting and search agree byte for byte with
    -- todo_core::query::evaluate: the title sort key (BINARY collation compares UTF-8 bytes, which is
    -- code point order) and "lower(title) LF lower(description)" for keyword search.
    title_key      TEXT    NOT NULL,
    search_text    TEXT    NOT NULL,
    CONSTRAINT tasks_series_fields CHECK (
        series_id IS NOT NULL AND occurrence IS NOT NULL
        OR series_id IS NULL AND occurrence IS NULL AND series_anchor IS NULL AND predecessor_id IS NULL
    )
) STRICT;

-- A series has at most one occurrence per due date, and a completed occurrence at most one
-- successor: duplicate or concurrent completions cannot create a second next occurrence.
CREATE UNIQUE INDEX tasks_one_occurrence_per_due_date ON tasks (series_id, due_date);
CREATE UNIQUE INDEX tasks_one_successor ON tasks (predecessor_id);

-- Keyset pagination per sort key: (user, sort value, id), so a page is one index range scan in the
-- requested order; status, priority and due_date follow so the filters are checked in the index.
-- Due dates sort last when missing in both orders: the largest integer ascending, (nearly) the
-- smallest descending. Queries use exactly these expressions (see src/query.rs).
CREATE INDEX tasks_user_due_asc
    ON tasks (user_id, coalesce(due_date, 9223372036854775807), id, status, priority, due_date);
CREATE INDEX tasks_user_due_desc
    ON tasks (user_id, coalesce(due_date, -9223372036854775807), id, status, priority, due_date);
CREATE INDEX tasks_user_priority ON tasks (user_id, priority, id, status, due_date);
CREATE INDEX tasks_user_created ON tasks (user_id, created_at, id, status, priority, due_date);
CREATE INDEX tasks_user_title ON tasks (user_id, title_key, id, status, priority, due_date);
-- Series lookups (pending occurrences of a series).
CREATE INDEX tasks_series ON tasks (series_id, status) WHERE series_id IS NOT NULL;
-- The reminder reconciler pages through pending tasks with a reminder by id.
CREATE INDEX tasks_pending_reminders ON tasks (id, due_date)
    WHERE status = 'pending' AND due_date IS NOT NULL AND remind_before IS NOT NULL;

-- Keyword search: an FTS5 index of trigrams over tasks.search_text (external content: the text is
-- stored once, in tasks). case_sensitive 1 because search_text and the words are lower-cased in
-- Rust already; SQLite's own case folding is ASCII-only and would disagree with the reference.
CREATE VIRTUAL TABLE task_search USING fts5 (
    search_text,
    content = 'tasks',
    content_rowid = 'id',
    tokenize = 'trigram case_sensitive 1'
);
CREATE TRIGGER tasks_search_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO task_search (rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER tasks_search_delete AFTER DELETE ON tasks BEGIN
    INSERT INTO task_search (task_search, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER tasks_search_update AFTER UPDATE OF search_text ON tasks
WHEN old.search_text IS NOT new.search_text BEGIN
    INSERT INTO task_search (task_search, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
    INSERT INTO task_search (rowid, search_text) VALUES (new.id, new.search_text);
END;

-- One row per (task, tag) with the task's owner, so a tag filter is one range of
-- (user_id, tag, task_id) and a user's tag counts never read the tasks.
CREATE TABLE task_tags (
    task_id INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    user_id BLOB    NOT NULL,
    tag     TEXT    NOT NULL,
    PRIMARY KEY (task_id, tag)
) STRICT, WITHOUT ROWID;
CREATE INDEX task_tags_user_tag ON task_tags (user_id, tag, task_id);

-- One row per recurring task whose rule has a further occurrence: its pattern and the due date the
-- next occurrence gets when this one is completed on time. tasks.recurrence stays the source of truth.
CREATE TABLE task_recurrence (
    task_id       INTEGER PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
    pattern       TEXT    NOT NULL CHECK (pattern IN ('daily', 'weekly', 'monthly', 'custom')),
    -- The normalised RFC 5545 rule when pattern = 'custom'.
    rrule         TEXT,
    next_due_date INTEGER NOT NULL,
    CONSTRAINT task_recurrence_rrule_if_custom CHECK ((pattern = 'custom') = (rrule IS NOT NULL))
) STRICT;

-- The transactional outbox: events written in the same transaction as the change they describe,
-- relayed afterwards. seq is the commit order (one writer); AUTOINCREMENT never reuses a number.
CREATE TABLE outbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        BLOB    NOT NULL UNIQUE,
    topic           TEXT    NOT NULL,
    key             TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- NULL until an attempt fails: a new message is due at once, whatever clock the relay runs on.
    next_attempt_at INTEGER,
    leased_until    INTEGER,
    last_error      TEXT,
    sent_at         INTEGER
) STRICT;
-- Small partial indexes: they hold only the backlog, however many sent rows are kept.
CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;
CREATE INDEX outbox_unsent_by_key ON outbox (topic, key, seq) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;

-- Events a consumer group has handled, recorded in the same transaction as the handling's effect.
CREATE TABLE processed_events (
    consumer     TEXT    NOT NULL,
    event_id     BLOB    NOT NULL,
    processed_at INTEGER NOT NULL,
    PRIMARY KEY (consumer, event_id)
) STRICT, WITHOUT ROWID;

-- Append-only history of task events; no foreign key, so a deleted task keeps its history.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id BLOB    NOT NULL UNIQUE,
    task_id  INTEGER NOT NULL,
    user_id  BLOB    NOT NULL,
    action   TEXT    NOT NULL,
    at       INTEGER NOT NULL,
    snapshot TEXT    NOT NULL
) STRICT;
CREATE INDEX audit_log_task ON audit_log (user_id, task_id, at, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE is not allowed');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: DELETE is not allowed');
END;

-- In-app notifications. The id is the reminder event's event_id, so the primary key makes recording
-- idempotent. No foreign keys: a notification outlives its task.
CREATE TABLE notifications (
    id         BLOB    PRIMARY KEY,
    user_id    BLOB    NOT NULL,
    task_id    INTEGER NOT NULL,
    title      TEXT    NOT NULL,
    due_at     INTEGER NOT NULL,
    remind_at  INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    read_at    INTEGER
) STRICT;
-- A user's inbox, newest reminder first: one range scan that stops after the page.
CREATE INDEX notifications_user_inbox ON notifications (user_id, remind_at DESC, id DESC);

-- Keyed JSON state with ETags from one counter, so a key deleted and written again never gets an
-- old ETag back.
CREATE TABLE state_etag (
    only_row INTEGER PRIMARY KEY CHECK (only_row = 1),
    last     INTEGER NOT NULL
) STRICT;
INSERT INTO state_etag (only_row, last) VALUES (1, 0);

CREATE TABLE state_store (
    key        TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    etag       INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
