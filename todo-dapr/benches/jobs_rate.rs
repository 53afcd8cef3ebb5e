//! The Jobs API's rate through real daprd: `JOBS_RATE_COUNT` (2 000) one-shot jobs scheduled one
//! after the other through [`DaprScheduler`] (each call awaited before the next, as a reconciliation
//! pass does), then deleted the same way. Jobs are due a day ahead, so none fires during the run.
//!
//! ```sh
//! cargo bench -p todo-dapr --bench jobs_rate            # release build; starts the test stack
//! JOBS_RATE_COUNT=5000 cargo bench -p todo-dapr --bench jobs_rate
//! ```
//!
//! With `docs/benchmarks.md` ("Reminder reconciliation at a million reminders"), this tells what a
//! pass that schedules every pending reminder costs in Jobs API time.
#![allow(missing_docs)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use todo_core::ports::{Job, Scheduler};
use todo_dapr::DaprScheduler;
use uuid::Uuid;

use support::{client, sidecar};

fn main() -> anyhow::Result<()> {
    if !std::env::args().any(|a| a == "--bench") {
        // `cargo test --benches` runs bench targets without `--bench`: nothing to do there.
        eprintln!("jobs_rate: run it with `cargo bench -p todo-dapr --bench jobs_rate`");
        return Ok(());
    }
    let count: usize = std::env::var("JOBS_RATE_COUNT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(count))
}

async fn run(count: usize) -> anyhow::Result<()> {
    let sidecar = sidecar("jobs-rate").await;
    let scheduler = DaprScheduler::new(client(&sidecar));
    let run = Uuid::new_v4().simple().to_string();
    let due = Utc::now() + chrono::Duration::days(1);
    let jobs: Vec<Job> = (0..count)
        .map(|n| Job {
            name: format!("reminder-task-bench-{run}-{n}"),
            due: due + chrono::Duration::seconds(n as i64),
            // The shape and size of a reminder job's payload.
            payload: json!({
                "task_id": 1_000_000 + n,
                "user_id": Uuid::new_v4(),
                "due_at": due.to_rfc3339(),
                "remind_at": due.to_rfc3339(),
            }),
        })
        .collect();
    println!("## Jobs API through daprd ({count} jobs, one call at a time)\n");
    println!("- load average at start: {}", load_average());
    println!("\n| call | calls | wall | calls/s | p50 | p99 | max |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut took = Vec::with_capacity(count);
    let started = Instant::now();
    for job in &jobs {
        let call = Instant::now();
        scheduler.schedule(job.clone()).await?;
        took.push(call.elapsed());
    }
    row("schedule (POST /v1.0/jobs)", started.elapsed(), &mut took);
    let started = Instant::now();
    for job in &jobs {
        let call = Instant::now();
        scheduler.cancel(&job.name).await?;
        took.push(call.elapsed());
    }
    row("delete (DELETE /v1.0/jobs)", started.elapsed(), &mut took);
    println!("\nload average at the end: {}", load_average());
    Ok(())
}

fn row(name: &str, wall: Duration, took: &mut Vec<Duration>) {
    took.sort();
    let at = |q: f64| took[((took.len() - 1) as f64 * q) as usize];
    println!(
        "| {name} | {} | {:.2} s | {:.0} | {} | {} | {} |",
        took.len(),
        wall.as_secs_f64(),
        took.len() as f64 / wall.as_secs_f64(),
        ms(at(0.50)),
        ms(at(0.99)),
        ms(took[took.len() - 1])
    );
    took.clear();
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
