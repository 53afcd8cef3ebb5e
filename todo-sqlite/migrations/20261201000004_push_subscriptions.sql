-- Web Push subscriptions (SPEC §14): the browsers each user registered for reminders, unique per
-- (user, endpoint) so registering again updates the keys. The endpoint index serves the removal of an
-- endpoint the push service reports gone (404/410), whoever registered it.
CREATE TABLE push_subscriptions (
    id         BLOB    PRIMARY KEY,
    user_id    BLOB    NOT NULL,
    endpoint   TEXT    NOT NULL,
    p256dh     TEXT    NOT NULL,
    auth       TEXT    NOT NULL,
    expires_at INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE (user_id, endpoint)
) STRICT;
CREATE INDEX push_subscriptions_endpoint ON push_subscriptions (endpoint);
