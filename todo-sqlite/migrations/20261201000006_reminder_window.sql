-- The reminder reconciler reads only the reminders due within its horizon: the pending tasks with a
-- reminder, by the instant the reminder is due (the due date less `remind_before` minutes, in
-- microseconds like every instant here), then id, with the columns a pass reads. The query uses the
-- index's exact expression, or SQLite would not use it. It replaces the walk by id over every
-- pending reminder.
CREATE INDEX tasks_reminder_window
    ON tasks (due_date - remind_before * 60000000, id, user_id, due_date, remind_before, status)
    WHERE status = 'pending' AND due_date IS NOT NULL AND remind_before IS NOT NULL;
DROP INDEX tasks_pending_reminders;
