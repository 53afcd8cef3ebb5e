//! [`PushChannel`]: a reminder to every browser the user registered, encrypted for each (RFC 8291
//! aes128gcm) and signed with the server's VAPID key (RFC 8292).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use todo_core::model::is_public_address;
use todo_core::ports::{
    ChannelError, ChannelKind, Clock, Delivered, PushRegistration, PushSubscriptionStore, Reminder,
    ReminderChannel,
};
use tracing::{debug, info, warn};

use crate::guard::{forbidden_in, ForbiddenAddress, GuardedResolver};
use crate::payload::PushPayload;
use crate::vapid::{VapidKey, VAPID_TOKEN_LIFETIME};

/// How the channel reaches push services.
#[derive(Debug, Clone)]
pub struct PushSettings {
    /// The VAPID `sub` claim: a `mailto:` or `https:` contact for the push services' operators.
    pub subject: String,
    /// How long one push request may take, connection included.
    pub timeout: Duration,
    /// **Tests only**: send to loopback, private and link-local addresses too (the SSRF guard off).
    pub allow_private_endpoints: bool,
    /// **Tests only**: extra trusted root certificates (PEM), for a local push service's
    /// self-signed certificate.
    pub extra_roots_pem: Option<Vec<u8>>,
}

impl Default for PushSettings {
    fn default() -> Self {
        Self {
            subject: "https://github.com/todo-events/todo".into(),
            timeout: Duration::from_secs(10),
            allow_private_endpoints: false,
            extra_roots_pem: None,
        }
    }
}

/// Why the channel could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PushSetupError {
    /// The extra root certificates are not PEM certificates.
    #[error("the extra root certificates are not PEM certificates")]
    ExtraRoots(#[source] BoxError),
    /// The TLS configuration could not be made.
    #[error("the TLS configuration for push services")]
    Tls(#[source] rustls::Error),
    /// The HTTP client could not be made.
    #[error("the HTTP client for push services")]
    Client(#[source] reqwest::Error),
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The Web Push [`ReminderChannel`].
#[derive(Clone)]
pub struct PushChannel {
    subscriptions: Arc<dyn PushSubscriptionStore>,
    vapid: VapidKey,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    settings: Arc<PushSettings>,
}

/// What one push request came to.
enum Outcome {
    Accepted,
    Gone,
    Failed(ChannelError),
}

impl PushChannel {
    /// A channel sending to the registrations in `subscriptions`, signing with `vapid`.
    pub fn new(
        subscriptions: Arc<dyn PushSubscriptionStore>,
        vapid: VapidKey,
        clock: Arc<dyn Clock>,
        settings: PushSettings,
    ) -> Result<Self, PushSetupError> {
        if settings.allow_private_endpoints {
            warn!("push: sending to loopback, private and link-local endpoints is allowed (TODO_PUSH_ALLOW_PRIVATE_ENDPOINTS, for tests only)");
        }
        if settings.extra_roots_pem.is_some() {
            warn!("push: trusting extra root certificates for push services (TODO_PUSH_CA_FILE, for tests only)");
        }
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls_config(settings.extra_roots_pem.as_deref())?)
            .dns_resolver(Arc::new(GuardedResolver {
                allow_private: settings.allow_private_endpoints,
            }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("todo-push/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(PushSetupError::Client)?;
        Ok(Self {
            subscriptions,
            vapid,
            clock,
            http,
            settings: Arc::new(settings),
        })
    }

    /// The server's VAPID public key (base64url), for `GET /api/v1/push/vapid-key`.
    pub fn vapid_public_key(&self) -> &str {
        self.vapid.public_key()
    }

    /// Sends `payload` to one registration.
    async fn push(&self, registration: &PushRegistration, payload: &[u8], topic: &str) -> Outcome {
        let endpoint = registration.subscription.endpoint.as_str();
        let url = match reqwest::Url::parse(endpoint) {
            Ok(url) => url,
            Err(error) => {
                return Outcome::Failed(ChannelError::permanent("the endpoint is not a URL", error))
            }
        };
        // reqwest resolves names through the guard, but connects to literal addresses directly.
        if let Some(host) = url.host() {
            let literal = match host {
                url::Host::Ipv4(ip) => Some(std::net::IpAddr::V4(ip)),
                url::Host::Ipv6(ip) => Some(std::net::IpAddr::V6(ip)),
                url::Host::Domain(_) => None,
            };
            if let Some(address) = literal {
                if !self.settings.allow_private_endpoints && !is_public_address(address) {
                    let forbidden = ForbiddenAddress {
                        host: address.to_string(),
                        address,
                    };
                    return Outcome::Failed(ChannelError::permanent(
                        "the push endpoint is not on a public address",
                        forbidden,
                    ));
                }
            }
        }
        let body = match encrypt(payload, registration) {
            Ok(body) => body,
            Err(error) => {
                return Outcome::Failed(ChannelError::permanent(
                    "the subscription's keys cannot encrypt",
                    error,
                ))
            }
        };
        let audience = url.origin().ascii_serialization();
        let authorization =
            match self
                .vapid
                .authorization(&audience, &self.settings.subject, self.clock.now())
            {
                Ok(header) => header,
                Err(error) => {
                    return Outcome::Failed(ChannelError::permanent("signing the VAPID JWT", error))
                }
            };
        let sent = self
            .http
            .post(url)
            .header("TTL", VAPID_TOKEN_LIFETIME.as_secs().to_string())
            .header("Urgency", "high")
            .header("Topic", topic)
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header("Authorization", authorization)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) => classify(response.status()),
            Err(error) => {
                if let Some(forbidden) = forbidden_in(&error) {
                    let context =
                        format!("the push endpoint is not on a public address: {forbidden}");
                    Outcome::Failed(ChannelError::permanent(context, error))
                } else {
                    Outcome::Failed(ChannelError::transient("reaching the push service", error))
                }
            }
        }
    }
}

/// The push service's answer (RFC 8030 §5, §7.3): 201 accepted; 404/410 the subscription is gone;
/// 429 and 5xx worth retrying; any other status will not change by itself.
fn classify(status: StatusCode) -> Outcome {
    match status.as_u16() {
        200..=299 => Outcome::Accepted,
        404 | 410 => Outcome::Gone,
        429 | 500..=599 => Outcome::Failed(ChannelError::transient(
            format!("the push service answered {status}"),
            StatusError(status),
        )),
        _ => Outcome::Failed(ChannelError::permanent(
            format!("the push service answered {status}"),
            StatusError(status),
        )),
    }
}

/// A push service's status that is not a success.
#[derive(Debug, thiserror::Error)]
#[error("HTTP {0}")]
struct StatusError(StatusCode);

/// RFC 8291 for one browser: a fresh key pair and salt per message (inside `encrypt`).
fn encrypt(payload: &[u8], registration: &PushRegistration) -> Result<Vec<u8>, BoxError> {
    let keys = &registration.subscription.keys;
    let browser = web_push_native::p256::PublicKey::from_sec1_bytes(keys.p256dh())
        .map_err(|_| "keys.p256dh is not a point on P-256")?;
    let auth = web_push_native::Auth::clone_from_slice(keys.auth());
    web_push_native::encrypt(payload.to_vec(), &browser, &auth)
        .map_err(|error| error.to_string().into())
}

/// The rustls configuration: ring, the platform's trust store plus `extra_roots_pem`.
fn tls_config(extra_roots_pem: Option<&[u8]>) -> Result<rustls::ClientConfig, PushSetupError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = match extra_roots_pem {
        None => rustls_platform_verifier::Verifier::new(provider.clone()),
        Some(pem) => {
            let roots = CertificateDer::pem_slice_iter(pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| PushSetupError::ExtraRoots(error.into()))?;
            if roots.is_empty() {
                return Err(PushSetupError::ExtraRoots(
                    "no certificate in the file".into(),
                ));
            }
            rustls_platform_verifier::Verifier::new_with_extra_roots(roots, provider.clone())
        }
    }
    .map_err(PushSetupError::Tls)?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(PushSetupError::Tls)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(config)
}

#[async_trait]
impl ReminderChannel for PushChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Push
    }

    #[tracing::instrument(skip_all, fields(user_id = %reminder.user_id, task_id = %reminder.task_id, event_id = %reminder.event_id.0))]
    async fn deliver(&self, reminder: &Reminder) -> Result<Delivered, ChannelError> {
        let registrations = self
            .subscriptions
            .list(reminder.user_id)
            .await
            .map_err(|error| ChannelError::transient("reading the push subscriptions", error))?;
        if registrations.is_empty() {
            return Ok(Delivered::NoRecipient);
        }
        let payload = PushPayload::of(reminder).to_json();
        let topic = format!("task-{}", reminder.task_id);
        let (mut accepted, mut gone) = (0usize, 0usize);
        let mut failure: Option<ChannelError> = None;
        // Every browser at once: one slow push service does not hold up the others.
        let outcomes = futures_util::future::join_all(
            registrations
                .iter()
                .map(|registration| self.push(registration, &payload, &topic)),
        )
        .await;
        for (registration, outcome) in registrations.iter().zip(outcomes) {
            match outcome {
                Outcome::Accepted => accepted += 1,
                Outcome::Gone => {
                    gone += 1;
                    let endpoint = registration.subscription.endpoint.as_str();
                    info!(subscription = %registration.id, "push: the push service no longer knows this subscription; removing it");
                    if let Err(error) = self.subscriptions.remove_endpoint(endpoint).await {
                        warn!(subscription = %registration.id, error = %todo_core::error::chain(&error), "push: could not remove a gone subscription");
                    }
                }
                Outcome::Failed(error) => {
                    warn!(subscription = %registration.id, transient = error.is_transient(), error = %todo_core::error::chain(&error), "push: not delivered");
                    // A transient failure wins: a retry may reach that browser.
                    if failure.as_ref().is_none_or(|f| !f.is_transient()) {
                        failure = Some(error);
                    }
                }
            }
        }
        debug!(
            accepted,
            gone,
            total = registrations.len(),
            "push: delivered"
        );
        match failure {
            _ if accepted > 0 => Ok(Delivered::Sent),
            Some(error) => Err(error),
            None => Ok(Delivered::NoRecipient),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_what_the_engine_can_do() {
        let kind = |code: u16| match classify(StatusCode::from_u16(code).unwrap()) {
            Outcome::Accepted => "accepted",
            Outcome::Gone => "gone",
            Outcome::Failed(e) if e.is_transient() => "transient",
            Outcome::Failed(_) => "permanent",
        };
        assert_eq!(kind(201), "accepted");
        assert_eq!(kind(200), "accepted");
        assert_eq!(kind(404), "gone");
        assert_eq!(kind(410), "gone");
        assert_eq!(kind(429), "transient");
        assert_eq!(kind(500), "transient");
        assert_eq!(kind(503), "transient");
        assert_eq!(kind(400), "permanent");
        assert_eq!(kind(403), "permanent");
        assert_eq!(kind(413), "permanent");
        assert_eq!(kind(301), "permanent");
    }
}
