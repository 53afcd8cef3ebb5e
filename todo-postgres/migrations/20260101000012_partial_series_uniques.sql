-- Most tasks do not recur: they have neither a series nor a predecessor. The two unique constraints of
-- a series become unique indexes over the tasks that have one, so a create of a plain task updates two
-- indexes fewer. The rules are unchanged: rows with NULL never conflicted, and the indexes keep the
-- constraints' names, which errors report (`tasks_one_successor`: a second next occurrence).
ALTER TABLE tasks DROP CONSTRAINT tasks_one_occurrence_per_due_date;
ALTER TABLE tasks DROP CONSTRAINT tasks_one_successor;
CREATE UNIQUE INDEX tasks_one_occurrence_per_due_date ON tasks (series_id, due_date)
    WHERE series_id IS NOT NULL;
CREATE UNIQUE INDEX tasks_one_successor ON tasks (predecessor_id) WHERE predecessor_id IS NOT NULL;
