-- A user's settings (SPEC §12, §14): the time zone quick-add, chat and reminders read dates in, and
-- which reminder channels are on.
ALTER TABLE users ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE users ADD COLUMN email_notifications INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN push_notifications INTEGER NOT NULL DEFAULT 1;
