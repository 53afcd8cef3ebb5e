-- Reminder deliveries (SPEC §14): one row per `reminders` event and channel, so a duplicate event
-- delivers nothing twice and each channel is retried on its own schedule.
CREATE TABLE IF NOT EXISTS deliveries (
    event_id        uuid        NOT NULL,
    channel         text        NOT NULL CHECK (channel IN ('email', 'push')),
    user_id         uuid        NOT NULL,
    task_id         bigint      NOT NULL,
    title           text        NOT NULL,
    due_at          timestamptz NOT NULL,
    remind_at       timestamptz NOT NULL,
    status          text        NOT NULL CHECK (status IN ('pending', 'sent', 'skipped', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    finished_at     timestamptz,
    PRIMARY KEY (event_id, channel)
);
-- The workers' claim: the pending deliveries of a channel, the most overdue first.
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (channel, next_attempt_at)
    WHERE status = 'pending';
