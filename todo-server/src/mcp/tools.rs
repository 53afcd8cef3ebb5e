//! The nine tools: their catalogue (names, descriptions, input schemas derived from the types the REST
//! API parses) and one thin translation per tool from JSON arguments to a [`TaskService`] call and
//! back to the REST JSON plus a one-line summary.
//!
//! Every rule lives in the use case or in the parsing of `todo_core`'s input types; a broken rule
//! becomes an [`ApiError`], whose message is the one the REST API gives for the same input.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rmcp::handler::server::common::schema_for_type;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use todo_core::error::TaskError;
use todo_core::model::{NewTask, Task, TaskId, TaskInput, TaskPatch, TaskPatchInput, UserId};
use todo_core::ports::Clock;
use todo_core::query::QueryParams;
use todo_core::usecases::TaskService;

use crate::http::{ApiError, CompletionDto, TagCountDto, TagListDto, TaskJson, TaskPageBody};

/// What a successful tool call answers: the REST JSON and a line for people.
#[derive(Debug)]
pub(super) struct ToolAnswer {
    /// The REST API's JSON for the same operation (a JSON object).
    pub(super) structured: Value,
    /// One line, e.g. `Created task 12: Pay rent, due Mon 7 Dec 09:00`.
    pub(super) summary: String,
}

/// Why a tool call did not happen.
#[derive(Debug)]
pub(super) enum ToolFailure {
    /// No tool has this name (a protocol error, not a tool error).
    Unknown(String),
    /// The API's error for these arguments (a tool error the model can read and act on).
    Rejected(ApiError),
}

impl From<ApiError> for ToolFailure {
    fn from(error: ApiError) -> Self {
        ToolFailure::Rejected(error)
    }
}

impl From<TaskError> for ToolFailure {
    fn from(error: TaskError) -> Self {
        ToolFailure::Rejected(error.into())
    }
}

/// A task id: an integer, or its decimal text (what the REST path carries).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawTaskId {
    Number(i64),
    Text(String),
}

impl RawTaskId {
    /// Like the REST path: an id that is not a task number names no task of yours.
    fn parse(self) -> Result<TaskId, ApiError> {
        match self {
            RawTaskId::Number(id) => Ok(TaskId(id)),
            RawTaskId::Text(text) => {
                TaskId::from_str(text.trim()).map_err(|_| ApiError::not_found())
            }
        }
    }
}

/// `{"id"}`: the task to read, complete, reopen or delete.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct TaskIdArgs {
    /// The task's id.
    #[schemars(with = "i64")]
    id: RawTaskId,
}

/// `{"id", ...}`: the task to change and the fields of `PATCH /api/v1/tasks/{id}`. Only the schema
/// is derived from this type; the arguments are read as an id plus a strict [`TaskPatchInput`].
#[derive(JsonSchema)]
#[allow(dead_code)] // a schema, never built
struct UpdateTaskArgs {
    /// The task's id.
    #[schemars(with = "i64")]
    id: RawTaskId,
    #[serde(flatten)]
    patch: TaskPatchInput,
}

/// `{"text"}`: one line of plain words.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct QuickAddArgs {
    /// The task in plain words, e.g. "Pay rent every month on the 1st at 9am !high #home".
    text: String,
}

/// `{}`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NoArgs {}

/// The tools' definitions, in the order `tools/list` gives them.
pub(super) fn catalogue() -> Vec<Tool> {
    let read = || ToolAnnotations::new().read_only(true);
    let write = |idempotent| {
        ToolAnnotations::new()
            .read_only(false)
            .destructive(false)
            .idempotent(idempotent)
            .open_world(false)
    };
    vec![
        Tool::new(
            "add_task",
            "Creates a task. Arguments are the body of POST /api/v1/tasks: a title, and optionally \
             description, priority (high|medium|low), tags, due_date (RFC 3339), timezone (IANA), \
             remind_before (minutes) and recurrence (daily|weekly|monthly or {\"rrule\",\"anchor\"}).",
            schema_for_type::<TaskInput>(),
        )
        .with_annotations(write(false)),
        Tool::new(
            "list_tasks",
            "Lists your tasks: the query parameters of GET /api/v1/tasks (q, status, priority, tags, \
             tags_all, due_from, due_to, overdue, sort, order, limit, cursor). Answers {\"items\", \
             \"next_cursor\"}.",
            schema_for_type::<QueryParams>(),
        )
        .with_annotations(read()),
        Tool::new(
            "get_task",
            "One of your tasks by id.",
            schema_for_type::<TaskIdArgs>(),
        )
        .with_annotations(read()),
        Tool::new(
            "update_task",
            "Changes a task: its id and any fields of PATCH /api/v1/tasks/{id}; null clears a \
             nullable field (due_date, description, tags, remind_before, recurrence).",
            schema_for_type::<UpdateTaskArgs>(),
        )
        .with_annotations(write(true)),
        Tool::new(
            "complete_task",
            "Completes a task. Answers {\"task\", \"next\"}: next is the next occurrence of a \
             recurring task. Completing a completed task changes nothing.",
            schema_for_type::<TaskIdArgs>(),
        )
        .with_annotations(write(true)),
        Tool::new(
            "reopen_task",
            "Marks a completed task pending again.",
            schema_for_type::<TaskIdArgs>(),
        )
        .with_annotations(write(true)),
        Tool::new(
            "delete_task",
            "Deletes a task; deleting a recurring task ends its series.",
            schema_for_type::<TaskIdArgs>(),
        )
        .with_annotations(write(true).destructive(true)),
        Tool::new(
            "list_tags",
            "Your tags, each with how many tasks carry it.",
            schema_for_type::<NoArgs>(),
        )
        .with_annotations(read()),
        Tool::new(
            "quick_add",
            "Creates a task from one line of plain words, e.g. \"call mum tomorrow 6pm remind 30m \
             before\" or \"weekly review every friday 16:00 #work\".",
            schema_for_type::<QuickAddArgs>(),
        )
        .with_annotations(write(false)),
    ]
}

/// Calls tool `name` for `user`, whose time zone is `timezone`, with `arguments`.
pub(super) async fn call(
    tasks: &TaskService,
    clock: &Arc<dyn Clock>,
    (user, timezone): (UserId, chrono_tz::Tz),
    name: &str,
    arguments: JsonObject,
) -> Result<ToolAnswer, ToolFailure> {
    let answer = match name {
        "add_task" => {
            let new = NewTask::parse(parse(arguments)?).map_err(ApiError::invalid)?;
            created(&tasks.create_task(user, new).await?)
        }
        "list_tasks" => {
            let params: QueryParams = parse(query_strings(arguments))?;
            let query = params.parse().map_err(ApiError::bad_parameter)?;
            let page = tasks.list_tasks(user, &query).await?;
            let summary = listed(&page.items, page.next_cursor.is_some());
            answer(&TaskPageBody(page), summary)
        }
        "get_task" => {
            let task = tasks.get_task(user, task_id(arguments)?).await?;
            answer(&TaskJson(&task), format!("Task {}", described(&task)))
        }
        "update_task" => {
            let mut arguments = arguments;
            let id = arguments.remove("id").unwrap_or(Value::Null);
            let id = serde_json::from_value::<RawTaskId>(id)
                .map_err(|_| {
                    ApiError::bad_request("id", "`id`: expected the task's id (an integer)")
                })?
                .parse()?;
            let patch = TaskPatch::parse(parse(arguments)?).map_err(ApiError::invalid)?;
            let task = tasks.update_task(user, id, patch).await?;
            answer(
                &TaskJson(&task),
                format!("Updated task {}", described(&task)),
            )
        }
        "complete_task" => {
            let done = tasks.complete_task(user, task_id(arguments)?).await?;
            let mut summary = format!("Completed task {}", described(&done.task));
            if let Some(next) = &done.next {
                summary.push_str(&format!("; next occurrence: task {}", described(next)));
            }
            answer(&CompletionDto::from(done), summary)
        }
        "reopen_task" => {
            let task = tasks.reopen_task(user, task_id(arguments)?).await?;
            answer(
                &TaskJson(&task),
                format!("Reopened task {}", described(&task)),
            )
        }
        "delete_task" => {
            let id = task_id(arguments)?;
            tasks.delete_task(user, id).await?;
            ToolAnswer {
                structured: json!({ "id": id.0, "deleted": true }),
                summary: format!("Deleted task {id}"),
            }
        }
        "list_tags" => {
            let NoArgs {} = parse(arguments)?;
            let tags = tasks.list_tags(user).await?;
            let summary = match tags.len() {
                0 => "No tags".to_owned(),
                _ => tags
                    .iter()
                    .map(|t| format!("#{} ({})", t.tag.as_str(), t.count))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            let list = TagListDto {
                items: tags.iter().map(TagCountDto::from).collect(),
            };
            answer(&list, summary)
        }
        "quick_add" => {
            let QuickAddArgs { text } = parse(arguments)?;
            let input = todo_core::quick_add::parse(&text, clock.now(), timezone)
                .map_err(ApiError::invalid)?;
            let new = NewTask::parse(input).map_err(ApiError::invalid)?;
            created(&tasks.create_task(user, new).await?)
        }
        other => return Err(ToolFailure::Unknown(other.to_owned())),
    };
    Ok(answer)
}

/// Reads the arguments strictly, as the REST API reads a body: an unknown field or a wrong type is
/// the 400 error naming them.
fn parse<T: serde::de::DeserializeOwned>(arguments: JsonObject) -> Result<T, ApiError> {
    serde_json::from_value(Value::Object(arguments))
        .map_err(|e| ApiError::bad_request("arguments", format!("invalid arguments: {e}")))
}

fn task_id(arguments: JsonObject) -> Result<TaskId, ApiError> {
    parse::<TaskIdArgs>(arguments)?.id.parse()
}

/// Query parameters are text in a URL; a client that sends `"limit": 20` or `"overdue": true`
/// means the same as `limit=20` and `overdue=true`.
fn query_strings(mut arguments: JsonObject) -> JsonObject {
    for value in arguments.values_mut() {
        match value {
            Value::Number(n) => *value = Value::String(n.to_string()),
            Value::Bool(b) => *value = Value::String(b.to_string()),
            Value::Array(items) if items.iter().all(Value::is_string) => {
                let joined: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                *value = Value::String(joined.join(","));
            }
            _ => {}
        }
    }
    arguments
}

fn answer(value: &impl serde::Serialize, summary: String) -> ToolAnswer {
    ToolAnswer {
        structured: serde_json::to_value(value).unwrap_or(Value::Null),
        summary,
    }
}

fn created(task: &Task) -> ToolAnswer {
    answer(&TaskJson(task), format!("Created task {}", described(task)))
}

/// `12: Pay rent, due Mon 7 Dec 09:00` (the due date in the task's time zone), plus `(completed)`.
fn described(task: &Task) -> String {
    let mut line = format!("{}: {}", task.id, task.title.as_str());
    if let Some(due) = task.due_date {
        line.push_str(&format!(", due {}", local(due, task)));
    }
    if task.completed_at.is_some() {
        line.push_str(" (completed)");
    }
    line
}

fn local(at: DateTime<Utc>, task: &Task) -> String {
    at.with_timezone(&task.timezone.tz())
        .format("%a %-d %b %H:%M")
        .to_string()
}

fn listed(items: &[Task], more: bool) -> String {
    let count = match items.len() {
        0 => "No tasks".to_owned(),
        1 => "1 task".to_owned(),
        n => format!("{n} tasks"),
    };
    let shown: Vec<String> = items.iter().take(5).map(described).collect();
    let mut line = if shown.is_empty() {
        count
    } else {
        format!("{count}: {}", shown.join("; "))
    };
    if items.len() > shown.len() {
        line.push_str("; …");
    }
    if more {
        line.push_str(" (more: pass next_cursor as cursor)");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(value: Value) -> JsonObject {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn every_tool_has_an_object_input_schema() {
        let tools = catalogue();
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        assert_eq!(
            names,
            [
                "add_task",
                "list_tasks",
                "get_task",
                "update_task",
                "complete_task",
                "reopen_task",
                "delete_task",
                "list_tags",
                "quick_add"
            ]
        );
        for tool in &tools {
            assert_eq!(tool.input_schema["type"], "object", "{}", tool.name);
        }
    }

    #[test]
    fn the_update_schema_has_the_id_and_every_patch_field() {
        let tools = catalogue();
        let update = tools.iter().find(|t| t.name == "update_task").unwrap();
        let properties = update.input_schema["properties"].as_object().unwrap();
        let patch = serde_json::to_value(TaskPatchInput::default()).unwrap();
        for field in patch
            .as_object()
            .unwrap()
            .keys()
            .chain(["id".to_owned()].iter())
        {
            assert!(
                properties.contains_key(field),
                "{field} missing: {properties:?}"
            );
        }
        assert_eq!(update.input_schema["required"], json!(["id"]));
    }

    #[test]
    fn query_arguments_may_be_numbers_booleans_and_lists() {
        let params: QueryParams = parse(query_strings(object(
            json!({"limit": 20, "overdue": true, "tags": ["home", "work"], "q": "rent"}),
        )))
        .unwrap();
        assert_eq!(params.limit.as_deref(), Some("20"));
        assert_eq!(params.overdue.as_deref(), Some("true"));
        assert_eq!(params.tags.as_deref(), Some("home,work"));
        assert_eq!(params.q.as_deref(), Some("rent"));
    }

    #[test]
    fn an_unknown_argument_is_refused_naming_it() {
        let error = parse::<TaskIdArgs>(object(json!({"id": 1, "colour": "red"}))).unwrap_err();
        assert!(error.message().contains("colour"), "{}", error.message());
    }

    #[test]
    fn a_task_id_may_be_a_number_or_its_text() {
        let id = |v: Value| task_id(object(json!({ "id": v })));
        assert_eq!(id(json!(12)).unwrap(), TaskId(12));
        assert_eq!(id(json!("12")).unwrap(), TaskId(12));
        assert_eq!(id(json!("twelve")).unwrap_err().message(), "no such task");
    }
}
