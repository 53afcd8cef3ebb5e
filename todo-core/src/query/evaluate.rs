//! The reference, in-memory evaluation of a [`TaskQuery`].

use std::cmp::Ordering;

use chrono::{DateTime, Utc};

use super::{Cursor, Order, SortKey, SortValue, StatusFilter, TaskQuery};
use crate::model::Task;
use crate::ports::Page;

/// Whether `task` passes every filter of `query` at time `now` (the cursor is not a filter).
pub fn matches(task: &Task, query: &TaskQuery, now: DateTime<Utc>) -> bool {
    if let StatusFilter::Only(status) = query.status {
        if task.status != status {
            return false;
        }
    }
    if !query.priorities.is_empty() && !query.priorities.contains(&task.priority) {
        return false;
    }
    if !query.tags_any.is_empty() && !query.tags_any.iter().any(|t| task.tags.contains(t)) {
        return false;
    }
    if !query.tags_all.iter().all(|t| task.tags.contains(t)) {
        return false;
    }
    if query.due_from.is_some() || query.due_to.is_some() {
        let Some(due) = task.due_date else {
            return false;
        };
        if query.due_from.is_some_and(|from| due < from) || query.due_to.is_some_and(|to| due > to)
        {
            return false;
        }
    }
    if query.overdue && !task.is_overdue(now) {
        return false;
    }
    if !query.words.is_empty() {
        let title = task.title.as_str().to_lowercase();
        let description = task.description.as_str().to_lowercase();
        if !query
            .words
            .iter()
            .all(|w| title.contains(w.as_str()) || description.contains(w.as_str()))
        {
            return false;
        }
    }
    true
}

/// A task's value under `sort`.
pub fn sort_value(task: &Task, sort: SortKey) -> SortValue {
    match sort {
        SortKey::DueDate => SortValue::DueDate(task.due_date),
        SortKey::Priority => SortValue::Priority(task.priority.rank()),
        SortKey::CreatedAt => SortValue::CreatedAt(task.created_at),
        SortKey::Title => SortValue::Title(task.title.as_str().to_lowercase()),
    }
}

/// Orders two positions (sort value, id) as a query with `order` lists them.
///
/// Tasks without a due date come last in both orders; ties are broken by id in the query's direction.
pub fn compare_positions(
    order: Order,
    a: (&SortValue, crate::model::TaskId),
    b: (&SortValue, crate::model::TaskId),
) -> Ordering {
    let directed = |o: Ordering| match order {
        Order::Asc => o,
        Order::Desc => o.reverse(),
    };
    let by_value = match (a.0, b.0) {
        (SortValue::DueDate(x), SortValue::DueDate(y)) => match (x, y) {
            (Some(x), Some(y)) => directed(x.cmp(y)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        },
        (SortValue::Priority(x), SortValue::Priority(y)) => directed(x.cmp(y)),
        (SortValue::CreatedAt(x), SortValue::CreatedAt(y)) => directed(x.cmp(y)),
        (SortValue::Title(x), SortValue::Title(y)) => directed(x.cmp(y)),
        // Values of different keys never meet: a cursor is checked against its query first.
        _ => Ordering::Equal,
    };
    by_value.then_with(|| directed(a.1.cmp(&b.1)))
}

/// Evaluates `query` over `tasks` (already scoped to one user) at time `now`.
///
/// A cursor issued for another sort key or order restarts from the first page rather than failing:
/// the position it names means nothing under the new ordering.
pub fn evaluate<'a>(
    tasks: impl IntoIterator<Item = &'a Task>,
    query: &TaskQuery,
    now: DateTime<Utc>,
) -> Page {
    let cursor = query
        .cursor
        .as_ref()
        .filter(|c| c.sort == query.sort && c.order == query.order);
    let mut hits: Vec<(SortValue, &Task)> = tasks
        .into_iter()
        .filter(|t| matches(t, query, now))
        .map(|t| (sort_value(t, query.sort), t))
        .filter(|(value, t)| {
            cursor.is_none_or(|c| {
                compare_positions(query.order, (value, t.id), (&c.value, c.id)) == Ordering::Greater
            })
        })
        .collect();
    let order = |(va, a): &(SortValue, &Task), (vb, b): &(SortValue, &Task)| {
        compare_positions(query.order, (va, a.id), (vb, b.id))
    };
    let limit = query.limit.max(1);
    let more = hits.len() > limit;
    if more {
        // Only the page is sorted: select its items first (linear), then order them.
        hits.select_nth_unstable_by(limit, order);
        hits.truncate(limit);
    }
    hits.sort_by(order);
    let next_cursor = if more {
        hits.last().map(|(value, task)| Cursor {
            sort: query.sort,
            order: query.order,
            value: value.clone(),
            id: task.id,
        })
    } else {
        None
    };
    Page {
        items: hits.into_iter().map(|(_, t)| t.clone()).collect(),
        next_cursor,
    }
}
