//! The [`UserRepository`] conformance suite.

use std::sync::Arc;

use chrono::{SubsecRound, Utc};
use uuid::Uuid;

use crate::error::PortError;
use crate::model::UserId;
use crate::ports::{User, UserRepository};

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
