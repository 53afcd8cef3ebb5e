//! Keyed JSON state with ETags on the `state_store` table: the [`StateStore`] port, for deployments
//! without Dapr's state API (the recurring service's series-ended marks).
//!
//! Every write takes a fresh ETag from one sequence, so a key deleted and written again never gets an
//! old ETag back. `IfMatch` and `IfAbsent` are single conditional statements: a write that loses the
//! race changes nothing and is a `Conflict`.

use async_trait::async_trait;
use sqlx::Row;
use todo_core::error::PortError;
use todo_core::ports::{Concurrency, ETag, PortResult, StateItem, StateStore};

use crate::error::port_error;
use crate::repository::PostgresTaskRepository;

const GET: &str = "SELECT value, etag FROM state_store WHERE key = $1";

const OVERWRITE: &str = "\
INSERT INTO state_store (key, value) VALUES ($1, $2)
ON CONFLICT (key) DO UPDATE
SET value = EXCLUDED.value, etag = nextval('state_store_etag'), updated_at = now()";

const IF_ABSENT: &str = "\
INSERT INTO state_store (key, value) VALUES ($1, $2)
ON CONFLICT (key) DO NOTHING";

const IF_MATCH: &str = "\
UPDATE state_store SET value = $2, etag = nextval('state_store_etag'), updated_at = now()
WHERE key = $1 AND etag = $3";

const DELETE: &str = "DELETE FROM state_store WHERE key = $1";

const DELETE_IF_MATCH: &str = "DELETE FROM state_store WHERE key = $1 AND etag = $2";

/// An ETag this adapter issued is a decimal number; anything else matches nothing.
fn etag_number(etag: &ETag) -> Option<i64> {
    etag.0.parse().ok()
}

fn conflict(key: &str, why: &str) -> PortError {
    PortError::conflict(format!("state `{key}`: {why}"))
}

#[async_trait]
impl StateStore for PostgresTaskRepository {
    async fn get(&self, key: &str) -> PortResult<Option<StateItem>> {
        let row = sqlx::query(GET)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(port_error)?;
        row.map(|row| {
            let value: serde_json::Value = row.try_get("value").map_err(port_error)?;
            let etag: i64 = row.try_get("etag").map_err(port_error)?;
            Ok(StateItem {
                value,
                etag: ETag(etag.to_string()),
            })
        })
        .transpose()
    }

    async fn save(
        &self,
        key: &str,
        value: serde_json::Value,
        concurrency: Concurrency,
    ) -> PortResult<()> {
        let changed = match &concurrency {
            Concurrency::Overwrite => sqlx::query(OVERWRITE).bind(key).bind(&value),
            Concurrency::IfAbsent => sqlx::query(IF_ABSENT).bind(key).bind(&value),
            Concurrency::IfMatch(etag) => {
                let Some(number) = etag_number(etag) else {
                    return Err(conflict(key, "the ETag does not match"));
                };
                sqlx::query(IF_MATCH).bind(key).bind(&value).bind(number)
            }
        }
        .execute(&self.pool)
        .await
        .map_err(port_error)?
        .rows_affected();
        match (changed, concurrency) {
            (0, Concurrency::IfAbsent) => Err(conflict(key, "the key exists")),
            (0, Concurrency::IfMatch(_)) => Err(conflict(key, "the ETag does not match")),
            _ => Ok(()),
        }
    }

    async fn delete(&self, key: &str, etag: Option<ETag>) -> PortResult<()> {
        let Some(etag) = etag else {
            sqlx::query(DELETE)
                .bind(key)
                .execute(&self.pool)
                .await
                .map_err(port_error)?;
            return Ok(());
        };
        let deleted = match etag_number(&etag) {
            Some(number) => sqlx::query(DELETE_IF_MATCH)
                .bind(key)
                .bind(number)
                .execute(&self.pool)
                .await
                .map_err(port_error)?
                .rows_affected(),
            None => 0,
        };
        if deleted == 0 && self.get(key).await?.is_some() {
            return Err(conflict(key, "the ETag does not match"));
        }
        Ok(())
    }
}
