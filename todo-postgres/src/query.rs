//! SPEC §3 queries in SQL, with exactly the results of [`todo_core::query::evaluate`].
//!
//! The statement is assembled from fixed fragments with [`QueryBuilder`]; every value is a bind
//! parameter. How each rule of the reference maps to SQL:
//!
//! | reference | SQL |
//! |---|---|
//! | every word in the lower-cased title or description | per word, `search_text LIKE '%word%'` with `%`, `_` and `\` escaped, or `strpos(search_text, word) > 0` for a word without three letters or digits in a row (which no trigram index can serve); `search_text` is lower-cased in Rust |
//! | priorities / tags any of | `priority = ANY(..)` / `tags && ..` (the row's tags overlap them) |
//! | tags all of | `tags @> ..` (the row's tags contain them) |
//! | due range excludes tasks without a due date | `due_date >= ..`, `due_date <= ..` (NULL fails both) |
//! | overdue | `status = 'pending' AND due_date < now` |
//! | no due date sorts last in both orders | sort on `coalesce(due_date, ±infinity)` |
//! | title sort is the lower-cased title by code point | `title_key` (lower-cased in Rust) `COLLATE "C"` |
//! | ties broken by id in the query's direction; keyset cursor | `(sort value, id) > / < (cursor)` and `ORDER BY value, id` |

use chrono::{DateTime, Utc};
use sqlx::{Postgres, QueryBuilder};

use todo_core::model::UserId;
use todo_core::ports::PortResult;
use todo_core::query::{Order, SortKey, SortValue, StatusFilter, TaskQuery};

use crate::error::corrupt;
use crate::row::{priority_label, task_columns};

/// The sort expression of a key; identical to the expressions of the `tasks_user_*` indexes.
fn sort_expression(sort: SortKey, order: Order) -> &'static str {
    match (sort, order) {
        (SortKey::DueDate, Order::Asc) => "coalesce(t.due_date, 'infinity'::timestamptz)",
        (SortKey::DueDate, Order::Desc) => "coalesce(t.due_date, '-infinity'::timestamptz)",
        (SortKey::Priority, _) => "t.priority",
        (SortKey::CreatedAt, _) => "t.created_at",
        (SortKey::Title, _) => "t.title_key",
    }
}

/// Whether pg_trgm can extract a trigram from `word` as a LIKE substring: three alphanumerics in a
/// row. Only ASCII counts, to stay on the safe side of the database's idea of a letter.
pub(crate) fn has_trigram(word: &str) -> bool {
    word.as_bytes()
        .split(|b| !b.is_ascii_alphanumeric())
        .any(|run| run.len() >= 3)
}

/// Escapes LIKE's wildcards (`%`, `_`) and its escape character (`\`) so a word matches literally.
pub(crate) fn like_substring(word: &str) -> String {
    let mut pattern = String::with_capacity(word.len() + 2);
    pattern.push('%');
    for c in word.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Builds the statement for one page of `query` over `user`'s tasks: `limit + 1` rows, so the caller
/// knows whether there is a next page.
pub(crate) fn page_statement(
    user: UserId,
    query: &TaskQuery,
    now: DateTime<Utc>,
) -> PortResult<QueryBuilder<'static, Postgres>> {
    statement("", user, query, now)
}

/// The statement [`PostgresTaskRepository::query`](crate::PostgresTaskRepository) runs for `query`,
/// prefixed with `EXPLAIN (ANALYZE, BUFFERS)`: its plan, one text row per line, for diagnosing a slow
/// query on real data.
pub fn explain_statement(
    user: UserId,
    query: &TaskQuery,
    now: DateTime<Utc>,
) -> PortResult<QueryBuilder<'static, Postgres>> {
    statement("EXPLAIN (ANALYZE, BUFFERS) ", user, query, now)
}

fn statement(
    prefix: &'static str,
    user: UserId,
    query: &TaskQuery,
    now: DateTime<Utc>,
) -> PortResult<QueryBuilder<'static, Postgres>> {
    let expression = sort_expression(query.sort, query.order);
    let (comparison, direction) = match query.order {
        Order::Asc => (" > ", " ASC"),
        Order::Desc => (" < ", " DESC"),
    };
    // With filters the sort indexes can check (and no search word or tag, which need the row), two
    // steps: an inner query picks the page's ids from index entries alone, the outer one reads only
    // those rows. Otherwise one step: the rows read are the page's rows anyway.
    let two_step = query.words.is_empty()
        && query.tags_any.is_empty()
        && query.tags_all.is_empty()
        && (query.status != StatusFilter::All
            || !query.priorities.is_empty()
            || query.due_from.is_some()
            || query.due_to.is_some()
            || query.overdue);
    let mut sql = QueryBuilder::new(prefix);
    if two_step {
        sql.push(concat!("SELECT ", task_columns!(), " FROM (SELECT t.id, "))
            .push(expression)
            .push(" AS sort_key FROM tasks t WHERE t.user_id = ");
    } else {
        sql.push(concat!(
            "SELECT ",
            task_columns!(),
            " FROM tasks t WHERE t.user_id = "
        ));
    }
    sql.push_bind(user.0);

    if let StatusFilter::Only(status) = query.status {
        sql.push(" AND t.status = ")
            .push_bind(status.as_str())
            .push("::task_status");
    }
    if !query.priorities.is_empty() {
        let labels: Vec<&'static str> = query.priorities.iter().map(|p| p.as_str()).collect();
        sql.push(" AND t.priority = ANY(")
            .push_bind(labels)
            .push("::task_priority[])");
    }
    // Tag filters check the row's tags; for rare tags, `tasks_user_tags` (GIN) finds the rows.
    if !query.tags_any.is_empty() {
        sql.push(" AND t.tags && ")
            .push_bind(tag_names(&query.tags_any))
            .push("::text[]");
    }
    if !query.tags_all.is_empty() {
        sql.push(" AND t.tags @> ")
            .push_bind(tag_names(&query.tags_all))
            .push("::text[]");
    }
    if let Some(from) = query.due_from {
        sql.push(" AND t.due_date >= ").push_bind(from);
    }
    if let Some(to) = query.due_to {
        sql.push(" AND t.due_date <= ").push_bind(to);
    }
    if query.overdue {
        sql.push(" AND t.status = 'pending' AND t.due_date < ")
            .push_bind(now);
    }
    for word in &query.words {
        if has_trigram(word) {
            sql.push(" AND t.search_text LIKE ")
                .push_bind(like_substring(word));
        } else {
            // No trigram to look up: a LIKE here would let a cached generic plan scan the whole
            // trigram index. strpos is the same substring test and never uses it.
            sql.push(" AND strpos(t.search_text, ")
                .push_bind(word.clone())
                .push(") > 0");
        }
    }

    // A cursor of another sort or order names no position in this one: start from the first page,
    // as the reference does.
    let cursor = query
        .cursor
        .as_ref()
        .filter(|c| c.sort == query.sort && c.order == query.order);
    if let Some(cursor) = cursor {
        sql.push(" AND (").push(expression).push(", t.id)");
        sql.push(comparison).push("(");
        match (&cursor.value, query.order) {
            (SortValue::DueDate(due), Order::Asc) => {
                sql.push("coalesce(")
                    .push_bind(*due)
                    .push("::timestamptz, 'infinity'::timestamptz)");
            }
            (SortValue::DueDate(due), Order::Desc) => {
                sql.push("coalesce(")
                    .push_bind(*due)
                    .push("::timestamptz, '-infinity'::timestamptz)");
            }
            (SortValue::Priority(rank), _) => {
                let label = priority_label(*rank)
                    .ok_or_else(|| corrupt("cursor", format!("unknown priority rank {rank}")))?;
                sql.push_bind(label).push("::task_priority");
            }
            (SortValue::CreatedAt(at), _) => {
                sql.push_bind(*at).push("::timestamptz");
            }
            (SortValue::Title(title), _) => {
                sql.push_bind(title.clone()).push("::text COLLATE \"C\"");
            }
        }
        sql.push(", ").push_bind(cursor.id.0).push(")");
    }
    let limit = i64::try_from(query.limit.max(1)).unwrap_or(i64::MAX - 1);
    sql.push(" ORDER BY ")
        .push(expression)
        .push(direction)
        .push(", t.id")
        .push(direction)
        .push(" LIMIT ")
        .push_bind(limit + 1);
    if two_step {
        sql.push(") AS page JOIN tasks t ON t.id = page.id ORDER BY page.sort_key")
            .push(direction)
            .push(", page.id")
            .push(direction);
    }
    Ok(sql)
}

fn tag_names(tags: &std::collections::BTreeSet<todo_core::model::Tag>) -> Vec<String> {
    tags.iter().map(|t| t.as_str().to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_in_words_match_literally() {
        assert_eq!(like_substring("milk"), "%milk%");
        assert_eq!(like_substring("100%"), "%100\\%%");
        assert_eq!(like_substring("a_b"), "%a\\_b%");
        assert_eq!(like_substring("c:\\dir"), "%c:\\\\dir%");
    }

    #[test]
    fn only_words_with_a_trigram_are_searched_with_like() {
        assert!(has_trigram("milk") && has_trigram("café") && has_trigram("(urgent)"));
        assert!(!has_trigram("up") && !has_trigram("a_b") && !has_trigram("σοφια"));
        let query = TaskQuery {
            words: vec!["milk".into(), "up".into()],
            ..TaskQuery::default()
        };
        let sql = page_statement(UserId(uuid::Uuid::nil()), &query, Utc::now())
            .unwrap()
            .into_sql();
        assert!(sql.contains("t.search_text LIKE $2"), "{sql}");
        assert!(sql.contains("strpos(t.search_text, $3) > 0"), "{sql}");
    }

    #[test]
    fn only_filtered_listings_pick_their_ids_first() {
        let sql = |query: TaskQuery| {
            page_statement(UserId(uuid::Uuid::nil()), &query, Utc::now())
                .unwrap()
                .into_sql()
        };
        let filtered = TaskQuery {
            status: StatusFilter::Only(todo_core::model::Status::Pending),
            ..TaskQuery::default()
        };
        assert!(sql(filtered.clone()).contains("AS page JOIN tasks t"));
        assert!(!sql(TaskQuery::default()).contains("AS page"));
        let searched = TaskQuery {
            words: vec!["milk".into()],
            ..filtered
        };
        assert!(!sql(searched).contains("AS page"));
    }

    #[test]
    fn every_value_is_a_parameter() {
        let query = TaskQuery {
            words: vec!["xyz'); DROP TABLE tasks; --".into()],
            ..TaskQuery::default()
        };
        let sql = page_statement(UserId(uuid::Uuid::nil()), &query, Utc::now())
            .unwrap()
            .into_sql();
        assert!(!sql.contains("DROP"), "{sql}");
        assert!(sql.contains("t.search_text LIKE $2"), "{sql}");
    }
}
