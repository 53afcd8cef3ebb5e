//! One user's tasks ordered under every sort key of SPEC §3, so that a page of
//! [`InMemoryTaskRepository::query`](super::InMemoryTaskRepository) is a range scan from its keyset
//! cursor, as a database reads a page from an index instead of sorting the whole table.
//!
//! The indexes hold sort values and task ids only; the tasks themselves stay in the repository's map.

use std::collections::BTreeSet;
use std::ops::Bound::{self, Excluded, Included, Unbounded};

use chrono::{DateTime, Utc};

use crate::model::{Task, TaskId};
use crate::query::{Order, SortKey, SortValue};

/// A user's task ids, ordered by id and under each sort key (ties broken by id).
#[derive(Debug, Default)]
pub(super) struct UserIndex {
    ids: BTreeSet<TaskId>,
    /// Tasks with a due date; those without come last in both orders, so they live apart.
    due: BTreeSet<(DateTime<Utc>, TaskId)>,
    undated: BTreeSet<TaskId>,
    priority: BTreeSet<(u8, TaskId)>,
    created: BTreeSet<(DateTime<Utc>, TaskId)>,
    /// Lower-cased titles, the sort key of `title`.
    title: BTreeSet<(String, TaskId)>,
}

/// Task ids in a query's order.
pub(super) type Scan<'a> = Box<dyn Iterator<Item = TaskId> + 'a>;

impl UserIndex {
    pub(super) fn insert(&mut self, task: &Task) {
        let id = task.id;
        self.ids.insert(id);
        match task.due_date {
            Some(due) => self.due.insert((due, id)),
            None => self.undated.insert(id),
        };
        self.priority.insert((task.priority.rank(), id));
        self.created.insert((task.created_at, id));
        self.title.insert((title_key(task), id));
    }

    /// Forgets `task`, which must be the version that was inserted.
    pub(super) fn remove(&mut self, task: &Task) {
        let id = task.id;
        self.ids.remove(&id);
        match task.due_date {
            Some(due) => self.due.remove(&(due, id)),
            None => self.undated.remove(&id),
        };
        self.priority.remove(&(task.priority.rank(), id));
        self.created.remove(&(task.created_at, id));
        self.title.remove(&(title_key(task), id));
    }

    pub(super) fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Every id, ascending.
    pub(super) fn ids(&self) -> impl Iterator<Item = TaskId> + '_ {
        self.ids.iter().copied()
    }

    /// The ids in the order of `sort` and `order`, strictly after `after` (a cursor's position) if given.
    ///
    /// Under the due-date sort, `due_start` skips the dated tasks before it in the scan's direction
    /// (the near end of a due-date range: `due_from` ascending, `due_to` descending).
    /// `None` if `after`'s value is not a value of `sort`: such a position has no place in this order.
    pub(super) fn scan(
        &self,
        sort: SortKey,
        order: Order,
        after: Option<(&SortValue, TaskId)>,
        due_start: Option<DateTime<Utc>>,
    ) -> Option<Scan<'_>> {
        let scan = match (sort, after) {
            (SortKey::DueDate, None) => Box::new(
                directed(&self.due, order, due_bound(order, None, due_start)).chain(directed(
                    &self.undated,
                    order,
                    Unbounded,
                )),
            ),
            (SortKey::DueDate, Some((SortValue::DueDate(Some(due)), id))) => Box::new(
                directed(
                    &self.due,
                    order,
                    due_bound(order, Some((*due, id)), due_start),
                )
                .chain(directed(&self.undated, order, Unbounded)),
            ),
            (SortKey::DueDate, Some((SortValue::DueDate(None), id))) => {
                directed(&self.undated, order, Excluded(id))
            }
            (SortKey::Priority, after) => match after {
                None => directed(&self.priority, order, Unbounded),
                Some((SortValue::Priority(rank), id)) => {
                    directed(&self.priority, order, Excluded((*rank, id)))
                }
                Some(_) => return None,
            },
            (SortKey::CreatedAt, after) => match after {
                None => directed(&self.created, order, Unbounded),
                Some((SortValue::CreatedAt(at), id)) => {
                    directed(&self.created, order, Excluded((*at, id)))
                }
                Some(_) => return None,
            },
            (SortKey::Title, after) => match after {
                None => directed(&self.title, order, Unbounded),
                Some((SortValue::Title(title), id)) => {
                    directed(&self.title, order, Excluded((title.clone(), id)))
                }
                Some(_) => return None,
            },
            (SortKey::DueDate, Some(_)) => return None,
        };
        Some(scan)
    }
}

/// Where a scan of the dated tasks starts: after the cursor's position and not before `due_start`
/// in the scan's direction, whichever is later.
fn due_bound(
    order: Order,
    after: Option<(DateTime<Utc>, TaskId)>,
    due_start: Option<DateTime<Utc>>,
) -> Bound<(DateTime<Utc>, TaskId)> {
    // The first position at `due_start` in the scan's direction.
    let start = due_start.map(|due| match order {
        Order::Asc => (due, TaskId(i64::MIN)),
        Order::Desc => (due, TaskId(i64::MAX)),
    });
    match (after, start) {
        (None, None) => Unbounded,
        (Some(after), None) => Excluded(after),
        (None, Some(start)) => Included(start),
        (Some(after), Some(start)) => {
            let start_is_later = match order {
                Order::Asc => start > after,
                Order::Desc => start < after,
            };
            if start_is_later {
                Included(start)
            } else {
                Excluded(after)
            }
        }
    }
}

fn title_key(task: &Task) -> String {
    task.title.as_str().to_lowercase()
}

/// An index entry's task id.
trait Entry: Ord {
    fn id(&self) -> TaskId;
}

impl Entry for TaskId {
    fn id(&self) -> TaskId {
        *self
    }
}

impl<K: Ord> Entry for (K, TaskId) {
    fn id(&self) -> TaskId {
        self.1
    }
}

/// `set`'s ids ascending or descending, from `start` on in that direction.
fn directed<E: Entry>(set: &BTreeSet<E>, order: Order, start: Bound<E>) -> Scan<'_> {
    // One side is always unbounded, so the range cannot be inverted (which would panic).
    match order {
        Order::Asc => Box::new(set.range((start, Unbounded)).map(E::id)),
        Order::Desc => Box::new(set.range((Unbounded, start)).rev().map(E::id)),
    }
}
