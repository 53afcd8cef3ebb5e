//! A real SMTP server for the deployment tests: aiosmtpd (from the interop tests' venv,
//! `todo-server/tests/interop/run` provisions it) storing every message it accepts in a Maildir.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// aiosmtpd on 127.0.0.1:`port`, stopped on drop.
pub struct SmtpSink {
    port: u16,
    maildir: tempfile::TempDir,
    process: Child,
}

/// One received message, as raw text.
#[derive(Debug, Clone)]
pub struct Mail {
    pub raw: String,
}

impl Mail {
    /// The value of header `name` (unfolded), if present.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.raw.split("\r\n\r\n").next().unwrap_or(&self.raw);
        let unfolded = head
            .replace("\r\n ", " ")
            .replace("\r\n\t", " ")
            .replace("\n ", " ");
        unfolded.lines().find_map(|l| {
            let (key, value) = l.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }
}

fn python() -> PathBuf {
    let home = std::env::var_os("TODO_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/todo")
        });
    home.join("interop/current/bin/python")
}

impl SmtpSink {
    /// Starts aiosmtpd on a free port; panics (naming the fix) when the venv is missing.
    pub fn start() -> SmtpSink {
        let python = python();
        assert!(
            python.is_file(),
            "{} is missing: run todo-server/tests/interop/run once (it provisions aiosmtpd)",
            python.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let maildir = tempfile::tempdir().expect("a maildir");
        let process = Command::new(&python)
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
            ])
            .arg("aiosmtpd.handlers.Mailbox")
            .arg(maildir.path().join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting aiosmtpd");
        let sink = SmtpSink {
            port,
            maildir,
            process,
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "aiosmtpd did not listen"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        sink
    }

    /// `smtp://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far.
    pub fn mails(&self) -> Vec<Mail> {
        let mut mails = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.maildir.path().join("mail").join(sub)) else {
                continue;
            };
            for entry in entries.flatten() {
                if let Ok(raw) = std::fs::read_to_string(entry.path()) {
                    mails.push(Mail { raw });
                }
            }
        }
        mails
    }

    /// The messages whose text (an ASCII `text`, so not encoded) contains `text`.
    pub fn mentioning(&self, text: &str) -> Vec<Mail> {
        self.mails()
            .into_iter()
            .filter(|m| m.raw.contains(text))
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
