//! Accounts and tokens: sign-up and login with argon2id password hashes, and HS256 JWTs.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use todo_core::error::{PortError, ValidationError};
use todo_core::model::UserId;
use todo_core::ports::{Clock, IdGenerator, User, UserRepository, UserSettings};

/// Tolerated clock skew between token issuer and verifier.
const LEEWAY_SECONDS: u64 = 30;
const ISSUER: &str = "todo-server";

/// Why an auth request failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Bad sign-up input.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The e-mail is already registered.
    #[error("an account with this e-mail already exists")]
    EmailTaken,
    /// Wrong e-mail or password (deliberately not saying which).
    #[error("wrong e-mail or password")]
    WrongCredentials,
    /// Missing, malformed, expired or forged token.
    #[error("missing or invalid token")]
    BadToken,
    /// Storage failed.
    #[error(transparent)]
    Port(#[from] PortError),
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: uuid::Uuid,
    iat: i64,
    exp: i64,
    iss: String,
}

/// Signs and verifies tokens, and owns the sign-up and login rules.
#[derive(Clone)]
pub struct Accounts {
    users: Arc<dyn UserRepository>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
    /// A hash verified when the e-mail is unknown, so login takes as long either way.
    decoy_hash: Arc<String>,
}

fn normalise_email(raw: &str) -> Result<String, ValidationError> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err(ValidationError::new(
            "email",
            "must be a valid e-mail address",
        ))
    }
}

/// argon2id with OWASP's "m=7168 (7 MiB), t=5, p=1" parameters: as strong as the crate's default
/// (m=19 MiB, t=2) by OWASP's password storage guidance, with a third of the memory per hash, which
/// a small self-hosted server holds for every sign-up or login in flight. Hashes made with other
/// parameters still verify (their parameters are in the hash).
fn argon2() -> Argon2<'static> {
    let params = argon2::Params::new(7 * 1024, 5, 1, None).unwrap_or_default();
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Port(PortError::other("password hashing failed", e.to_string())))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

impl Accounts {
    /// Builds the account service with an HMAC `secret` for tokens valid for `ttl`.
    pub fn new(
        users: Arc<dyn UserRepository>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
        secret: &[u8],
        ttl: Duration,
    ) -> Self {
        let decoy = hash_password("decoy password that nobody has").unwrap_or_default();
        Self {
            users,
            clock,
            ids,
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl,
            decoy_hash: Arc::new(decoy),
        }
    }

    /// Creates an account and returns it with a token.
    pub async fn sign_up(
        &self,
        email: &str,
        password: &str,
        name: Option<&str>,
    ) -> Result<(User, String), AuthError> {
        let email = normalise_email(email)?;
        let length = password.chars().count();
        if !(8..=128).contains(&length) {
            return Err(ValidationError::new("password", "must be 8 to 128 characters").into());
        }
        let name = name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        if name.as_ref().is_some_and(|n| n.chars().count() > 100) {
            return Err(ValidationError::new("name", "must be at most 100 characters").into());
        }
        let password = password.to_owned();
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| {
                AuthError::Port(PortError::other("the password hashing task failed", e))
            })??;
        let user = User {
            id: UserId(self.ids.new_uuid()),
            email,
            name,
            password_hash: hash,
            created_at: self.clock.now(),
            settings: UserSettings::default(),
        };
        match self.users.create_user(user.clone()).await {
            Err(PortError::AlreadyExists { .. }) => return Err(AuthError::EmailTaken),
            other => other?,
        }
        let token = self.issue(user.id)?;
        Ok((user, token))
    }

    /// Checks credentials and returns the user with a fresh token.
    pub async fn log_in(&self, email: &str, password: &str) -> Result<(User, String), AuthError> {
        let user = match normalise_email(email) {
            Ok(email) => self.users.user_by_email(&email).await?,
            Err(_) => None,
        };
        let hash = user.as_ref().map_or_else(
            || self.decoy_hash.as_str().to_owned(),
            |u| u.password_hash.clone(),
        );
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .unwrap_or(false);
        match user {
            Some(user) if matches => {
                let token = self.issue(user.id)?;
                Ok((user, token))
            }
            _ => Err(AuthError::WrongCredentials),
        }
    }

    /// A signed token for `user`.
    pub fn issue(&self, user: UserId) -> Result<String, AuthError> {
        let now = self.clock.now().timestamp();
        let claims = Claims {
            sub: user.0,
            iat: now,
            exp: now + i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 2),
            iss: ISSUER.to_owned(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AuthError::Port(PortError::other("token signing failed", e)))
    }

    /// The settings of `user` (the defaults if the account is gone).
    pub async fn settings(&self, user: UserId) -> Result<UserSettings, AuthError> {
        Ok(self
            .users
            .user_by_id(user)
            .await?
            .map(|u| u.settings)
            .unwrap_or_default())
    }

    /// Replaces the settings of `user`; [`AuthError::BadToken`] if the account is gone.
    pub async fn update_settings(
        &self,
        user: UserId,
        settings: &UserSettings,
    ) -> Result<(), AuthError> {
        if self.users.update_settings(user, settings).await? {
            Ok(())
        } else {
            Err(AuthError::BadToken)
        }
    }

    /// The user a token was issued to, if it is valid now.
    pub fn verify(&self, token: &str) -> Result<UserId, AuthError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.set_issuer(&[ISSUER]);
        validation.validate_exp = false;
        let data = decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| AuthError::BadToken)?;
        // Expiry is checked against our Clock, not the system time, with the same leeway.
        let now = self.clock.now().timestamp();
        // Saturating: a signed `exp` near i64::MAX must not overflow (a panic in debug builds).
        if data.claims.exp.saturating_add(LEEWAY_SECONDS as i64) <= now {
            return Err(AuthError::BadToken);
        }
        Ok(UserId(data.claims.sub))
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use todo_core::memory::{InMemoryUserRepository, ManualClock};
    use todo_core::ports::UuidV7Generator;

    use super::*;

    fn accounts(clock: Arc<ManualClock>) -> Accounts {
        Accounts::new(
            Arc::new(InMemoryUserRepository::new()),
            clock,
            Arc::new(UuidV7Generator),
            b"0123456789abcdef0123456789abcdef",
            Duration::from_secs(3600),
        )
    }

    #[tokio::test]
    async fn sign_up_then_log_in_with_the_same_password() {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let accounts = accounts(clock);
        let (user, token) = accounts
            .sign_up(" Ada@Example.com", "correct horse", Some("Ada"))
            .await
            .unwrap();
        assert_eq!(user.email, "ada@example.com");
        assert!(
            user.password_hash
                .starts_with("$argon2id$v=19$m=7168,t=5,p=1$"),
            "{}",
            user.password_hash
        );
        assert_eq!(accounts.verify(&token).unwrap(), user.id);
        let (again, _) = accounts
            .log_in("ada@example.com", "correct horse")
            .await
            .unwrap();
        assert_eq!(again.id, user.id);
        assert!(matches!(
            accounts.log_in("ada@example.com", "wrong horse").await,
            Err(AuthError::WrongCredentials)
        ));
        assert!(matches!(
            accounts.log_in("nobody@example.com", "correct horse").await,
            Err(AuthError::WrongCredentials)
        ));
        assert!(matches!(
            accounts
                .sign_up("ada@example.com", "another pass", None)
                .await,
            Err(AuthError::EmailTaken)
        ));
    }

    #[tokio::test]
    async fn bad_sign_up_input_names_the_field() {
        let accounts = accounts(Arc::new(ManualClock::new(Utc::now())));
        for (email, password, field) in [
            ("not-an-email", "long enough", "email"),
            ("a@b.co", "short", "password"),
        ] {
            match accounts.sign_up(email, password, None).await {
                Err(AuthError::Invalid(e)) => assert_eq!(e.field, field),
                other => panic!("{other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn tokens_expire_with_leeway_and_forgeries_fail() {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let accounts = accounts(clock.clone());
        let token = accounts.issue(UserId(uuid::Uuid::from_u128(1))).unwrap();
        clock.advance(chrono::Duration::seconds(3600 + 10));
        assert!(
            accounts.verify(&token).is_ok(),
            "within the clock-skew leeway"
        );
        clock.advance(chrono::Duration::seconds(60));
        assert!(matches!(accounts.verify(&token), Err(AuthError::BadToken)));
        let mut forged = accounts.issue(UserId(uuid::Uuid::from_u128(1))).unwrap();
        forged.push('x');
        assert!(accounts.verify(&forged).is_err());
        assert!(accounts.verify("garbage").is_err());
    }
}
