//! Web Push subscriptions on the `push_subscriptions` table: the
//! [`PushSubscriptionStore`](todo_core::ports::PushSubscriptionStore) port.
//!
//! `UNIQUE (user_id, endpoint)` makes registering idempotent: `INSERT … ON CONFLICT DO UPDATE`
//! keeps the row's id and creation time and takes the new keys, and `RETURNING` answers with the row
//! as stored. Keys are kept as the base64url text browsers send.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use todo_core::model::{PushEndpoint, PushKeys, PushSubscription, UserId};
use todo_core::ports::{PortResult, PushRegistration, PushSubscriptionStore};

use crate::error::{corrupt, port_error};
use crate::repository::SqliteTaskRepository;
use crate::row::{get, get_instant, get_optional_instant, get_uuid, micros};

const UPSERT: &str = "\
INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth, expires_at, created_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT (user_id, endpoint) DO UPDATE
SET p256dh = excluded.p256dh, auth = excluded.auth, expires_at = excluded.expires_at
RETURNING id, user_id, endpoint, p256dh, auth, expires_at, created_at";

const DELETE_ONE: &str = "DELETE FROM push_subscriptions WHERE id = ?1 AND user_id = ?2";

const DELETE_ENDPOINT: &str = "DELETE FROM push_subscriptions WHERE endpoint = ?1";

const SELECT_FOR_USER: &str = "\
SELECT id, user_id, endpoint, p256dh, auth, expires_at, created_at
FROM push_subscriptions
WHERE user_id = ?1
ORDER BY created_at, id";

#[async_trait]
impl PushSubscriptionStore for SqliteTaskRepository {
    async fn add(&self, registration: PushRegistration) -> PortResult<PushRegistration> {
        let subscription = &registration.subscription;
        let row = sqlx::query(UPSERT)
            .bind(registration.id)
            .bind(registration.user_id.0)
            .bind(subscription.endpoint.as_str())
            .bind(subscription.keys.p256dh_base64url())
            .bind(subscription.keys.auth_base64url())
            .bind(subscription.expiration_time.map(micros))
            .bind(micros(registration.created_at))
            .fetch_one(&mut *self.db.writer.acquire().await?)
            .await
            .map_err(port_error)?;
        decode_registration(&row)
    }

    async fn remove(&self, user: UserId, id: Uuid) -> PortResult<bool> {
        let deleted = sqlx::query(DELETE_ONE)
            .bind(id)
            .bind(user.0)
            .execute(&mut *self.db.writer.acquire().await?)
            .await
            .map_err(port_error)?;
        Ok(deleted.rows_affected() > 0)
    }

    async fn remove_endpoint(&self, endpoint: &str) -> PortResult<u64> {
        let deleted = sqlx::query(DELETE_ENDPOINT)
            .bind(endpoint)
            .execute(&mut *self.db.writer.acquire().await?)
            .await
            .map_err(port_error)?;
        Ok(deleted.rows_affected())
    }

    async fn list(&self, user: UserId) -> PortResult<Vec<PushRegistration>> {
        let rows = sqlx::query(SELECT_FOR_USER)
            .bind(user.0)
            .fetch_all(&self.db.reader)
            .await
            .map_err(port_error)?;
        rows.iter().map(decode_registration).collect()
    }
}

fn decode_registration(row: &SqliteRow) -> PortResult<PushRegistration> {
    let p256dh: String = get(row, "p256dh")?;
    let auth: String = get(row, "auth")?;
    let keys = PushKeys::parse(&p256dh, &auth).map_err(|e| corrupt("stored push keys", e))?;
    Ok(PushRegistration {
        id: get_uuid(row, "id")?,
        user_id: UserId(get_uuid(row, "user_id")?),
        subscription: PushSubscription {
            endpoint: PushEndpoint::from_stored(get(row, "endpoint")?),
            keys,
            expiration_time: get_optional_instant(row, "expires_at")?,
        },
        created_at: get_instant(row, "created_at")?,
    })
}
