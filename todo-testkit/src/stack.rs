//! The shared local stack: started once per machine run dir by `infra/todo-infra up`.
//!
//! Every test binary calls [`Stack::get`]; the first call in a process runs
//! `infra/todo-infra up`, which holds a file lock on the run dir, starts whatever is not
//! running and is a no-op otherwise, so binaries running in parallel share one stack.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::TestkitError;

/// Addresses of the running stack, as printed by `infra/todo-infra env`.
#[derive(Debug, Clone)]
pub struct Stack {
    root: PathBuf,
    run_dir: PathBuf,
    vars: HashMap<String, String>,
}

static STACK: OnceLock<Result<Stack, String>> = OnceLock::new();

impl Stack {
    /// The shared stack, started on first use. Blocks while `up` runs (seconds when warm).
    ///
    /// Fails with a message naming the command to run when the stack cannot start.
    pub fn get() -> Result<&'static Self, TestkitError> {
        STACK
            .get_or_init(Self::start)
            .as_ref()
            .map_err(|report| TestkitError::StackUnavailable {
                report: report.clone(),
            })
    }

    fn start() -> Result<Self, String> {
        let root = workspace_root();
        // A relative TODO_INFRA_RUN_DIR is taken from the workspace root (test binaries run
        // in their package's dir).
        let run_dir = std::env::var_os("TODO_INFRA_RUN_DIR")
            .map(|dir| root.join(dir))
            .unwrap_or_else(|| root.join(".run").join("test"));
        let script = root.join("infra").join("todo-infra");
        let hint = format!(
            "provision it once with `{0} install`, then `{0} --run-dir {1} up` shows what fails \
             (logs: `{0} --run-dir {1} logs`); see docs/local-infrastructure.md",
            script.display(),
            run_dir.display()
        );

        let up = Command::new("bash")
            .arg(&script)
            .arg("--run-dir")
            .arg(&run_dir)
            .arg("up")
            .output()
            .map_err(|e| format!("could not run {}: {e}; {hint}", script.display()))?;
        // `up` says on stderr when it started the stack, which keeps running after the tests, and
        // how to stop it. Written past the test harness's capture so that it is seen.
        let up_stderr = String::from_utf8_lossy(&up.stderr);
        for line in up_stderr.lines().filter(|l| l.contains("keep running")) {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
        if !up.status.success() {
            return Err(format!(
                "`{} up` failed ({}):\n{}\n{hint}",
                script.display(),
                up.status,
                up_stderr.trim_end()
            ));
        }

        let env = Command::new("bash")
            .arg(&script)
            .arg("--run-dir")
            .arg(&run_dir)
            .arg("env")
            .output()
            .map_err(|e| format!("could not run {} env: {e}", script.display()))?;
        if !env.status.success() {
            return Err(format!(
                "`{} env` failed: {}\n{hint}",
                script.display(),
                String::from_utf8_lossy(&env.stderr).trim_end()
            ));
        }
        let vars = parse_exports(&String::from_utf8_lossy(&env.stdout));
        Ok(Self {
            root,
            run_dir,
            vars,
        })
    }

    /// The workspace root (where `infra/` and `deploy/` live).
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The run dir holding the stack's ports, pids, logs and data.
    #[must_use]
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// `bash infra/todo-infra --run-dir <run dir>`: the supervisor, for further arguments.
    pub(crate) fn infra_command(&self) -> Command {
        let mut command = Command::new("bash");
        command
            .arg(self.root.join("infra").join("todo-infra"))
            .arg("--run-dir")
            .arg(&self.run_dir);
        command
    }

    /// Every exported variable (`TODO_PG_URL`, `TODO_KAFKA_BROKERS`, ...).
    #[must_use]
    pub fn vars(&self) -> &HashMap<String, String> {
        &self.vars
    }

    /// One exported variable, or [`TestkitError::MissingVar`].
    pub fn var(&self, name: &str) -> Result<&str, TestkitError> {
        self.vars
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| TestkitError::MissingVar {
                variable: name.to_owned(),
            })
    }

    /// Admin URL of the PostgreSQL cluster (`postgres` database, superuser `postgres`).
    pub fn pg_url(&self) -> Result<&str, TestkitError> {
        self.var("TODO_PG_URL")
    }

    /// Kafka bootstrap servers, `host:port`.
    pub fn kafka_brokers(&self) -> Result<&str, TestkitError> {
        self.var("TODO_KAFKA_BROKERS")
    }

    /// gRPC address of the Dapr scheduler, for `daprd --scheduler-host-address`.
    pub fn scheduler_addr(&self) -> Result<&str, TestkitError> {
        self.var("TODO_DAPR_SCHEDULER_ADDR")
    }

    /// Path of the `daprd` binary built by `infra/todo-infra install`.
    pub fn daprd_bin(&self) -> Result<&str, TestkitError> {
        self.var("TODO_DAPRD_BIN")
    }

    /// Redis address, `host:port`.
    pub fn redis_addr(&self) -> Result<&str, TestkitError> {
        self.var("TODO_REDIS_ADDR")
    }
}

/// The workspace root: this crate's manifest dir's parent.
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Parses `export NAME='value'` lines (the format `todo-infra env` prints).
pub(crate) fn parse_exports(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("export "))
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| {
            let value = value.trim();
            let value = value
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or(value);
            (name.trim().to_owned(), value.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_lines_are_parsed_with_or_without_quotes() {
        let vars = parse_exports(
            "# comment\nexport TODO_PG_URL='postgres://postgres@127.0.0.1:5/postgres'\nexport A=b\nnoise\n",
        );
        assert_eq!(
            vars["TODO_PG_URL"],
            "postgres://postgres@127.0.0.1:5/postgres"
        );
        assert_eq!(vars["A"], "b");
        assert_eq!(vars.len(), 2);
    }

    #[test]
    fn the_workspace_root_holds_the_infra_script() {
        assert!(workspace_root().join("infra").join("todo-infra").is_file());
    }
}
