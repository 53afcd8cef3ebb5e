-- Each user's calendar feed secret (SPEC §14), kept as its SHA-256 digest: one row per user, replaced
-- when a new feed URL is issued. No foreign key: the row names the owner of an URL, nothing more.
CREATE TABLE calendar_feeds (
    user_id       BLOB    NOT NULL PRIMARY KEY,
    secret_sha256 BLOB    NOT NULL UNIQUE,
    issued_at     INTEGER NOT NULL
) STRICT;
