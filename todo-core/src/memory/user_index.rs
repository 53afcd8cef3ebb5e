//! One user's tasks ordered under every sort key of SPEC §3, so that a page of
//! [`InMemoryTaskRepository::query`](super::InMemoryTaskRepository) is a range scan from its keyset
//! cursor, as a database reads a page from an index instead of sorting the whole table.
//!
//! The indexes hold sort values and task ids only; the tasks themselves stay in the repository's map.

use std::collections::BTreeSet;
use std::ops::Bound::{Excluded, Unbounded};

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
    /// `None` if `after`'s value is not a value of `sort`: such a position has no place in this order.
    pub(super) fn scan(
        &self,
        sort: SortKey,
        order: Order,
        after: Option<(&SortValue, TaskId)>,
    ) -> Option<Scan<'_>> {
        let scan =
            match (sort, after) {
                (SortKey::DueDate, None) => Box::new(
                    directed(&self.due, order, None).chain(directed(&self.undated, order, None)),
                ),
                (SortKey::DueDate, Some((SortValue::DueDate(Some(due)), id))) => {
                    Box::new(directed(&self.due, order, Some((*due, id))).chain(directed(
                        &self.undated,
                        order,
                        None,
                    )))
                }
                (SortKey::DueDate, Some((SortValue::DueDate(None), id))) => {
                    directed(&self.undated, order, Some(id))
                }
                (SortKey::Priority, after) => match after {
                    None => directed(&self.priority, order, None),
                    Some((SortValue::Priority(rank), id)) => {
                        directed(&self.priority, order, Some((*rank, id)))
                    }
                    Some(_) => return None,
                },
                (SortKey::CreatedAt, after) => match after {
                    None => directed(&self.created, order, None),
                    Some((SortValue::CreatedAt(at), id)) => {
                        directed(&self.created, order, Some((*at, id)))
                    }
                    Some(_) => return None,
                },
                (SortKey::Title, after) => match after {
                    None => directed(&self.title, order, None),
                    Some((SortValue::Title(title), id)) => {
                        directed(&self.title, order, Some((title.clone(), id)))
                    }
                    Some(_) => return None,
                },
                (SortKey::DueDate, Some(_)) => return None,
            };
        Some(scan)
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

/// `set`'s ids ascending or descending, strictly after `after` in that direction.
fn directed<E: Entry>(set: &BTreeSet<E>, order: Order, after: Option<E>) -> Scan<'_> {
    match (order, after) {
        (Order::Asc, None) => Box::new(set.iter().map(E::id)),
        (Order::Asc, Some(after)) => Box::new(set.range((Excluded(after), Unbounded)).map(E::id)),
        (Order::Desc, None) => Box::new(set.iter().rev().map(E::id)),
        (Order::Desc, Some(after)) => {
            Box::new(set.range((Unbounded, Excluded(after))).rev().map(E::id))
        }
    }
}
