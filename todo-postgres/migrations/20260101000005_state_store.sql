-- Keyed JSON state with ETags: the StateStore port on PostgreSQL, for deployments without Dapr
-- (with Dapr, the state API's own table in its own database plays this part).
-- ETags come from one sequence, so a key deleted and written again never gets an old ETag back.
CREATE SEQUENCE state_store_etag;

CREATE TABLE state_store (
    key        text        PRIMARY KEY,
    value      jsonb       NOT NULL,
    etag       bigint      NOT NULL DEFAULT nextval('state_store_etag'),
    updated_at timestamptz NOT NULL DEFAULT now()
);
