//! Keyed JSON state with ETags on the `state_store` table: the [`StateStore`] port, for deployments
//! without Dapr's state API (the recurring service's series-ended marks).
//!
//! Every write takes a fresh ETag from the one-row counter `state_etag` in its transaction, so a key
//! deleted and written again never gets an old ETag back. `IfMatch` and `IfAbsent` are conditional
//! statements in that [`WriteTransaction`] on the one writer: a write that loses the race changes nothing and
//! is a `Conflict`.

use async_trait::async_trait;
use chrono::Utc;
use todo_core::error::PortError;
use todo_core::ports::{Concurrency, ETag, PortResult, StateItem, StateStore};

use crate::error::{corrupt, port_error};
use crate::repository::SqliteTaskRepository;
use crate::row::{get, get_json, micros};
use crate::transaction::WriteTransaction;
use sqlx::SqliteConnection;

const GET: &str = "SELECT value, etag FROM state_store WHERE key = ?1";

const NEXT_ETAG: &str = "UPDATE state_etag SET last = last + 1 WHERE only_row = 1 RETURNING last";

const OVERWRITE: &str = "\
INSERT INTO state_store (key, value, etag, updated_at) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (key) DO UPDATE
SET value = excluded.value, etag = excluded.etag, updated_at = excluded.updated_at";

const IF_ABSENT: &str = "\
INSERT INTO state_store (key, value, etag, updated_at) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (key) DO NOTHING";

const IF_MATCH: &str = "\
UPDATE state_store SET value = ?2, etag = ?3, updated_at = ?4
WHERE key = ?1 AND etag = ?5";

const DELETE: &str = "DELETE FROM state_store WHERE key = ?1";

const DELETE_IF_MATCH: &str = "DELETE FROM state_store WHERE key = ?1 AND etag = ?2";

/// An ETag this adapter issued is a decimal number; anything else matches nothing.
fn etag_number(etag: &ETag) -> Option<i64> {
    etag.0.parse().ok()
}

fn conflict(key: &str, why: &str) -> PortError {
    PortError::conflict(format!("state `{key}`: {why}"))
}

/// Takes the next ETag and writes `text` under `key` as `concurrency` allows.
async fn write(
    conn: &mut SqliteConnection,
    key: &str,
    text: String,
    concurrency: &Concurrency,
    expected: Option<i64>,
) -> PortResult<()> {
    let etag: i64 = sqlx::query_scalar(NEXT_ETAG)
        .fetch_optional(&mut *conn)
        .await
        .map_err(port_error)?
        .ok_or_else(|| corrupt("the state ETag counter", "its row is missing"))?;
    let now = micros(Utc::now());
    let statement = match concurrency {
        Concurrency::Overwrite => sqlx::query(OVERWRITE),
        Concurrency::IfAbsent => sqlx::query(IF_ABSENT),
        Concurrency::IfMatch(_) => sqlx::query(IF_MATCH),
    };
    let mut statement = statement.bind(key).bind(text).bind(etag).bind(now);
    if let Some(expected) = expected {
        statement = statement.bind(expected);
    }
    let changed = statement
        .execute(&mut *conn)
        .await
        .map_err(port_error)?
        .rows_affected();
    if changed == 0 {
        return Err(if expected.is_some() {
            conflict(key, "the ETag does not match")
        } else {
            conflict(key, "the key exists")
        });
    }
    Ok(())
}

#[async_trait]
impl StateStore for SqliteTaskRepository {
    async fn get(&self, key: &str) -> PortResult<Option<StateItem>> {
        let row = sqlx::query(GET)
            .bind(key)
            .fetch_optional(&self.db.reader)
            .await
            .map_err(port_error)?;
        row.map(|row| {
            let etag: i64 = get(&row, "etag")?;
            Ok(StateItem {
                value: get_json(&row, "value")?,
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
        let expected = match &concurrency {
            Concurrency::IfMatch(etag) => match etag_number(etag) {
                Some(number) => Some(number),
                None => return Err(conflict(key, "the ETag does not match")),
            },
            _ => None,
        };
        let text = serde_json::to_string(&value)
            .map_err(|e| PortError::other(format!("state `{key}`: value"), e))?;
        let mut writer = WriteTransaction::writer(&self.db).await?;
        let mut tx = WriteTransaction::begin(&mut writer).await?;
        let written = write(tx.conn(), key, text, &concurrency, expected).await;
        match written {
            Ok(()) => tx.commit().await,
            Err(e) => {
                // The ETag counter goes back too.
                tx.rollback().await;
                Err(e)
            }
        }
    }

    async fn delete(&self, key: &str, etag: Option<ETag>) -> PortResult<()> {
        let Some(etag) = etag else {
            sqlx::query(DELETE)
                .bind(key)
                .execute(&mut *self.db.writer.acquire().await?)
                .await
                .map_err(port_error)?;
            return Ok(());
        };
        let deleted = match etag_number(&etag) {
            Some(number) => sqlx::query(DELETE_IF_MATCH)
                .bind(key)
                .bind(number)
                .execute(&mut *self.db.writer.acquire().await?)
                .await
                .map_err(port_error)?
                .rows_affected(),
            None => 0,
        };
        if deleted == 0 && StateStore::get(self, key).await?.is_some() {
            return Err(conflict(key, "the ETag does not match"));
        }
        Ok(())
    }
}
