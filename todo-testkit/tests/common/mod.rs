//! A tiny Dapr app for the proof tests: declares one subscription programmatically
//! (`GET /dapr/subscribe`), records the CloudEvents it receives and the job callbacks
//! (`POST /job/{name}`) daprd delivers.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// One job callback: its name, when it arrived, and its body.
pub struct JobCall {
    pub name: String,
    pub at: Instant,
    pub data: Value,
}

/// A running test app.
pub struct App {
    pub port: u16,
    pub events: mpsc::UnboundedReceiver<Value>,
    pub jobs: mpsc::UnboundedReceiver<JobCall>,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct AppState {
    topic: String,
    events: mpsc::UnboundedSender<Value>,
    jobs: mpsc::UnboundedSender<JobCall>,
}

impl App {
    /// Starts the app on a free port, subscribed to `topic` on the `kafka-pubsub` component.
    pub async fn start(topic: &str) -> anyhow::Result<Self> {
        let (events_tx, events) = mpsc::unbounded_channel();
        let (jobs_tx, jobs) = mpsc::unbounded_channel();
        let state = AppState {
            topic: topic.to_owned(),
            events: events_tx,
            jobs: jobs_tx,
        };
        let router = Router::new()
            .route("/dapr/subscribe", get(subscriptions))
            .route("/events", post(event))
            .route("/job/{name}", post(job))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self {
            port,
            events,
            jobs,
            server,
        })
    }

    /// The next CloudEvent, or an error after `timeout`.
    pub async fn next_event(&mut self, timeout: Duration) -> anyhow::Result<Value> {
        tokio::time::timeout(timeout, self.events.recv())
            .await
            .map_err(|_| anyhow::anyhow!("no event within {timeout:?}"))?
            .ok_or_else(|| anyhow::anyhow!("app stopped"))
    }

    /// The next job callback, or an error after `timeout`.
    pub async fn next_job(&mut self, timeout: Duration) -> anyhow::Result<JobCall> {
        tokio::time::timeout(timeout, self.jobs.recv())
            .await
            .map_err(|_| anyhow::anyhow!("no job callback within {timeout:?}"))?
            .ok_or_else(|| anyhow::anyhow!("app stopped"))
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn subscriptions(State(state): State<AppState>) -> Json<Value> {
    Json(json!([{ "pubsubname": "kafka-pubsub", "topic": state.topic, "route": "/events" }]))
}

// CloudEvents arrive as application/cloudevents+json, which axum's Json extractor refuses.
async fn event(State(state): State<AppState>, body: Bytes) -> Json<Value> {
    match serde_json::from_slice::<Value>(&body) {
        Ok(event) => {
            let _ = state.events.send(event);
            Json(json!({ "status": "SUCCESS" }))
        }
        Err(_) => Json(json!({ "status": "DROP" })),
    }
}

async fn job(State(state): State<AppState>, Path(name): Path<String>, body: Bytes) -> &'static str {
    let data = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let _ = state.jobs.send(JobCall {
        name,
        at: Instant::now(),
        data,
    });
    ""
}
