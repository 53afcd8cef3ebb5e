//! `todo-server mcp --stdio`: one local client (a desktop assistant that starts the server as its
//! child) on stdin/stdout, acting for the user of one token.
//!
//! Stdout carries only the protocol; the caller sends the logs to stderr. The service's background
//! work (the outbox relay, reminders, and in the embedded default the other roles) runs meanwhile,
//! and drains as after `serve` when the client closes stdin or the process is told to stop.

use std::future::Future;

use rmcp::ServiceExt;
use tokio_util::sync::CancellationToken;

use super::TaskTools;
use crate::app::Service;

/// Serves `tools` on stdin/stdout until the client closes stdin or `shutdown` resolves, then stops
/// `service`'s background work, letting each loop finish what it was doing.
///
/// # Errors
///
/// The client never completed the protocol's handshake, or the session failed.
pub async fn serve_stdio(
    service: Service,
    tools: TaskTools,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let Service {
        mut workers,
        shutdown: token,
        ..
    } = service;
    let session = CancellationToken::new();
    let served = async {
        let running = tools
            .serve_with_ct(rmcp::transport::stdio(), session.clone())
            .await
            .map_err(std::io::Error::other)?;
        tracing::info!("MCP client connected on stdio");
        running
            .waiting()
            .await
            .map(|reason| tracing::info!(?reason, "MCP client gone"))
            .map_err(std::io::Error::other)
    };
    let outcome = tokio::select! {
        outcome = served => outcome,
        () = shutdown => {
            session.cancel();
            Ok(())
        }
    };
    token.cancel();
    while workers.join_next().await.is_some() {}
    outcome
}
