//! The seed's scenarios, through HTTP only, against the distributed deployment with Dapr: each
//! service its own `todo-server` process beside its own daprd, with real Kafka, PostgreSQL and the
//! Dapr scheduler (`deploy/local/todo-local up`). Then the outages: Kafka stopped during writes, the
//! API's sidecar stopped.
//!
//! One deployment serves the whole sequence (starting one takes most of a minute).

mod support;

use support::deployment::Deployment;
use support::scenarios::{self, Outages};
use support::smtp::SmtpSink;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dapr_deployment_runs_the_seed_scenarios_and_rides_out_outages() {
    let smtp = SmtpSink::start();
    let url = smtp.url();
    let deployment =
        tokio::task::spawn_blocking(move || Deployment::up_with_email("dapr", Some(&url)))
            .await
            .unwrap();
    scenarios::run_all(&deployment, &smtp, Outages::KafkaAndSidecar).await;
}
