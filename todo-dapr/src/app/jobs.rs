//! Job callbacks: `POST /job/{name}` from daprd when a job is due, handed to the [`JobHandler`]
//! registered for the job's name.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Value;
use todo_core::error::TaskError;
use todo_core::ports::HandleError;
use todo_core::usecases::{ReminderFiredHandler, ReminderPayload};
use tracing::{debug, error, info, info_span, warn, Instrument};

/// Handles a job that fell due. May be called more than once for one firing (the scheduler delivers
/// at least once), so it must be idempotent.
#[async_trait]
pub trait JobHandler: Send + Sync {
    /// Handles the job `name` with the data it was scheduled with. `Retry` asks the scheduler to call
    /// again later; `Drop` gives the firing up.
    async fn handle(&self, name: &str, data: Value) -> Result<(), HandleError>;
}

struct FnJobHandler<F>(F);

#[async_trait]
impl<F, Fut> JobHandler for FnJobHandler<F>
where
    F: Fn(String, Value) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), HandleError>> + Send,
{
    async fn handle(&self, name: &str, data: Value) -> Result<(), HandleError> {
        (self.0)(name.to_owned(), data).await
    }
}

/// A [`JobHandler`] from an async closure `(name, data) -> Result<(), HandleError>`.
pub fn job_fn<F, Fut>(f: F) -> Arc<dyn JobHandler>
where
    F: Fn(String, Value) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandleError>> + Send + 'static,
{
    Arc::new(FnJobHandler(f))
}

/// Reminder jobs (`reminder-task-{id}`) → [`ReminderFiredHandler`]: decodes the [`ReminderPayload`]
/// (undecodable: `Drop`), lets the use case drop stale firings and record this one, and asks for a
/// retry when a port is unavailable.
#[derive(Clone)]
pub struct ReminderJobHandler(pub ReminderFiredHandler);

#[async_trait]
impl JobHandler for ReminderJobHandler {
    async fn handle(&self, name: &str, data: Value) -> Result<(), HandleError> {
        let payload: ReminderPayload = serde_json::from_value(data)
            .map_err(|e| HandleError::Drop(format!("job {name}: not a reminder payload: {e}")))?;
        match self.0.handle(&payload).await {
            Ok(outcome) => {
                info!(job = name, task_id = %payload.task_id, ?outcome, "reminder job handled");
                Ok(())
            }
            Err(TaskError::Invalid(e)) => Err(HandleError::Drop(e.to_string())),
            Err(e) => Err(HandleError::Retry(e.to_string())),
        }
    }
}

/// Job handlers by name prefix, longest first.
pub(super) struct JobRoutes {
    handlers: Vec<(String, Arc<dyn JobHandler>)>,
}

impl JobRoutes {
    pub(super) fn new(mut handlers: Vec<(String, Arc<dyn JobHandler>)>) -> Self {
        handlers.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        Self { handlers }
    }

    fn handler(&self, name: &str) -> Option<&Arc<dyn JobHandler>> {
        self.handlers
            .iter()
            .find(|(prefix, _)| name.starts_with(prefix.as_str()))
            .map(|(_, handler)| handler)
    }
}

/// `POST /job/{name}`: 200 handled, 503 retry later, 404 give up (daprd does not retry a 404).
pub(super) async fn trigger(
    State(routes): State<Arc<JobRoutes>>,
    Path(name): Path<String>,
    body: Bytes,
) -> (StatusCode, String) {
    let Some(handler) = routes.handler(&name).cloned() else {
        warn!(job = %name, "no handler for this job");
        return (StatusCode::NOT_FOUND, format!("no handler for job {name}"));
    };
    let data = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(data) => data,
            Err(e) => {
                warn!(job = %name, error = %e, "job data is not JSON; dropped");
                return (StatusCode::NOT_FOUND, format!("job data is not JSON: {e}"));
            }
        }
    };
    let span = info_span!("job", job = %name);
    let job = name.clone();
    let outcome =
        tokio::spawn(async move { handler.handle(&job, data).await }.instrument(span)).await;
    match outcome {
        Ok(Ok(())) => {
            debug!(job = %name, "job handled");
            (StatusCode::OK, String::new())
        }
        Ok(Err(HandleError::Retry(reason))) => {
            warn!(job = %name, %reason, "job handler asked for a retry");
            (StatusCode::SERVICE_UNAVAILABLE, reason)
        }
        Ok(Err(HandleError::Drop(reason))) => {
            warn!(job = %name, %reason, "job dropped");
            (StatusCode::NOT_FOUND, reason)
        }
        Err(failure) => {
            error!(job = %name, %failure, "job handler failed; job dropped");
            (StatusCode::NOT_FOUND, "the job handler failed".to_owned())
        }
    }
}
