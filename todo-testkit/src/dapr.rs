//! Per-test `daprd` sidecars.
//!
//! Each [`Sidecar`] gets a unique app id (so its Kafka consumer group, `{appID}` in the
//! component, is its own), free ports, its own rendered components dir and, unless told
//! otherwise, its own state database. It is killed when dropped, and a watchdog kills it
//! within a second if the test process dies without dropping it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, unique_name, Stack, TestDatabase, TestkitError};

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
    child: Option<Child>,
    dir: PathBuf,
    log_path: PathBuf,
    pid_file: PathBuf,
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

    /// Renders the components, starts daprd and waits until it reports healthy.
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

        let mut vars = stack.vars().clone();
        vars.insert("TODO_DAPR_STATE_PG_URL".into(), state_url);
        vars.extend(self.vars.clone());

        let dir = stack.run_dir().join("sidecars").join(&app_id);
        let components = dir.join("components");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&components).map_err(TestkitError::io(format!(
            "creating {}",
            components.display()
        )))?;
        let templates = self.templates.clone().unwrap_or_else(|| {
            let set = match self.pubsub {
                PubSubBroker::Kafka => "local",
                PubSubBroker::Redis => "local-redis",
            };
            stack.root().join("deploy").join("dapr").join(set)
        });
        render_dir(&templates, &components, &vars)?;
        for (file_name, yaml) in &self.extra_components {
            let out = components.join(file_name);
            let text = render(yaml, &vars).map_err(|message| TestkitError::Render {
                path: out.clone(),
                message,
            })?;
            std::fs::write(&out, text)
                .map_err(TestkitError::io(format!("writing {}", out.display())))?;
        }
        let config = dir.join("config.yaml");
        render_file(
            &stack
                .root()
                .join("deploy")
                .join("dapr")
                .join("local-config.yaml"),
            &config,
            &vars,
        )?;

        let http_port = match self.http_port {
            Some(port) => port,
            None => free_port()?,
        };
        let grpc_port = free_port()?;
        let internal_port = free_port()?;
        let metrics_port = free_port()?;
        let logs = stack.run_dir().join("logs");
        std::fs::create_dir_all(&logs).map_err(TestkitError::io("creating the logs dir"))?;
        let log_path = logs.join(format!("daprd-{app_id}.log"));
        let pid_file = stack
            .run_dir()
            .join("pids")
            .join(format!("daprd-{app_id}.pid"));
        let log = std::fs::File::create(&log_path)
            .map_err(TestkitError::io(format!("creating {}", log_path.display())))?;
        let log_err = log
            .try_clone()
            .map_err(TestkitError::io("cloning the log handle"))?;

        let mut args: Vec<String> = vec![
            "--app-id".into(),
            app_id.clone(),
            "--mode".into(),
            "standalone".into(),
            "--dapr-listen-addresses".into(),
            "127.0.0.1".into(),
            "--dapr-http-port".into(),
            http_port.to_string(),
            "--dapr-grpc-port".into(),
            grpc_port.to_string(),
            "--dapr-internal-grpc-port".into(),
            internal_port.to_string(),
            "--dapr-internal-grpc-listen-address".into(),
            "127.0.0.1".into(),
            "--metrics-port".into(),
            metrics_port.to_string(),
            "--app-channel-address".into(),
            "127.0.0.1".into(),
            "--resources-path".into(),
            components.display().to_string(),
            "--config".into(),
            config.display().to_string(),
            "--scheduler-host-address".into(),
            stack.scheduler_addr()?.to_owned(),
            "--placement-host-address".into(),
            String::new(),
            "--dapr-graceful-shutdown-seconds".into(),
            "1".into(),
            "--log-level".into(),
            "info".into(),
        ];
        if let Some(port) = self.app_port {
            args.extend(["--app-port".into(), port.to_string()]);
        }
        args.extend(self.args.iter().cloned());

        let child = Command::new("bash")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("todo-testkit-daprd")
            .arg(stack.daprd_bin()?)
            .args(&args)
            .env("WATCH_PID", std::process::id().to_string())
            .env("PID_FILE", &pid_file)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| sidecar_err(format!("could not start daprd: {e}")))?;

        let mut sidecar = Sidecar {
            app_id: app_id.clone(),
            http_port,
            grpc_port,
            child: Some(child),
            dir,
            log_path,
            pid_file,
            _state_db: state_db,
        };
        // The full healthz, not /healthz/outbound: only it waits for the runtime's start-up to
        // finish (components loaded, app reachable if there is one), so a daprd about to exit
        // on a broken component never counts as started.
        wait_healthy(&mut sidecar, "/v1.0/healthz", self.ready_timeout)
            .await
            .map_err(|why| {
                sidecar_err(format!(
                    "{why}\n---- last 40 lines of {} ----\n{}",
                    sidecar.log_path.display(),
                    sidecar.log_tail(40)
                ))
            })?;
        Ok(sidecar)
    }
}

/// Runs daprd under a small bash guard: it records daprd's pid (so `todo-infra down` can
/// stop it too), forwards SIGTERM, and stops daprd when the test process ($WATCH_PID) dies.
const WATCHDOG: &str = r#"
daprd_bin="$1"; shift
"$daprd_bin" "$@" &
d=$!
echo "$d" > "$PID_FILE"
trap 'kill -TERM "$d" 2>/dev/null; wait "$d"; rm -f "$PID_FILE"; exit 0' TERM INT
while kill -0 "$WATCH_PID" 2>/dev/null && kill -0 "$d" 2>/dev/null; do sleep 1 & wait $!; done
kill -TERM "$d" 2>/dev/null; wait "$d"; rm -f "$PID_FILE"
"#;

async fn wait_healthy(sidecar: &mut Sidecar, path: &str, timeout: Duration) -> Result<(), String> {
    let url = format!("{}{path}", sidecar.http_url());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| format!("building an HTTP client: {e}"))?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(response) = client.get(&url).send().await {
            if response.status().is_success() {
                return Ok(());
            }
        }
        // The guard exits exactly when daprd has exited.
        if let Some(child) = sidecar.child.as_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("daprd exited ({status}) before {url} answered"));
            }
        }
        if Instant::now() > deadline {
            return Err(format!("{url} did not answer 2xx within {timeout:?}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let daprd_pid = std::fs::read_to_string(&self.pid_file).ok();
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if !matches!(child.try_wait(), Ok(Some(_))) {
                let _ = child.kill();
                let _ = child.wait();
                if let Some(pid) = daprd_pid.as_deref().map(str::trim) {
                    let _ = Command::new("kill").arg("-KILL").arg(pid).status();
                }
            }
        }
        let _ = std::fs::remove_file(&self.pid_file);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Renders every `*.yaml` / `*.yml` in `src` into `dst`.
fn render_dir(src: &Path, dst: &Path, vars: &HashMap<String, String>) -> Result<(), TestkitError> {
    let entries =
        std::fs::read_dir(src).map_err(TestkitError::io(format!("reading {}", src.display())))?;
    let mut found = false;
    for entry in entries {
        let path = entry
            .map_err(TestkitError::io(format!("reading {}", src.display())))?
            .path();
        let is_yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
        if is_yaml {
            found = true;
            let name = path.file_name().expect("a dir entry has a file name");
            render_file(&path, &dst.join(name), vars)?;
        }
    }
    if found {
        Ok(())
    } else {
        Err(TestkitError::Render {
            path: src.to_path_buf(),
            message: "no component files (*.yaml)".into(),
        })
    }
}

fn render_file(src: &Path, dst: &Path, vars: &HashMap<String, String>) -> Result<(), TestkitError> {
    let text = std::fs::read_to_string(src)
        .map_err(TestkitError::io(format!("reading {}", src.display())))?;
    let out = render(&text, vars).map_err(|message| TestkitError::Render {
        path: src.to_path_buf(),
        message,
    })?;
    std::fs::write(dst, out).map_err(TestkitError::io(format!("writing {}", dst.display())))
}

/// Replaces `${TODO_NAME}` (name: `[A-Z0-9_]`) with its value; an unknown `TODO_` variable
/// is an error, anything else (Dapr's own `{appID}`, a literal `$`) is left alone.
fn render(text: &str, vars: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${TODO_") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let name_len =
            after.find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'));
        match name_len {
            Some(len) if after[len..].starts_with('}') => {
                let name = &after[..len];
                let value = vars
                    .get(name)
                    .ok_or_else(|| format!("${{{name}}} is not set"))?;
                out.push_str(value);
                rest = &after[len + 1..];
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn todo_variables_are_substituted_and_dapr_tokens_are_kept() {
        let vars = HashMap::from([("TODO_KAFKA_BROKERS".to_owned(), "127.0.0.1:9092".to_owned())]);
        let out = render(
            "brokers: \"${TODO_KAFKA_BROKERS}\"\ngroup: \"{appID}\"\ncost: $5",
            &vars,
        );
        assert_eq!(
            out.as_deref(),
            Ok("brokers: \"127.0.0.1:9092\"\ngroup: \"{appID}\"\ncost: $5")
        );
    }

    #[test]
    fn an_unset_variable_is_an_error() {
        let err = render("x: ${TODO_NOPE}", &HashMap::new()).unwrap_err();
        assert!(err.contains("TODO_NOPE"), "{err}");
    }

    #[test]
    fn the_shipped_component_sets_render_with_the_stack_variables() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root");
        let vars: HashMap<String, String> = [
            "TODO_KAFKA_BROKERS",
            "TODO_DAPR_STATE_PG_URL",
            "TODO_SECRETS_FILE",
            "TODO_REDIS_ADDR",
            "TODO_DAPR_NAME_RESOLUTION_DB",
        ]
        .into_iter()
        .map(|k| (k.to_owned(), "v".to_owned()))
        .collect();
        for set in ["local", "local-redis"] {
            let dst = std::env::temp_dir().join(unique_name("render"));
            std::fs::create_dir_all(&dst).expect("temp dir");
            render_dir(&root.join("deploy/dapr").join(set), &dst, &vars).expect("renders");
            let pubsub = std::fs::read_to_string(dst.join("pubsub.yaml")).expect("pubsub.yaml");
            assert!(pubsub.contains("name: kafka-pubsub"), "{set}: {pubsub}");
            assert!(!pubsub.contains("${TODO_"), "{set}: {pubsub}");
            assert!(
                dst.join("statestore.yaml").is_file() && dst.join("secretstore.yaml").is_file()
            );
            let _ = std::fs::remove_dir_all(&dst);
        }
    }
}
