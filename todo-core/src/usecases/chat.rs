//! Chat: one message in, a reply and the tasks it touched out (SPEC §12).
//!
//! [`ChatService::reply`] reads the message with [`chat::understand`](crate::chat::understand) in the
//! user's time zone, carries the [`Intent`] out with [`TaskService`], and remembers the task it was
//! about in the state store (`chat:{user}`), so that the next message may call it `it`.
//!
//! A named task is found by searching the user's tasks for its words: a title equal to the words wins,
//! then a single match; several matches are listed back to choose from, and nothing is changed.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::json;

use super::TaskService;
use crate::chat::{self, Intent, Target};
use crate::error::{TaskError, ValidationError};
use crate::model::{NewTask, Status, Task, TaskId, TaskPatch, UserId};
use crate::ports::{Clock, Concurrency, StateStore, UserRepository};
use crate::query::QueryParams;

/// The longest message read, in characters.
pub const MAX_MESSAGE_CHARS: usize = 500;

/// How many tasks a reply lists at most.
const LISTED: usize = 20;

/// What the assistant answers.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatReply {
    /// One line for people.
    pub reply: String,
    /// The tasks it created, changed or found.
    pub tasks: Vec<Task>,
}

impl ChatReply {
    fn new(reply: impl Into<String>, tasks: Vec<Task>) -> Self {
        Self {
            reply: reply.into(),
            tasks,
        }
    }
}

/// The help text: what can be said.
pub const HELP: &str = "Try: \"pay rent every month on the 1st at 9am !high #home\", \
\"what is due this week\", \"complete pay rent\", \"move it to friday\", \"delete it\".";

/// Answers chat messages for the task use cases.
#[derive(Clone)]
pub struct ChatService {
    tasks: TaskService,
    users: Arc<dyn UserRepository>,
    conversations: Arc<dyn StateStore>,
    clock: Arc<dyn Clock>,
}

/// The task a command names, once looked up.
enum Found {
    One(Box<Task>),
    Several(Vec<Task>),
    None(String),
}

impl ChatService {
    /// Chat over `tasks`, reading each user's time zone from `users` and keeping conversations in
    /// `conversations`.
    pub fn new(
        tasks: TaskService,
        users: Arc<dyn UserRepository>,
        conversations: Arc<dyn StateStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            tasks,
            users,
            conversations,
            clock,
        }
    }

    /// Reads `message` from `user_id` and carries it out.
    ///
    /// # Errors
    ///
    /// [`TaskError::Invalid`] for a message longer than [`MAX_MESSAGE_CHARS`] or a task the message
    /// describes that breaks a rule (nothing changed); the use cases' errors otherwise.
    #[tracing::instrument(skip_all, fields(user_id = %user_id), err(level = "debug"))]
    pub async fn reply(&self, user_id: UserId, message: &str) -> Result<ChatReply, TaskError> {
        if message.chars().count() > MAX_MESSAGE_CHARS {
            return Err(ValidationError::new(
                "message",
                format!("must be at most {MAX_MESSAGE_CHARS} characters"),
            )
            .into());
        }
        let timezone = self.timezone(user_id).await?;
        let now = self.clock.now();
        let reply = match chat::understand(message, now, timezone) {
            Intent::Help => ChatReply::new(HELP, Vec::new()),
            Intent::Add(input) => {
                let task = self
                    .tasks
                    .create_task(user_id, NewTask::parse(input)?)
                    .await?;
                ChatReply::new(format!("Added {}.", described(&task, timezone)), vec![task])
            }
            Intent::List(params) => self.list(user_id, params, timezone).await?,
            Intent::Complete(target) => {
                match self.find(user_id, &target, Some(Status::Pending)).await? {
                    Found::One(task) => {
                        let done = self.tasks.complete_task(user_id, task.id).await?;
                        let mut reply = format!("Completed {}.", named(&done.task));
                        let mut tasks = vec![done.task];
                        if let Some(next) = done.next {
                            reply.push_str(&format!(" Next: {}.", when(&next, timezone)));
                            tasks.push(next);
                        }
                        ChatReply::new(reply, tasks)
                    }
                    other => other.into_reply(),
                }
            }
            Intent::Reopen(target) => {
                match self.find(user_id, &target, Some(Status::Completed)).await? {
                    Found::One(task) => {
                        let task = self.tasks.reopen_task(user_id, task.id).await?;
                        ChatReply::new(format!("Reopened {}.", named(&task)), vec![task])
                    }
                    other => other.into_reply(),
                }
            }
            Intent::Delete(target) => match self.find(user_id, &target, None).await? {
                Found::One(task) => {
                    self.tasks.delete_task(user_id, task.id).await?;
                    ChatReply::new(format!("Deleted {}.", named(&task)), vec![*task])
                }
                other => other.into_reply(),
            },
            Intent::Reschedule { target, due } => match self.find(user_id, &target, None).await? {
                Found::One(task) => {
                    let patch = TaskPatch {
                        due_date: Some(Some(due)),
                        ..TaskPatch::default()
                    };
                    let task = self.tasks.update_task(user_id, task.id, patch).await?;
                    ChatReply::new(
                        format!("Moved {} to {}.", named(&task), local(due, timezone)),
                        vec![task],
                    )
                }
                other => other.into_reply(),
            },
        };
        if let [task] = reply.tasks.as_slice() {
            self.remember(user_id, task.id).await?;
        }
        Ok(reply)
    }

    /// The user's time zone (UTC when the account is gone or has none set).
    async fn timezone(&self, user_id: UserId) -> Result<Tz, TaskError> {
        let user = self
            .users
            .user_by_id(user_id)
            .await
            .map_err(TaskError::from)?;
        Ok(user.map_or(chrono_tz::UTC, |u| u.settings.timezone.tz()))
    }

    async fn list(
        &self,
        user_id: UserId,
        mut params: QueryParams,
        timezone: Tz,
    ) -> Result<ChatReply, TaskError> {
        params.limit.get_or_insert_with(|| LISTED.to_string());
        let query = params.parse()?;
        let page = self.tasks.list_tasks(user_id, &query).await?;
        let reply = match page.items.as_slice() {
            [] => "Nothing matches.".to_owned(),
            [one] => format!("1 task: {}.", described(one, timezone)),
            items => {
                let more = if page.next_cursor.is_some() { "+" } else { "" };
                format!("{}{more} tasks.", items.len())
            }
        };
        Ok(ChatReply::new(reply, page.items))
    }

    /// The task `target` names, preferring tasks of `status`.
    async fn find(
        &self,
        user_id: UserId,
        target: &Target,
        status: Option<Status>,
    ) -> Result<Found, TaskError> {
        let words = match target {
            Target::LastMentioned => {
                return Ok(match self.last_mentioned(user_id).await? {
                    Some(id) => match self.tasks.get_task(user_id, id).await {
                        Ok(task) => Found::One(Box::new(task)),
                        Err(TaskError::NotFound) => Found::None(
                            "The task we talked about is gone. Which task? Say its name.".into(),
                        ),
                        Err(e) => return Err(e),
                    },
                    None => {
                        Found::None("Which task? Say its name, e.g. \"complete pay rent\".".into())
                    }
                })
            }
            Target::Named(words) => words,
        };
        let search = |status: Option<Status>| QueryParams {
            q: Some(words.clone()),
            status: status.map(|s| s.as_str().to_owned()),
            limit: Some("50".to_owned()),
            ..QueryParams::default()
        };
        let mut matches = self
            .tasks
            .list_tasks(user_id, &search(status).parse()?)
            .await?
            .items;
        if matches.is_empty() && status.is_some() {
            matches = self
                .tasks
                .list_tasks(user_id, &search(None).parse()?)
                .await?
                .items;
        }
        let exact: Vec<&Task> = matches
            .iter()
            .filter(|t| t.title.as_str().eq_ignore_ascii_case(words.trim()))
            .collect();
        Ok(match (exact.as_slice(), matches.len()) {
            ([task], _) => Found::One(Box::new((*task).clone())),
            (_, 0) => Found::None(format!("I found no task matching \"{words}\".")),
            (_, 1) => Found::One(Box::new(matches.remove(0))),
            _ => Found::Several(matches.into_iter().take(5).collect()),
        })
    }

    async fn last_mentioned(&self, user_id: UserId) -> Result<Option<TaskId>, TaskError> {
        let item = self
            .conversations
            .get(&conversation_key(user_id))
            .await
            .map_err(TaskError::from)?;
        Ok(item
            .and_then(|item| item.value.get("last_task")?.as_i64())
            .map(TaskId))
    }

    async fn remember(&self, user_id: UserId, id: TaskId) -> Result<(), TaskError> {
        self.conversations
            .save(
                &conversation_key(user_id),
                json!({ "last_task": id.0 }),
                Concurrency::Overwrite,
            )
            .await
            .map_err(TaskError::from)
    }
}

impl Found {
    /// The reply when no single task was found.
    fn into_reply(self) -> ChatReply {
        match self {
            Found::One(task) => ChatReply::new(named(&task), vec![*task]),
            Found::None(reply) => ChatReply::new(reply, Vec::new()),
            Found::Several(tasks) => {
                let names: Vec<String> = tasks.iter().map(named).collect();
                ChatReply::new(
                    format!("Which one? {}. Say its full title.", names.join(", ")),
                    tasks,
                )
            }
        }
    }
}

/// The key of a user's conversation in the state store.
pub fn conversation_key(user_id: UserId) -> String {
    format!("chat:{user_id}")
}

fn named(task: &Task) -> String {
    format!("\"{}\"", task.title.as_str())
}

/// `"Pay rent", due Fri 4 Dec 09:00, repeating`.
fn described(task: &Task, timezone: Tz) -> String {
    let mut line = named(task);
    if task.due_date.is_some() {
        line.push_str(&format!(", due {}", when(task, timezone)));
    }
    if task.recurrence.is_some() {
        line.push_str(", repeating");
    }
    line
}

fn when(task: &Task, timezone: Tz) -> String {
    task.due_date
        .map_or_else(|| "no date".to_owned(), |due| local(due, timezone))
}

fn local(at: DateTime<Utc>, timezone: Tz) -> String {
    at.with_timezone(&timezone)
        .format("%a %-d %b %H:%M")
        .to_string()
}

#[cfg(test)]
mod tests;
