//! Job callbacks: `POST /job/{name}` from daprd when a job is due, handed to the [`JobHandler`]
//! registered for the job's name.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Value;
use todo_core::error::{chain, TaskError};
use todo_core::ports::HandleError;
use todo_core::usecases::{ReminderFiredHandler, ReminderOutcome, ReminderPayload};
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

/// What happened to one reminder job, as an observer of [`ReminderJobHandler`] sees it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum ReminderFiring<'a> {
    /// The job's data was not a [`ReminderPayload`]; the job is dropped.
    Malformed(&'a serde_json::Error),
    /// The use case handled the payload: an outcome (sent, or dropped as stale), or a failure the
    /// scheduler is asked to retry.
    Handled {
        /// The decoded job data.
        payload: &'a ReminderPayload,
        /// What the use case answered.
        result: &'a Result<ReminderOutcome, TaskError>,
    },
}

/// A callback told about every reminder job [`ReminderJobHandler`] handles (e.g. to record metrics).
pub type ReminderObserver = Arc<dyn Fn(ReminderFiring<'_>) + Send + Sync>;

/// Reminder jobs (`reminder-task-{id}`) → [`ReminderFiredHandler`]: decodes the [`ReminderPayload`]
/// (undecodable: `Drop`), lets the use case drop stale firings and record this one, and asks for a
/// retry when a port is unavailable. An optional observer sees each firing's outcome.
#[derive(Clone)]
pub struct ReminderJobHandler {
    handler: ReminderFiredHandler,
    observer: Option<ReminderObserver>,
}

impl ReminderJobHandler {
    /// Hands reminder jobs to `handler`.
    pub fn new(handler: ReminderFiredHandler) -> Self {
        Self {
            handler,
            observer: None,
        }
    }

    /// Calls `observer` after each job, with the decoded payload and the use case's answer (or the
    /// decoding error). Replaces any earlier observer.
    #[must_use]
    pub fn observe(
        mut self,
        observer: impl Fn(ReminderFiring<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    fn notify(&self, firing: ReminderFiring<'_>) {
        if let Some(observer) = &self.observer {
            observer(firing);
        }
    }
}

impl std::fmt::Debug for ReminderJobHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReminderJobHandler")
            .field("observed", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl JobHandler for ReminderJobHandler {
    #[tracing::instrument(name = "reminder_job", skip_all, fields(job = name, task_id, user_id))]
    async fn handle(&self, name: &str, data: Value) -> Result<(), HandleError> {
        let payload: ReminderPayload = match serde_json::from_value(data) {
            Ok(payload) => payload,
            Err(e) => {
                self.notify(ReminderFiring::Malformed(&e));
                return Err(HandleError::dropped("decoding the reminder job's data", e));
            }
        };
        let span = tracing::Span::current();
        span.record("task_id", tracing::field::display(payload.task_id));
        span.record("user_id", tracing::field::display(payload.user_id));
        let result = self.handler.handle(&payload).await;
        self.notify(ReminderFiring::Handled {
            payload: &payload,
            result: &result,
        });
        match result {
            Ok(outcome) => {
                info!(?outcome, "reminder job handled");
                Ok(())
            }
            Err(e) => Err(HandleError::from_task_error(
                "handling the reminder firing",
                e,
            )),
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
        Ok(Err(error @ HandleError::Retry { .. })) => {
            warn!(job = %name, error = %chain(&error), "job handler asked for a retry");
            (StatusCode::SERVICE_UNAVAILABLE, error.to_string())
        }
        Ok(Err(error @ HandleError::Drop { .. })) => {
            warn!(job = %name, error = %chain(&error), "job dropped");
            (StatusCode::NOT_FOUND, error.to_string())
        }
        Err(failure) => {
            error!(job = %name, %failure, "job handler failed; job dropped");
            (StatusCode::NOT_FOUND, "the job handler failed".to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::json;
    use todo_core::memory::{InMemoryTaskRepository, ManualClock};

    use super::*;

    /// A handler whose observer writes down what it saw, one line per job.
    fn observed() -> (ReminderJobHandler, Arc<Mutex<Vec<String>>>) {
        let start = chrono::DateTime::parse_from_rfc3339("2026-03-02T08:00:00Z")
            .unwrap()
            .to_utc();
        let clock = Arc::new(ManualClock::new(start));
        let repo = Arc::new(InMemoryTaskRepository::with_clock(clock.clone()));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let handler = ReminderJobHandler::new(ReminderFiredHandler::new(repo, clock)).observe(
            move |firing| {
                let line = match firing {
                    ReminderFiring::Malformed(_) => "malformed".to_owned(),
                    ReminderFiring::Handled { payload, result } => {
                        format!("task {}: {result:?}", payload.task_id)
                    }
                };
                sink.lock().unwrap().push(line);
            },
        );
        (handler, seen)
    }

    #[tokio::test]
    async fn the_observer_sees_each_firings_outcome() {
        let (handler, seen) = observed();
        let payload = json!({
            "task_id": 7,
            "user_id": "00000000-0000-0000-0000-000000000001",
            "due_at": "2026-03-02T09:00:00Z",
            "remind_at": "2026-03-02T08:00:00Z",
        });
        handler.handle("reminder-task-7", payload).await.unwrap();
        assert_eq!(*seen.lock().unwrap(), vec!["task 7: Ok(DroppedMissing)"]);
    }

    #[tokio::test]
    async fn undecodable_job_data_is_dropped_and_observed() {
        let (handler, seen) = observed();
        let result = handler
            .handle("reminder-task-7", json!({"task_id": "seven"}))
            .await;
        assert!(
            matches!(&result, Err(HandleError::Drop { .. })),
            "{result:?}"
        );
        assert_eq!(*seen.lock().unwrap(), vec!["malformed"]);
    }
}
