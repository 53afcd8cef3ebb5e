-- A user's settings (SPEC §12, §14): the time zone quick-add, chat and reminders read dates in, and
-- which reminder channels are on.
ALTER TABLE users ADD COLUMN IF NOT EXISTS timezone text NOT NULL DEFAULT 'UTC';
ALTER TABLE users ADD COLUMN IF NOT EXISTS email_notifications boolean NOT NULL DEFAULT true;
ALTER TABLE users ADD COLUMN IF NOT EXISTS push_notifications boolean NOT NULL DEFAULT true;
