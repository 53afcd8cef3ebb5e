//! Query semantics: the one definition of search, filters, sorting and pagination that every repository
//! must match (SPEC §3). [`evaluate`] is the reference implementation; the repository conformance suite
//! compares adapters against it.

mod cursor;
mod evaluate;
mod params;

pub use cursor::{Cursor, SortValue};
pub use evaluate::{compare_positions, evaluate, matches, sort_value};
pub use params::QueryParams;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::model::{Priority, Status, Tag};

/// Which statuses a query returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StatusFilter {
    /// Pending and completed (the default).
    #[default]
    All,
    /// Only this status.
    Only(Status),
}

/// What to sort by. Ties are broken by id in the same direction.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    /// Due date; tasks without one come last in both orders (the default).
    #[default]
    DueDate,
    /// Priority; ascending is high → medium → low.
    Priority,
    /// Creation time.
    CreatedAt,
    /// Title, case-insensitive.
    Title,
}

impl SortKey {
    /// The query-parameter name.
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::DueDate => "due_date",
            SortKey::Priority => "priority",
            SortKey::CreatedAt => "created_at",
            SortKey::Title => "title",
        }
    }
}

/// Sort direction.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Ascending (the default).
    #[default]
    Asc,
    /// Descending.
    Desc,
}

/// Page size: 1..=200, 50 by default.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest page.
pub const MAX_LIMIT: usize = 200;

/// A validated query over one user's tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskQuery {
    /// Lower-case search words; each must occur in the title or the description.
    pub words: Vec<String>,
    /// Status filter.
    pub status: StatusFilter,
    /// Any of these priorities (empty: any priority).
    pub priorities: BTreeSet<Priority>,
    /// Any of these tags (empty: no constraint).
    pub tags_any: BTreeSet<Tag>,
    /// All of these tags (empty: no constraint).
    pub tags_all: BTreeSet<Tag>,
    /// Due on or after (tasks without a due date are excluded when set).
    pub due_from: Option<DateTime<Utc>>,
    /// Due on or before (tasks without a due date are excluded when set).
    pub due_to: Option<DateTime<Utc>>,
    /// Only pending tasks whose due date has passed.
    pub overdue: bool,
    /// Sort key.
    pub sort: SortKey,
    /// Sort direction.
    pub order: Order,
    /// Page size.
    pub limit: usize,
    /// Resume after this position.
    pub cursor: Option<Cursor>,
}

impl Default for TaskQuery {
    fn default() -> Self {
        TaskQuery {
            words: Vec::new(),
            status: StatusFilter::All,
            priorities: BTreeSet::new(),
            tags_any: BTreeSet::new(),
            tags_all: BTreeSet::new(),
            due_from: None,
            due_to: None,
            overdue: false,
            sort: SortKey::DueDate,
            order: Order::Asc,
            limit: DEFAULT_LIMIT,
            cursor: None,
        }
    }
}

impl TaskQuery {
    /// Splits a search string into lower-case words (duplicates removed, order kept).
    pub fn search_words(q: &str) -> Vec<String> {
        let mut words: Vec<String> = Vec::new();
        for word in q.split_whitespace().map(str::to_lowercase) {
            if !words.contains(&word) {
                words.push(word);
            }
        }
        words
    }
}
