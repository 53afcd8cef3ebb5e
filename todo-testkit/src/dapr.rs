//! Per-test `daprd` sidecars.
//!
//! Each [`Sidecar`] gets a unique app id (so its Kafka consumer group, `{appID}` in the
//! component, is its own), free ports, its own rendered components dir and, unless told
//! otherwise, its own state database. The testkit does not launch daprd itself: it asks the
//! project's one supervisor (`infra/todo-infra sidecar`, in `infra/lib/supervise.sh`) to render
//! the components, start daprd, wait for its health and guard it, exactly as the local
//! deployment does. It is stopped when dropped, and the supervisor's guard stops it within a
//! second if the test process dies without dropping it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::stack::parse_exports;
use crate::{unique_name, Stack, TestDatabase, TestkitError};

/// Which pub/sub component set the sidecar loads. Both name their component `kafka-pubsub`,
/// so application code is the same for either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PubSubBroker {
    /// `deploy/dapr/local/`: pubsub.kafka on the stack's broker.
    #[default]
    Kafka,
    /// `deploy/dapr/local-redis/`: pubsub.redis (Redis Streams) on the stack's Redis.
    Redis,
}

/// Settings for a [`Sidecar`]; start it with [`SidecarBuilder::start`].
#[derive(Debug)]
#[must_use]
pub struct SidecarBuilder {
    app_id: String,
    unique: bool,
    app_port: Option<u16>,
    pubsub: PubSubBroker,
    templates: Option<PathBuf>,
    extra_components: Vec<(String, String)>,
    vars: HashMap<String, String>,
    state_database_url: Option<String>,
    args: Vec<String>,
    ready_timeout: Duration,
    http_port: Option<u16>,
}

/// A running `daprd` for one app; killed on drop.
#[derive(Debug)]
pub struct Sidecar {
    app_id: String,
    http_port: u16,
    grpc_port: u16,
    stack: &'static Stack,
    dir: PathBuf,
    log_path: PathBuf,
    _state_db: Option<TestDatabase>,
}

impl Sidecar {
    /// Settings for a sidecar whose app id is `app_id` plus a random suffix.
    pub fn builder(app_id: &str) -> SidecarBuilder {
        SidecarBuilder {
            app_id: app_id.to_owned(),
            unique: true,
            app_port: None,
            pubsub: PubSubBroker::Kafka,
            templates: None,
            extra_components: Vec::new(),
            vars: HashMap::new(),
            state_database_url: None,
            args: Vec::new(),
            ready_timeout: Duration::from_secs(60),
            http_port: None,
        }
    }

    /// The app id daprd runs under (with its random suffix).
    #[must_use]
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// daprd's HTTP API port.
    #[must_use]
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// daprd's gRPC API port.
    #[must_use]
    pub fn grpc_port(&self) -> u16 {
        self.grpc_port
    }

    /// Base URL of daprd's HTTP API, `http://127.0.0.1:<port>`.
    #[must_use]
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// The dir holding the rendered components.
    #[must_use]
    pub fn components_dir(&self) -> PathBuf {
        self.dir.join("components")
    }

    /// daprd's log file.
    #[must_use]
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The last `lines` lines of daprd's log, for assertion messages.
    #[must_use]
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log_path, lines)
    }
}

impl SidecarBuilder {
    /// The port the app listens on (127.0.0.1). Without it daprd runs with no app channel.
    /// The app must be listening before [`start`](Self::start): daprd reads its
    /// subscriptions at start-up and reports healthy only once the app answers.
    pub fn app_port(mut self, port: u16) -> Self {
        self.app_port = Some(port);
        self
    }

    /// Which pub/sub component set to load (default [`PubSubBroker::Kafka`]).
    pub fn pubsub(mut self, broker: PubSubBroker) -> Self {
        self.pubsub = broker;
        self
    }

    /// Render component templates from `dir` instead of `deploy/dapr/local[-redis]`.
    pub fn components_from(mut self, dir: impl Into<PathBuf>) -> Self {
        self.templates = Some(dir.into());
        self
    }

    /// Adds one more component (or subscription, resiliency...) file, rendered like the rest.
    pub fn component(mut self, file_name: &str, yaml: &str) -> Self {
        self.extra_components
            .push((file_name.to_owned(), yaml.to_owned()));
        self
    }

    /// Sets or overrides a `${TODO_*}` template variable for this sidecar.
    pub fn var(mut self, name: &str, value: &str) -> Self {
        self.vars.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Points the `statestore` component at this database instead of a fresh one.
    pub fn state_database(mut self, url: &str) -> Self {
        self.state_database_url = Some(url.to_owned());
        self
    }

    /// Uses `app_id` exactly as given, without a random suffix.
    pub fn exact_app_id(mut self) -> Self {
        self.unique = false;
        self
    }

    /// Passes an extra flag to daprd.
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_owned());
        self
    }

    /// Serves daprd's HTTP API on `port` instead of a free one, so an app can be configured with the
    /// sidecar's address before the sidecar starts (daprd waits for its app before it is healthy).
    pub fn http_port(mut self, port: u16) -> Self {
        self.http_port = Some(port);
        self
    }

    /// How long to wait for daprd's health endpoint (default 60 s).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// Renders the components, starts daprd and waits until it reports healthy, all through
    /// `infra/todo-infra sidecar`.
    pub async fn start(self) -> Result<Sidecar, TestkitError> {
        let stack = Stack::get()?;
        let app_id = if self.unique {
            unique_name(&self.app_id)
        } else {
            self.app_id.clone()
        };
        let sidecar_err = |message: String| TestkitError::Sidecar {
            app_id: app_id.clone(),
            message,
        };

        let state_db = match &self.state_database_url {
            Some(_) => None,
            None => Some(TestDatabase::create().await?),
        };
        let state_url = match (&self.state_database_url, &state_db) {
            (Some(url), _) => url.clone(),
            (None, Some(db)) => db.url().to_owned(),
            (None, None) => unreachable!("one of the two is set above"),
        };

        let dir = stack.run_dir().join("sidecars").join(&app_id);
        let _ = std::fs::remove_dir_all(&dir);
        let templates = self.templates.clone().unwrap_or_else(|| {
            let set = match self.pubsub {
                PubSubBroker::Kafka => "local",
                PubSubBroker::Redis => "local-redis",
            };
            stack.root().join("deploy").join("dapr").join(set)
        });

        let mut command = stack.infra_command();
        command
            .args(["sidecar", "--app-id", &app_id, "--components"])
            .arg(&templates)
            .args(["--watch-pid", &std::process::id().to_string()])
            .args([
                "--timeout",
                &self.ready_timeout.as_secs().max(1).to_string(),
            ])
            .args(["--var", &format!("TODO_DAPR_STATE_PG_URL={state_url}")]);
        for (name, value) in &self.vars {
            command.args(["--var", &format!("{name}={value}")]);
        }
        // Extra files are templates too: the supervisor renders them with the rest.
        let extra = dir.join("templates");
        if !self.extra_components.is_empty() {
            std::fs::create_dir_all(&extra)
                .map_err(TestkitError::io(format!("creating {}", extra.display())))?;
        }
        for (file_name, yaml) in &self.extra_components {
            let path = extra.join(file_name);
            std::fs::write(&path, yaml)
                .map_err(TestkitError::io(format!("writing {}", path.display())))?;
            command.arg("--component").arg(&path);
        }
        if let Some(port) = self.app_port {
            command.args(["--app-port", &port.to_string()]);
        }
        if let Some(port) = self.http_port {
            command.args(["--dapr-http-port", &port.to_string()]);
        }
        command
            .args(["--", "--dapr-graceful-shutdown-seconds", "1"])
            .args(&self.args);

        // On a blocking thread: daprd is healthy only once the app answers, and the app may be
        // served by this very runtime.
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .map_err(|e| sidecar_err(format!("the supervisor call panicked: {e}")))?
            .map_err(|e| sidecar_err(format!("could not run infra/todo-infra sidecar: {e}")))?;
        if !output.status.success() {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(sidecar_err(format!(
                "`infra/todo-infra sidecar` failed ({}):\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim_end()
            )));
        }
        let ports = parse_exports(&String::from_utf8_lossy(&output.stdout));
        let port = |name: &str| {
            ports
                .get(name)
                .and_then(|p| p.parse::<u16>().ok())
                .ok_or_else(|| sidecar_err(format!("the supervisor printed no {name}")))
        };
        Ok(Sidecar {
            http_port: port("DAPR_HTTP_PORT")?,
            grpc_port: port("DAPR_GRPC_PORT")?,
            log_path: stack
                .run_dir()
                .join("logs")
                .join(format!("daprd-{app_id}.log")),
            app_id,
            stack,
            dir,
            _state_db: state_db,
        })
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let _ = self
            .stack
            .infra_command()
            .args(["sidecar-stop", &self.app_id])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run dir with just the `env` file `todo-infra render` reads.
    fn fake_stack(vars: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(unique_name("render"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let env: String = vars
            .iter()
            .map(|(k, v)| format!("export {k}='{v}'\n"))
            .collect();
        std::fs::write(dir.join("env"), env).expect("env file");
        dir
    }

    fn render(run_dir: &Path, set: &str) -> std::process::Output {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root");
        std::process::Command::new("bash")
            .arg(root.join("infra/todo-infra"))
            .arg("--run-dir")
            .arg(run_dir)
            .arg("render")
            .arg(root.join("deploy/dapr").join(set))
            .arg(run_dir.join("out"))
            .output()
            .expect("running infra/todo-infra render")
    }

    #[test]
    fn the_shipped_component_sets_render_with_the_stack_variables() {
        let vars = [
            "TODO_KAFKA_BROKERS",
            "TODO_DAPR_STATE_PG_URL",
            "TODO_SECRETS_FILE",
            "TODO_REDIS_ADDR",
        ]
        .map(|k| (k, "v"));
        for set in ["local", "local-redis"] {
            let run_dir = fake_stack(&vars);
            let output = render(&run_dir, set);
            assert!(output.status.success(), "{set}: {output:?}");
            let out = run_dir.join("out");
            let pubsub = std::fs::read_to_string(out.join("pubsub.yaml")).expect("pubsub.yaml");
            assert!(pubsub.contains("name: kafka-pubsub"), "{set}: {pubsub}");
            assert!(
                pubsub.contains("{appID}"),
                "Dapr's own tokens stay: {pubsub}"
            );
            for file in [
                "statestore.yaml",
                "secretstore.yaml",
                "resiliency.yaml",
                "broadcast.yaml",
            ] {
                let text = std::fs::read_to_string(out.join(file)).expect(file);
                assert!(!text.contains("${TODO_"), "{set}/{file}: {text}");
            }
            let _ = std::fs::remove_dir_all(&run_dir);
        }
    }

    #[test]
    fn an_unset_variable_is_an_error() {
        let run_dir = fake_stack(&[("TODO_KAFKA_BROKERS", "v")]);
        let output = render(&run_dir, "local");
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("is not set"), "{stderr}");
        let _ = std::fs::remove_dir_all(&run_dir);
    }
}
