//! Ports: the async traits through which the use cases reach infrastructure.
//!
//! Each is object-safe and `Send + Sync`, used as `Arc<dyn Port>`, has an in-memory adapter in
//! [`crate::memory`] and a conformance suite in `todo_core::testkit` (feature `testing`).

mod audit;
mod calendar_feeds;
mod channels;
mod clock;
mod dead_letters;
mod deliveries;
mod event_bus;
mod locks;
mod notifications;
mod outbox;
mod push;
mod repository;
mod scheduler;
mod secret_store;
mod state_store;
mod users;

pub use audit::{AuditEntry, AuditLog, TaskSnapshot};
pub use calendar_feeds::CalendarFeeds;
pub use channels::{ChannelError, ChannelKind, Delivered, Reminder, ReminderChannel};
pub use clock::{Clock, IdGenerator, NoWait, SystemClock, Timer, UuidV7Generator};
pub use dead_letters::{DeadLetter, DeadLetterStore};
pub use deliveries::{Delivery, DeliveryColumns, DeliveryOutcome, DeliveryState, DeliveryStore};
pub use event_bus::{EventBus, HandleError, MessageHandler};
pub use locks::{HeldLock, Locks};
pub use notifications::{Notification, NotificationStore};
pub use outbox::{OutboxEntry, OutboxStore};
pub use push::{PushRegistration, PushSubscriptionStore};
pub use repository::{
    stale_write, Changes, Page, ProcessedEvent, ReminderCursor, ReminderEntry, ReservedTaskIds,
    TagCount, TaskRepository, TaskWrite,
};
pub use scheduler::{Job, Scheduler};
pub use secret_store::SecretStore;
pub use state_store::{Concurrency, ETag, StateItem, StateStore};
pub use users::{User, UserRepository, UserSettings};

/// Result of every port call.
pub type PortResult<T> = Result<T, crate::error::PortError>;
