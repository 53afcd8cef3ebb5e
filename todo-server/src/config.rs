//! Configuration: environment variables (optionally preloaded from a `KEY=VALUE` file named by
//! `TODO_CONFIG_FILE`), parsed once at start into a typed struct. A bad value stops the process with a
//! message naming the variable.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

/// Where tasks are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// In process; lost on exit. The embedded default.
    Memory,
    /// PostgreSQL at this URL.
    Postgres(String),
}

/// Which event bus carries the events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bus {
    /// In process (only with `all`).
    Memory,
    /// Dapr pub/sub through the sidecar.
    Dapr,
    /// Apache Kafka directly.
    Kafka,
}

/// The server's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `TODO_ADDR`: where to listen.
    pub addr: SocketAddr,
    /// `DATABASE_URL` / `TODO_STORAGE`.
    pub storage: Storage,
    /// `TODO_BUS`.
    pub bus: Bus,
    /// `TODO_JWT_SECRET`: HMAC key for tokens; random per process when unset (embedded mode only).
    pub jwt_secret: Option<String>,
    /// `TODO_JWT_TTL_MINUTES`: token lifetime.
    pub jwt_ttl: Duration,
    /// `TODO_CORS_ORIGINS`: comma-separated allowed origins; none by default.
    pub cors_origins: Vec<String>,
    /// `TODO_AUTH_RATE_PER_MINUTE`: sign-up/login attempts per client address per minute.
    pub auth_rate_per_minute: u32,
    /// `TODO_BODY_LIMIT_BYTES`: largest request body.
    pub body_limit: usize,
    /// `TODO_KAFKA_BROKERS`: bootstrap servers when `TODO_BUS=kafka`.
    pub kafka_brokers: Option<String>,
    /// `TODO_REPLICA_ID`: this process among the replicas of its service (default: the host name,
    /// which Kubernetes sets to the pod name). Names its broadcast consumer group.
    pub replica_id: String,
    /// `TODO_RECONCILE_SECONDS`: how often the API re-schedules every pending reminder from the
    /// database.
    pub reconcile_interval: Duration,
}

/// A configuration value was invalid.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {variable}: {message}")]
pub struct ConfigError {
    /// The variable at fault.
    pub variable: &'static str,
    /// What is wrong with it.
    pub message: String,
}

fn err(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
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
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let addr = get("TODO_ADDR")
            .unwrap_or("127.0.0.1:8080")
            .parse()
            .map_err(|_| err("TODO_ADDR", "expected host:port, e.g. 127.0.0.1:8080"))?;
        let storage = match (get("TODO_STORAGE"), get("DATABASE_URL")) {
            (Some("memory"), _) | (None, None) => Storage::Memory,
            (Some("postgres") | None, Some(url)) => Storage::Postgres(url.to_owned()),
            (Some("postgres"), None) => {
                return Err(err("DATABASE_URL", "required when TODO_STORAGE=postgres"))
            }
            (Some(other), _) => {
                return Err(err(
                    "TODO_STORAGE",
                    format!("`{other}`: expected memory or postgres"),
                ))
            }
        };
        let bus = match get("TODO_BUS").unwrap_or("memory") {
            "memory" => Bus::Memory,
            "dapr" => Bus::Dapr,
            "kafka" => Bus::Kafka,
            other => {
                return Err(err(
                    "TODO_BUS",
                    format!("`{other}`: expected memory, dapr or kafka"),
                ))
            }
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
        let kafka_brokers = get("TODO_KAFKA_BROKERS").map(str::to_owned);
        if bus == Bus::Kafka && kafka_brokers.is_none() {
            return Err(err("TODO_KAFKA_BROKERS", "required when TODO_BUS=kafka"));
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
        Ok(Config {
            addr,
            storage,
            bus,
            jwt_secret,
            jwt_ttl: Duration::from_secs(60 * number("TODO_JWT_TTL_MINUTES", 24 * 60, 1..=43_200)?),
            cors_origins: get("TODO_CORS_ORIGINS")
                .map(|list| {
                    list.split(',')
                        .map(|o| o.trim().to_owned())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            auth_rate_per_minute: number("TODO_AUTH_RATE_PER_MINUTE", 30, 1..=100_000)? as u32,
            body_limit: number("TODO_BODY_LIMIT_BYTES", 64 * 1024, 1024..=16 * 1024 * 1024)?
                as usize,
            kafka_brokers,
            replica_id,
            reconcile_interval: Duration::from_secs(number(
                "TODO_RECONCILE_SECONDS",
                300,
                1..=86_400,
            )?),
        })
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

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_defaults_need_no_infrastructure() {
        let config = Config::from_vars(&HashMap::new()).unwrap();
        assert_eq!(config.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(config.storage, Storage::Memory);
        assert_eq!(config.bus, Bus::Memory);
    }

    #[test]
    fn a_database_url_selects_postgres() {
        let config = Config::from_vars(&vars(&[("DATABASE_URL", "postgres://x/y")])).unwrap();
        assert_eq!(config.storage, Storage::Postgres("postgres://x/y".into()));
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        for (name, value) in [
            ("TODO_ADDR", "nowhere"),
            ("TODO_BUS", "carrier-pigeon"),
            ("TODO_STORAGE", "floppy"),
            ("TODO_JWT_SECRET", "short"),
            ("TODO_JWT_TTL_MINUTES", "0"),
            ("TODO_BODY_LIMIT_BYTES", "lots"),
            ("TODO_REPLICA_ID", "a b"),
            ("TODO_RECONCILE_SECONDS", "0"),
        ] {
            let error = Config::from_vars(&vars(&[(name, value)])).unwrap_err();
            assert_eq!(error.variable, name);
        }
        let error = Config::from_vars(&vars(&[("TODO_STORAGE", "postgres")])).unwrap_err();
        assert_eq!(error.variable, "DATABASE_URL");
        let error = Config::from_vars(&vars(&[("TODO_BUS", "kafka")])).unwrap_err();
        assert_eq!(error.variable, "TODO_KAFKA_BROKERS");
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
}
