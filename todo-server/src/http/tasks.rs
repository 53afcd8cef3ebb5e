//! The task routes: thin translations between HTTP and [`todo_core::usecases::TaskService`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use todo_core::model::{NewTask, TaskId, TaskInput, TaskPatch, TaskPatchInput};
use todo_core::query::QueryParams;

use super::dto::{
    AuditEntryDto, CompletionDto, HistoryDto, TagCountDto, TagListDto, TaskBody, TaskDto,
    TaskPageBody, TaskPageDto,
};
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiQuery, AuthUser};
use crate::app::AppState;

fn task_id(raw: &str) -> Result<TaskId, ApiError> {
    // Any id that is not a positive integer names no task of yours.
    raw.parse::<TaskId>().map_err(|_| ApiError::not_found())
}

/// Lists your tasks: search, filter, sort, paginate.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks",
    params(
        ("q" = Option<String>, Query, description = "search words; every word must occur in the title or description"),
        ("status" = Option<String>, Query, description = "pending | completed | all (default)"),
        ("priority" = Option<String>, Query, description = "comma-separated: high,medium,low (any of)"),
        ("tags" = Option<String>, Query, description = "comma-separated tags (any of)"),
        ("tags_all" = Option<String>, Query, description = "comma-separated tags (all of)"),
        ("due_from" = Option<String>, Query, description = "RFC 3339"),
        ("due_to" = Option<String>, Query, description = "RFC 3339"),
        ("overdue" = Option<bool>, Query, description = "only pending tasks past their due date"),
        ("sort" = Option<String>, Query, description = "due_date (default) | priority | created_at | title"),
        ("order" = Option<String>, Query, description = "asc (default) | desc"),
        ("limit" = Option<u32>, Query, description = "1..=200, default 50"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses((status = 200, body = TaskPageDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_tasks(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiQuery(params): ApiQuery<QueryParams>,
) -> Result<Json<TaskPageBody>, ApiError> {
    let query = params.parse().map_err(ApiError::bad_parameter)?;
    let page = state.tasks.list_tasks(user, &query).await?;
    Ok(Json(TaskPageBody(page)))
}

/// Creates a task.
#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks", request_body = TaskInput,
    responses((status = 201, body = TaskDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, description = "Storage or, with Dapr, the sidecar unavailable; nothing changed", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_task(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiJson(input): ApiJson<TaskInput>,
) -> Result<(StatusCode, Json<TaskBody>), ApiError> {
    let new = NewTask::parse(input).map_err(ApiError::invalid)?;
    let task = state.tasks.create_task(user, new).await?;
    Ok((StatusCode::CREATED, Json(TaskBody(task))))
}

/// One of your tasks.
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = i64, Path)),
    responses((status = 200, body = TaskDto), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_task(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<TaskBody>, ApiError> {
    let task = state.tasks.get_task(user, task_id(&id)?).await?;
    Ok(Json(TaskBody(task)))
}

/// Changes any writable field; `"due_date": null` clears the due date.
#[utoipa::path(patch, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = i64, Path)), request_body = TaskPatchInput,
    responses((status = 200, body = TaskDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, description = "Storage or, with Dapr, the sidecar unavailable; nothing changed", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_task(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<TaskPatchInput>,
) -> Result<Json<TaskBody>, ApiError> {
    let id = task_id(&id)?;
    let patch = TaskPatch::parse(input).map_err(ApiError::invalid)?;
    let task = state.tasks.update_task(user, id, patch).await?;
    Ok(Json(TaskBody(task)))
}

/// Deletes a task; deleting a recurring task ends its series.
#[utoipa::path(delete, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, description = "Storage or, with Dapr, the sidecar unavailable; nothing changed", body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_task(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.tasks.delete_task(user, task_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Completes a task; a recurring task's next occurrence is returned when it exists.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/complete", tag = "tasks", params(("id" = i64, Path)),
    responses((status = 200, body = CompletionDto), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, description = "Storage or, with Dapr, the sidecar unavailable; nothing changed", body = ErrorBody)), security(("bearer" = [])))]
pub async fn complete_task(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<CompletionDto>, ApiError> {
    let done = state.tasks.complete_task(user, task_id(&id)?).await?;
    Ok(Json(CompletionDto::from(done)))
}

/// Marks a completed task pending again.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/reopen", tag = "tasks", params(("id" = i64, Path)),
    responses((status = 200, body = TaskDto), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn reopen_task(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<TaskBody>, ApiError> {
    let task = state.tasks.reopen_task(user, task_id(&id)?).await?;
    Ok(Json(TaskBody(task)))
}

/// A task's audit history, oldest first.
///
/// The history is the append-only audit log: it outlives the task, so after a delete it still
/// answers, ending with the `deleted` entry.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/history", tag = "tasks", params(("id" = i64, Path)),
    responses((status = 200, body = HistoryDto), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn task_history(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<HistoryDto>, ApiError> {
    let entries = state.tasks.task_history(user, task_id(&id)?).await?;
    Ok(Json(HistoryDto {
        items: entries.iter().map(AuditEntryDto::from).collect(),
    }))
}

/// Your tags with counts.
#[utoipa::path(get, path = "/api/v1/tags", tag = "tasks",
    responses((status = 200, body = TagListDto), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_tags(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<TagListDto>, ApiError> {
    let tags = state.tasks.list_tags(user).await?;
    Ok(Json(TagListDto {
        items: tags.iter().map(TagCountDto::from).collect(),
    }))
}
