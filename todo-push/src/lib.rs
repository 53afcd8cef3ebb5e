//! Web Push (SPEC §14; RFC 8030 delivery, RFC 8291 message encryption, RFC 8292 VAPID): the
//! [`ReminderChannel`](todo_core::ports::ReminderChannel) that brings a reminder to the browsers a
//! user registered, even with no tab of the app open.
//!
//! - [`VapidKey`]: the application server's P-256 key pair; browsers subscribe with its public half,
//!   and every push carries a JWT signed with its private half (`Authorization: vapid t=…, k=…`).
//! - [`PushChannel`]: for each of the user's registrations (a
//!   [`PushSubscriptionStore`](todo_core::ports::PushSubscriptionStore)), encrypts the
//!   [`PushPayload`] for that browser (aes128gcm) and posts it to its push service over HTTPS.
//!   A 404 or 410 removes the registration; 429, 5xx and network failures are transient; other
//!   statuses permanent (when no browser took the message).
//! - The SSRF guard: endpoints are URLs users chose, so every name is resolved by the channel and a
//!   request only goes to public addresses (never loopback, private or link-local, whatever the DNS
//!   says), redirects are not followed and no proxy is used. [`PushSettings`] has two switches for
//!   tests against a local push service, off by default.
//!
//! ```no_run
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use todo_core::memory::InMemoryPushSubscriptionStore;
//! use todo_core::ports::SystemClock;
//! use todo_push::{PushChannel, PushSettings, VapidKey};
//!
//! let vapid = VapidKey::generate();
//! println!("applicationServerKey: {}", vapid.public_key());
//! let channel = PushChannel::new(
//!     Arc::new(InMemoryPushSubscriptionStore::new()),
//!     vapid,
//!     Arc::new(SystemClock),
//!     PushSettings::default(),
//! )?;
//! # Ok(()) }
//! ```

mod channel;
mod guard;
mod payload;
mod vapid;

pub use channel::{PushChannel, PushSettings, PushSetupError};
pub use guard::ForbiddenAddress;
pub use payload::PushPayload;
pub use vapid::{VapidKey, VapidKeyError, VAPID_TOKEN_LIFETIME};
