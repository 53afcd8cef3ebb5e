-- Keyword search per user: replace the global trigram index with a two-column GIN index on
-- (user_id, search_text). GIN intersects the user's short posting list with the words' trigram
-- lists and skips through the long ones, so a search touches the user's matches only, instead of
-- decoding every task's matches for common trigrams (docs/benchmarks.md: one word on 1 000 000
-- tasks, p99 4.7 ms instead of 20 ms). btree_gin supplies the uuid operator class.
--
-- A 1 MB pending list (instead of 4 MB) keeps most of fastupdate's insert throughput while bounding
-- the pause of the insert that flushes it and the list every search has to scan.
CREATE EXTENSION IF NOT EXISTS btree_gin;
DROP INDEX IF EXISTS tasks_search_trgm;
CREATE INDEX tasks_user_search_trgm ON tasks USING gin (user_id, search_text gin_trgm_ops)
    WITH (fastupdate = on, gin_pending_list_limit = 1024);
