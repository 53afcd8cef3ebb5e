//! The application server's VAPID key (RFC 8292): a P-256 key pair whose public half the browser
//! receives at subscription (`applicationServerKey`) and whose private half signs a JWT on every
//! push, so the push service accepts messages for that subscription from this server only.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use serde::Serialize;

/// How long a VAPID JWT is valid: RFC 8292 allows at most 24 hours; push services reject longer.
pub const VAPID_TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

/// Why a VAPID private key was refused.
#[derive(Debug, thiserror::Error)]
pub enum VapidKeyError {
    /// Neither 32 bytes of base64url (the format of `web-push generate-vapid-keys`) nor a PEM key.
    #[error(
        "a VAPID private key is 32 bytes in base64url, or a PEM EC (SEC1) or PKCS#8 P-256 key"
    )]
    Format,
    /// The bytes are not a P-256 private key (zero, or not below the curve's order).
    #[error("not a P-256 private key")]
    NotOnCurve,
    /// The key could not be signed with (it did not encode as PKCS#8; not expected).
    #[error("the key cannot sign")]
    Signing(#[source] jsonwebtoken::errors::Error),
}

/// A VAPID key pair.
#[derive(Clone)]
pub struct VapidKey {
    secret: p256::SecretKey,
    signing: jsonwebtoken::EncodingKey,
    public: String,
}

impl std::fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VapidKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl VapidKey {
    /// A new random key pair.
    pub fn generate() -> Self {
        Self::from_secret(p256::SecretKey::random(
            &mut p256::elliptic_curve::rand_core::OsRng,
        ))
        .expect("a fresh P-256 key encodes as PKCS#8")
    }

    /// Reads a private key: 32 bytes in base64url (padded or not; what `web-push
    /// generate-vapid-keys` and most servers print), or a PEM `EC PRIVATE KEY` / `PRIVATE KEY`.
    pub fn parse(text: &str) -> Result<Self, VapidKeyError> {
        let text = text.trim();
        let secret = if text.starts_with("-----BEGIN") {
            p256::SecretKey::from_sec1_pem(text)
                .or_else(|_| p256::SecretKey::from_pkcs8_pem(text))
                .map_err(|_| VapidKeyError::Format)?
        } else {
            let bytes = URL_SAFE_NO_PAD
                .decode(text.trim_end_matches('='))
                .map_err(|_| VapidKeyError::Format)?;
            if bytes.len() != 32 {
                return Err(VapidKeyError::Format);
            }
            p256::SecretKey::from_slice(&bytes).map_err(|_| VapidKeyError::NotOnCurve)?
        };
        Self::from_secret(secret)
    }

    fn from_secret(secret: p256::SecretKey) -> Result<Self, VapidKeyError> {
        let der = secret
            .to_pkcs8_der()
            .map_err(|_| VapidKeyError::NotOnCurve)?;
        let signing = jsonwebtoken::EncodingKey::from_ec_der(der.as_bytes());
        let public = URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes());
        Ok(Self {
            secret,
            signing,
            public,
        })
    }

    /// The private key as 32 bytes of unpadded base64url, the form [`VapidKey::parse`] reads (for
    /// keeping a generated key).
    pub fn to_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.secret.to_bytes())
    }

    /// The public key, an uncompressed P-256 point in unpadded base64url: the browser's
    /// `applicationServerKey` and the `k=` of the `Authorization` header.
    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The `Authorization` header value for a push to `audience` (the endpoint's origin):
    /// `vapid t=<ES256 JWT>, k=<public key>`, valid from `now` for [`VAPID_TOKEN_LIFETIME`].
    pub fn authorization(
        &self,
        audience: &str,
        subject: &str,
        now: DateTime<Utc>,
    ) -> Result<String, VapidKeyError> {
        #[derive(Serialize)]
        struct Claims<'a> {
            aud: &'a str,
            exp: i64,
            sub: &'a str,
        }
        let lifetime = i64::try_from(VAPID_TOKEN_LIFETIME.as_secs()).unwrap_or(i64::MAX);
        let claims = Claims {
            aud: audience,
            exp: now.timestamp().saturating_add(lifetime),
            sub: subject,
        };
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        let token = jsonwebtoken::encode(&header, &claims, &self.signing)
            .map_err(VapidKeyError::Signing)?;
        Ok(format!("vapid t={token}, k={}", self.public))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_reads_back_from_its_text() {
        let key = VapidKey::generate();
        let again = VapidKey::parse(&key.to_base64url()).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        let public = URL_SAFE_NO_PAD.decode(key.public_key()).unwrap();
        assert_eq!(public.len(), 65);
        assert_eq!(public[0], 4, "uncompressed");
    }

    #[test]
    fn pem_keys_are_read_too() {
        let key = VapidKey::generate();
        let pem = key.secret.to_sec1_pem(Default::default()).unwrap();
        assert_eq!(
            VapidKey::parse(&pem).unwrap().public_key(),
            key.public_key()
        );
        let pkcs8 = key.secret.to_pkcs8_pem(Default::default()).unwrap();
        assert_eq!(
            VapidKey::parse(&pkcs8).unwrap().public_key(),
            key.public_key()
        );
    }

    #[test]
    fn malformed_keys_are_refused_without_panicking() {
        for text in ["", "short", "-----BEGIN nonsense", &"A".repeat(43), "!!!!"] {
            assert!(VapidKey::parse(text).is_err(), "{text:?}");
        }
        let zero = URL_SAFE_NO_PAD.encode([0u8; 32]);
        assert!(matches!(
            VapidKey::parse(&zero),
            Err(VapidKeyError::NotOnCurve)
        ));
        assert!(!format!("{:?}", VapidKey::generate()).contains("secret"));
    }

    #[test]
    fn the_authorization_carries_a_verifiable_es256_token() {
        let key = VapidKey::generate();
        let now = Utc::now();
        let header = key
            .authorization(
                "https://push.example.com:8443",
                "mailto:ops@example.com",
                now,
            )
            .unwrap();
        let (token, public) = header
            .strip_prefix("vapid t=")
            .and_then(|rest| rest.split_once(", k="))
            .unwrap();
        assert_eq!(public, key.public_key());
        let point = URL_SAFE_NO_PAD.decode(public).unwrap();
        let decoding = jsonwebtoken::DecodingKey::from_ec_components(
            &URL_SAFE_NO_PAD.encode(&point[1..33]),
            &URL_SAFE_NO_PAD.encode(&point[33..]),
        )
        .unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        validation.set_audience(&["https://push.example.com:8443"]);
        let claims = jsonwebtoken::decode::<serde_json::Value>(token, &decoding, &validation)
            .unwrap()
            .claims;
        assert_eq!(claims["sub"], "mailto:ops@example.com");
        let exp = claims["exp"].as_i64().unwrap();
        assert!(exp > now.timestamp() && exp <= now.timestamp() + 24 * 3600);
    }
}
