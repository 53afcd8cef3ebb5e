//! Parsing the query parameters of `GET /api/v1/tasks` into a [`TaskQuery`], strictly: an unknown
//! value is an error naming the parameter.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::{Cursor, Order, SortKey, StatusFilter, TaskQuery, MAX_LIMIT};
use crate::error::ValidationError;
use crate::model::{parse_due_date, Priority, Status, Tag};

/// The raw query parameters, as strings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct QueryParams {
    /// Search words.
    pub q: Option<String>,
    /// `pending`, `completed` or `all`.
    pub status: Option<String>,
    /// Comma-separated priorities (any of).
    pub priority: Option<String>,
    /// Comma-separated tags (any of).
    pub tags: Option<String>,
    /// Comma-separated tags (all of).
    pub tags_all: Option<String>,
    /// RFC 3339 lower bound of the due date.
    pub due_from: Option<String>,
    /// RFC 3339 upper bound of the due date.
    pub due_to: Option<String>,
    /// `true` or `false`.
    pub overdue: Option<String>,
    /// `due_date`, `priority`, `created_at` or `title`.
    pub sort: Option<String>,
    /// `asc` or `desc`.
    pub order: Option<String>,
    /// 1..=200.
    pub limit: Option<String>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn tag_list(raw: Option<&str>, field: &str) -> Result<BTreeSet<Tag>, ValidationError> {
    raw.map(|list| {
        list.split(',')
            .filter(|t| !t.trim().is_empty())
            .map(|t| Tag::parse_for(t, field))
            .collect()
    })
    .transpose()
    .map(Option::unwrap_or_default)
}

impl QueryParams {
    /// Validates every parameter; the error names the first bad one.
    pub fn parse(&self) -> Result<TaskQuery, ValidationError> {
        let status = match non_empty(&self.status) {
            None | Some("all") => StatusFilter::All,
            Some("pending") => StatusFilter::Only(Status::Pending),
            Some("completed") => StatusFilter::Only(Status::Completed),
            Some(other) => {
                return Err(ValidationError::new(
                    "status",
                    format!("unknown status `{other}` (expected pending, completed or all)"),
                ))
            }
        };
        let priorities = non_empty(&self.priority)
            .map(|list| {
                list.split(',')
                    .filter(|p| !p.trim().is_empty())
                    .map(|p| Priority::parse_for(p, "priority"))
                    .collect::<Result<BTreeSet<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let due = |value: &Option<String>, field: &str| {
            non_empty(value)
                .map(|d| parse_due_date(d, field))
                .transpose()
        };
        let overdue = match non_empty(&self.overdue) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(ValidationError::new(
                    "overdue",
                    format!("`{other}` is not a boolean (expected true or false)"),
                ))
            }
        };
        let sort = match non_empty(&self.sort) {
            None | Some("due_date") => SortKey::DueDate,
            Some("priority") => SortKey::Priority,
            Some("created_at") => SortKey::CreatedAt,
            Some("title") => SortKey::Title,
            Some(other) => {
                return Err(ValidationError::new(
                    "sort",
                    format!(
                    "unknown sort key `{other}` (expected due_date, priority, created_at or title)"
                ),
                ))
            }
        };
        let order = match non_empty(&self.order) {
            None | Some("asc") => Order::Asc,
            Some("desc") => Order::Desc,
            Some(other) => {
                return Err(ValidationError::new(
                    "order",
                    format!("unknown order `{other}` (expected asc or desc)"),
                ))
            }
        };
        let limit = match non_empty(&self.limit) {
            None => super::DEFAULT_LIMIT,
            Some(raw) => raw
                .parse::<usize>()
                .ok()
                .filter(|l| (1..=MAX_LIMIT).contains(l))
                .ok_or_else(|| {
                    ValidationError::new(
                        "limit",
                        format!("must be an integer from 1 to {MAX_LIMIT}"),
                    )
                })?,
        };
        let cursor = non_empty(&self.cursor).map(Cursor::decode).transpose()?;
        if let Some(c) = &cursor {
            if c.sort != sort || c.order != order {
                return Err(ValidationError::new(
                    "cursor",
                    "was issued for another sort or order; start again without a cursor",
                ));
            }
        }
        let query = TaskQuery {
            words: self
                .q
                .as_deref()
                .map(TaskQuery::search_words)
                .unwrap_or_default(),
            status,
            priorities,
            tags_any: tag_list(non_empty(&self.tags), "tags")?,
            tags_all: tag_list(non_empty(&self.tags_all), "tags_all")?,
            due_from: due(&self.due_from, "due_from")?,
            due_to: due(&self.due_to, "due_to")?,
            overdue,
            sort,
            order,
            limit,
            cursor,
        };
        if let (Some(from), Some(to)) = (query.due_from, query.due_to) {
            if from > to {
                return Err(ValidationError::new(
                    "due_to",
                    "must not be before due_from",
                ));
            }
        }
        Ok(query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> QueryParams {
        let query: String = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        serde_json::from_value(serde_json::Value::Object(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
                .collect(),
        ))
        .unwrap_or_else(|e| panic!("{query}: {e}"))
    }

    #[test]
    fn defaults_match_the_spec() {
        let q = QueryParams::default().parse().unwrap();
        assert_eq!(q, TaskQuery::default());
        assert_eq!(
            (q.sort, q.order, q.limit, q.status),
            (SortKey::DueDate, Order::Asc, 50, StatusFilter::All)
        );
    }

    #[test]
    fn every_bad_parameter_is_named() {
        for (key, value) in [
            ("status", "done"),
            ("priority", "high,urgent"),
            ("sort", "colour"),
            ("order", "up"),
            ("limit", "0"),
            ("limit", "201"),
            ("limit", "ten"),
            ("due_from", "yesterday"),
            ("overdue", "yes"),
            ("cursor", "%%%"),
            ("tags", "a,"),
        ] {
            let result = params(&[(key, value)]).parse();
            if key == "tags" {
                // A trailing comma is tolerated: empty list items are ignored.
                assert!(result.is_ok());
                continue;
            }
            assert_eq!(result.unwrap_err().field, key, "{key}={value}");
        }
    }

    #[test]
    fn lists_and_words_are_parsed() {
        let q = params(&[
            ("q", "Buy  GROCERIES buy"),
            ("priority", "high,low"),
            ("tags", "Work,home"),
        ])
        .parse()
        .unwrap();
        assert_eq!(q.words, vec!["buy", "groceries"]);
        assert_eq!(q.priorities.len(), 2);
        assert_eq!(
            q.tags_any.iter().map(Tag::as_str).collect::<Vec<_>>(),
            vec!["home", "work"]
        );
    }
}
