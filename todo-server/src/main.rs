//! `todo-server <service>`: see the crate docs of `todo_server`.
//!
//! Exit codes: 0 after a clean shutdown, 2 when the configuration or start-up fails (the message names
//! the variable or the dependency at fault), 1 when a running service fails.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use todo_core::error::chain;
use todo_server::compose::{self, Role};
use todo_server::config::Config;

#[derive(Parser)]
#[command(
    name = "todo-server",
    version,
    about = "An event-driven task manager: every service in one binary",
    after_help = todo_server::config::environment_help()
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Clone)]
enum Command {
    /// Every service in one process, no infrastructure needed (the default), on SQLite.
    All,
    #[command(flatten)]
    Service(Role),
    /// MCP server: the task operations as tools for AI assistants, at /mcp (Streamable HTTP).
    Mcp {
        /// Serve one local client on stdin/stdout instead, as the user of the token in TODO_TOKEN
        /// (logs go to stderr); on the embedded default storage unless DATABASE_URL is set.
        #[arg(long)]
        stdio: bool,
    },
    /// Applies the database migrations and exits (safe when run concurrently).
    Migrate,
    /// Writes a consistent copy of the SQLite database to PATH, also while the server runs.
    Backup {
        /// Where to write the copy; must not exist yet.
        path: PathBuf,
    },
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

/// Prints (to stderr) why the process cannot start, with the whole cause chain, and exits with 2.
fn refuse(service: &str, error: &(dyn std::error::Error + 'static)) -> ExitCode {
    eprintln!("todo-server {service}: {}", chain(error));
    ExitCode::from(2)
}

/// `todo-server mcp --stdio`: the service the configuration describes, serving MCP on stdin/stdout
/// instead of a port. On the in-process bus (TODO_BUS unset) that is the embedded default, every
/// role in this process as in `all` (which owns the data directory meanwhile); with Dapr or Kafka it
/// is the mcp role alone, beside the other services.
async fn serve_stdio(config: Config) -> ExitCode {
    const SERVICE: &str = "mcp --stdio";
    let Some(token) = config.stdio_token.clone() else {
        eprintln!(
            "todo-server {SERVICE}: needs TODO_TOKEN: the token of the user the tools act for \
             (from POST /api/v1/auth/login)"
        );
        return ExitCode::from(2);
    };
    let roles = match config.bus {
        todo_server::config::Bus::InProcess => Role::ALL.to_vec(),
        _ => vec![Role::Mcp],
    };
    let built = match compose::build(&roles, config).await {
        Ok(built) => built,
        Err(error) => return refuse(SERVICE, &error),
    };
    let mcp = built
        .mcp
        .clone()
        .expect("every role set built here has the mcp role");
    let tools = match mcp.for_token(&token) {
        Ok(tools) => tools,
        Err(error) => {
            eprintln!("todo-server {SERVICE}: TODO_TOKEN: {error}");
            return ExitCode::from(2);
        }
    };
    let outcome = todo_server::mcp::serve_stdio(built, tools, shutdown_signal()).await;
    let code = match outcome {
        Ok(()) => 0,
        Err(error) => {
            tracing::error!(error = %chain(&error), "MCP on stdio failed");
            1
        }
    };
    // A read of stdin cannot be cancelled, so the runtime would wait for the client's next line.
    std::process::exit(code);
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::All);
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("todo-server: {error}");
            return ExitCode::from(2);
        }
    };
    // On stdio, stdout carries the protocol: the logs go to stderr.
    let stdio = matches!(command, Command::Mcp { stdio: true });
    let logs = tracing_subscriber::fmt().with_env_filter(config.log.filter.as_str());
    if stdio {
        logs.with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .init();
    } else {
        logs.with_ansi(std::io::stdout().is_terminal()).init();
    }

    let roles: Vec<Role> = match command {
        Command::Migrate => {
            return match compose::migrate(&config.storage).await {
                Ok(()) => {
                    println!("database schema is up to date");
                    ExitCode::SUCCESS
                }
                Err(error) => refuse("migrate", &error),
            };
        }
        Command::Backup { path } => {
            return match compose::backup(&config.storage, &path).await {
                Ok(backup) => {
                    println!(
                        "backup of {} written to {} ({} bytes)",
                        config.storage.redacted(),
                        backup.path.display(),
                        backup.bytes
                    );
                    ExitCode::SUCCESS
                }
                Err(error) => refuse("backup", &error),
            };
        }
        Command::All => Role::ALL.to_vec(),
        Command::Service(role) => vec![role],
        Command::Mcp { stdio: false } => vec![Role::Mcp],
        Command::Mcp { stdio: true } => return serve_stdio(config).await,
    };
    let service = compose::service_name(&roles);
    let addr = config.addr;
    let storage = config.storage.clone();
    let built = match compose::build(&roles, config).await {
        Ok(built) => built,
        Err(error) => return refuse(service, &error),
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("todo-server {service}: cannot listen on {addr} (TODO_ADDR): {error}");
            return ExitCode::from(2);
        }
    };
    let url = listener
        .local_addr()
        .map_or_else(|_| addr.to_string(), |a| format!("http://{a}"));
    tracing::info!(%url, service, "listening");
    if service == "all" {
        println!("todo is running at {url}  (API docs: {url}/docs, Ctrl-C stops it)");
        if let todo_server::config::Storage::Sqlite(sqlite) = &storage {
            println!("data: {}", sqlite.path.display());
        }
    }
    // Shutdown is bounded whatever is down: past SHUTDOWN_LIMIT after the signal, the process exits
    // with what is unfinished left in the outbox, relayed on the next start.
    let signalled = tokio_util::sync::CancellationToken::new();
    let signal = {
        let signalled = signalled.clone();
        async move {
            shutdown_signal().await;
            signalled.cancel();
        }
    };
    tokio::select! {
        served = todo_server::serve(built, listener, signal) => match served {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!(error = %chain(&error), "server failed");
                ExitCode::FAILURE
            }
        },
        () = async {
            signalled.cancelled().await;
            tokio::time::sleep(SHUTDOWN_LIMIT).await;
        } => {
            tracing::error!(limit = ?SHUTDOWN_LIMIT, "shutdown did not finish in time; exiting with work abandoned (unhandled events stay in the outbox)");
            // Returning would wait for blocking tasks (a SQLite call) without a bound.
            std::process::exit(1);
        }
    }
}

/// How long a shutdown may take after SIGTERM or Ctrl-C before the process exits regardless.
const SHUTDOWN_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);
