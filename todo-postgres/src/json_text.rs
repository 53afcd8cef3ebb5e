//! JSON bound as PostgreSQL's `json` type: the text as written, without the parse into `jsonb`.
//!
//! The outbox's payloads and the audit log's snapshots are written once, read back whole and never
//! queried inside by SQL, so they are stored as `json` (migration 14). PostgreSQL only checks that
//! such a value is JSON, where `jsonb` parses it into its binary form on the way in and prints it
//! back on the way out: for a 480-byte event, 2.4 against 7.6 µs per row on the way in
//! (docs/benchmarks.md). sqlx binds a `serde_json::Value` as `jsonb`, hence this wrapper.

use serde::Serialize;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo};
use sqlx::{Encode, Postgres, Type};

/// `json` and `json[]` by their fixed type oids (`pg_type`): 114 and 199.
const JSON: PgTypeInfo = PgTypeInfo::with_oid(Oid(114));
const JSON_ARRAY: PgTypeInfo = PgTypeInfo::with_oid(Oid(199));

/// A value bound as its JSON text, as `json` (and a `Vec` of them as `json[]`).
pub(crate) struct JsonText<'a, T: ?Sized>(pub(crate) &'a T);

impl<T: ?Sized> Type<Postgres> for JsonText<'_, T> {
    fn type_info() -> PgTypeInfo {
        JSON
    }
}

impl<T: ?Sized> PgHasArrayType for JsonText<'_, T> {
    fn array_type_info() -> PgTypeInfo {
        JSON_ARRAY
    }
}

impl<T: Serialize + ?Sized> Encode<'_, Postgres> for JsonText<'_, T> {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        // The binary form of `json` is its text.
        serde_json::to_writer(&mut **buf, self.0)?;
        Ok(IsNull::No)
    }
}
