//! Reminders by email over SMTP (lettre): plain or STARTTLS (`smtp://`, `?tls=required`) or TLS
//! (`smtps://`), a text and an HTML body, dates in the user's time zone.
//!
//! The server is `TODO_SMTP_URL` (or the Dapr secret `smtp-url`), e.g.
//! `smtp://user:pass@mail.example.com:587?tls=required`; the sender is `TODO_MAIL_FROM`.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use lettre::message::header::{self, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use todo_core::ports::{ChannelError, ChannelKind, Delivered, Reminder, ReminderChannel};

/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// Why an email channel could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum EmailConfigError {
    /// The SMTP URL is not one lettre understands.
    #[error(
        "the SMTP URL (scheme smtp:// or smtps://, e.g. smtp://user:pass@host:587?tls=required)"
    )]
    Url(#[source] lettre::transport::smtp::Error),
    /// The sender is not a mailbox.
    #[error("TODO_MAIL_FROM `{value}` is not a mailbox such as `todo <todo@example.com>`")]
    From {
        /// The value given.
        value: String,
        /// What the address parser objected to.
        #[source]
        source: lettre::address::AddressError,
    },
}

/// Sends reminders as email through one SMTP server.
pub struct EmailChannel {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    server: String,
}

impl EmailChannel {
    /// A channel through the server of `url`, sending from `from`.
    ///
    /// # Errors
    ///
    /// [`EmailConfigError`] when the URL or the sender cannot be read.
    pub fn new(url: &str, from: &str) -> Result<Self, EmailConfigError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(EmailConfigError::Url)?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        let from: Mailbox = from.parse().map_err(|source| EmailConfigError::From {
            value: from.to_owned(),
            source,
        })?;
        Ok(Self {
            transport,
            from,
            server: redacted(url),
        })
    }

    /// The server's address without credentials, for logs.
    pub fn server(&self) -> &str {
        &self.server
    }
}

#[async_trait]
impl ReminderChannel for EmailChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Email
    }

    async fn deliver(&self, reminder: &Reminder) -> Result<Delivered, ChannelError> {
        let to: Mailbox = reminder.email.parse().map_err(|e| {
            ChannelError::permanent(format!("`{}` is not a mailbox", reminder.email), e)
        })?;
        let message = message(&self.from, to, reminder)
            .map_err(|e| ChannelError::permanent("building the email", e))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(Delivered::Sent),
            Err(e) if e.is_permanent() => Err(ChannelError::permanent(
                format!("the SMTP server {} refused the email", self.server),
                e,
            )),
            Err(e) => Err(ChannelError::transient(
                format!("sending through the SMTP server {}", self.server),
                e,
            )),
        }
    }
}

/// The reminder as an email from `from` to `to`.
fn message(
    from: &Mailbox,
    to: Mailbox,
    reminder: &Reminder,
) -> Result<Message, lettre::error::Error> {
    let due = local(reminder.due_at, reminder.timezone);
    let text = format!(
        "Reminder: {title}\n\nDue {long} ({zone}).\n\nYou get this email because reminders by email \
         are on in your todo settings.\n",
        title = reminder.title,
        long = long(reminder.due_at, reminder.timezone),
        zone = reminder.timezone.name(),
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\">\
         <p style=\"font-size:1.1em\"><strong>{title}</strong></p>\
         <p>Due <strong>{long}</strong> ({zone}).</p>\
         <p style=\"color:#666;font-size:.9em\">You get this email because reminders by email are on \
         in your todo settings.</p></body></html>",
        title = escape(&reminder.title),
        long = long(reminder.due_at, reminder.timezone),
        zone = reminder.timezone.name(),
    );
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(format!("Reminder: {} — due {due}", reminder.title))
        .header(AutoSubmitted)
        .multipart(MultiPart::alternative_plain_html(text, html))
}

/// `Auto-Submitted: auto-generated` (RFC 3834), so that mail servers do not answer it.
#[derive(Clone)]
struct AutoSubmitted;

impl header::Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

/// `Mon 7 Dec 09:00`.
fn local(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone)
        .format("%a %-d %b %H:%M")
        .to_string()
}

/// `Monday 7 December 2026 at 09:00`.
fn long(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone)
        .format("%A %-d %B %Y at %H:%M")
        .to_string()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `smtp://user:secret@host:587` → `smtp://host:587`.
fn redacted(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            let host = host.split(['?', '/']).next().unwrap_or(host);
            format!("{scheme}://{host}")
        }
        None => "(unreadable URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use todo_core::model::{EventId, TaskId, UserId};

    use super::*;

    fn reminder() -> Reminder {
        Reminder {
            event_id: EventId(uuid::Uuid::from_u128(1)),
            user_id: UserId(uuid::Uuid::from_u128(2)),
            email: "ada@example.com".into(),
            timezone: chrono_tz::Europe::Paris,
            task_id: TaskId(12),
            title: "Pay <rent> & \"bills\"".into(),
            due_at: Utc.with_ymd_and_hms(2026, 12, 7, 8, 0, 0).unwrap(),
            remind_at: Utc.with_ymd_and_hms(2026, 12, 7, 7, 0, 0).unwrap(),
        }
    }

    #[test]
    fn the_email_says_what_and_when_in_the_users_zone_with_html_escaped() {
        let from: Mailbox = "todo <todo@example.com>".parse().unwrap();
        let to: Mailbox = "ada@example.com".parse().unwrap();
        let message = message(&from, to, &reminder()).unwrap();
        let raw = String::from_utf8(message.formatted()).unwrap();
        assert!(raw.contains("Auto-Submitted: auto-generated"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        let headers = message.headers();
        let subject = headers.get_raw("Subject").unwrap();
        // 08:00 UTC is 09:00 in Paris (winter time).
        assert!(
            subject.contains("Mon 7 Dec 09:00")
                || raw.contains("Reminder: Pay <rent> & \"bills\" — due Mon 7 Dec 09:00"),
            "{subject}"
        );
        assert!(
            raw.contains("Monday 7 December 2026 at 09:00 (Europe/Paris)"),
            "{raw}"
        );
        assert!(
            raw.contains("Pay &lt;rent&gt; &amp; &quot;bills&quot;"),
            "{raw}"
        );
    }

    #[test]
    fn credentials_never_reach_the_logs() {
        assert_eq!(
            redacted("smtp://user:s3cret@mail.example.com:587?tls=required"),
            "smtp://mail.example.com:587"
        );
        assert_eq!(
            redacted("smtps://mail.example.com"),
            "smtps://mail.example.com"
        );
        assert_eq!(redacted("nonsense"), "(unreadable URL)");
    }

    // Building the transport starts its connection pool, which needs a runtime.
    #[tokio::test]
    async fn bad_configuration_is_named() {
        assert!(matches!(
            EmailChannel::new("http://example.com", "todo <t@example.com>"),
            Err(EmailConfigError::Url(_))
        ));
        assert!(matches!(
            EmailChannel::new("smtp://127.0.0.1:2525", "not a mailbox"),
            Err(EmailConfigError::From { .. })
        ));
        assert!(EmailChannel::new("smtp://127.0.0.1:2525", "todo <todo@example.com>").is_ok());
    }
}
