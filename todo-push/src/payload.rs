//! What a push carries: the JSON the service worker (`web/sw.js`) shows as a notification.

use serde::Serialize;
use todo_core::model::TaskId;
use todo_core::ports::Reminder;

/// The notification a reminder becomes: `{"title","body","task_id","url"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushPayload {
    /// `Reminder: <task title>`.
    pub title: String,
    /// When the task is due, in the user's time zone (`due Mon 7 Dec 09:00`).
    pub body: String,
    /// The task, so the notification can be tagged per task and replaced rather than stacked.
    pub task_id: TaskId,
    /// Where a click on the notification leads.
    pub url: String,
}

impl PushPayload {
    /// The payload of `reminder`.
    pub fn of(reminder: &Reminder) -> Self {
        let due = reminder.due_at.with_timezone(&reminder.timezone);
        Self {
            title: format!("Reminder: {}", reminder.title),
            body: format!("due {}", due.format("%a %-d %b %H:%M")),
            task_id: reminder.task_id,
            url: "/".into(),
        }
    }

    /// The JSON bytes (at most a few hundred bytes: a title is at most 200 characters, well
    /// within the 4 KiB push services accept).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a payload of strings and an integer serializes")
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use todo_core::model::{EventId, UserId};
    use uuid::Uuid;

    use super::*;

    #[test]
    fn the_due_date_reads_in_the_users_time_zone() {
        let reminder = Reminder {
            event_id: EventId(Uuid::nil()),
            user_id: UserId(Uuid::nil()),
            email: "ada@example.com".into(),
            timezone: chrono_tz::Europe::London,
            task_id: TaskId(7),
            title: "Pay rent".into(),
            due_at: chrono::Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap(),
            remind_at: chrono::Utc.with_ymd_and_hms(2026, 12, 7, 8, 0, 0).unwrap(),
        };
        let payload = PushPayload::of(&reminder);
        assert_eq!(payload.title, "Reminder: Pay rent");
        assert_eq!(payload.body, "due Mon 7 Dec 09:00");
        let json: serde_json::Value = serde_json::from_slice(&payload.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"title": "Reminder: Pay rent", "body": "due Mon 7 Dec 09:00", "task_id": 7, "url": "/"})
        );
        let summer = Reminder {
            timezone: chrono_tz::America::New_York,
            due_at: chrono::Utc.with_ymd_and_hms(2026, 7, 1, 13, 30, 0).unwrap(),
            ..reminder
        };
        assert_eq!(PushPayload::of(&summer).body, "due Wed 1 Jul 09:30");
    }
}
