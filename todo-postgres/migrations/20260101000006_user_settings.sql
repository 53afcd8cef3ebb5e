-- A user's settings (SPEC §12, §14): the time zone quick-add and chat read dates in.
ALTER TABLE users ADD COLUMN IF NOT EXISTS timezone text NOT NULL DEFAULT 'UTC';
