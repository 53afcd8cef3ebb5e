//! Configuration: environment variables (optionally preloaded from a `KEY=VALUE` file named by
//! `TODO_CONFIG_FILE`), parsed once at start into typed structs. Nothing else in the server reads the
//! environment. A bad value stops the process with a message naming the variable.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use todo_dapr::DaprConfig;
use todo_sqlite::Durability;

/// Where tasks are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// In process; lost on exit (`DATABASE_URL=memory:`, for tests and demos).
    Memory,
    /// A SQLite database file: the embedded default.
    Sqlite(SqliteSettings),
    /// PostgreSQL (`postgres://` or `postgresql://`).
    Postgres(PostgresSettings),
}

/// The PostgreSQL database and how many connections to it a process holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresSettings {
    /// `DATABASE_URL`.
    pub url: String,
    /// `TODO_DB_POOL_SIZE`: connections for writes and short reads (default 10); page queries have
    /// as many again (see `todo_postgres::PostgresTaskRepository`). Mind the server's
    /// `max_connections` across replicas.
    pub pool_size: u32,
}

/// The embedded default's database file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteSettings {
    /// `DATABASE_URL=sqlite://PATH`, else `todo.db` in `TODO_DATA_DIR` (default: the platform's data
    /// directory, e.g. `~/.local/share/todo`).
    pub path: PathBuf,
    /// `TODO_SQLITE_SYNC`: `normal` (default: survives a crash of the process; a power loss may undo
    /// the last commits) or `full` (an `fsync` per commit).
    pub durability: Durability,
}

impl SqliteSettings {
    /// The JWT signing key generated for this database, kept beside it: `PATH.jwt-key`.
    pub fn signing_key_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".jwt-key");
        PathBuf::from(name)
    }
}

impl Storage {
    /// The storage's address without its password, for logs and error messages.
    pub fn redacted(&self) -> String {
        match self {
            Storage::Memory => "memory".to_owned(),
            Storage::Sqlite(sqlite) => format!("sqlite://{}", sqlite.path.display()),
            Storage::Postgres(postgres) => redact_password(&postgres.url),
        }
    }
}

/// Which transport carries the events between the roles.
#[derive(Debug, Clone)]
pub enum Bus {
    /// In process: only the roles of one `todo-server all` process talk to each other.
    InProcess,
    /// Dapr pub/sub, jobs, state and secrets through the sidecar.
    Dapr(Box<DaprSettings>),
    /// Apache Kafka directly (the `kafka` cargo feature).
    Kafka(KafkaSettings),
}

impl Bus {
    /// The name `TODO_BUS` gives this transport.
    pub fn name(&self) -> &'static str {
        match self {
            Bus::InProcess => "memory",
            Bus::Dapr(_) => "dapr",
            Bus::Kafka(_) => "kafka",
        }
    }
}

/// How the service reaches its sidecar and how the sidecar proves itself to the service.
#[derive(Debug, Clone)]
pub struct DaprSettings {
    /// `DAPR_HTTP_ENDPOINT` / `DAPR_HTTP_PORT`, `DAPR_API_TOKEN`: the sidecar's HTTP API.
    pub client: DaprConfig,
    /// `APP_API_TOKEN`: the token daprd sends on its calls to the app (none: calls are not checked).
    pub app_api_token: Option<String>,
    /// `TODO_MCP_APP_ID`: the Dapr app id of the MCP service, which the API invokes to answer chat
    /// (default `todo-mcp`).
    pub mcp_app_id: String,
}

/// Where the Kafka brokers are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaSettings {
    /// `TODO_KAFKA_BROKERS`: bootstrap servers, comma-separated.
    pub brokers: String,
}

/// Accounts and tokens.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// `TODO_JWT_SECRET`: HMAC key for tokens. Unset: the secret store's key with Dapr, a key kept
    /// beside the SQLite file, a random key per process in `all` otherwise; required by `api` with
    /// Kafka (see `compose::signing_key`).
    pub jwt_secret: Option<String>,
    /// `TODO_JWT_TTL_MINUTES`: token lifetime.
    pub jwt_ttl: Duration,
    /// `TODO_AUTH_RATE_PER_MINUTE`: sign-up/login attempts per client address per minute.
    pub rate_per_minute: u32,
}

/// What the HTTP layer accepts.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// `TODO_CORS_ORIGINS`: comma-separated allowed origins; none by default.
    pub cors_origins: Vec<String>,
    /// `TODO_BODY_LIMIT_BYTES`: largest request body.
    pub body_limit: usize,
    /// `TODO_PUBLIC_URL`: the server's address as clients reach it (`https://todo.example.com`), for
    /// links it hands out such as calendar feed URLs; unset, they are built from the request's `Host`.
    pub public_url: Option<String>,
}

/// How the process logs.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// `TODO_LOG`: a `tracing` filter (`info`, `todo_server=debug,info`, ...); checked at parse time.
    pub filter: String,
}

/// Web Push (SPEC §14; see `compose::vapid_key` for where the key comes from).
#[derive(Debug, Clone)]
pub struct PushConfig {
    /// `TODO_VAPID_PRIVATE_KEY`: the VAPID private key (32 bytes base64url, or PEM). Unset: the
    /// secret store's `vapid-private-key` with Dapr, a key kept beside the SQLite file, a random
    /// key per process otherwise.
    pub vapid_key: Option<todo_push::VapidKey>,
    /// `TODO_VAPID_SUBJECT`: the contact push services see (`mailto:` or `https:` URL).
    pub subject: String,
    /// `TODO_PUSH_ALLOW_PRIVATE_ENDPOINTS=1`: **tests only**, accept and send to push endpoints on
    /// loopback, private and link-local addresses (the SSRF guard off).
    pub allow_private_endpoints: bool,
    /// `TODO_PUSH_CA_FILE`: **tests only**, a PEM file of extra root certificates trusted for push
    /// services (a local push service's self-signed certificate).
    pub extra_roots_pem: Option<Vec<u8>>,
}

/// The server's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `TODO_ADDR`: where to listen.
    pub addr: SocketAddr,
    /// `DATABASE_URL` (or `TODO_DATA_DIR`, `TODO_SQLITE_SYNC` for the default SQLite file).
    pub storage: Storage,
    /// `TODO_BUS` and the transport's own settings.
    pub bus: Bus,
    /// Accounts and tokens.
    pub auth: AuthSettings,
    /// The HTTP layer.
    pub http: HttpSettings,
    /// Logging.
    pub log: LogSettings,
    /// `TODO_REPLICA_ID`: this process among the replicas of its service (default: the host name,
    /// which Kubernetes sets to the pod name). Names its broadcast consumer groups.
    pub replica_id: String,
    /// `TODO_RECONCILE_SECONDS`: how often the API re-schedules every pending reminder from the
    /// database.
    pub reconcile_interval: Duration,
    /// `TODO_OUTBOX_RETENTION_HOURS`: how long sent events stay in the outbox (for inspection)
    /// before the relay deletes them.
    pub outbox_retention: Duration,
    /// Web Push.
    pub push: PushConfig,
    /// Reminders by email.
    pub email: EmailSettings,
    /// `TODO_TOKEN`: for `mcp --stdio`, the token of the user the tools act for.
    pub stdio_token: Option<String>,
}

/// Where reminder emails go out (SPEC §14).
#[derive(Debug, Clone)]
pub struct EmailSettings {
    /// `TODO_SMTP_URL`: `smtp://user:pass@host:port` (plain, or STARTTLS with `?tls=required`) or
    /// `smtps://…` (TLS). Unset: with Dapr, the secret `smtp-url`; otherwise email is off.
    pub smtp_url: Option<String>,
    /// `TODO_MAIL_FROM`: the sender (default `todo <todo@localhost>`).
    pub mail_from: String,
}

/// Every environment variable the server reads, with what it does: `todo-server --help` prints this
/// list, and the deployment checks that the Helm chart sets no other. Parsing a variable that is not
/// listed here fails the tests (a debug assertion in [`Config::from_vars`]).
pub const VARIABLES: &[(&str, &str)] = &[
    ("TODO_ADDR", "where to listen (default 127.0.0.1:8080)"),
    (
        "DATABASE_URL",
        "postgres://…, sqlite://PATH or memory: (default: todo.db in TODO_DATA_DIR)",
    ),
    (
        "TODO_DB_POOL_SIZE",
        "PostgreSQL connections per process, and as many for page queries (default 10)",
    ),
    (
        "TODO_DATA_DIR",
        "directory of the default SQLite database (default: the platform's data directory)",
    ),
    (
        "TODO_SQLITE_SYNC",
        "normal (default) or full: SQLite's durability on power loss",
    ),
    ("TODO_BUS", "memory (default: in process), dapr or kafka"),
    (
        "DAPR_HTTP_ENDPOINT",
        "the sidecar's HTTP API as a URL (with TODO_BUS=dapr)",
    ),
    (
        "DAPR_HTTP_PORT",
        "the sidecar's HTTP port on loopback (default 3500)",
    ),
    ("DAPR_API_TOKEN", "token sent to the sidecar on every call"),
    (
        "APP_API_TOKEN",
        "token the sidecar must send on its calls to this app",
    ),
    (
        "TODO_MCP_APP_ID",
        "Dapr app id of the MCP service the API invokes for chat (default todo-mcp)",
    ),
    (
        "TODO_KAFKA_BROKERS",
        "Kafka bootstrap servers (required with TODO_BUS=kafka)",
    ),
    (
        "TODO_REPLICA_ID",
        "this replica's name (default: HOSTNAME, the pod name in Kubernetes)",
    ),
    (
        "TODO_JWT_SECRET",
        "HMAC key for tokens, at least 32 bytes (default: Dapr secret or a kept file)",
    ),
    (
        "TODO_JWT_TTL_MINUTES",
        "token lifetime in minutes (default 1440)",
    ),
    (
        "TODO_AUTH_RATE_PER_MINUTE",
        "sign-up/login attempts per client address per minute (default 30)",
    ),
    (
        "TODO_CORS_ORIGINS",
        "comma-separated allowed origins (default none)",
    ),
    (
        "TODO_BODY_LIMIT_BYTES",
        "largest request body (default 65536)",
    ),
    (
        "TODO_PUBLIC_URL",
        "the server's address as users reach it, for calendar feed URLs",
    ),
    ("TODO_LOG", "tracing filter (default info)"),
    (
        "TODO_RECONCILE_SECONDS",
        "how often pending reminders are re-scheduled (default 300)",
    ),
    (
        "TODO_OUTBOX_RETENTION_HOURS",
        "how long published events stay in the outbox (default 24)",
    ),
    (
        "TODO_SMTP_URL",
        "SMTP server for reminder emails (default: Dapr secret smtp-url, else off)",
    ),
    (
        "TODO_MAIL_FROM",
        "sender of reminder emails (default todo <todo@localhost>)",
    ),
    (
        "TODO_VAPID_PRIVATE_KEY",
        "Web Push VAPID private key (default: Dapr secret or a kept file)",
    ),
    (
        "TODO_VAPID_SUBJECT",
        "contact in the VAPID token (mailto: or https: URL)",
    ),
    (
        "TODO_PUSH_ALLOW_PRIVATE_ENDPOINTS",
        "tests only: 1 allows push endpoints on private addresses",
    ),
    (
        "TODO_PUSH_CA_FILE",
        "tests only: extra root certificates (PEM) trusted for push services",
    ),
    (
        "TODO_CONFIG_FILE",
        "a KEY=VALUE file read first; the environment overrides it",
    ),
    (
        "TODO_TOKEN",
        "mcp --stdio: the token of the user the tools act for",
    ),
    ("HOSTNAME", "default replica name"),
    (
        "MALLOC_ARENA_MAX",
        "read by glibc's malloc, not the server: arenas at most (the chart sets 2)",
    ),
    (
        "XDG_DATA_HOME",
        "platform data directory (Linux), for the default TODO_DATA_DIR",
    ),
    (
        "HOME",
        "platform data directory fallback, for the default TODO_DATA_DIR",
    ),
];

/// The `Environment variables:` section of `todo-server --help`, from [`VARIABLES`].
pub fn environment_help() -> String {
    let width = VARIABLES
        .iter()
        .map(|(name, _)| name.len())
        .max()
        .unwrap_or(0);
    let mut text = String::from("Environment variables:\n");
    for (name, what) in VARIABLES {
        text.push_str(&format!("  {name:<width$}  {what}\n"));
    }
    text.push_str("\nSee docs/operations.md for the details.");
    text
}

/// A configuration value was invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {variable}: {message}")]
pub struct ConfigError {
    /// The variable at fault.
    pub variable: String,
    /// What is wrong with it.
    pub message: String,
}

fn err(variable: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable: variable.into(),
        message: message.into(),
    }
}

impl Config {
    /// Reads the process environment (and `TODO_CONFIG_FILE`, whose values the environment overrides).
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut vars: HashMap<String, String> = HashMap::new();
        if let Ok(path) = std::env::var("TODO_CONFIG_FILE") {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| err("TODO_CONFIG_FILE", format!("cannot read {path}: {e}")))?;
            vars.extend(parse_env_file(&text).map_err(|m| err("TODO_CONFIG_FILE", m))?);
        }
        vars.extend(std::env::vars());
        Self::from_vars(&vars)
    }

    /// Parses configuration from a map of variables.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            debug_assert!(
                VARIABLES.iter().any(|(listed, _)| *listed == name),
                "{name} is read but not listed in config::VARIABLES"
            );
            vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
        };
        let number = |name: &'static str, default: u64, range: std::ops::RangeInclusive<u64>| {
            match get(name) {
                None => Ok(default),
                Some(raw) => raw
                    .parse::<u64>()
                    .ok()
                    .filter(|v| range.contains(v))
                    .ok_or_else(|| {
                        err(
                            name,
                            format!(
                                "`{raw}`: expected a whole number from {} to {}",
                                range.start(),
                                range.end()
                            ),
                        )
                    }),
            }
        };

        let addr = get("TODO_ADDR")
            .unwrap_or("127.0.0.1:8080")
            .parse()
            .map_err(|_| err("TODO_ADDR", "expected host:port, e.g. 127.0.0.1:8080"))?;
        let storage = storage(&get)?;
        let bus = match get("TODO_BUS").unwrap_or("memory") {
            "memory" => Bus::InProcess,
            "dapr" => Bus::Dapr(Box::new(DaprSettings {
                client: DaprConfig::from_lookup(|name| vars.get(name).cloned())
                    .map_err(|e| err(e.variable, e.message))?,
                app_api_token: get("APP_API_TOKEN").map(str::to_owned),
                mcp_app_id: get("TODO_MCP_APP_ID").unwrap_or("todo-mcp").to_owned(),
            })),
            "kafka" => Bus::Kafka(KafkaSettings {
                brokers: get("TODO_KAFKA_BROKERS")
                    .ok_or_else(|| err("TODO_KAFKA_BROKERS", "required when TODO_BUS=kafka"))?
                    .to_owned(),
            }),
            other => {
                return Err(err(
                    "TODO_BUS",
                    format!("`{other}`: expected memory, dapr or kafka"),
                ))
            }
        };
        if matches!(bus, Bus::Kafka(_)) && !cfg!(feature = "kafka") {
            return Err(err(
                "TODO_BUS",
                "this build has no Kafka client: build todo-server with `--features kafka`, or use TODO_BUS=dapr",
            ));
        }

        let replica_id = get("TODO_REPLICA_ID")
            .map(str::to_owned)
            .or_else(|| get("HOSTNAME").map(str::to_owned))
            .unwrap_or_else(|| format!("pid-{}", std::process::id()));
        if !replica_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(err(
                "TODO_REPLICA_ID",
                "letters, digits, '-', '_' and '.' only",
            ));
        }
        let jwt_secret = get("TODO_JWT_SECRET").map(str::to_owned);
        if jwt_secret.as_ref().is_some_and(|s| s.len() < 32) {
            return Err(err("TODO_JWT_SECRET", "must be at least 32 bytes"));
        }
        let filter = get("TODO_LOG").unwrap_or("info").to_owned();
        tracing_subscriber::EnvFilter::builder()
            .parse(&filter)
            .map_err(|e| {
                err(
                    "TODO_LOG",
                    format!("`{filter}`: {e} (e.g. `info` or `todo_server=debug,info`)"),
                )
            })?;

        let email = EmailSettings {
            smtp_url: get("TODO_SMTP_URL").map(str::to_owned),
            mail_from: get("TODO_MAIL_FROM")
                .unwrap_or("todo <todo@localhost>")
                .to_owned(),
        };
        let push = push(&get)?;

        Ok(Config {
            email,
            push,
            stdio_token: get("TODO_TOKEN").map(str::to_owned),
            addr,
            storage,
            bus,
            auth: AuthSettings {
                jwt_secret,
                jwt_ttl: Duration::from_secs(
                    60 * number("TODO_JWT_TTL_MINUTES", 24 * 60, 1..=43_200)?,
                ),
                rate_per_minute: number("TODO_AUTH_RATE_PER_MINUTE", 30, 1..=100_000)? as u32,
            },
            http: HttpSettings {
                cors_origins: get("TODO_CORS_ORIGINS")
                    .map(|list| {
                        list.split(',')
                            .map(|o| o.trim().to_owned())
                            .filter(|o| !o.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
                body_limit: number("TODO_BODY_LIMIT_BYTES", 64 * 1024, 1024..=16 * 1024 * 1024)?
                    as usize,
                public_url: public_url(get("TODO_PUBLIC_URL"))?,
            },
            log: LogSettings { filter },
            replica_id,
            reconcile_interval: Duration::from_secs(number(
                "TODO_RECONCILE_SECONDS",
                300,
                1..=86_400,
            )?),
            outbox_retention: Duration::from_secs(
                3600 * number("TODO_OUTBOX_RETENTION_HOURS", 24, 0..=24 * 365)?,
            ),
        })
    }
}

/// `TODO_PUBLIC_URL`: an `http://` or `https://` origin, optionally with a path prefix; the trailing
/// slash is dropped.
fn public_url(raw: Option<&str>) -> Result<Option<String>, ConfigError> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let rest = raw
        .strip_prefix("https://")
        .or_else(|| raw.strip_prefix("http://"));
    let valid = rest.is_some_and(|rest| {
        !rest.is_empty()
            && !rest.starts_with('/')
            && rest
                .chars()
                .all(|c| c.is_ascii_graphic() && !matches!(c, '?' | '#' | '"' | '<' | '>' | '\\'))
    });
    if !valid {
        return Err(err(
            "TODO_PUBLIC_URL",
            format!("`{raw}` must be an http:// or https:// URL such as https://todo.example.com"),
        ));
    }
    Ok(Some(raw.trim_end_matches('/').to_owned()))
}

/// `TODO_VAPID_*` and the tests' `TODO_PUSH_*`.
fn push<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> Result<PushConfig, ConfigError> {
    let vapid_key = get("TODO_VAPID_PRIVATE_KEY")
        .map(todo_push::VapidKey::parse)
        .transpose()
        .map_err(|e| err("TODO_VAPID_PRIVATE_KEY", e.to_string()))?;
    let subject = get("TODO_VAPID_SUBJECT")
        .unwrap_or(todo_push::PushSettings::default().subject.as_str())
        .to_owned();
    if !(subject.starts_with("mailto:") || subject.starts_with("https://")) {
        return Err(err(
            "TODO_VAPID_SUBJECT",
            "expected a mailto: or https: URL",
        ));
    }
    let allow_private_endpoints = match get("TODO_PUSH_ALLOW_PRIVATE_ENDPOINTS") {
        None | Some("0" | "false") => false,
        Some("1" | "true") => true,
        Some(other) => {
            return Err(err(
                "TODO_PUSH_ALLOW_PRIVATE_ENDPOINTS",
                format!("`{other}`: expected 1 or 0 (for tests only)"),
            ))
        }
    };
    let extra_roots_pem = get("TODO_PUSH_CA_FILE")
        .map(|path| {
            std::fs::read(path)
                .map_err(|e| err("TODO_PUSH_CA_FILE", format!("cannot read {path}: {e}")))
        })
        .transpose()?;
    Ok(PushConfig {
        vapid_key,
        subject,
        allow_private_endpoints,
        extra_roots_pem,
    })
}

/// `DATABASE_URL`: `postgres://…`, `sqlite://PATH` or `memory:`; unset, the SQLite file `todo.db` in
/// `TODO_DATA_DIR`.
fn storage<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> Result<Storage, ConfigError> {
    let sqlite = |path: PathBuf| -> Result<Storage, ConfigError> {
        let durability = match get("TODO_SQLITE_SYNC").unwrap_or("normal") {
            "normal" => Durability::Normal,
            "full" => Durability::Full,
            other => {
                return Err(err(
                    "TODO_SQLITE_SYNC",
                    format!("`{other}`: expected normal or full"),
                ))
            }
        };
        Ok(Storage::Sqlite(SqliteSettings { path, durability }))
    };
    let Some(url) = get("DATABASE_URL") else {
        return sqlite(data_dir(get)?.join("todo.db"));
    };
    if url == "memory:" {
        return Ok(Storage::Memory);
    }
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        if path.is_empty() || path.contains('?') {
            return Err(err(
                "DATABASE_URL",
                format!("`{url}`: expected sqlite://PATH (a file path, no options)"),
            ));
        }
        return sqlite(PathBuf::from(path));
    }
    match url.split_once("://").map(|(scheme, _)| scheme) {
        Some("postgres" | "postgresql") => {
            let pool_size = match get("TODO_DB_POOL_SIZE") {
                None => 10,
                Some(raw) => raw
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=500).contains(n))
                    .ok_or_else(|| {
                        err(
                            "TODO_DB_POOL_SIZE",
                            format!("`{raw}`: expected a whole number from 1 to 500"),
                        )
                    })?,
            };
            Ok(Storage::Postgres(PostgresSettings {
                url: url.to_owned(),
                pool_size,
            }))
        }
        _ => Err(err(
            "DATABASE_URL",
            format!(
                "`{}`: expected postgres://USER:PASSWORD@HOST:PORT/DATABASE, sqlite://PATH or memory:",
                redact_password(url)
            ),
        )),
    }
}

/// `TODO_DATA_DIR`, else the platform's data directory for applications, plus `todo`:
/// `$XDG_DATA_HOME/todo` or `~/.local/share/todo` (Linux and other Unix),
/// `~/Library/Application Support/todo` (macOS), `%APPDATA%\todo` (Windows).
fn data_dir<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> Result<PathBuf, ConfigError> {
    if let Some(dir) = get("TODO_DATA_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let platform = if cfg!(windows) {
        get("APPDATA").map(PathBuf::from)
    } else if cfg!(target_os = "macos") {
        get("HOME").map(|home| PathBuf::from(home).join("Library/Application Support"))
    } else {
        get("XDG_DATA_HOME")
            .map(PathBuf::from)
            .filter(|dir| dir.is_absolute())
            .or_else(|| get("HOME").map(|home| PathBuf::from(home).join(".local/share")))
    };
    platform.map(|dir| dir.join("todo")).ok_or_else(|| {
        err(
            "TODO_DATA_DIR",
            "no home directory to keep the data in: set TODO_DATA_DIR (or DATABASE_URL)",
        )
    })
}

/// `scheme://user:secret@host/db` → `scheme://user:***@host/db`; anything else unchanged.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Parses `KEY=VALUE` lines; blank lines and `#` comments are skipped.
fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, String> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(i, line)| {
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| format!("line {}: expected KEY=VALUE", i + 1))?;
            Ok((
                key.trim().to_owned(),
                value.trim().trim_matches('"').to_owned(),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pairs` in an environment with a home directory.
    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        [("HOME", "/home/ada")]
            .iter()
            .chain(pairs)
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn push_settings_are_off_by_default_and_bad_values_name_their_variable() {
        let push = Config::from_vars(&vars(&[])).unwrap().push;
        assert!(push.vapid_key.is_none());
        assert!(!push.allow_private_endpoints, "the SSRF guard is on");
        assert!(push.extra_roots_pem.is_none());
        assert!(push.subject.starts_with("https://"));
        for (variable, value) in [
            ("TODO_VAPID_PRIVATE_KEY", "not a key"),
            ("TODO_VAPID_SUBJECT", "ops@example.com"),
            ("TODO_PUSH_ALLOW_PRIVATE_ENDPOINTS", "yes please"),
            ("TODO_PUSH_CA_FILE", "/nonexistent/ca.pem"),
        ] {
            let error = Config::from_vars(&vars(&[(variable, value)])).unwrap_err();
            assert_eq!(error.variable, variable, "{error}");
            assert!(
                !error.message.contains("not a key"),
                "no key material in messages"
            );
        }
        let on = Config::from_vars(&vars(&[
            ("TODO_PUSH_ALLOW_PRIVATE_ENDPOINTS", "1"),
            (
                "TODO_VAPID_PRIVATE_KEY",
                "fIQm5wKjWQ773h4wE-PPXOcMXsWBnVnyFEeOFBaGKXE",
            ),
        ]))
        .unwrap()
        .push;
        assert!(on.allow_private_endpoints);
        assert!(on.vapid_key.is_some());
    }

    fn sqlite_path(pairs: &[(&str, &str)]) -> PathBuf {
        match Config::from_vars(&vars(pairs)).unwrap().storage {
            Storage::Sqlite(sqlite) => sqlite.path,
            other => panic!("not SQLite: {other:?}"),
        }
    }

    #[test]
    fn the_defaults_need_no_infrastructure() {
        let config = Config::from_vars(&vars(&[])).unwrap();
        assert_eq!(config.addr.to_string(), "127.0.0.1:8080");
        if cfg!(target_os = "linux") {
            assert_eq!(
                config.storage,
                Storage::Sqlite(SqliteSettings {
                    path: PathBuf::from("/home/ada/.local/share/todo/todo.db"),
                    durability: Durability::Normal,
                })
            );
        }
        assert!(matches!(config.bus, Bus::InProcess));
        assert_eq!(config.log.filter, "info");
    }

    #[test]
    fn the_data_lives_in_the_data_directory_or_where_the_url_says() {
        assert_eq!(
            sqlite_path(&[("TODO_DATA_DIR", "/srv/todo"), ("HOME", "/home/ada")]),
            PathBuf::from("/srv/todo/todo.db")
        );
        if cfg!(target_os = "linux") {
            assert_eq!(
                sqlite_path(&[("XDG_DATA_HOME", "/xdg"), ("HOME", "/home/ada")]),
                PathBuf::from("/xdg/todo/todo.db")
            );
            // A relative XDG_DATA_HOME is invalid by the specification and ignored.
            assert_eq!(
                sqlite_path(&[("XDG_DATA_HOME", "xdg"), ("HOME", "/home/ada")]),
                PathBuf::from("/home/ada/.local/share/todo/todo.db")
            );
        }
        assert_eq!(
            sqlite_path(&[("DATABASE_URL", "sqlite:///var/lib/todo/tasks.db")]),
            PathBuf::from("/var/lib/todo/tasks.db")
        );
        assert_eq!(
            sqlite_path(&[("DATABASE_URL", "sqlite://tasks.db")]),
            PathBuf::from("tasks.db")
        );
        let memory = Config::from_vars(&vars(&[("DATABASE_URL", "memory:")])).unwrap();
        assert_eq!(memory.storage, Storage::Memory);
        let full = Config::from_vars(&vars(&[
            ("TODO_DATA_DIR", "/d"),
            ("TODO_SQLITE_SYNC", "full"),
        ]))
        .unwrap();
        assert!(matches!(
            full.storage,
            Storage::Sqlite(SqliteSettings {
                durability: Durability::Full,
                ..
            })
        ));
    }

    #[test]
    fn without_a_home_the_data_directory_must_be_named() {
        if cfg!(windows) {
            return;
        }
        let error = Config::from_vars(&HashMap::new()).unwrap_err();
        assert_eq!(error.variable, "TODO_DATA_DIR", "{error}");
    }

    #[test]
    fn a_database_url_selects_postgres() {
        let config = Config::from_vars(&vars(&[("DATABASE_URL", "postgres://x/y")])).unwrap();
        assert_eq!(
            config.storage,
            Storage::Postgres(PostgresSettings {
                url: "postgres://x/y".into(),
                pool_size: 10
            })
        );
    }

    #[test]
    fn dapr_settings_come_from_the_same_variables() {
        let config = Config::from_vars(&vars(&[
            ("TODO_BUS", "dapr"),
            ("DAPR_HTTP_PORT", "3999"),
            ("DAPR_API_TOKEN", "to-the-sidecar"),
            ("APP_API_TOKEN", "from-the-sidecar"),
        ]))
        .unwrap();
        let Bus::Dapr(dapr) = config.bus else {
            panic!("not dapr: {:?}", config.bus)
        };
        assert_eq!(dapr.client.endpoint.as_str(), "http://127.0.0.1:3999/");
        assert_eq!(dapr.client.api_token.as_deref(), Some("to-the-sidecar"));
        assert_eq!(dapr.app_api_token.as_deref(), Some("from-the-sidecar"));
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        for (name, value) in [
            ("TODO_ADDR", "nowhere"),
            ("TODO_BUS", "carrier-pigeon"),
            ("DATABASE_URL", "notaurl"),
            ("DATABASE_URL", "sqlite://"),
            ("DATABASE_URL", "sqlite://x.db?mode=ro"),
            ("TODO_SQLITE_SYNC", "sometimes"),
            ("DATABASE_URL", "mysql://a:b@c/d"),
            ("TODO_JWT_SECRET", "short"),
            ("TODO_JWT_TTL_MINUTES", "0"),
            ("TODO_BODY_LIMIT_BYTES", "lots"),
            ("TODO_REPLICA_ID", "a b"),
            ("TODO_RECONCILE_SECONDS", "0"),
            ("TODO_OUTBOX_RETENTION_HOURS", "forever"),
            ("TODO_LOG", "garbage[[["),
        ] {
            let error = Config::from_vars(&vars(&[(name, value)])).unwrap_err();
            assert_eq!(error.variable, name, "{value}: {error}");
        }
        let error = Config::from_vars(&vars(&[("TODO_BUS", "kafka")])).unwrap_err();
        assert_eq!(error.variable, "TODO_KAFKA_BROKERS");
        for (name, value) in [("DAPR_HTTP_ENDPOINT", "not a url"), ("DAPR_HTTP_PORT", "0")] {
            let error =
                Config::from_vars(&vars(&[("TODO_BUS", "dapr"), (name, value)])).unwrap_err();
            assert_eq!(error.variable, name, "{error}");
        }
    }

    #[test]
    fn a_rejected_database_url_does_not_show_its_password() {
        let error =
            Config::from_vars(&vars(&[("DATABASE_URL", "mysql://me:s3cret@db/x")])).unwrap_err();
        assert!(!error.to_string().contains("s3cret"), "{error}");
        assert_eq!(
            redact_password("postgres://me:s3cret@db:5432/x"),
            "postgres://me:***@db:5432/x"
        );
        assert_eq!(redact_password("postgres://db/x"), "postgres://db/x");
    }

    #[test]
    fn kafka_needs_the_kafka_feature() {
        let parsed = Config::from_vars(&vars(&[
            ("TODO_BUS", "kafka"),
            ("TODO_KAFKA_BROKERS", "127.0.0.1:9092"),
        ]));
        if cfg!(feature = "kafka") {
            assert!(matches!(parsed.unwrap().bus, Bus::Kafka(_)));
        } else {
            assert_eq!(parsed.unwrap_err().variable, "TODO_BUS");
        }
    }

    #[test]
    fn env_files_are_key_value_lines() {
        let parsed =
            parse_env_file("# comment\nTODO_ADDR = 0.0.0.0:9000\n\nTODO_BUS=\"memory\"").unwrap();
        assert_eq!(
            parsed,
            vec![
                ("TODO_ADDR".into(), "0.0.0.0:9000".into()),
                ("TODO_BUS".into(), "memory".into())
            ]
        );
        assert!(parse_env_file("oops").is_err());
    }

    #[test]
    fn every_variable_in_the_help_is_documented_for_operators() {
        let operations = include_str!("../../docs/operations.md");
        let help = environment_help();
        for (name, _) in VARIABLES {
            assert!(
                help.contains(&format!("  {name} ")),
                "{name} missing from --help"
            );
            if !matches!(*name, "HOSTNAME" | "HOME" | "XDG_DATA_HOME") {
                assert!(
                    operations.contains(&format!("`{name}`")),
                    "{name} missing from docs/operations.md"
                );
            }
        }
    }
}
