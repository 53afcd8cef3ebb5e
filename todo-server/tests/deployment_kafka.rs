//! The same scenarios as `deployment.rs` in the deployment without Dapr: every service consumes and
//! publishes through Kafka directly (`deploy/local/todo-local up --bus kafka`), and the API fires
//! reminders from its own schedule, rebuilt from PostgreSQL.

mod support;

use support::deployment::Deployment;
use support::scenarios::{self, Outages};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kafka_deployment_runs_the_seed_scenarios_and_rides_out_a_broker_outage() {
    let deployment = tokio::task::spawn_blocking(|| Deployment::up("kafka"))
        .await
        .unwrap();
    scenarios::run_all(&deployment, Outages::Kafka).await;
}
