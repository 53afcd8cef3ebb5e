//! The same scenarios as `deployment.rs` in the deployment without Dapr: every service consumes and
//! publishes through Kafka directly (`deploy/local/todo-local up --bus kafka`), and the API fires
//! reminders from its own schedule, rebuilt from PostgreSQL.

mod support;

use support::deployment::Deployment;
use support::scenarios::{self, Outages};
use support::smtp::SmtpSink;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kafka_deployment_runs_the_seed_scenarios_and_rides_out_a_broker_outage() {
    let smtp = SmtpSink::start();
    let url = smtp.url();
    let deployment =
        tokio::task::spawn_blocking(move || Deployment::up_with_email("kafka", Some(&url)))
            .await
            .unwrap();
    scenarios::run_all(&deployment, &smtp, Outages::Kafka).await;
}
