-- The reminder reconciler reads only the reminders due within its horizon: the pending tasks with a
-- reminder, by the instant the reminder is due (the due date less `remind_before` minutes), then id.
-- That instant is derived, not stored: reminder_at() is the expression the index and the query share.
-- It is immutable although timestamptz - interval in general is not: an interval of whole minutes
-- (no days or months) is subtracted the same way in every time zone.
CREATE FUNCTION reminder_at(due_date timestamptz, remind_before integer) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT due_date - make_interval(mins => remind_before) $$;

-- A pass walks the reminders from the earliest one still ahead to the end of its horizon, in keyset
-- pages, reading the index alone; it replaces the walk by id over every pending reminder.
CREATE INDEX tasks_reminder_window ON tasks (reminder_at(due_date, remind_before), id)
    INCLUDE (user_id, due_date, remind_before)
    WHERE status = 'pending' AND due_date IS NOT NULL AND remind_before IS NOT NULL;
DROP INDEX tasks_pending_reminders;
