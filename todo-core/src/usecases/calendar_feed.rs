//! The private calendar feed: issuing its secret URL and rendering it for whoever holds the secret.

use std::sync::Arc;

use crate::calendar::{render_feed, FeedSecret};
use crate::error::TaskError;
use crate::model::{Status, Task, UserId};
use crate::ports::{CalendarFeeds, Clock};
use crate::query::{Order, SortKey, StatusFilter, TaskQuery, MAX_LIMIT};

use super::TaskService;

/// Most tasks one feed holds: the user's first 1 000 pending dated tasks by due date. Calendar apps poll
/// feeds every few hours and a bigger document helps no one.
pub const MAX_FEED_TASKS: usize = 1_000;

/// The name calendar apps show for the feed.
const CALENDAR_NAME: &str = "Tasks";

/// The calendar feed use cases.
#[derive(Clone)]
pub struct CalendarFeedService {
    feeds: Arc<dyn CalendarFeeds>,
    tasks: TaskService,
    clock: Arc<dyn Clock>,
}

impl CalendarFeedService {
    /// Builds the service over its port and the task use cases it reads through.
    pub fn new(feeds: Arc<dyn CalendarFeeds>, tasks: TaskService, clock: Arc<dyn Clock>) -> Self {
        Self {
            feeds,
            tasks,
            clock,
        }
    }

    /// Issues a new feed secret for the user; the previous one stops working.
    #[tracing::instrument(skip(self), fields(user_id = %user_id), err(level = "debug"))]
    pub async fn issue_feed(&self, user_id: UserId) -> Result<FeedSecret, TaskError> {
        let secret = FeedSecret::generate();
        self.feeds
            .replace_feed(user_id, &secret.digest(), self.clock.now())
            .await?;
        Ok(secret)
    }

    /// The iCalendar document of the feed `secret` names, or `None` when it names no feed (never issued,
    /// replaced, or not a secret at all).
    #[tracing::instrument(skip_all, fields(user_id = tracing::field::Empty), err(level = "debug"))]
    pub async fn render(&self, secret: &str) -> Result<Option<String>, TaskError> {
        let Some(secret) = FeedSecret::parse(secret) else {
            return Ok(None);
        };
        let Some(user_id) = self.feeds.feed_owner(&secret.digest()).await? else {
            return Ok(None);
        };
        tracing::Span::current().record("user_id", tracing::field::display(user_id));
        let tasks = self.dated_pending_tasks(user_id).await?;
        Ok(Some(render_feed(CALENDAR_NAME, &tasks)))
    }

    /// The user's pending tasks with a due date, soonest first, at most [`MAX_FEED_TASKS`]. Sorted by due
    /// date, undated tasks come last, so the walk stops at the first one.
    async fn dated_pending_tasks(&self, user_id: UserId) -> Result<Vec<Task>, TaskError> {
        let mut query = TaskQuery {
            status: StatusFilter::Only(Status::Pending),
            sort: SortKey::DueDate,
            order: Order::Asc,
            limit: MAX_LIMIT,
            ..TaskQuery::default()
        };
        let mut tasks = Vec::new();
        loop {
            let page = self.tasks.list_tasks(user_id, &query).await?;
            for task in page.items {
                if task.due_date.is_none() || tasks.len() == MAX_FEED_TASKS {
                    return Ok(tasks);
                }
                tasks.push(task);
            }
            match page.next_cursor {
                Some(cursor) => query.cursor = Some(cursor),
                None => return Ok(tasks),
            }
        }
    }
}
