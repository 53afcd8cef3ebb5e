//! Opaque keyset cursors: the sort position of the last item of a page.
//!
//! A cursor names a position (sort value, id), not an offset, so inserts and deletes between page
//! requests never make a page skip or repeat an item that was there all along.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Order, SortKey};
use crate::error::ValidationError;
use crate::model::TaskId;

/// A task's value under a sort key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortValue {
    /// `due_date` (none sorts last in both orders).
    DueDate(Option<DateTime<Utc>>),
    /// Priority rank: high 0, medium 1, low 2.
    Priority(u8),
    /// `created_at`.
    CreatedAt(DateTime<Utc>),
    /// Lower-cased title.
    Title(String),
}

/// The position after which the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Sort key of the query that produced it.
    pub sort: SortKey,
    /// Direction of that query.
    pub order: Order,
    /// The last item's sort value.
    pub value: SortValue,
    /// The last item's id.
    pub id: TaskId,
}

impl Cursor {
    /// The opaque text handed to clients.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).expect("a cursor serialises: plain values only");
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Decodes a client's cursor.
    pub fn decode(raw: &str) -> Result<Self, ValidationError> {
        let invalid = || ValidationError::new("cursor", "is not a cursor this server issued");
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| invalid())?;
        let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        let consistent = matches!(
            (cursor.sort, &cursor.value),
            (SortKey::DueDate, SortValue::DueDate(_))
                | (SortKey::Priority, SortValue::Priority(0..=2))
                | (SortKey::CreatedAt, SortValue::CreatedAt(_))
                | (SortKey::Title, SortValue::Title(_))
        );
        if consistent {
            Ok(cursor)
        } else {
            Err(invalid())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor {
            sort: SortKey::Title,
            order: Order::Desc,
            value: SortValue::Title("buy milk".into()),
            id: TaskId(42),
        };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        assert_eq!(Cursor::decode("not a cursor").unwrap_err().field, "cursor");
        let mismatched = Cursor {
            value: SortValue::Priority(1),
            ..cursor
        };
        assert!(Cursor::decode(&mismatched.encode()).is_err());
    }
}
