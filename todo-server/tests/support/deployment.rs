//! The distributed deployment of `deploy/local/todo-local`, in a run dir of its own: PostgreSQL,
//! Kafka and the Dapr scheduler, and each service beside its own daprd. Torn down (data deleted)
//! on drop.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

/// The Dapr API token of the local deployment (deploy/dapr/local/secrets.json).
pub const DAPR_API_TOKEN: &str = "dev-only-dapr-api-token";

pub struct Deployment {
    run_dir: PathBuf,
    bus: String,
    /// `TODO_<SERVICE>_URL` and the other values of the deployment's `local.env`.
    env: HashMap<String, String>,
    /// `APP_PORT_<service>` and `DAPR_PORT_<service>`.
    ports: HashMap<String, String>,
    /// Variables for every `todo-local` command (the SMTP server, a secrets file).
    extra_env: Vec<(String, String)>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

fn read_vars(path: &PathBuf) -> HashMap<String, String> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.trim_start_matches("export ").split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('\'').to_owned()))
        .collect()
}

impl Deployment {
    /// Starts everything with `bus` (`dapr` or `kafka`), running this test build's server binary.
    /// Blocking: call it from `spawn_blocking`.
    pub fn up(bus: &str) -> Deployment {
        Self::up_with_email(bus, None)
    }

    /// [`Self::up`], with reminders by email through `smtp_url`: with Dapr as the secret `smtp-url`
    /// of the deployment's secret store (a copy of deploy/dapr/local/secrets.json), otherwise as
    /// `TODO_SMTP_URL`.
    pub fn up_with_email(bus: &str, smtp_url: Option<&str>) -> Deployment {
        let run_dir = root().join(".run").join(todo_testkit::unique_name("e2e"));
        let mut extra_env = vec![(
            "TODO_MAIL_FROM".to_owned(),
            "todo <reminders@todo.test>".to_owned(),
        )];
        match (smtp_url, bus) {
            (Some(url), "dapr") => {
                let dev = root().join("deploy/dapr/local/secrets.json");
                let mut secrets: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(dev).unwrap()).unwrap();
                secrets["smtp-url"] = serde_json::Value::String(url.to_owned());
                std::fs::create_dir_all(&run_dir).unwrap();
                let path = run_dir.join("secrets.json");
                std::fs::write(&path, secrets.to_string()).unwrap();
                extra_env.push(("TODO_SECRETS_FILE".to_owned(), path.display().to_string()));
            }
            (Some(url), _) => extra_env.push(("TODO_SMTP_URL".to_owned(), url.to_owned())),
            (None, _) => {}
        }
        // Built before it starts, so that a failed start is torn down too.
        let mut deployment = Deployment {
            run_dir,
            bus: bus.to_owned(),
            env: HashMap::new(),
            ports: HashMap::new(),
            extra_env,
        };
        deployment.script(&["up", "--bus", bus]);
        deployment.env = read_vars(&deployment.run_dir.join("local.env"));
        deployment.ports = read_vars(&deployment.run_dir.join("local-ports.env"));
        deployment
    }

    fn script(&self, args: &[&str]) -> String {
        let output = Command::new("bash")
            .arg(root().join("deploy").join("local").join("todo-local"))
            .arg("--run-dir")
            .arg(&self.run_dir)
            .args(args)
            .env("TODO_SERVER_BIN", env!("CARGO_BIN_EXE_todo-server"))
            .env("TODO_LOG", "info,todo_dapr=debug")
            .envs(self.extra_env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("running deploy/local/todo-local");
        let stderr = String::from_utf8_lossy(&output.stderr);
        eprint!("{stderr}");
        assert!(
            output.status.success(),
            "todo-local {args:?} failed: {stderr}"
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The base URL of a service (`api`, `recurring`, `notification`, `audit`).
    pub fn url(&self, service: &str) -> String {
        let key = format!("TODO_{}_URL", service.to_uppercase());
        self.env[&key].clone()
    }

    /// The base URL of a unit started after `up`, such as a second replica (`api-2`).
    pub fn unit_url(&self, unit: &str) -> String {
        let ports = read_vars(&self.run_dir.join("local-ports.env"));
        format!(
            "http://127.0.0.1:{}",
            ports[&format!("APP_PORT_{}", unit.replace('-', "_"))]
        )
    }

    /// The PostgreSQL database every service of the deployment shares.
    pub fn database_url(&self) -> String {
        self.env["TODO_DATABASE_URL"].clone()
    }

    /// The HTTP address of a service's daprd.
    pub fn sidecar_url(&self, service: &str) -> String {
        format!(
            "http://127.0.0.1:{}",
            self.ports[&format!("DAPR_PORT_{service}")]
        )
    }

    /// Publishes `event` (a SPEC §4 JSON event of `topic`) again, as a redelivery would bring it:
    /// through the API's sidecar with Dapr, or straight to Kafka.
    pub async fn redeliver(&self, topic: &str, event: &serde_json::Value) {
        use todo_core::events::DomainEvent;
        use todo_core::ports::EventBus;
        let message = DomainEvent::decode(topic, event)
            .expect("a valid event")
            .to_message();
        if self.bus == "dapr" {
            let response = reqwest::Client::new()
                .post(format!(
                    "{}/v1.0/publish/kafka-pubsub/{topic}?metadata.partitionKey={}",
                    self.sidecar_url("api"),
                    message.key
                ))
                .header("dapr-api-token", DAPR_API_TOKEN)
                .json(event)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), reqwest::StatusCode::NO_CONTENT);
        } else {
            let config =
                todo_kafka_direct::KafkaConfig::new(self.env["TODO_KAFKA_BROKERS"].clone());
            let bus = todo_kafka_direct::KafkaEventBus::new(&config).unwrap();
            bus.publish(&message).await.unwrap();
        }
    }

    /// Stops a service, a sidecar (`daprd-api`), or `kafka`, `postgres`, `scheduler`. Blocking.
    pub fn stop(&self, name: &str) {
        self.script(&["stop", name]);
    }

    /// Stops a unit (`api-2`) and, with Dapr, its sidecar. Blocking.
    pub fn stop_unit(&self, unit: &str) {
        self.stop(unit);
        if self.bus == "dapr" {
            self.stop(&format!("daprd-{unit}"));
        }
    }

    /// Starts it again where it was. Blocking.
    pub fn start(&self, name: &str) {
        self.script(&["start", name]);
    }

    /// The last lines of a log (`api`, `daprd-api`, `kafka`, ...).
    pub fn logs(&self, name: &str) -> String {
        self.script(&["logs", name])
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(root().join("deploy").join("local").join("todo-local"))
            .arg("--run-dir")
            .arg(&self.run_dir)
            .arg("down")
            .output();
        let _ = Command::new("bash")
            .arg(root().join("infra").join("todo-infra"))
            .arg("--run-dir")
            .arg(&self.run_dir)
            .args(["down", "--purge"])
            .output();
    }
}

/// The sum of a Prometheus counter's samples whose labels include every `label="value"` given.
pub fn counter(metrics: &str, name: &str, labels: &[&str]) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter(|l| labels.iter().all(|label| l.contains(label)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
