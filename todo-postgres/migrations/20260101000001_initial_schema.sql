-- The task manager's schema: users, tasks with their tags and recurrence, the transactional outbox,
-- consumer idempotency records and the audit log. The crate documentation of todo-postgres explains
-- each table and index; docs/benchmarks.md has the measurements behind the index choices.

-- Trigram indexes for keyword search (substring match, like the reference query semantics).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Enum order is sort order: ascending priority is high -> medium -> low, as SPEC §3 requires.
CREATE TYPE task_priority AS ENUM ('high', 'medium', 'low');
CREATE TYPE task_status AS ENUM ('pending', 'completed');
CREATE TYPE recurrence_pattern AS ENUM ('daily', 'weekly', 'monthly', 'custom');
CREATE TYPE audit_action AS ENUM ('created', 'updated', 'completed', 'deleted');

-- Every principal that owns tasks. The repository records a user on its first task (the id is the
-- JWT subject); sign-up fills in the credentials.
CREATE TABLE users (
    id            uuid        PRIMARY KEY,
    email         text,
    name          text,
    password_hash text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE email IS NOT NULL;

-- Task ids are handed out before the insert (TaskRepository::next_task_id), so the id column has no
-- default: the sequence is read on its own.
CREATE SEQUENCE tasks_id_seq AS bigint;

CREATE TABLE tasks (
    id             bigint        PRIMARY KEY,
    user_id        uuid          NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title          text          NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    description    text          NOT NULL DEFAULT '' CHECK (char_length(description) <= 10000),
    status         task_status   NOT NULL DEFAULT 'pending',
    priority       task_priority NOT NULL DEFAULT 'medium',
    due_date       timestamptz,
    timezone       text          NOT NULL DEFAULT 'UTC',
    -- Minutes before the due date; NULL means no reminder.
    remind_before  integer       CHECK (remind_before >= 0),
    -- The recurrence's canonical storage text (todo_core::recurrence::Recurrence Display/FromStr).
    recurrence     text,
    -- Place in a recurring series (todo_core::model::Series); all NULL for a one-off task.
    series_id      uuid,
    series_anchor  timestamptz,
    occurrence     bigint        CHECK (occurrence >= 1),
    predecessor_id bigint,
    created_at     timestamptz   NOT NULL,
    updated_at     timestamptz   NOT NULL,
    completed_at   timestamptz,
    version        bigint        NOT NULL DEFAULT 1,
    -- Derived in Rust with str::to_lowercase, so that sorting and search agree byte for byte with
    -- todo_core::query::evaluate whatever the database's locale: the title sort key (compared by code
    -- point, hence COLLATE "C") and "lower(title) LF lower(description)" for keyword search.
    title_key      text COLLATE "C" NOT NULL,
    search_text    text          NOT NULL,
    CONSTRAINT tasks_series_fields CHECK (
        series_id IS NOT NULL AND occurrence IS NOT NULL
        OR series_id IS NULL AND occurrence IS NULL AND series_anchor IS NULL AND predecessor_id IS NULL
    ),
    -- A series has at most one occurrence per due date, and a completed occurrence at most one
    -- successor: duplicate or concurrent completions cannot create a second next occurrence.
    CONSTRAINT tasks_one_occurrence_per_due_date UNIQUE (series_id, due_date),
    CONSTRAINT tasks_one_successor UNIQUE (predecessor_id)
);
ALTER SEQUENCE tasks_id_seq OWNED BY tasks.id;

-- Keyset pagination per sort key: (user, sort value, id), so a page is one index range scan.
-- Due dates sort last when missing in both orders: +infinity ascending, -infinity descending.
CREATE INDEX tasks_user_due_asc ON tasks (user_id, (coalesce(due_date, 'infinity'::timestamptz)), id);
CREATE INDEX tasks_user_due_desc ON tasks (user_id, (coalesce(due_date, '-infinity'::timestamptz)), id);
CREATE INDEX tasks_user_priority ON tasks (user_id, priority, id);
CREATE INDEX tasks_user_created ON tasks (user_id, created_at, id);
CREATE INDEX tasks_user_title ON tasks (user_id, title_key, id);
-- Keyword search: every word is a LIKE '%word%' on search_text, which a trigram index answers.
CREATE INDEX tasks_search_trgm ON tasks USING gin (search_text gin_trgm_ops);
-- The reminder reconciler pages through pending tasks with a reminder by id.
CREATE INDEX tasks_pending_reminders ON tasks (id) INCLUDE (due_date)
    WHERE status = 'pending' AND due_date IS NOT NULL AND remind_before IS NOT NULL;

CREATE TABLE task_tags (
    id         serial      PRIMARY KEY,
    task_id    bigint      NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    tag        text        NOT NULL CHECK (char_length(tag) BETWEEN 1 AND 40),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT task_tags_task_tag_key UNIQUE (task_id, tag)
);

-- One row per recurring task whose rule has a further occurrence: its pattern and the due date the
-- next occurrence gets when this one is completed on time. tasks.recurrence stays the source of truth.
CREATE TABLE task_recurrence (
    id            serial             PRIMARY KEY,
    task_id       bigint             NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    pattern       recurrence_pattern NOT NULL,
    -- The normalised RFC 5545 rule when pattern = 'custom'.
    rrule         text,
    next_due_date timestamptz        NOT NULL,
    created_at    timestamptz        NOT NULL DEFAULT now(),
    CONSTRAINT task_recurrence_task_key UNIQUE (task_id),
    CONSTRAINT task_recurrence_rrule_if_custom CHECK ((pattern = 'custom') = (rrule IS NOT NULL))
);

-- The transactional outbox: events written in the same transaction as the change they describe,
-- relayed afterwards. A relay claims due rows with FOR UPDATE SKIP LOCKED and leases them.
CREATE TABLE outbox (
    seq             bigserial   PRIMARY KEY,
    event_id        uuid        NOT NULL,
    topic           text        NOT NULL,
    key             text        NOT NULL,
    event_type      text        NOT NULL,
    payload         jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    attempts        integer     NOT NULL DEFAULT 0,
    -- NULL until an attempt fails: a new message is due at once, whatever clock the relay runs on.
    next_attempt_at timestamptz,
    leased_until    timestamptz,
    last_error      text,
    sent_at         timestamptz,
    CONSTRAINT outbox_event_id_key UNIQUE (event_id)
);
-- Small partial indexes: they hold only the backlog, however many sent rows are kept.
CREATE INDEX outbox_unsent ON outbox (created_at, seq) WHERE sent_at IS NULL;
CREATE INDEX outbox_unsent_by_key ON outbox (topic, key, created_at, seq) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;

-- Events a consumer group has handled, recorded in the same transaction as the handling's effect.
CREATE TABLE processed_events (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Append-only history of task events; no foreign key, so a deleted task keeps its history.
CREATE TABLE audit_log (
    id          bigserial    PRIMARY KEY,
    event_id    uuid         NOT NULL,
    task_id     bigint       NOT NULL,
    user_id     uuid         NOT NULL,
    action      audit_action NOT NULL,
    at          timestamptz  NOT NULL,
    snapshot    jsonb        NOT NULL,
    recorded_at timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT audit_log_event_id_key UNIQUE (event_id)
);
CREATE INDEX audit_log_task ON audit_log (user_id, task_id, at, id);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
