-- Web Push subscriptions (SPEC §14): the browsers each user registered for reminders, unique per
-- (user, endpoint) so registering again updates the keys. The endpoint index serves the removal of an
-- endpoint the push service reports gone (404/410), whoever registered it.
-- No foreign key to users, like the inbox: the notification service may run before a user's row.
CREATE TABLE push_subscriptions (
    id         uuid        PRIMARY KEY,
    user_id    uuid        NOT NULL,
    endpoint   text        NOT NULL,
    p256dh     text        NOT NULL,
    auth       text        NOT NULL,
    expires_at timestamptz,
    created_at timestamptz NOT NULL,
    UNIQUE (user_id, endpoint)
);
CREATE INDEX push_subscriptions_endpoint ON push_subscriptions (endpoint);
