-- In-app notifications: the notification service's record of each reminder that fired.
--
-- The id is the reminder event's event_id (a v5 UUID of task and remind time), so the primary key
-- makes recording idempotent: a duplicate firing or a redelivered event inserts nothing.
-- No foreign key to tasks or users: a notification outlives its task, and the notification service
-- may run before the task's owner has a row of its own.

CREATE TABLE notifications (
    id         uuid        PRIMARY KEY,
    user_id    uuid        NOT NULL,
    task_id    bigint      NOT NULL,
    title      text        NOT NULL,
    due_at     timestamptz NOT NULL,
    remind_at  timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    read_at    timestamptz
);

-- A user's inbox, newest reminder first: one range scan that stops after the page.
CREATE INDEX notifications_user_inbox ON notifications (user_id, remind_at DESC, id DESC);
