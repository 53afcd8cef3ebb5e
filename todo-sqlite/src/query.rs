//! SPEC §3 queries in SQL, with exactly the results of [`todo_core::query::evaluate`].
//!
//! The statement is assembled from fixed fragments with [`QueryBuilder`]; every value is a bind
//! parameter. How each rule of the reference maps to SQL:
//!
//! | reference | SQL |
//! |---|---|
//! | every word in the lower-cased title or description | all words of three or more characters together as one FTS5 `MATCH` on the trigram index `task_search` (each word a quoted FTS5 string, so it is a substring phrase), and per word `instr(search_text, word) > 0`, the exact recheck; a shorter word has no trigram and is only the `instr` check; `search_text` is lower-cased in Rust |
//! | priorities / tags any of | `priority IN (..)` / `id IN` the user's `task_tags` rows with one of the tags |
//! | tags all of | `id IN` the user's `task_tags` rows with the tags, grouped, as many as there are tags |
//! | due range excludes tasks without a due date | `due_date >= ..`, `due_date <= ..` (NULL fails both) |
//! | overdue | `status = 'pending' AND due_date < now` |
//! | no due date sorts last in both orders | sort on `coalesce(due_date, ±(2⁶³ - 1))` |
//! | title sort is the lower-cased title by code point | `title_key` (lower-cased in Rust), BINARY collation |
//! | ties broken by id in the query's direction; keyset cursor | `value >= v AND (value > v OR id > c)` (`<=`, `<` descending), the expanded `(value, id) > (v, c)`, and `ORDER BY value, id` |

use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite};

use todo_core::model::UserId;
use todo_core::query::{Order, SortKey, SortValue, StatusFilter, TaskQuery};

use crate::row::{micros, task_columns};

/// The stored sort value of a missing due date ascending: after every instant.
const NO_DUE_DATE_ASC: i64 = i64::MAX;
/// The stored sort value of a missing due date descending: before every instant. (`i64::MIN` has no
/// integer literal in SQL: `-9223372036854775808` is the negation of a real.)
const NO_DUE_DATE_DESC: i64 = -i64::MAX;

/// The sort expression of a key over the table alias `t`; identical to the expressions of the
/// `tasks_user_*` indexes, which SQLite only uses when the query's expression is the same.
fn sort_expression(sort: SortKey, order: Order, t: &str) -> String {
    match (sort, order) {
        (SortKey::DueDate, Order::Asc) => format!("coalesce({t}.due_date, 9223372036854775807)"),
        (SortKey::DueDate, Order::Desc) => format!("coalesce({t}.due_date, -9223372036854775807)"),
        (SortKey::Priority, _) => format!("{t}.priority"),
        (SortKey::CreatedAt, _) => format!("{t}.created_at"),
        (SortKey::Title, _) => format!("{t}.title_key"),
    }
}

/// Whether the trigram index can serve `word`: it has at least three characters (trigrams are of
/// Unicode characters, not bytes).
pub(crate) fn has_trigram(word: &str) -> bool {
    word.chars().nth(2).is_some()
}

/// `word` as an FTS5 string: in double quotes, a quote doubled. The trigram tokenizer makes it a
/// phrase of the word's trigrams, which matches wherever the word occurs as a substring (and
/// possibly elsewhere; the `instr` recheck drops those).
pub(crate) fn fts_string(word: &str) -> String {
    let mut quoted = String::with_capacity(word.len() + 2);
    quoted.push('"');
    for c in word.chars() {
        if c == '"' {
            quoted.push('"');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// The FTS5 query of the words that have trigrams (implicit AND between strings), if any.
pub(crate) fn fts_query(words: &[String]) -> Option<String> {
    let strings: Vec<String> = words
        .iter()
        .filter(|w| has_trigram(w))
        .map(|w| fts_string(w))
        .collect();
    (!strings.is_empty()).then(|| strings.join(" "))
}

/// How a page with search words is found. Without a word of three characters both plans are the
/// same statement: one range of the per-user sort index, in order.
///
/// Which is faster depends on how common the words are, which only the data knows: a word in most
/// of the user's tasks fills a page from the first rows of the sort index, where the trigram index
/// would first list every match (thousands) only to keep 50; for a rare word it is the opposite. The
/// repository tries [`Plan::Scan`] first and falls back to [`Plan::Index`] when the scanned rows do
/// not fill the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// The first `budget` tasks in the page's order that pass the other filters, each checked for
    /// the words: a range of the sort index that ends at the `budget`-th candidate.
    Scan {
        /// How many candidates to look at, at most.
        budget: usize,
    },
    /// The trigram index lists the tasks that contain the words; they are checked, filtered and
    /// sorted.
    Index,
}

/// Builds the statement for one page of `query` over `user`'s tasks: `limit + 1` rows, so the caller
/// knows whether there is a next page.
pub(crate) fn page_statement(
    user: UserId,
    query: &TaskQuery,
    now: DateTime<Utc>,
    plan: Plan,
) -> QueryBuilder<'static, Sqlite> {
    statement("", user, query, now, plan)
}

/// The statement [`SqliteTaskRepository::query`](crate::SqliteTaskRepository) runs for `query` with
/// `plan`, prefixed with `EXPLAIN QUERY PLAN`: its plan (rows of `id, parent, notused, detail`), for
/// diagnosing a slow query on real data.
pub fn explain_statement(
    user: UserId,
    query: &TaskQuery,
    now: DateTime<Utc>,
    plan: Plan,
) -> QueryBuilder<'static, Sqlite> {
    statement("EXPLAIN QUERY PLAN ", user, query, now, plan)
}

fn statement(
    prefix: &'static str,
    user: UserId,
    query: &TaskQuery,
    now: DateTime<Utc>,
    plan: Plan,
) -> QueryBuilder<'static, Sqlite> {
    let expression = sort_expression(query.sort, query.order, "t");
    let fts = fts_query(&query.words);
    let mut sql = QueryBuilder::new(prefix);
    sql.push(concat!("SELECT ", task_columns!(), " FROM "));
    match (fts, plan) {
        (Some(fts), Plan::Index) => {
            // Driven by the trigram index: its matches, each joined to its row by id.
            sql.push(
                "task_search s CROSS JOIN tasks t ON t.id = s.rowid WHERE s.task_search MATCH ",
            )
            .push_bind(fts)
            .push(" AND ");
        }
        (Some(_), Plan::Scan { budget }) => {
            // Up to the last of the first `budget` candidates in order, (last, last_id): `last`
            // ends the index range, and among the tasks sorting equal to it the id decides.
            let (last, strict, inclusive) = match query.order {
                Order::Asc => ("max", " < ", " <= "),
                Order::Desc => ("min", " > ", " >= "),
            };
            let last_value = |sql: &mut QueryBuilder<'static, Sqlite>| {
                sql.push(format!("(SELECT {last}(v) FROM "));
                push_candidates(sql, user, query, now, budget);
                sql.push(")");
            };
            sql.push("tasks t WHERE ").push(&expression).push(inclusive);
            last_value(&mut sql);
            sql.push(" AND (").push(&expression).push(strict);
            last_value(&mut sql);
            sql.push(" OR t.id").push(inclusive);
            sql.push(format!("(SELECT {last}(id) FROM "));
            push_candidates(&mut sql, user, query, now, budget);
            sql.push(" WHERE v = ");
            last_value(&mut sql);
            sql.push(")) AND ");
        }
        (None, _) => {
            sql.push("tasks t WHERE ");
        }
    }
    push_filters(&mut sql, "t", user, query, now);
    for word in &query.words {
        // The exact test of the reference, for every word: the trigram match may be looser.
        sql.push(" AND instr(t.search_text, ")
            .push_bind(word.clone())
            .push(") > 0");
    }
    let direction = direction(query.order);
    let limit = i64::try_from(query.limit.max(1)).unwrap_or(i64::MAX - 1);
    sql.push(" ORDER BY ")
        .push(&expression)
        .push(direction)
        .push(", t.id")
        .push(direction)
        .push(" LIMIT ")
        .push_bind(limit + 1);
    sql
}

fn direction(order: Order) -> &'static str {
    match order {
        Order::Asc => " ASC",
        Order::Desc => " DESC",
    }
}

/// `(SELECT v, id FROM tasks b WHERE ... LIMIT budget)`: the first `budget` candidates of the page
/// (every filter but the words) in its order, as (sort value, id); read from the sort index alone
/// when the filters are in it.
fn push_candidates(
    sql: &mut QueryBuilder<'static, Sqlite>,
    user: UserId,
    query: &TaskQuery,
    now: DateTime<Utc>,
    budget: usize,
) {
    let direction = direction(query.order);
    sql.push("(SELECT ")
        .push(sort_expression(query.sort, query.order, "b"))
        .push(" AS v, b.id AS id FROM tasks b WHERE ");
    push_filters(sql, "b", user, query, now);
    sql.push(" ORDER BY v")
        .push(direction)
        .push(", id")
        .push(direction)
        .push(" LIMIT ")
        .push_bind(i64::try_from(budget.max(1)).unwrap_or(i64::MAX))
        .push(")");
}

/// The owner, the filters other than the words, and the cursor, over the table alias `t`.
fn push_filters(
    sql: &mut QueryBuilder<'static, Sqlite>,
    t: &str,
    user: UserId,
    query: &TaskQuery,
    now: DateTime<Utc>,
) {
    sql.push(format!("{t}.user_id = ")).push_bind(user.0);
    if let StatusFilter::Only(status) = query.status {
        sql.push(format!(" AND {t}.status = "))
            .push_bind(status.as_str());
    }
    if !query.priorities.is_empty() {
        sql.push(format!(" AND {t}.priority IN ("));
        let mut ranks = sql.separated(", ");
        for priority in &query.priorities {
            ranks.push_bind(i64::from(priority.rank()));
        }
        ranks.push_unseparated(")");
    }
    // Tag filters read one range of task_tags (user_id, tag, task_id) per tag.
    if !query.tags_any.is_empty() {
        sql.push(format!(
            " AND {t}.id IN (SELECT g.task_id FROM task_tags g WHERE g.user_id = "
        ))
        .push_bind(user.0)
        .push(" AND g.tag IN (");
        push_tags(sql, &query.tags_any);
        sql.push("))");
    }
    if !query.tags_all.is_empty() {
        let count = i64::try_from(query.tags_all.len()).unwrap_or(i64::MAX);
        sql.push(format!(
            " AND {t}.id IN (SELECT g.task_id FROM task_tags g WHERE g.user_id = "
        ))
        .push_bind(user.0)
        .push(" AND g.tag IN (");
        push_tags(sql, &query.tags_all);
        sql.push(") GROUP BY g.task_id HAVING count(*) = ")
            .push_bind(count)
            .push(")");
    }
    if let Some(from) = query.due_from {
        sql.push(format!(" AND {t}.due_date >= "))
            .push_bind(micros(from));
    }
    if let Some(to) = query.due_to {
        sql.push(format!(" AND {t}.due_date <= "))
            .push_bind(micros(to));
    }
    if query.overdue {
        sql.push(format!(" AND {t}.status = 'pending' AND {t}.due_date < "))
            .push_bind(micros(now));
    }

    // A cursor of another sort or order names no position in this one: start from the first page,
    // as the reference does.
    let cursor = query
        .cursor
        .as_ref()
        .filter(|c| c.sort == query.sort && c.order == query.order);
    if let Some(cursor) = cursor {
        // `(value, id) > (v, c)` spelled as `value >= v AND (value > v OR id > c)`: SQLite does not
        // start an index range from a row value over an expression, but does from `value >= v`.
        let expression = sort_expression(query.sort, query.order, t);
        let value = match (&cursor.value, query.order) {
            (SortValue::DueDate(due), Order::Asc) => {
                CursorValue::Int(due.map_or(NO_DUE_DATE_ASC, micros))
            }
            (SortValue::DueDate(due), Order::Desc) => {
                CursorValue::Int(due.map_or(NO_DUE_DATE_DESC, micros))
            }
            (SortValue::Priority(rank), _) => CursorValue::Int(i64::from(*rank)),
            (SortValue::CreatedAt(at), _) => CursorValue::Int(micros(*at)),
            (SortValue::Title(title), _) => CursorValue::Text(title.clone()),
        };
        let (inclusive, strict) = match query.order {
            Order::Asc => (" >= ", " > "),
            Order::Desc => (" <= ", " < "),
        };
        sql.push(" AND ").push(&expression).push(inclusive);
        value.bind(sql);
        sql.push(" AND (").push(&expression).push(strict);
        value.bind(sql);
        sql.push(format!(" OR {t}.id"))
            .push(strict)
            .push_bind(cursor.id.0)
            .push(")");
    }
}

/// A cursor's sort value as bound.
enum CursorValue {
    Int(i64),
    Text(String),
}

impl CursorValue {
    fn bind(&self, sql: &mut QueryBuilder<'static, Sqlite>) {
        match self {
            CursorValue::Int(value) => sql.push_bind(*value),
            CursorValue::Text(value) => sql.push_bind(value.clone()),
        };
    }
}

fn push_tags(
    sql: &mut QueryBuilder<'static, Sqlite>,
    tags: &std::collections::BTreeSet<todo_core::model::Tag>,
) {
    let mut list = sql.separated(", ");
    for tag in tags {
        list.push_bind(tag.as_str().to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_fts_strings_with_quotes_doubled() {
        assert_eq!(fts_string("milk"), "\"milk\"");
        assert_eq!(fts_string("say\"hi"), "\"say\"\"hi\"");
        assert_eq!(fts_string("a OR b*"), "\"a OR b*\"");
    }

    #[test]
    fn only_words_of_three_characters_use_the_trigram_index() {
        assert!(has_trigram("milk") && has_trigram("日本語") && has_trigram("c:\\"));
        assert!(
            !has_trigram("up") && !has_trigram("日本") && !has_trigram("é") && !has_trigram("🚀")
        );
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(fts_query(&words(&["up", "é"])), None);
        assert_eq!(
            fts_query(&words(&["milk", "up", "oat"])).as_deref(),
            Some("\"milk\" \"oat\"")
        );
    }

    #[test]
    fn every_value_is_a_parameter() {
        let query = TaskQuery {
            words: vec!["xyz'); DROP TABLE tasks; --".into(), "up".into()],
            ..TaskQuery::default()
        };
        let sql =
            page_statement(UserId(uuid::Uuid::nil()), &query, Utc::now(), Plan::Index).into_sql();
        assert!(!sql.contains("DROP"), "{sql}");
        assert!(sql.contains("MATCH ?"), "{sql}");
        assert!(sql.contains("instr(t.search_text, ?) > 0"), "{sql}");
    }
}
