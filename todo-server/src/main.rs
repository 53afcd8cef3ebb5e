//! `todo-server <service>`: see the crate docs of `todo_server`.

use clap::{Parser, Subcommand};
use todo_server::config::Config;
use todo_server::services::Role;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "todo-server",
    version,
    about = "An event-driven task manager: every service in one binary"
)]
struct Cli {
    #[command(subcommand)]
    service: Option<Service>,
}

#[derive(Subcommand, Clone, Copy, PartialEq, Eq)]
enum Service {
    /// Every service in one process (the default).
    All,
    /// REST API, SSE stream, reminder job callbacks.
    Api,
    /// Creates next occurrences of recurring tasks (consumes task-events).
    Recurring,
    /// Delivers reminders (consumes reminders).
    Notification,
    /// Keeps the audit log (consumes task-events).
    Audit,
    /// MCP server exposing the task operations as tools.
    Mcp,
    /// Applies database migrations and exits.
    Migrate,
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("TODO_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(2);
        }
    };
    match cli.service.unwrap_or(Service::All) {
        Service::All => {
            let addr = config.addr;
            let service = todo_server::app::build_all(config).await?;
            let listener = tokio::net::TcpListener::bind(addr).await?;
            let url = format!("http://{}", listener.local_addr()?);
            tracing::info!(%url, "todo-server all: every service in one process");
            println!("todo is running at {url}  (API docs: {url}/docs, Ctrl-C stops it)");
            todo_server::serve(service, listener, shutdown_signal()).await?;
        }
        Service::Migrate => {
            todo_server::app::migrate(&config).await?;
            println!("migrations applied");
        }
        Service::Mcp => {
            eprintln!(
                "`todo-server mcp` is not part of this build yet: the MCP server has its own issue"
            );
            std::process::exit(2);
        }
        distributed => {
            let role = match distributed {
                Service::Api => Role::Api,
                Service::Recurring => Role::Recurring,
                Service::Notification => Role::Notification,
                _ => Role::Audit,
            };
            let addr = config.addr;
            let service = match todo_server::services::build(role, config).await {
                Ok(service) => service,
                Err(error) => {
                    eprintln!("todo-server {}: {error}", role.name());
                    std::process::exit(2);
                }
            };
            let listener = tokio::net::TcpListener::bind(addr).await?;
            let url = format!("http://{}", listener.local_addr()?);
            tracing::info!(%url, service = role.name(), "listening");
            todo_server::serve(service, listener, shutdown_signal()).await?;
        }
    }
    Ok(())
}
