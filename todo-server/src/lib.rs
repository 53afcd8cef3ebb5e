//! The reference server: one binary whose subcommands are the services of the task manager.
//!
//! `todo-server` (or `todo-server all`) runs everything in one process on the in-process bus and a
//! SQLite file in the data directory: the embedded default that needs no infrastructure. The modules:
//!
//! - [`config`]: typed configuration, read from the environment once, in `main`;
//! - [`compose`]: the one builder: a set of roles over a transport and a store becomes a service;
//! - [`app`]: what a built service is (routes, background work, the handlers' shared state);
//! - [`http`]: the REST API, SSE stream, OpenAPI document and operations routes;
//! - [`mcp`]: the MCP server: the task operations as tools, at `/mcp` or on stdio;
//! - [`auth`]: accounts, password hashes and tokens;
//! - [`stream`]: per-user fan-out of live events;
//! - [`runtime`]: the outbox relay, reminder firing and reconciliation loops;
//! - [`metrics`]: Prometheus metrics;
//! - [`transport`]: how events travel between roles: in process, Dapr, or Kafka (feature `kafka`).
#![forbid(unsafe_code)]

pub mod app;
pub mod auth;
pub mod channels;
pub mod chat;
pub mod compose;
pub mod config;
pub mod http;
pub mod mcp;
pub mod metrics;
pub mod runtime;
pub mod stream;
pub mod transport;

/// With the `mimalloc` feature, mimalloc instead of the system allocator: 8-20 % less server CPU
/// per request under the API load, but about 10 MiB more resident memory (it keeps freed memory
/// committed), which the default build's memory target cannot afford (docs/benchmarks.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;

use tokio::net::TcpListener;

/// Serves `service` on `listener` until `shutdown` resolves, then stops the background work, letting
/// each loop finish what it was doing (the outbox relay drains).
pub async fn serve(
    service: app::Service,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app::Service {
        router,
        mut workers,
        shutdown: token,
        closing,
        ..
    } = service;
    let router = router.into_make_service_with_connect_info::<SocketAddr>();
    let stop = token.clone();
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            tokio::select! {
                () = shutdown => {}
                () = stop.cancelled() => {}
            }
            // Requests in flight finish; open event streams end now.
            closing.cancel();
        })
        .await?;
    token.cancel();
    while workers.join_next().await.is_some() {}
    Ok(())
}
