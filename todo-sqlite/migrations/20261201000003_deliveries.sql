-- Reminder deliveries (SPEC §14): one row per `reminders` event and channel, so a duplicate event
-- delivers nothing twice and each channel is retried on its own schedule.
CREATE TABLE deliveries (
    event_id        BLOB    NOT NULL,
    channel         TEXT    NOT NULL CHECK (channel IN ('email', 'push')),
    user_id         BLOB    NOT NULL,
    task_id         INTEGER NOT NULL,
    title           TEXT    NOT NULL,
    due_at          INTEGER NOT NULL,
    remind_at       INTEGER NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'skipped', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    finished_at     INTEGER,
    PRIMARY KEY (event_id, channel)
) STRICT;
-- The workers' claim: the pending deliveries of a channel, the most overdue first.
CREATE INDEX deliveries_due ON deliveries (channel, next_attempt_at) WHERE status = 'pending';
