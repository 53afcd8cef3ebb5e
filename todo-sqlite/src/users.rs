//! User accounts on the `users` table: the [`UserRepository`] port.
//!
//! The table also holds owners recorded implicitly by a task insert (an id from a token, no
//! credentials yet); those rows are not accounts: they read as `None`, and creating the account later
//! fills them in. E-mails are unique by `email_key`, the address lower-cased in Rust (SQLite's
//! `lower()` only folds ASCII).

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;

use todo_core::error::PortError;
use todo_core::model::{TimeZone, UserId};
use todo_core::ports::{PortResult, User, UserRepository, UserSettings};

use crate::error::port_error;
use crate::repository::SqliteTaskRepository;
use crate::row::{get, get_instant, get_uuid, micros};

/// Creates the account, or completes an owner row that has no credentials yet; returns no row when
/// the id already belongs to an account.
const CREATE_USER: &str = "\
INSERT INTO users (id, email, email_key, name, password_hash, created_at, timezone,
                   email_notifications, push_notifications)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
ON CONFLICT (id) DO UPDATE
SET email = excluded.email, email_key = excluded.email_key, name = excluded.name,
    password_hash = excluded.password_hash, created_at = excluded.created_at,
    timezone = excluded.timezone, email_notifications = excluded.email_notifications,
    push_notifications = excluded.push_notifications
WHERE users.email IS NULL AND users.password_hash IS NULL
RETURNING id";

const BY_EMAIL: &str = "\
SELECT id, email, name, password_hash, created_at, timezone, email_notifications,
       push_notifications FROM users
WHERE email_key = ?1 AND password_hash IS NOT NULL";

const BY_ID: &str = "\
SELECT id, email, name, password_hash, created_at, timezone, email_notifications,
       push_notifications FROM users
WHERE id = ?1 AND email IS NOT NULL AND password_hash IS NOT NULL";

const UPDATE_SETTINGS: &str = "\
UPDATE users SET timezone = ?2, email_notifications = ?3, push_notifications = ?4
WHERE id = ?1 AND email IS NOT NULL AND password_hash IS NOT NULL";

#[async_trait]
impl UserRepository for SqliteTaskRepository {
    async fn create_user(&self, user: User) -> PortResult<()> {
        let created = sqlx::query(CREATE_USER)
            .bind(user.id.0)
            .bind(&user.email)
            .bind(user.email.to_lowercase())
            .bind(user.name.as_deref())
            .bind(&user.password_hash)
            .bind(micros(user.created_at))
            .bind(user.settings.timezone.name())
            .bind(user.settings.email_notifications)
            .bind(user.settings.push_notifications)
            .fetch_optional(&mut *self.db.writer.acquire().await?)
            .await
            .map_err(|e| match port_error(e) {
                e @ PortError::AlreadyExists { .. } => {
                    PortError::already_exists(format!("user {}: e-mail taken", user.email))
                        .caused_by(e)
                }
                other => other,
            })?;
        match created {
            Some(_) => Ok(()),
            None => Err(PortError::already_exists(format!(
                "user {} exists",
                user.id
            ))),
        }
    }

    async fn user_by_email(&self, email: &str) -> PortResult<Option<User>> {
        sqlx::query(BY_EMAIL)
            .bind(email.to_lowercase())
            .fetch_optional(&self.db.reader)
            .await
            .map_err(port_error)?
            .map(|row| decode_user(&row))
            .transpose()
    }

    async fn user_by_id(&self, id: UserId) -> PortResult<Option<User>> {
        sqlx::query(BY_ID)
            .bind(id.0)
            .fetch_optional(&self.db.reader)
            .await
            .map_err(port_error)?
            .map(|row| decode_user(&row))
            .transpose()
    }

    async fn update_settings(&self, id: UserId, settings: &UserSettings) -> PortResult<bool> {
        let updated = sqlx::query(UPDATE_SETTINGS)
            .bind(id.0)
            .bind(settings.timezone.name())
            .bind(settings.email_notifications)
            .bind(settings.push_notifications)
            .execute(&mut *self.db.writer.acquire().await?)
            .await
            .map_err(port_error)?;
        Ok(updated.rows_affected() > 0)
    }
}

fn decode_user(row: &SqliteRow) -> PortResult<User> {
    Ok(User {
        id: UserId(get_uuid(row, "id")?),
        email: get(row, "email")?,
        name: get(row, "name")?,
        password_hash: get(row, "password_hash")?,
        created_at: get_instant(row, "created_at")?,
        settings: UserSettings {
            timezone: decode_timezone(&get::<String>(row, "timezone")?)?,
            email_notifications: get(row, "email_notifications")?,
            push_notifications: get(row, "push_notifications")?,
        },
    })
}

fn decode_timezone(raw: &str) -> PortResult<TimeZone> {
    TimeZone::parse(raw).map_err(|e| PortError::corrupt("reading users.timezone", e))
}
