//! Web Push registration over HTTP (SPEC §14): the VAPID key, registering and unregistering browsers.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

mod support;
use support::Server;

const P256DH: &str =
    "BLn9b-VR0ca83knDNZ32dCHGyjJp-1riX9ZTN40MqV8K_LpQmLqxC_DoHvqvFXO_nGdAB4W9dogZb_sM-uV4JbY";
const AUTH: &str = "_ordMnz7uTCmrpBTeUV4Bw";

fn subscription(endpoint: &str) -> Value {
    json!({"endpoint": endpoint, "expirationTime": null, "keys": {"p256dh": P256DH, "auth": AUTH}})
}

#[tokio::test]
async fn the_vapid_key_is_a_p256_point_and_survives_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_string_lossy().into_owned();
    let server = Server::start_with(&[("TODO_DATA_DIR", &dir)]).await;
    let response = server
        .http
        .get(format!("{}/api/v1/push/vapid-key", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let key = body["key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 87, "65 bytes of unpadded base64url: {key}");
    assert!(
        key.starts_with('B'),
        "an uncompressed point starts with 0x04"
    );
    server.stop().await;

    let again = Server::start_with(&[("TODO_DATA_DIR", &dir)]).await;
    let body: Value = again
        .http
        .get(format!("{}/api/v1/push/vapid-key", again.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["key"], key, "the key kept beside the data");
    again.stop().await;
}

#[tokio::test]
async fn a_configured_key_is_the_one_served() {
    let server = Server::start_with(&[
        ("DATABASE_URL", "memory:"),
        (
            "TODO_VAPID_PRIVATE_KEY",
            "fIQm5wKjWQ773h4wE-PPXOcMXsWBnVnyFEeOFBaGKXE",
        ),
    ])
    .await;
    let ada = server.user("ada@example.com").await;
    let (status, first) = ada.call(Method::GET, "/api/v1/push/vapid-key", None).await;
    assert_eq!(status, StatusCode::OK);
    let expected =
        todo_push::VapidKey::parse("fIQm5wKjWQ773h4wE-PPXOcMXsWBnVnyFEeOFBaGKXE").unwrap();
    assert_eq!(first["key"], expected.public_key());
}

#[tokio::test]
async fn a_browser_registers_once_and_unregisters() {
    let server = Server::start().await;
    let ada = server.user("ada@example.com").await;
    let endpoint = "https://fcm.googleapis.com/fcm/send/abc:APA91b";
    let (status, created) = ada
        .call(
            Method::POST,
            "/api/v1/push/subscriptions",
            Some(subscription(endpoint)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["endpoint"], endpoint);
    let id = created["id"].as_str().unwrap().to_owned();

    let (status, again) = ada
        .call(
            Method::POST,
            "/api/v1/push/subscriptions",
            Some(subscription(endpoint)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again["id"], id.as_str(), "the same browser, the same id");

    let bob = server.user("bob@example.com").await;
    let path = format!("/api/v1/push/subscriptions/{id}");
    let (status, body) = bob.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another user's id: {body}");
    let (status, _) = ada.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = ada.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "gone");
    let (status, _) = ada
        .call(
            Method::DELETE,
            "/api/v1/push/subscriptions/not-a-uuid",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_subscriptions_are_422_naming_the_field() {
    let server = Server::start().await;
    let ada = server.user("ada@example.com").await;
    let cases = [
        (subscription("http://push.example.com/x"), "endpoint"),
        (subscription("https://127.0.0.1/x"), "endpoint"),
        (
            subscription("https://[::ffff:169.254.169.254]/x"),
            "endpoint",
        ),
        (subscription("https://10.1.2.3:8443/x"), "endpoint"),
        (subscription("https://localhost/x"), "endpoint"),
        (
            json!({"endpoint": "https://push.example.com/x", "keys": {"p256dh": "AAAA", "auth": AUTH}}),
            "keys.p256dh",
        ),
        (
            json!({"endpoint": "https://push.example.com/x", "keys": {"p256dh": P256DH, "auth": "AAAA"}}),
            "keys.auth",
        ),
    ];
    for (body, field) in cases {
        let (status, error) = ada
            .call(
                Method::POST,
                "/api/v1/push/subscriptions",
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert_eq!(error["error"]["details"]["field"], field, "{body}: {error}");
    }
    let (status, _) = ada
        .call(
            Method::POST,
            "/api/v1/push/subscriptions",
            Some(json!({"endpoint": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a wrong JSON type");
}

#[tokio::test]
async fn the_tests_setting_accepts_a_loopback_push_service() {
    let server = Server::start_with(&[("TODO_PUSH_ALLOW_PRIVATE_ENDPOINTS", "1")]).await;
    let ada = server.user("ada@example.com").await;
    let (status, body) = ada
        .call(
            Method::POST,
            "/api/v1/push/subscriptions",
            Some(subscription("https://127.0.0.1:8443/push")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = ada
        .call(
            Method::POST,
            "/api/v1/push/subscriptions",
            Some(subscription("http://127.0.0.1:8443/push")),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "still https only");
}

#[tokio::test]
async fn an_account_registers_at_most_twenty_browsers() {
    let server = Server::start().await;
    let ada = server.user("ada@example.com").await;
    for n in 0..20 {
        let endpoint = format!("https://push.example.com/browser/{n}");
        let (status, _) = ada
            .call(
                Method::POST,
                "/api/v1/push/subscriptions",
                Some(subscription(&endpoint)),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, error) = ada
        .call(
            Method::POST,
            "/api/v1/push/subscriptions",
            Some(subscription("https://push.example.com/browser/20")),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["details"]["field"], "endpoint");
    let (status, _) = ada
        .call(
            Method::POST,
            "/api/v1/push/subscriptions",
            Some(subscription("https://push.example.com/browser/7")),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a known browser registers again"
    );
}

#[tokio::test]
async fn registering_needs_a_token() {
    let server = Server::start().await;
    let response = server
        .http
        .post(format!("{}/api/v1/push/subscriptions", server.base))
        .json(&subscription("https://push.example.com/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = server
        .http
        .delete(format!(
            "{}/api/v1/push/subscriptions/0195f0c4-0000-7000-8000-000000000000",
            server.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_openapi_document_describes_the_push_routes() {
    let server = Server::start().await;
    let doc: Value = server
        .http
        .get(format!("{}/openapi.json", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/v1/push/vapid-key",
        "/api/v1/push/subscriptions",
        "/api/v1/push/subscriptions/{id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    assert!(doc["components"]["schemas"]["PushSubscriptionInput"].is_object());
}
