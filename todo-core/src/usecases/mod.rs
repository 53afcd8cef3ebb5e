//! Use cases: one struct per actor, one method per intent. They own the rules; handlers, consumers and
//! tools only translate in and out.

mod audit;
mod calendar_feed;
mod chat;
mod consumers;
mod deliveries;
#[cfg(test)]
mod mocks;
mod notifications;
mod occurrence_reminders;
mod on_commit;
mod outbox_relay;
mod recurring;
mod relay_on_commit;
mod reminder_horizon;
mod reminders;
mod tasks;

pub use audit::AuditHandler;
pub use calendar_feed::{CalendarFeedService, MAX_FEED_TASKS};
pub use chat::{conversation_key, ChatReply, ChatService, HELP, MAX_MESSAGE_CHARS};
pub use consumers::{decode_reminder_event, decode_task_event, AuditConsumer, RecurringConsumer};
pub use deliveries::{Attempt, DeliveryPolicy, ReminderDeliveries};
pub use notifications::NotificationHandler;
pub use occurrence_reminders::OccurrenceReminders;
pub use on_commit::{AfterCommit, OnCommit};
pub use outbox_relay::{backoff_delay, Backoff, OutboxRelay, RelayReport};
pub use recurring::{RecurringOutcome, RecurringTaskHandler};
pub use relay_on_commit::RelayOnCommit;
pub use reminder_horizon::{Horizon, HorizonScheduler};
pub use reminders::{
    reminder_job, reminder_job_name, Reconciliation, ReminderFiredHandler, ReminderOutcome,
    ReminderPayload, ReminderReconciler, RECONCILIATION_LOCK,
};
pub use tasks::{Completion, TaskService};
