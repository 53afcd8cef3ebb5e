//! The [`UserRepository`] conformance suite.

use std::sync::Arc;

use chrono::{SubsecRound, Utc};
use uuid::Uuid;

use crate::error::PortError;
use crate::model::{NewTask, SeriesId, Task, TimeZone, UserId};
use crate::ports::Changes;
use crate::ports::TaskWrite;
use crate::ports::{TaskRepository, User, UserRepository, UserSettings};

/// Cases every [`UserRepository`] must pass.
pub struct UserRepositorySuite {
    users: Arc<dyn UserRepository>,
}

fn fresh_user() -> User {
    let id = Uuid::new_v4();
    User {
        id: UserId(id),
        email: format!("conformance-{}@example.com", id.simple()),
        name: Some("Ada".into()),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        created_at: Utc::now().trunc_subsecs(6),
        settings: UserSettings::default(),
    }
}

impl UserRepositorySuite {
    /// A suite over `users`.
    pub fn new(users: Arc<dyn UserRepository>) -> Self {
        Self { users }
    }

    /// Runs every case.
    pub async fn run_all(&self) {
        self.a_created_user_reads_back_by_email_and_id().await;
        self.an_email_is_taken_only_once().await;
        self.unknown_users_read_as_none().await;
        self.settings_start_in_utc_and_change().await;
    }

    /// A new account's time zone is UTC with email and push on; a change reads back by id and by
    /// e-mail; an unknown user's settings cannot change.
    pub async fn settings_start_in_utc_and_change(&self) {
        let user = fresh_user();
        self.users
            .create_user(user.clone())
            .await
            .expect("create_user failed");
        let stored = self
            .users
            .user_by_id(user.id)
            .await
            .expect("user_by_id failed");
        let stored = stored.expect("the user").settings;
        assert_eq!(stored, UserSettings::default());
        assert_eq!(stored.timezone.name(), "UTC");
        assert!(stored.email_notifications && stored.push_notifications);
        let chosen = UserSettings {
            timezone: TimeZone::parse("America/New_York").expect("a zone"),
            email_notifications: false,
            push_notifications: true,
        };
        assert!(self
            .users
            .update_settings(user.id, &chosen)
            .await
            .expect("update_settings failed"));
        let by_id = self
            .users
            .user_by_id(user.id)
            .await
            .expect("user_by_id failed");
        assert_eq!(by_id.expect("the user").settings, chosen);
        let by_email = self
            .users
            .user_by_email(&user.email)
            .await
            .expect("user_by_email failed");
        assert_eq!(by_email.expect("the user").settings, chosen);
        let nobody = UserId(Uuid::new_v4());
        assert!(!self
            .users
            .update_settings(nobody, &chosen)
            .await
            .expect("update_settings failed"));
    }

    /// A user id that owns tasks in `tasks` (which share the users' database) is not an account
    /// yet, and can become one, once. Not in [`run_all`](Self::run_all): it needs the task store.
    pub async fn an_owner_recorded_by_its_tasks_can_sign_up_later(
        &self,
        tasks: &dyn TaskRepository,
    ) {
        let account = User {
            name: None,
            ..fresh_user()
        };
        let id = tasks.next_task_id().await.expect("next_task_id failed");
        let task = Task::create(
            id,
            account.id,
            NewTask::titled("Buy milk").expect("a valid title"),
            SeriesId(Uuid::new_v4()),
            Utc::now().trunc_subsecs(6),
        );
        tasks
            .commit(Changes {
                writes: vec![TaskWrite::Insert(task)],
                ..Changes::default()
            })
            .await
            .expect("storing the owner's task");
        assert_eq!(
            self.users.user_by_id(account.id).await.expect("user_by_id"),
            None,
            "an owner is not an account"
        );

        self.users
            .create_user(account.clone())
            .await
            .expect("signing up the owner");
        assert_eq!(
            self.users.user_by_id(account.id).await.expect("user_by_id"),
            Some(account.clone())
        );
        assert_eq!(
            self.users
                .user_by_email(&account.email)
                .await
                .expect("user_by_email"),
            Some(account.clone())
        );
        let again = self.users.create_user(account).await;
        assert!(
            matches!(again, Err(PortError::AlreadyExists { .. })),
            "{again:?}"
        );
    }

    /// Every field round-trips.
    pub async fn a_created_user_reads_back_by_email_and_id(&self) {
        let user = fresh_user();
        self.users
            .create_user(user.clone())
            .await
            .expect("create a user");
        let by_email = self
            .users
            .user_by_email(&user.email)
            .await
            .expect("read by email");
        assert_eq!(by_email.as_ref(), Some(&user), "user read by email");
        let by_id = self.users.user_by_id(user.id).await.expect("read by id");
        assert_eq!(by_id, Some(user), "user read by id");
    }

    /// A second account with the same e-mail is `AlreadyExists`.
    pub async fn an_email_is_taken_only_once(&self) {
        let user = fresh_user();
        self.users
            .create_user(user.clone())
            .await
            .expect("create a user");
        let twin = User {
            id: UserId(Uuid::new_v4()),
            ..user
        };
        let result = self.users.create_user(twin).await;
        assert!(
            matches!(result, Err(PortError::AlreadyExists { .. })),
            "a taken e-mail must be AlreadyExists, got {result:?}"
        );
    }

    /// Missing users are `None`, not errors.
    pub async fn unknown_users_read_as_none(&self) {
        let ghost = fresh_user();
        assert_eq!(
            self.users.user_by_email(&ghost.email).await.expect("read"),
            None
        );
        assert_eq!(self.users.user_by_id(ghost.id).await.expect("read"), None);
    }
}
