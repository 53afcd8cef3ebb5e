//! Shared pieces of the integration tests: serving the app routes on a free port, sidecars for them,
//! a sidecar started through `infra/todo-infra` on a fixed port (so it can be restarted there), a
//! Kafka broker of a test's own, and handlers that record what they see.
#![allow(dead_code, missing_docs)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use todo_core::events::Message;
use todo_core::ports::{HandleError, MessageHandler};
use todo_dapr::{DaprClient, DaprConfig};
use todo_testkit::{PubSubBroker, Sidecar, SidecarBuilder, Stack};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// An axum router served on 127.0.0.1 at a free port until dropped.
pub struct Served {
    pub port: u16,
    task: JoinHandle<()>,
}

impl Served {
    pub async fn start(router: axum::Router) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding a loopback port");
        let port = listener.local_addr().expect("a bound address").port();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { port, task }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a testkit sidecar. The start-up future is driven on a blocking thread because it is not
/// `Send` in the eyes of the compiler (a higher-ranked lifetime in sqlx), and harness traits need
/// `Send` futures.
pub async fn start(builder: SidecarBuilder) -> Sidecar {
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || runtime.block_on(builder.start()))
        .await
        .expect("the sidecar start-up did not panic")
        .unwrap_or_else(|e| panic!("starting a sidecar: {e}"))
}

/// A sidecar (from the testkit) for an app listening on `port`; it loads the subscription
/// resiliency policy (`todo_dapr::RESILIENCY`) with the components of `deploy/dapr/local`.
pub async fn sidecar_for(prefix: &str, port: u16, broker: PubSubBroker) -> Sidecar {
    start(Sidecar::builder(prefix).app_port(port).pubsub(broker)).await
}

/// A sidecar with no app (for publishing, state, secrets).
pub async fn sidecar(prefix: &str) -> Sidecar {
    start(Sidecar::builder(prefix)).await
}

/// A client of `sidecar`'s HTTP API.
pub fn client(sidecar: &Sidecar) -> DaprClient {
    DaprClient::new(DaprConfig::for_port(sidecar.http_port())).expect("a valid configuration")
}

/// Forwards every message to the receiver of the latest [`Forward::listen`]; keeps no backlog.
#[derive(Default)]
pub struct Forward {
    sender: Mutex<Option<mpsc::UnboundedSender<Message>>>,
    pub calls: AtomicUsize,
}

impl Forward {
    pub fn listen(&self) -> mpsc::UnboundedReceiver<Message> {
        let (sender, receiver) = mpsc::unbounded_channel();
        *self.sender.lock().expect("not poisoned") = Some(sender);
        receiver
    }
}

#[async_trait]
impl MessageHandler for Forward {
    async fn handle(&self, message: &Message) -> Result<(), HandleError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(sender) = self.sender.lock().expect("not poisoned").as_ref() {
            let _ = sender.send(message.clone());
        }
        Ok(())
    }
}

/// The next message from `receiver` with an id in `ids`, or a panic after `timeout`.
pub async fn next_of(
    receiver: &mut mpsc::UnboundedReceiver<Message>,
    wanted: impl Fn(&Message) -> bool,
    timeout: Duration,
    what: &str,
) -> Message {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, receiver.recv()).await {
            Ok(Some(message)) if wanted(&message) => return message,
            Ok(Some(_)) => {}
            Ok(None) => panic!("{what}: the handler went away"),
            Err(_) => panic!("{what}: nothing arrived within {timeout:?}"),
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate lives in the workspace")
        .to_path_buf()
}

/// Runs `infra/todo-infra --run-dir <run_dir> args...` with `env`; panics with its output on failure.
fn infra(run_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let script = workspace_root().join("infra").join("todo-infra");
    let mut command = Command::new("bash");
    command
        .arg(&script)
        .arg("--run-dir")
        .arg(run_dir)
        .args(args);
    for var in [
        "TODO_INFRA_RUN_DIR",
        "TODO_PG_PORT",
        "TODO_KAFKA_PORT",
        "TODO_KAFKA_CONTROLLER_PORT",
        "DAPR_API_TOKEN",
        "APP_API_TOKEN",
    ] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(
        output.status.success(),
        "`todo-infra --run-dir {} {}` failed ({}); provision with `infra/todo-infra install`:\n{}\n{}",
        run_dir.display(),
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A daprd started by `infra/todo-infra sidecar` in the shared stack's run dir, on a fixed HTTP port,
/// so that it can be stopped and started again on the same port. Stopped on drop.
pub struct FixedPortSidecar {
    run_dir: PathBuf,
    pub app_id: String,
    pub http_port: u16,
    app_port: Option<u16>,
    env: Vec<(String, String)>,
}

impl FixedPortSidecar {
    /// Starts daprd for `app_port` (if any) with extra environment (`DAPR_API_TOKEN`, ...).
    pub fn start(prefix: &str, app_port: Option<u16>, env: &[(&str, &str)]) -> Self {
        let stack = Stack::get().expect("the shared test stack (infra/todo-infra install)");
        let sidecar = Self {
            run_dir: stack.run_dir().to_path_buf(),
            app_id: todo_testkit::unique_name(prefix),
            http_port: todo_testkit::free_port().expect("a free port"),
            app_port,
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        sidecar.up();
        sidecar
    }

    /// Starts daprd again on the same HTTP port.
    pub fn up(&self) {
        let port = self.http_port.to_string();
        let app_port = self.app_port.map(|p| p.to_string());
        let mut args = vec![
            "sidecar",
            "--app-id",
            &self.app_id,
            "--dapr-http-port",
            &port,
        ];
        if let Some(app_port) = &app_port {
            args.extend(["--app-port", app_port]);
        }
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        infra(&self.run_dir, &args, &env);
    }

    /// Stops daprd (SIGTERM, by its pid file).
    pub fn stop(&self) {
        infra(&self.run_dir, &["sidecar-stop", &self.app_id], &[]);
    }
}

impl Drop for FixedPortSidecar {
    fn drop(&mut self) {
        let script = workspace_root().join("infra").join("todo-infra");
        let _ = Command::new("bash")
            .arg(&script)
            .arg("--run-dir")
            .arg(&self.run_dir)
            .args(["sidecar-stop", &self.app_id])
            .output();
        let _ = std::fs::remove_dir_all(self.run_dir.join("sidecars").join(&self.app_id));
    }
}

/// A Kafka broker of the test's own (`infra/todo-infra --run-dir .run/<unique> up kafka`), which the
/// test may stop and restart without disturbing the shared broker. Deleted on drop.
pub struct DedicatedKafka {
    run_dir: PathBuf,
    brokers: String,
}

impl DedicatedKafka {
    pub fn start() -> Self {
        let run_dir = workspace_root()
            .join(".run")
            .join(todo_testkit::unique_name("dapr-broker-down"));
        infra(&run_dir, &["up", "kafka"], &[]);
        let env = infra(&run_dir, &["env"], &[]);
        let brokers = env
            .lines()
            .find_map(|line| line.strip_prefix("export TODO_KAFKA_BROKERS="))
            .map(|v| v.trim_matches('\'').trim_matches('"').to_owned())
            .expect("todo-infra env prints TODO_KAFKA_BROKERS");
        Self { run_dir, brokers }
    }

    pub fn brokers(&self) -> &str {
        &self.brokers
    }

    /// Stops the broker, keeping its data.
    pub fn stop(&self) {
        infra(&self.run_dir, &["down"], &[]);
    }

    /// Starts it again on the same port with the same data.
    pub fn restart(&self) {
        infra(&self.run_dir, &["up", "kafka"], &[]);
    }
}

impl Drop for DedicatedKafka {
    fn drop(&mut self) {
        let script = workspace_root().join("infra").join("todo-infra");
        let _ = Command::new("bash")
            .arg(&script)
            .arg("--run-dir")
            .arg(&self.run_dir)
            .args(["down", "--purge"])
            .output();
    }
}

/// Counts calls and hands each message to an inner handler.
pub struct Counting<H> {
    pub calls: Arc<AtomicUsize>,
    pub inner: H,
}

#[async_trait]
impl<H: MessageHandler> MessageHandler for Counting<H> {
    async fn handle(&self, message: &Message) -> Result<(), HandleError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.handle(message).await
    }
}
