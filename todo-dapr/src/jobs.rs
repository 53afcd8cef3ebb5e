//! [`Scheduler`] on Dapr's Jobs API (`/v1.0/jobs/{name}`, stable since 1.15, served by the Dapr
//! scheduler service): one-shot jobs at a `dueTime`, replaced on reschedule, deleted on cancel.
//!
//! When a job is due, daprd calls the app at `POST /job/{name}` with the job's data as the JSON body
//! (see [`crate::app`]). Jobs belong to the app id of the sidecar that scheduled them.

use std::time::Duration;

use async_trait::async_trait;
use chrono::SecondsFormat;
use reqwest::Method;
use serde_json::{json, Value};
use todo_core::ports::{Job, PortResult, Scheduler};
use tracing::debug;

use crate::client::{ApiRequest, DaprClient, Retry};
use crate::error::DaprError;

/// What the scheduler does when the app's job callback fails (answers anything but 2xx or 404).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobRetry {
    /// Try again every `interval`, at most `max_retries` times (`None`: forever).
    Constant {
        /// Pause between attempts.
        interval: Duration,
        /// Retries after the first attempt.
        max_retries: Option<u32>,
    },
    /// Do not retry: the firing is lost.
    Drop,
}

impl Default for JobRetry {
    /// Every 5 s for a minute (12 retries): a database blip does not lose a reminder, and the
    /// reconciler covers longer outages. (Dapr's own default is 3 retries 1 s apart.)
    fn default() -> Self {
        JobRetry::Constant {
            interval: Duration::from_secs(5),
            max_retries: Some(12),
        }
    }
}

impl JobRetry {
    fn to_json(&self) -> Value {
        match self {
            JobRetry::Constant {
                interval,
                max_retries,
            } => {
                let mut constant = json!({ "interval": format!("{}s", interval.as_secs_f64()) });
                if let Some(max) = max_retries {
                    constant["maxRetries"] = json!(max);
                }
                json!({ "constant": constant })
            }
            JobRetry::Drop => json!({ "drop": {} }),
        }
    }
}

/// Schedules named one-shot jobs through the sidecar.
///
/// - `schedule` sends `{"dueTime": <RFC 3339>, "data": payload, "overwrite": true}`: Dapr 1.18 refuses
///   a second job of the same name unless `overwrite` is set, so a reschedule replaces the job. A due
///   time in the past fires at once.
/// - `cancel` deletes the job; deleting a job that does not exist succeeds.
/// - The payload goes through protobuf's `Value`: numbers come back as JSON numbers of double
///   precision (integers up to 2^53 are exact), objects may come back with their keys reordered.
#[derive(Debug, Clone)]
pub struct DaprScheduler {
    client: DaprClient,
    retry: JobRetry,
}

impl DaprScheduler {
    /// A scheduler over `client` with the default [`JobRetry`].
    #[must_use]
    pub fn new(client: DaprClient) -> Self {
        Self {
            client,
            retry: JobRetry::default(),
        }
    }

    /// Another failure policy for the job callbacks.
    #[must_use]
    pub fn with_retry(mut self, retry: JobRetry) -> Self {
        self.retry = retry;
        self
    }

    /// Schedules `job`, replacing a job of the same name.
    pub async fn try_schedule(&self, job: &Job) -> Result<(), DaprError> {
        let body = json!({
            "dueTime": job.due.to_rfc3339_opts(SecondsFormat::Millis, true),
            "data": job.payload,
            "overwrite": true,
            "failurePolicy": self.retry.to_json(),
        });
        let url = self.client.url(&["v1.0", "jobs", &job.name]);
        let request = ApiRequest::new("schedule job", Method::POST, url)
            .json(&body)
            .retry(Retry::Idempotent);
        let response = self.client.send(request).await?;
        if response.status.is_success() {
            debug!(job = %job.name, due = %job.due, "job scheduled");
            Ok(())
        } else {
            Err(self.client.api_error("schedule job", &response))
        }
    }

    /// Deletes the job called `name`, if it exists.
    pub async fn try_cancel(&self, name: &str) -> Result<(), DaprError> {
        let url = self.client.url(&["v1.0", "jobs", name]);
        let request = ApiRequest::new("delete job", Method::DELETE, url).retry(Retry::Idempotent);
        let response = self.client.send(request).await?;
        if response.status.is_success() || response.status.as_u16() == 404 {
            debug!(job = %name, "job deleted");
            Ok(())
        } else {
            Err(self.client.api_error("delete job", &response))
        }
    }

    /// The job called `name` as the scheduler holds it (Dapr's JSON: `dueTime`, `data`, ...), or
    /// `None` if there is none.
    pub async fn get(&self, name: &str) -> Result<Option<Value>, DaprError> {
        let url = self.client.url(&["v1.0", "jobs", name]);
        let response = self
            .client
            .send(
                ApiRequest::new("get job", Method::GET, url)
                    .keep_if(|r| r.body_text().contains("not found")),
            )
            .await?;
        match response.status.as_u16() {
            200 => Ok(Some(response.json("get job")?)),
            204 | 404 => Ok(None),
            500 if response.body_text().contains("not found") => Ok(None),
            _ => Err(self.client.api_error("get job", &response)),
        }
    }
}

#[async_trait]
impl Scheduler for DaprScheduler {
    async fn schedule(&self, job: Job) -> PortResult<()> {
        Ok(self.try_schedule(&job).await?)
    }

    async fn cancel(&self, name: &str) -> PortResult<()> {
        Ok(self.try_cancel(name).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_policies_have_dapr_s_json_shape() {
        assert_eq!(
            JobRetry::default().to_json(),
            json!({ "constant": { "interval": "5s", "maxRetries": 12 } })
        );
        assert_eq!(
            JobRetry::Constant {
                interval: Duration::from_millis(1500),
                max_retries: None
            }
            .to_json(),
            json!({ "constant": { "interval": "1.5s" } })
        );
        assert_eq!(JobRetry::Drop.to_json(), json!({ "drop": {} }));
    }
}
