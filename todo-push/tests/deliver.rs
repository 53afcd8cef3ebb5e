//! `PushChannel::deliver` against a local HTTPS push service (a certificate from a test CA, trusted
//! through `extra_roots_pem`): the message decrypts with the browser's keys, the VAPID JWT verifies
//! with the server's public key and names the endpoint's origin, and the push service's statuses
//! become the outcomes the delivery engine acts on.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::Utc;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use todo_core::memory::InMemoryPushSubscriptionStore;
use todo_core::model::{
    EventId, PushKeysInput, PushSubscription, PushSubscriptionInput, TaskId, UserId,
};
use todo_core::ports::{
    ChannelError, Delivered, PushRegistration, PushSubscriptionStore, Reminder, ReminderChannel,
    SystemClock,
};
use todo_push::{PushChannel, PushSettings, VapidKey};
use tokio::net::TcpListener;
use uuid::Uuid;

/// One request the push service received.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: hyper::HeaderMap,
    body: Vec<u8>,
}

/// An HTTPS server on 127.0.0.1 answering every request with `status`.
struct PushService {
    addr: SocketAddr,
    ca_pem: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl PushService {
    async fn start(status: u16) -> Self {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&leaf_key, &ca)
            .unwrap();
        let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap(),
        )
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                        let log = log.clone();
                        async move {
                            let path = request.uri().path().to_owned();
                            let headers = request.headers().clone();
                            let body = request.into_body().collect().await.unwrap().to_bytes();
                            log.lock().unwrap().push(Received {
                                path,
                                headers,
                                body: body.to_vec(),
                            });
                            let mut response =
                                Response::new(http_body_util::Empty::<hyper::body::Bytes>::new());
                            *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            ca_pem: ca.pem(),
            received,
        }
    }

    fn endpoint(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.addr.port())
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// A browser: its key pair and auth secret.
struct Browser {
    secret: p256::SecretKey,
    auth: [u8; 16],
}

impl Browser {
    fn new() -> Self {
        Self {
            secret: p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng),
            auth: rand_auth(),
        }
    }

    fn subscription(&self, endpoint: &str) -> PushSubscription {
        let point = self.secret.public_key().to_encoded_point(false);
        PushSubscription::parse_allowing_private(&PushSubscriptionInput {
            endpoint: endpoint.to_owned(),
            expiration_time: None,
            keys: PushKeysInput {
                p256dh: URL_SAFE_NO_PAD.encode(point.as_bytes()),
                auth: URL_SAFE_NO_PAD.encode(self.auth),
            },
        })
        .expect("a valid subscription")
    }

    fn decrypt(&self, body: &[u8]) -> serde_json::Value {
        let auth = web_push_native::Auth::clone_from_slice(&self.auth);
        let plain = web_push_native::decrypt(body.to_vec(), &self.secret, &auth).unwrap();
        serde_json::from_slice(&plain).unwrap()
    }
}

fn rand_auth() -> [u8; 16] {
    *Uuid::new_v4().as_bytes()
}

fn reminder(user: UserId) -> Reminder {
    Reminder {
        event_id: EventId(Uuid::new_v4()),
        user_id: user,
        email: "ada@example.com".into(),
        timezone: chrono_tz::Europe::Paris,
        task_id: TaskId(42),
        title: "Pay rent".into(),
        due_at: "2026-12-07T08:00:00Z".parse().unwrap(),
        remind_at: "2026-12-07T07:00:00Z".parse().unwrap(),
    }
}

/// A channel over `store` trusting `service`'s CA, with the SSRF guard opened for 127.0.0.1.
fn channel(
    store: Arc<dyn PushSubscriptionStore>,
    service: &PushService,
    vapid: VapidKey,
) -> PushChannel {
    PushChannel::new(
        store,
        vapid,
        Arc::new(SystemClock),
        PushSettings {
            subject: "mailto:ops@example.com".into(),
            timeout: Duration::from_secs(5),
            allow_private_endpoints: true,
            extra_roots_pem: Some(service.ca_pem.clone().into_bytes()),
        },
    )
    .unwrap()
}

async fn register(
    store: &dyn PushSubscriptionStore,
    user: UserId,
    subscription: PushSubscription,
) -> PushRegistration {
    store
        .add(PushRegistration {
            id: Uuid::new_v4(),
            user_id: user,
            subscription,
            created_at: Utc::now(),
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_reminder_reaches_every_browser_encrypted_and_signed() {
    let service = PushService::start(201).await;
    let store = Arc::new(InMemoryPushSubscriptionStore::new());
    let vapid = VapidKey::generate();
    let push = channel(store.clone(), &service, vapid.clone());
    let ada = UserId(Uuid::new_v4());
    let (laptop, phone) = (Browser::new(), Browser::new());
    register(
        store.as_ref(),
        ada,
        laptop.subscription(&service.endpoint("/push/laptop")),
    )
    .await;
    register(
        store.as_ref(),
        ada,
        phone.subscription(&service.endpoint("/push/phone")),
    )
    .await;

    assert_eq!(push.deliver(&reminder(ada)).await.unwrap(), Delivered::Sent);

    let received = service.received();
    assert_eq!(received.len(), 2);
    for (request, browser) in received.iter().zip([&laptop, &phone]) {
        assert_eq!(request.headers["content-encoding"], "aes128gcm");
        assert!(request.headers.contains_key("ttl"));
        assert_eq!(request.headers["topic"], "task-42");
        assert_eq!(
            browser.decrypt(&request.body),
            serde_json::json!({"title": "Reminder: Pay rent", "body": "due Mon 7 Dec 09:00", "task_id": 42, "url": "/"})
        );
        let authorization = request.headers["authorization"].to_str().unwrap();
        let (token, key) = authorization
            .strip_prefix("vapid t=")
            .and_then(|rest| rest.split_once(", k="))
            .expect("vapid t=…, k=…");
        assert_eq!(key, vapid.public_key());
        let point = URL_SAFE_NO_PAD.decode(key).unwrap();
        let decoding = jsonwebtoken::DecodingKey::from_ec_components(
            &URL_SAFE_NO_PAD.encode(&point[1..33]),
            &URL_SAFE_NO_PAD.encode(&point[33..]),
        )
        .unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        let origin = format!("https://127.0.0.1:{}", service.addr.port());
        validation.set_audience(&[origin.as_str()]);
        let claims = jsonwebtoken::decode::<serde_json::Value>(token, &decoding, &validation)
            .expect("a valid VAPID JWT for the endpoint's origin")
            .claims;
        assert_eq!(claims["sub"], "mailto:ops@example.com");
    }
    assert_eq!(received[0].path, "/push/laptop");
}

#[tokio::test]
async fn a_gone_subscription_is_removed_and_nobody_is_left() {
    let service = PushService::start(410).await;
    let store = Arc::new(InMemoryPushSubscriptionStore::new());
    let push = channel(store.clone(), &service, VapidKey::generate());
    let ada = UserId(Uuid::new_v4());
    register(
        store.as_ref(),
        ada,
        Browser::new().subscription(&service.endpoint("/gone")),
    )
    .await;

    assert_eq!(
        push.deliver(&reminder(ada)).await.unwrap(),
        Delivered::NoRecipient
    );
    assert!(store.list(ada).await.unwrap().is_empty(), "removed");
    assert_eq!(service.received().len(), 1);
    assert_eq!(
        push.deliver(&reminder(ada)).await.unwrap(),
        Delivered::NoRecipient
    );
    assert_eq!(service.received().len(), 1, "nothing sent the second time");
}

#[tokio::test]
async fn a_user_without_browsers_has_no_recipient() {
    let service = PushService::start(201).await;
    let push = channel(
        Arc::new(InMemoryPushSubscriptionStore::new()),
        &service,
        VapidKey::generate(),
    );
    assert_eq!(
        push.deliver(&reminder(UserId(Uuid::new_v4())))
            .await
            .unwrap(),
        Delivered::NoRecipient
    );
}

#[tokio::test]
async fn overload_is_transient_and_a_rejection_permanent() {
    for (status, transient) in [(503, true), (429, true), (403, false), (400, false)] {
        let service = PushService::start(status).await;
        let store = Arc::new(InMemoryPushSubscriptionStore::new());
        let push = channel(store.clone(), &service, VapidKey::generate());
        let ada = UserId(Uuid::new_v4());
        register(
            store.as_ref(),
            ada,
            Browser::new().subscription(&service.endpoint("/x")),
        )
        .await;
        let error = push.deliver(&reminder(ada)).await.unwrap_err();
        assert_eq!(error.is_transient(), transient, "{status}: {error}");
        assert_eq!(
            store.list(ada).await.unwrap().len(),
            1,
            "kept after {status}"
        );
    }
}

#[tokio::test]
async fn one_browser_taking_the_message_is_enough() {
    let accepting = PushService::start(201).await;
    let failing = PushService::start(500).await;
    let store = Arc::new(InMemoryPushSubscriptionStore::new());
    // Both services' CAs are trusted: one PEM file may hold several certificates.
    let mut settings = PushSettings {
        allow_private_endpoints: true,
        ..PushSettings::default()
    };
    settings.extra_roots_pem = Some(format!("{}{}", accepting.ca_pem, failing.ca_pem).into_bytes());
    let push = PushChannel::new(
        store.clone(),
        VapidKey::generate(),
        Arc::new(SystemClock),
        settings,
    )
    .unwrap();
    let ada = UserId(Uuid::new_v4());
    register(
        store.as_ref(),
        ada,
        Browser::new().subscription(&failing.endpoint("/a")),
    )
    .await;
    register(
        store.as_ref(),
        ada,
        Browser::new().subscription(&accepting.endpoint("/b")),
    )
    .await;
    assert_eq!(push.deliver(&reminder(ada)).await.unwrap(), Delivered::Sent);
}

#[tokio::test]
async fn without_the_tests_setting_loopback_is_never_contacted() {
    let service = PushService::start(201).await;
    let store = Arc::new(InMemoryPushSubscriptionStore::new());
    let push = PushChannel::new(
        store.clone(),
        VapidKey::generate(),
        Arc::new(SystemClock),
        PushSettings {
            extra_roots_pem: Some(service.ca_pem.clone().into_bytes()),
            ..PushSettings::default()
        },
    )
    .unwrap();
    let ada = UserId(Uuid::new_v4());
    // A literal 127.0.0.1 is refused at registration; a stored one (or a name that resolves to
    // loopback) is refused again at delivery.
    let stored = todo_core::model::PushEndpoint::from_stored(service.endpoint("/literal"));
    let mut literal = Browser::new().subscription("https://push.example.com/x");
    literal.endpoint = stored;
    register(store.as_ref(), ada, literal).await;
    let mut named = Browser::new().subscription("https://push.example.com/y");
    named.endpoint = todo_core::model::PushEndpoint::from_stored(format!(
        "https://localhost:{}/name",
        service.addr.port()
    ));
    register(store.as_ref(), ada, named).await;
    let error = push.deliver(&reminder(ada)).await.unwrap_err();
    assert!(matches!(error, ChannelError::Permanent { .. }), "{error}");
    assert!(
        service.received().is_empty(),
        "the push service was never reached"
    );
}

#[test]
fn an_unreadable_ca_file_is_a_setup_error() {
    let result = PushChannel::new(
        Arc::new(InMemoryPushSubscriptionStore::new()),
        VapidKey::generate(),
        Arc::new(SystemClock),
        PushSettings {
            extra_roots_pem: Some(b"not a certificate".to_vec()),
            ..PushSettings::default()
        },
    );
    assert!(result.is_err());
}
