//! JSON bound as PostgreSQL's `json` type: the text as written, without the parse into `jsonb`.
//!
//! The outbox's payloads and the audit log's snapshots are written once, read back whole and never
//! queried inside by SQL, so they are stored as `json` (migration 14). PostgreSQL only checks that
//! such a value is JSON, where `jsonb` parses it into its binary form on the way in and prints it
//! back on the way out: for a 480-byte event, 2.4 against 7.6 µs per row on the way in
//! (docs/benchmarks.md). sqlx binds a `serde_json::Value` as `jsonb`, hence this wrapper.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo};
use sqlx::{Encode, Postgres, Type};

/// `json` and `json[]` by their fixed type oids (`pg_type`): 114 and 199.
const JSON: PgTypeInfo = PgTypeInfo::with_oid(Oid(114));
const JSON_ARRAY: PgTypeInfo = PgTypeInfo::with_oid(Oid(199));

/// A JSON value bound as `json` (and a `Vec` of them as `json[]`).
pub(crate) struct JsonText<'a>(pub(crate) &'a serde_json::Value);

impl Type<Postgres> for JsonText<'_> {
    fn type_info() -> PgTypeInfo {
        JSON
    }
}

impl PgHasArrayType for JsonText<'_> {
    fn array_type_info() -> PgTypeInfo {
        JSON_ARRAY
    }
}

impl Encode<'_, Postgres> for JsonText<'_> {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        // The binary form of `json` is its text.
        serde_json::to_writer(&mut **buf, self.0)?;
        Ok(IsNull::No)
    }
}
