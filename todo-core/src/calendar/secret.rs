//! The secret in a calendar feed's URL, and the digest that is stored instead of it.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

/// Random bytes in a secret: 256 bits, as unguessable as a session key.
const SECRET_BYTES: usize = 32;

/// The secret part of a feed URL (`/ical/{secret}.ics`): 32 random bytes, base64url without padding.
///
/// Whoever knows it reads the feed, as calendar apps cannot send a bearer token; so only its
/// [`FeedDigest`] is stored, and `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct FeedSecret(String);

impl FeedSecret {
    /// A new random secret, from the thread's cryptographically secure generator.
    #[must_use]
    pub fn generate() -> Self {
        Self::from_bytes(rand::random::<[u8; SECRET_BYTES]>())
    }

    /// The secret made of these bytes (for tests that need a fixed one).
    #[must_use]
    pub fn from_bytes(bytes: [u8; SECRET_BYTES]) -> Self {
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Reads a secret from a URL; `None` when the text cannot be one (wrong length or alphabet), so
    /// that a malformed URL is simply an unknown feed.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let bytes: [u8; SECRET_BYTES] = bytes.try_into().ok()?;
        let secret = Self::from_bytes(bytes);
        // Only the canonical spelling (trailing bits zero) names a feed.
        (secret.0 == text).then_some(secret)
    }

    /// The text in the URL.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What is stored to recognise the secret.
    #[must_use]
    pub fn digest(&self) -> FeedDigest {
        FeedDigest(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for FeedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FeedSecret(..)")
    }
}

/// The SHA-256 digest of a [`FeedSecret`]'s text: what a store keeps and looks feeds up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FeedDigest(pub [u8; 32]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_secret_is_43_url_safe_characters_that_parse_back() {
        let secret = FeedSecret::generate();
        assert_eq!(secret.as_str().len(), 43);
        assert!(secret
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(FeedSecret::parse(secret.as_str()), Some(secret.clone()));
        assert_ne!(FeedSecret::generate(), secret);
    }

    #[test]
    fn text_that_cannot_be_a_secret_is_refused() {
        for text in ["", "abc", "not/base64+at*all", &"A".repeat(44)] {
            assert_eq!(FeedSecret::parse(text), None, "{text}");
        }
    }

    #[test]
    fn the_digest_is_the_sha256_of_the_text_and_debug_hides_the_secret() {
        let secret = FeedSecret::from_bytes([0; 32]);
        assert_eq!(secret.digest(), FeedSecret::from_bytes([0; 32]).digest());
        assert_ne!(secret.digest(), FeedSecret::from_bytes([1; 32]).digest());
        assert_eq!(format!("{secret:?}"), "FeedSecret(..)");
    }
}
