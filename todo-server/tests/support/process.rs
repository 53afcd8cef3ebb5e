//! The server binary as a child process, as a self-hoster runs it: started from a [`Command`], its
//! stdout and stderr collected line by line, its address read from the `todo is running at URL` line
//! it prints once it listens. Killed (SIGKILL) when dropped.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the binary may take to print its address.
const START_LIMIT: Duration = Duration::from_secs(60);

/// A running `todo-server` child process.
pub struct ServerProcess {
    pub child: Child,
    /// `http://127.0.0.1:PORT`, as the process printed it.
    pub base: String,
    lines: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
}

impl ServerProcess {
    /// The binary with a clean environment: `PATH`, `HOME` (where the default data lives) and a free
    /// port; the caller adds the rest.
    pub fn command(home: &Path) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_todo-server"));
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("TODO_ADDR", "127.0.0.1:0");
        // Under `cargo llvm-cov` the binary is instrumented: keep where its profile goes, so that
        // what it runs counts.
        if let Some(profile) = std::env::var_os("LLVM_PROFILE_FILE") {
            command.env("LLVM_PROFILE_FILE", profile);
        }
        command
    }

    /// Starts `command` and waits until the process prints its address (panics with its output if
    /// it does not within a minute).
    pub fn spawn(mut command: Command) -> ServerProcess {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server binary starts");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let readers = vec![
            collect(stdout, lines.clone(), Some(url_tx)),
            collect(stderr, lines.clone(), None),
        ];
        let Ok(base) = url_rx.recv_timeout(START_LIMIT) else {
            let _ = child.kill();
            panic!("the server did not start: {:#?}", lines.lock().unwrap());
        };
        ServerProcess {
            child,
            base,
            lines,
            readers,
        }
    }

    /// Every line the process wrote so far, stdout and stderr interleaved as they arrived.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// [`Self::lines`] as one text.
    pub fn output(&self) -> String {
        self.lines().join("\n")
    }

    /// SIGKILL: no shutdown, no checkpoint, nothing flushed by the process.
    pub fn kill(mut self) {
        self.stop_now();
    }

    /// SIGKILL, then everything the process wrote (both pipes read to their end).
    pub fn kill_and_collect(mut self) -> String {
        self.stop_now();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        self.output()
    }

    fn stop_now(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// Reads `pipe` line by line into `lines` (lossily: a log line is text), sending the address from
/// the `todo is running at` line to `url`.
fn collect(
    pipe: impl Read + Send + 'static,
    lines: Arc<Mutex<Vec<String>>>,
    url: Option<std::sync::mpsc::Sender<String>>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut raw = Vec::new();
        while matches!(reader.read_until(b'\n', &mut raw), Ok(1..)) {
            let line = String::from_utf8_lossy(&raw).trim_end().to_owned();
            raw.clear();
            if let (Some(url), Some(rest)) = (&url, line.split("todo is running at ").nth(1)) {
                let _ = url.send(
                    rest.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
            lines.lock().unwrap().push(line);
        }
    })
}
