//! An in-memory [`UserRepository`].

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::lock;
use crate::error::PortError;
use crate::model::UserId;
use crate::ports::{PortResult, User, UserRepository, UserSettings};

/// Users in a map, unique by e-mail.
#[derive(Debug, Default)]
pub struct InMemoryUserRepository {
    users: Mutex<HashMap<UserId, User>>,
}

impl InMemoryUserRepository {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl UserRepository for InMemoryUserRepository {
    async fn create_user(&self, user: User) -> PortResult<()> {
        let mut users = lock(&self.users);
        if users.values().any(|u| u.email == user.email) || users.contains_key(&user.id) {
            return Err(PortError::already_exists(format!("user {}", user.email)));
        }
        users.insert(user.id, user);
        Ok(())
    }

    async fn user_by_email(&self, email: &str) -> PortResult<Option<User>> {
        Ok(lock(&self.users)
            .values()
            .find(|u| u.email == email)
            .cloned())
    }

    async fn user_by_id(&self, id: UserId) -> PortResult<Option<User>> {
        Ok(lock(&self.users).get(&id).cloned())
    }

    async fn update_settings(&self, id: UserId, settings: &UserSettings) -> PortResult<bool> {
        Ok(lock(&self.users)
            .get_mut(&id)
            .map(|user| user.settings = settings.clone())
            .is_some())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    #[tokio::test]
    async fn emails_are_unique() {
        let repo = InMemoryUserRepository::new();
        let user = |n: u128| User {
            id: UserId(uuid::Uuid::from_u128(n)),
            email: "a@example.com".into(),
            name: None,
            password_hash: "hash".into(),
            created_at: Utc::now(),
            settings: UserSettings::default(),
        };
        repo.create_user(user(1)).await.unwrap();
        assert!(matches!(
            repo.create_user(user(2)).await,
            Err(PortError::AlreadyExists { .. })
        ));
        assert_eq!(
            repo.user_by_email("a@example.com")
                .await
                .unwrap()
                .unwrap()
                .id,
            user(1).id
        );
        assert!(repo.user_by_id(user(2).id).await.unwrap().is_none());
    }
}
