"""Web Push (SPEC §14) against independent implementations: a reminder reaches a local HTTPS push
service as an RFC 8291 aes128gcm message that `http_ece` decrypts with the browser's keys, signed
with a VAPID (RFC 8292) ES256 JWT that `cryptography` verifies with the key the API publishes; a
410 from the push service removes the subscription.

The push service is on 127.0.0.1 with a certificate from a CA made here, so the server runs with the
tests-only settings TODO_PUSH_ALLOW_PRIVATE_ENDPOINTS=1 and TODO_PUSH_CA_FILE.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import os
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import http_ece
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID

from todo_server import TodoServer

PUSH_WAIT_S = 30


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate for 127.0.0.1 it signed: (ca.pem, cert.pem, key.pem)."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "todo interop test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


class PushService:
    """An HTTPS push service on 127.0.0.1 that records each request and answers `status`."""

    def __init__(self, cert: Path, key: Path, status: int = 201):
        self.status = status
        self.requests: list[dict] = []
        self.arrived = threading.Condition()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the http.server convention)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with service.arrived:
                    service.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    service.arrived.notify_all()
                self.send_response(service.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.origin = f"https://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float) -> list[dict]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.requests) >= count, timeout)
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Browser:
    """A browser's push keys: a P-256 key pair and a 16-byte auth secret."""

    def __init__(self):
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth_secret = os.urandom(16)

    def subscription(self, endpoint: str) -> dict:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": endpoint, "expirationTime": None,
                "keys": {"p256dh": b64url(point), "auth": b64url(self.auth_secret)}}

    def decrypt(self, body: bytes) -> dict:
        plain = http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth_secret,
                                 version="aes128gcm")
        return json.loads(plain)


def verify_vapid(authorization: str, server_key: str, audience: str) -> dict:
    """Checks `vapid t=<jwt>, k=<key>`: the key is the server's, the ES256 signature verifies with
    it, `aud` is the endpoint's origin, `exp` within 24 hours, `sub` present. The claims."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid", authorization
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert fields["k"] == server_key, "k= is the key GET /api/v1/push/vapid-key publishes"
    header_b64, claims_b64, signature_b64 = fields["t"].split(".")
    header = json.loads(unb64url(header_b64))
    assert header["alg"] == "ES256", header
    public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(server_key))
    signature = unb64url(signature_b64)
    assert len(signature) == 64, "JWS ES256 is r || s"
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    public_key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    claims = json.loads(unb64url(claims_b64))
    assert claims["aud"] == audience, claims
    now = time.time()
    assert now < claims["exp"] <= now + 24 * 3600, claims
    assert claims.get("sub", "").startswith(("mailto:", "https:")), claims
    return claims


@pytest.fixture()
def certificates(tmp_path):
    return make_certificates(tmp_path)


@pytest.fixture()
def push_service(certificates):
    _, cert, key = certificates
    service = PushService(cert, key)
    yield service
    service.close()


@pytest.fixture()
def todo(server_bin, tmp_path, certificates):
    ca, _, _ = certificates
    server = TodoServer(server_bin, tmp_path, env={
        "TODO_PUSH_ALLOW_PRIVATE_ENDPOINTS": "1",
        "TODO_PUSH_CA_FILE": str(ca),
        "TODO_VAPID_SUBJECT": "mailto:ops@example.com",
    }).start()
    yield server
    server.stop()


def remind_soon(todo: TodoServer, token: str, title: str) -> dict:
    """A task due in 61 s with a reminder 1 minute before: it fires in about a second."""
    due = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=61)).isoformat().replace("+00:00", "Z")
    response = todo.api("POST", "/api/v1/tasks", token,
                        json={"title": title, "due_date": due, "remind_before": 1, "timezone": "UTC"})
    assert response.status == 201, response
    return response.body


def test_a_reminder_arrives_encrypted_and_signed(todo, push_service):
    token = todo.signup("ada@example.com")
    key = todo.api("GET", "/api/v1/push/vapid-key").body["key"]
    assert len(unb64url(key)) == 65 and unb64url(key)[0] == 4
    browser = Browser()
    registered = todo.api("POST", "/api/v1/push/subscriptions", token,
                          json=browser.subscription(f"{push_service.origin}/push/ada"))
    assert registered.status == 201, registered

    task = remind_soon(todo, token, "Pay rent")

    requests = push_service.wait_for(1, PUSH_WAIT_S)
    assert requests, f"no push within {PUSH_WAIT_S} s; server log:\n{todo.log()}"
    request = requests[0]
    assert request["path"] == "/push/ada"
    headers = {name.lower(): value for name, value in request["headers"].items()}
    assert headers["content-encoding"] == "aes128gcm"
    assert int(headers["ttl"]) > 0
    verify_vapid(headers["authorization"], key, push_service.origin)
    payload = browser.decrypt(request["body"])
    assert payload["title"] == "Reminder: Pay rent"
    assert payload["task_id"] == task["id"]
    assert payload["body"].startswith("due ")
    assert payload["url"] == "/"


def test_a_gone_subscription_is_removed(todo, push_service):
    push_service.status = 410
    token = todo.signup("bob@example.com")
    registered = todo.api("POST", "/api/v1/push/subscriptions", token,
                          json=Browser().subscription(f"{push_service.origin}/push/bob"))
    assert registered.status == 201, registered

    remind_soon(todo, token, "Water the plants")
    assert push_service.wait_for(1, PUSH_WAIT_S), f"no push; server log:\n{todo.log()}"

    # The channel removes it as soon as the 410 reaches it: give it a moment, then look once (a
    # DELETE that finds it would remove it itself, so there is no polling with DELETE).
    time.sleep(2)
    gone = todo.api("DELETE", f"/api/v1/push/subscriptions/{registered.body['id']}", token)
    assert gone.status == 404, "the push service's 410 removed the subscription"

    # A second reminder sends nothing: nobody is registered any more.
    remind_soon(todo, token, "Water the plants again")
    inbox_deadline = time.monotonic() + PUSH_WAIT_S
    while time.monotonic() < inbox_deadline:
        if len(todo.api("GET", "/api/v1/notifications", token).body["items"]) >= 2:
            break
        time.sleep(0.2)
    time.sleep(1)
    assert len(push_service.requests) == 1, "nothing was pushed for the second reminder"
