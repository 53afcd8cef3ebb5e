//! The binary as an operator meets it: bad configuration stops it with exit code 2 and a message naming
//! the variable or the file (no panic, no backtrace), `--help` offers only what this build runs, and
//! logs written to a pipe carry no colour codes.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The server with an empty environment but for `PATH` and a home directory (where the default
/// storage keeps its data).
fn server(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_todo-server"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home);
    // Under `cargo llvm-cov`, where the instrumented binary writes its profile.
    if let Some(profile) = std::env::var_os("LLVM_PROFILE_FILE") {
        command.env("LLVM_PROFILE_FILE", profile);
    }
    command
}

fn run(args: &[&str], vars: &[(&str, &str)]) -> Output {
    let home = tempfile::tempdir().expect("a home directory");
    run_in(home.path(), args, vars)
}

fn run_in(home: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    server(home)
        .args(args)
        .envs(vars.iter().copied())
        .output()
        .expect("the server binary runs")
}

/// Asserts that the process was refused at start: exit code 2, `needle` on stderr, nothing panicked.
fn assert_refused(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains(needle), "`{needle}` not in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("backtrace"), "{stderr}");
}

#[test]
fn a_bad_variable_stops_the_server_with_a_message_naming_it() {
    for (name, value) in [
        ("DATABASE_URL", "notaurl"),
        ("TODO_LOG", "garbage[[["),
        ("TODO_ADDR", "nowhere"),
        ("TODO_BUS", "carrier-pigeon"),
    ] {
        assert_refused(&run(&[], &[(name, value)]), name);
    }
}

#[test]
fn a_database_url_is_never_echoed_with_its_password() {
    let output = run(&[], &[("DATABASE_URL", "mysql://me:s3cret@db/x")]);
    assert_refused(&output, "DATABASE_URL");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("s3cret"));
}

#[test]
fn a_service_says_what_it_needs() {
    assert_refused(
        &run(&["migrate"], &[("DATABASE_URL", "memory:")]),
        "DATABASE_URL",
    );
    assert_refused(
        &run(&["backup", "copy.db"], &[("DATABASE_URL", "memory:")]),
        "DATABASE_URL",
    );
    assert_refused(&run(&["api"], &[]), "TODO_BUS");
    assert_refused(&run(&["mcp"], &[]), "TODO_BUS");
    assert_refused(&run(&["mcp"], &[("TODO_BUS", "dapr")]), "DATABASE_URL");
    assert_refused(
        &run(&["recurring"], &[("TODO_BUS", "dapr")]),
        "DATABASE_URL",
    );
}

#[test]
fn an_unreachable_database_is_named_with_its_cause() {
    let output = run(
        &["audit"],
        &[
            ("DATABASE_URL", "postgres://me:pw@127.0.0.1:1/todo"),
            ("TODO_BUS", "dapr"),
        ],
    );
    assert_refused(&output, "127.0.0.1:1");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
    assert!(stderr.to_lowercase().contains("refused"), "{stderr}");
}

#[test]
fn help_offers_only_the_services_of_this_build() {
    let output = run(&["--help"], &[]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for service in [
        "all",
        "api",
        "recurring",
        "notification",
        "audit",
        "mcp",
        "migrate",
        "backup",
    ] {
        assert!(
            help.contains(&format!("  {service} ")),
            "{service} missing: {help}"
        );
    }
    let mcp = run(&["mcp", "--help"], &[]);
    assert!(mcp.status.success());
    assert!(String::from_utf8_lossy(&mcp.stdout).contains("--stdio"));
}

#[test]
fn mcp_on_stdio_needs_a_valid_token() {
    let output = run(&["mcp", "--stdio"], &[("DATABASE_URL", "memory:")]);
    assert_refused(&output, "TODO_TOKEN");
    let output = run(
        &["mcp", "--stdio"],
        &[("DATABASE_URL", "memory:"), ("TODO_TOKEN", "not.a.token")],
    );
    assert_refused(&output, "TODO_TOKEN");
    assert!(output.stdout.is_empty(), "stdout is the protocol's alone");
}

#[test]
fn logs_to_a_pipe_have_no_colour_codes() {
    let home = tempfile::tempdir().expect("a home directory");
    let mut child = server(home.path())
        .env("TODO_ADDR", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server starts");
    let stdout = child.stdout.take().expect("piped");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("utf-8 output");
        let done = line.contains("todo is running at");
        seen.push(line);
        if done || Instant::now() > deadline {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        seen.iter().any(|l| l.contains("todo is running at")),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|l| l.contains("INFO")),
        "no log lines: {seen:?}"
    );
    assert!(
        seen.iter().all(|l| !l.contains('\u{1b}')),
        "colour codes in {seen:?}"
    );
}

#[test]
fn migrate_creates_the_default_database_in_the_data_directory() {
    let home = tempfile::tempdir().unwrap();
    let output = run_in(home.path(), &["migrate"], &[]);
    assert!(output.status.success(), "{output:?}");
    let file = home.path().join(".local/share/todo/todo.db");
    if cfg!(target_os = "linux") {
        assert!(file.exists(), "{} missing", file.display());
    }
    // Again: nothing to do, still fine.
    assert!(run_in(home.path(), &["migrate"], &[]).status.success());
}

#[test]
fn a_file_that_is_not_a_database_stops_the_server_naming_it() {
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("todo.db");
    std::fs::write(&file, "these are my notes, not a database\n".repeat(200)).unwrap();
    let output = run(&[], &[("TODO_DATA_DIR", data.path().to_str().unwrap())]);
    assert_refused(&output, &file.display().to_string());
    assert_refused(&output, "not a SQLite database");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "these are my notes, not a database\n".repeat(200),
        "the file is left as it was"
    );
}

#[test]
fn a_data_directory_that_cannot_be_created_stops_the_server_naming_it() {
    let parent = tempfile::tempdir().unwrap();
    let blocker = parent.path().join("a-file");
    std::fs::write(&blocker, "").unwrap();
    let dir = blocker.join("todo");
    let output = run(&[], &[("TODO_DATA_DIR", dir.to_str().unwrap())]);
    assert_refused(&output, &dir.display().to_string());
    assert_refused(&output, "TODO_DATA_DIR");
}
