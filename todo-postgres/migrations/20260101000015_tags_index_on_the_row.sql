-- Tag filters and tag counts read the task row's tags (tasks.tags, written with the task since
-- migration 11) through a GIN index, and the task_tags table goes. Every task insert wrote a tag row
-- per tag, two index entries for it, and a foreign-key check that locked the new task row (one more
-- WAL record), and every update deleted and re-inserted its tag rows; the (id, user_id) key existed
-- only for that foreign key. Without them a create writes 4 WAL records fewer (about 16 instead of
-- 20 in its insert statement) and its insert costs PostgreSQL 12-24 % less time (docs/benchmarks.md).
--
-- `btree_gin` (migration 2) gives the uuid column a GIN operator class, so a tag filter's index scan
-- intersects the user's posting list with the tags'. The pending list is kept small, as the trigram
-- index's is, because every scan of the index reads all of it. Building it blocks writes to tasks
-- meanwhile: 0.9 s for 1 000 000 tasks on the benchmark machine.
CREATE INDEX tasks_user_tags ON tasks USING gin (user_id, tags) WITH (gin_pending_list_limit = 1024);
DROP TABLE task_tags;
ALTER TABLE tasks DROP CONSTRAINT tasks_id_user_key;
