//! The task model: validated value types and the task aggregate.
//!
//! Parse, don't validate: every field type has a fallible constructor, so an invalid value cannot reach a
//! use case.

mod ids;
mod priority;
mod push;
mod schedule;
mod tags;
mod task;
mod text;

pub use ids::{EventId, SeriesId, TaskId, UserId};
pub use priority::{Priority, Status};
pub use push::{
    is_public_address, PushEndpoint, PushKeys, PushKeysInput, PushSubscription,
    PushSubscriptionInput, AUTH_SECRET_BYTES, P256DH_BYTES, PUSH_ENDPOINT_MAX_BYTES,
};
pub use schedule::{parse_due_date, RemindBefore, TimeZone};
pub use tags::{Tag, Tags, TAGS_MAX, TAG_MAX_CHARS};
pub use task::{NewTask, Series, Task, TaskInput, TaskPatch, TaskPatchInput};
pub use text::{Description, Title, DESCRIPTION_MAX_CHARS, TITLE_MAX_CHARS};
