//! Web Push subscriptions on the `push_subscriptions` table: the
//! [`PushSubscriptionStore`](todo_core::ports::PushSubscriptionStore) port.
//!
//! `UNIQUE (user_id, endpoint)` makes registering idempotent: `INSERT … ON CONFLICT DO UPDATE`
//! keeps the row's id and creation time and takes the new keys, and `RETURNING` answers with the row
//! as stored. Keys are kept as the base64url text browsers send.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

use todo_core::model::{PushEndpoint, PushKeys, PushSubscription, UserId};
use todo_core::ports::{PortResult, PushRegistration, PushSubscriptionStore};

use crate::error::{corrupt, port_error};
use crate::repository::PostgresTaskRepository;

const UPSERT: &str = "\
INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth, expires_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (user_id, endpoint) DO UPDATE
SET p256dh = excluded.p256dh, auth = excluded.auth, expires_at = excluded.expires_at
RETURNING id, user_id, endpoint, p256dh, auth, expires_at, created_at";

const DELETE_ONE: &str = "DELETE FROM push_subscriptions WHERE id = $1 AND user_id = $2";

const DELETE_ENDPOINT: &str = "DELETE FROM push_subscriptions WHERE endpoint = $1";

const SELECT_FOR_USER: &str = "\
SELECT id, user_id, endpoint, p256dh, auth, expires_at, created_at
FROM push_subscriptions
WHERE user_id = $1
ORDER BY created_at, id";

#[async_trait]
impl PushSubscriptionStore for PostgresTaskRepository {
    async fn add(&self, registration: PushRegistration) -> PortResult<PushRegistration> {
        let subscription = &registration.subscription;
        let row = sqlx::query(UPSERT)
            .bind(registration.id)
            .bind(registration.user_id.0)
            .bind(subscription.endpoint.as_str())
            .bind(subscription.keys.p256dh_base64url())
            .bind(subscription.keys.auth_base64url())
            .bind(subscription.expiration_time)
            .bind(registration.created_at)
            .fetch_one(&self.pool)
            .await
            .map_err(port_error)?;
        decode_registration(&row)
    }

    async fn remove(&self, user: UserId, id: Uuid) -> PortResult<bool> {
        let deleted = sqlx::query(DELETE_ONE)
            .bind(id)
            .bind(user.0)
            .execute(&self.pool)
            .await
            .map_err(port_error)?;
        Ok(deleted.rows_affected() > 0)
    }

    async fn remove_endpoint(&self, endpoint: &str) -> PortResult<u64> {
        let deleted = sqlx::query(DELETE_ENDPOINT)
            .bind(endpoint)
            .execute(&self.pool)
            .await
            .map_err(port_error)?;
        Ok(deleted.rows_affected())
    }

    async fn list(&self, user: UserId) -> PortResult<Vec<PushRegistration>> {
        let rows = sqlx::query(SELECT_FOR_USER)
            .bind(user.0)
            .fetch_all(&self.pool)
            .await
            .map_err(port_error)?;
        rows.iter().map(decode_registration).collect()
    }
}

fn decode_registration(row: &PgRow) -> PortResult<PushRegistration> {
    let get_text = |name: &str| -> PortResult<String> { row.try_get(name).map_err(port_error) };
    let keys = PushKeys::parse(&get_text("p256dh")?, &get_text("auth")?)
        .map_err(|e| corrupt("stored push keys", e))?;
    let id: Uuid = row.try_get("id").map_err(port_error)?;
    let user_id: Uuid = row.try_get("user_id").map_err(port_error)?;
    let expires_at: Option<DateTime<Utc>> = row.try_get("expires_at").map_err(port_error)?;
    let created_at: DateTime<Utc> = row.try_get("created_at").map_err(port_error)?;
    Ok(PushRegistration {
        id,
        user_id: UserId(user_id),
        subscription: PushSubscription {
            endpoint: PushEndpoint::from_stored(get_text("endpoint")?),
            keys,
            expiration_time: expires_at,
        },
        created_at,
    })
}
