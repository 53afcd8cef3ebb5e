-- Placeholder: the schema is written with the repository.
CREATE TABLE IF NOT EXISTS schema_placeholder (id INTEGER PRIMARY KEY);
