//! Web Push subscriptions (SPEC §14, RFC 8030/8291): the browser's `PushSubscription` JSON, parsed
//! into a value that can only hold an `https` endpoint on a host that is not a literal loopback,
//! private, link-local or otherwise non-public address, and keys of the right lengths.
//!
//! No network call happens here: a host *name* is accepted as it is, and the address it resolves to is
//! checked again at delivery with the same rule ([`is_public_address`]), so a name that points into
//! the cluster reaches nothing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// The longest endpoint URL accepted, in bytes (browsers' endpoints are a few hundred).
pub const PUSH_ENDPOINT_MAX_BYTES: usize = 2048;

/// The length of the browser's P-256 public key (`keys.p256dh`): an uncompressed SEC1 point.
pub const P256DH_BYTES: usize = 65;

/// The length of the browser's authentication secret (`keys.auth`).
pub const AUTH_SECRET_BYTES: usize = 16;

/// The `PushSubscription` JSON a browser's `PushManager.subscribe()` returns
/// (`subscription.toJSON()`), as the API receives it; [`PushSubscription::parse`] checks it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushSubscriptionInput {
    /// The push service's URL for this browser (`https`, on a public host).
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "https://fcm.googleapis.com/fcm/send/dGVzdA:APA91b",
            max_length = 2048
        )
    )]
    pub endpoint: String,
    /// When the subscription expires, in milliseconds since the Unix epoch; usually `null`.
    #[serde(default, rename = "expirationTime")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    pub expiration_time: Option<serde_json::Number>,
    /// The browser's keys.
    pub keys: PushKeysInput,
}

/// The `keys` of a `PushSubscription`, base64url as browsers send them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushKeysInput {
    /// The browser's P-256 public key: 65 bytes (an uncompressed point), base64url.
    pub p256dh: String,
    /// The browser's authentication secret: 16 bytes, base64url.
    pub auth: String,
}

/// A push endpoint that is `https`, at most [`PUSH_ENDPOINT_MAX_BYTES`] long, without credentials, on
/// a host that is not a literal non-public address nor `localhost`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PushEndpoint(String);

impl PushEndpoint {
    /// Checks `endpoint` (field `endpoint`).
    pub fn parse(endpoint: &str) -> Result<Self, ValidationError> {
        Self::parse_with(endpoint, false)
    }

    /// **Tests only** (a local push service): like [`PushEndpoint::parse`], but a literal
    /// loopback, private or link-local host and `localhost` are accepted.
    pub fn parse_allowing_private(endpoint: &str) -> Result<Self, ValidationError> {
        Self::parse_with(endpoint, true)
    }

    fn parse_with(endpoint: &str, allow_private: bool) -> Result<Self, ValidationError> {
        let error = |message: &str| ValidationError::new("endpoint", message);
        if endpoint.len() > PUSH_ENDPOINT_MAX_BYTES {
            return Err(error("must be at most 2048 bytes"));
        }
        let url = url::Url::parse(endpoint).map_err(|_| error("must be an absolute URL"))?;
        if url.scheme() != "https" {
            return Err(error("must be an https URL"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(error("must not carry credentials"));
        }
        match url.host() {
            None => return Err(error("must name a host")),
            Some(_) if allow_private => {}
            Some(url::Host::Ipv4(ip)) if !is_public_address(IpAddr::V4(ip)) => {
                return Err(error(
                    "must not be a loopback, private, link-local or other non-public address",
                ))
            }
            Some(url::Host::Ipv6(ip)) if !is_public_address(IpAddr::V6(ip)) => {
                return Err(error(
                    "must not be a loopback, private, link-local or other non-public address",
                ))
            }
            Some(url::Host::Domain(name)) if is_localhost(name) => {
                return Err(error("must not be localhost"))
            }
            Some(_) => {}
        }
        // The parsed form: hosts lower-cased, IPv4 shorthands (`0x7f.1`) spelled out, so the same
        // browser endpoint is one string however it was written.
        Ok(Self(url.into()))
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An endpoint read back from storage, where it was stored after [`PushEndpoint::parse`].
    pub fn from_stored(endpoint: String) -> Self {
        Self(endpoint)
    }
}

/// The browser's keys: its P-256 public key and its authentication secret (RFC 8291 §3).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PushKeys {
    p256dh: [u8; P256DH_BYTES],
    auth: [u8; AUTH_SECRET_BYTES],
}

impl std::fmt::Debug for PushKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The auth secret lets anyone who also has the push service's message read it.
        f.debug_struct("PushKeys")
            .field("p256dh", &URL_SAFE_NO_PAD.encode(self.p256dh))
            .field("auth", &"<redacted>")
            .finish()
    }
}

impl PushKeys {
    /// Checks base64url (padded or not) keys: `keys.p256dh` must decode to an uncompressed P-256 point
    /// (65 bytes, `0x04` first), `keys.auth` to 16 bytes. Whether the point is on the curve is known
    /// only to a crypto library: the channel checks that when it encrypts.
    pub fn parse(p256dh: &str, auth: &str) -> Result<Self, ValidationError> {
        let p256dh: [u8; P256DH_BYTES] = decode_exact(p256dh).ok_or_else(|| {
            ValidationError::new(
                "keys.p256dh",
                "must be base64url of a 65-byte uncompressed P-256 public key",
            )
        })?;
        if p256dh[0] != 0x04 {
            return Err(ValidationError::new(
                "keys.p256dh",
                "must be an uncompressed P-256 public key (starting with 0x04)",
            ));
        }
        let auth = decode_exact(auth)
            .ok_or_else(|| ValidationError::new("keys.auth", "must be base64url of 16 bytes"))?;
        Ok(Self { p256dh, auth })
    }

    /// The browser's public key, an uncompressed SEC1 point.
    pub fn p256dh(&self) -> &[u8; P256DH_BYTES] {
        &self.p256dh
    }

    /// The authentication secret.
    pub fn auth(&self) -> &[u8; AUTH_SECRET_BYTES] {
        &self.auth
    }

    /// `keys.p256dh` as unpadded base64url.
    pub fn p256dh_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.p256dh)
    }

    /// `keys.auth` as unpadded base64url.
    pub fn auth_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.auth)
    }
}

/// Decodes base64url with or without padding into exactly `N` bytes.
fn decode_exact<const N: usize>(text: &str) -> Option<[u8; N]> {
    let bytes = URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()?;
    bytes.try_into().ok()
}

/// A checked `PushSubscription`: where to send and how to encrypt for one browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSubscription {
    /// The push service's URL for the browser.
    pub endpoint: PushEndpoint,
    /// The browser's keys.
    pub keys: PushKeys,
    /// When the push service will stop accepting messages for it, if it said.
    pub expiration_time: Option<DateTime<Utc>>,
}

impl PushSubscription {
    /// Checks the browser's JSON; the error names the field (`endpoint`, `keys.p256dh`, `keys.auth`,
    /// `expirationTime`).
    pub fn parse(input: &PushSubscriptionInput) -> Result<Self, ValidationError> {
        Self::parse_with(input, false)
    }

    /// **Tests only**: like [`PushSubscription::parse`] with
    /// [`PushEndpoint::parse_allowing_private`].
    pub fn parse_allowing_private(input: &PushSubscriptionInput) -> Result<Self, ValidationError> {
        Self::parse_with(input, true)
    }

    fn parse_with(
        input: &PushSubscriptionInput,
        allow_private: bool,
    ) -> Result<Self, ValidationError> {
        let endpoint = PushEndpoint::parse_with(&input.endpoint, allow_private)?;
        let keys = PushKeys::parse(&input.keys.p256dh, &input.keys.auth)?;
        let expiration_time = match &input.expiration_time {
            None => None,
            Some(millis) => Some(
                millis
                    .as_f64()
                    .filter(|m| m.is_finite() && m.abs() < 1e15)
                    // Whole milliseconds: the float is in range, checked above.
                    .and_then(|m| DateTime::<Utc>::from_timestamp_millis(m as i64))
                    .ok_or_else(|| {
                        ValidationError::new(
                            "expirationTime",
                            "must be null or milliseconds since the Unix epoch",
                        )
                    })?,
            ),
        };
        Ok(Self {
            endpoint,
            keys,
            expiration_time,
        })
    }
}

/// `localhost` and its subdomains (RFC 6761: they resolve to loopback).
fn is_localhost(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// Whether a push may be sent to `ip`: `false` for loopback, private, link-local, unspecified,
/// shared (CGNAT), multicast, broadcast, documentation, benchmarking and reserved addresses, in IPv4
/// and IPv6, including IPv4 addresses embedded in IPv6 (mapped, compatible, NAT64, 6to4).
pub fn is_public_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT), RFC 6598
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking, RFC 2544
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return is_public_v4(v4);
    }
    let segments = ip.segments();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local, fc00::/7
        || (segments[0] & 0xffc0) == 0xfe80 // link-local, fe80::/10
        || (segments[0] & 0xffc0) == 0xfec0 // site-local (deprecated), fec0::/10
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
        || (segments[0] == 0x0100 && segments[1..4] == [0, 0, 0])) // discard-only, 100::/64
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64
/// (`64:ff9b::a.b.c.d`) or 6to4 (`2002:AABB:CCDD::`) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, hi, lo] => Some(low(hi, lo)),
        // `::` and `::1` are not IPv4-compatible addresses; the caller rules them out.
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 => Some(low(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)),
        [0x2002, hi, lo, ..] => Some(low(hi, lo)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const P256DH: &str =
        "BLn9b-VR0ca83knDNZ32dCHGyjJp-1riX9ZTN40MqV8K_LpQmLqxC_DoHvqvFXO_nGdAB4W9dogZb_sM-uV4JbY";
    const AUTH: &str = "_ordMnz7uTCmrpBTeUV4Bw";

    fn input(endpoint: &str) -> PushSubscriptionInput {
        PushSubscriptionInput {
            endpoint: endpoint.into(),
            expiration_time: None,
            keys: PushKeysInput {
                p256dh: P256DH.into(),
                auth: AUTH.into(),
            },
        }
    }

    fn field_of(endpoint: &str) -> Option<String> {
        PushSubscription::parse(&input(endpoint))
            .err()
            .map(|e| e.field)
    }

    #[test]
    fn a_browser_subscription_parses() {
        let json = serde_json::json!({
            "endpoint": "https://fcm.googleapis.com/fcm/send/abc:APA91b",
            "expirationTime": null,
            "keys": {"p256dh": P256DH, "auth": AUTH}
        });
        let input: PushSubscriptionInput = serde_json::from_value(json).unwrap();
        let parsed = PushSubscription::parse(&input).unwrap();
        assert_eq!(
            parsed.endpoint.as_str(),
            "https://fcm.googleapis.com/fcm/send/abc:APA91b"
        );
        assert_eq!(parsed.keys.p256dh_base64url(), P256DH);
        assert_eq!(parsed.keys.auth_base64url(), AUTH);
        assert_eq!(parsed.expiration_time, None);
    }

    #[test]
    fn an_expiration_time_is_read_as_milliseconds() {
        let mut with_expiry = input("https://push.example.com/x");
        with_expiry.expiration_time = Some(serde_json::Number::from(1_800_000_000_000_i64));
        let parsed = PushSubscription::parse(&with_expiry).unwrap();
        assert_eq!(
            parsed.expiration_time.unwrap().timestamp_millis(),
            1_800_000_000_000
        );
        with_expiry.expiration_time = serde_json::Number::from_f64(1e300);
        assert_eq!(
            PushSubscription::parse(&with_expiry).unwrap_err().field,
            "expirationTime"
        );
    }

    #[test]
    fn endpoints_are_judged_by_scheme_and_literal_host() {
        let table: &[(&str, Option<&str>)] = &[
            ("https://fcm.googleapis.com/fcm/send/x", None),
            ("https://updates.push.services.mozilla.com/wpush/v2/x", None),
            ("https://8.8.8.8/push", None),
            ("https://[2606:4700::1111]/push", None),
            ("https://push.example.com:8443/p", None),
            ("http://fcm.googleapis.com/fcm/send/x", Some("endpoint")),
            ("ftp://example.com/x", Some("endpoint")),
            ("not a url", Some("endpoint")),
            ("https://user:pass@example.com/x", Some("endpoint")),
            ("https://localhost/x", Some("endpoint")),
            ("https://api.localhost./x", Some("endpoint")),
            ("https://127.0.0.1/x", Some("endpoint")),
            ("https://127.1/x", Some("endpoint")),
            ("https://0x7f000001/x", Some("endpoint")),
            ("https://2130706433/x", Some("endpoint")),
            ("https://10.0.0.5/x", Some("endpoint")),
            ("https://172.16.0.1/x", Some("endpoint")),
            ("https://192.168.1.1/x", Some("endpoint")),
            ("https://169.254.169.254/latest/meta-data", Some("endpoint")),
            ("https://0.0.0.0/x", Some("endpoint")),
            ("https://100.64.0.1/x", Some("endpoint")),
            ("https://[::1]/x", Some("endpoint")),
            ("https://[::]/x", Some("endpoint")),
            ("https://[fe80::1]/x", Some("endpoint")),
            ("https://[fd00::1]/x", Some("endpoint")),
            ("https://[::ffff:127.0.0.1]/x", Some("endpoint")),
            ("https://[::ffff:10.1.2.3]/x", Some("endpoint")),
            ("https://[64:ff9b::a9fe:a9fe]/x", Some("endpoint")),
            ("https://[2002:c0a8:0101::1]/x", Some("endpoint")),
        ];
        for (endpoint, field) in table {
            assert_eq!(
                field_of(endpoint).as_deref(),
                *field,
                "{endpoint} should be {}",
                if field.is_some() {
                    "refused"
                } else {
                    "accepted"
                }
            );
        }
        let long = format!(
            "https://example.com/{}",
            "a".repeat(PUSH_ENDPOINT_MAX_BYTES)
        );
        assert_eq!(field_of(&long).as_deref(), Some("endpoint"));
    }

    #[test]
    fn keys_must_have_their_lengths() {
        let keys = |p256dh: &str, auth: &str| PushKeys::parse(p256dh, auth).err().map(|e| e.field);
        assert_eq!(keys(P256DH, AUTH), None);
        assert_eq!(
            keys(&format!("{P256DH}="), &format!("{AUTH}==")),
            None,
            "padding is fine"
        );
        assert_eq!(keys(&P256DH[..60], AUTH).as_deref(), Some("keys.p256dh"));
        assert_eq!(keys("", AUTH).as_deref(), Some("keys.p256dh"));
        assert_eq!(keys("B+/=", AUTH).as_deref(), Some("keys.p256dh"));
        let compressed = URL_SAFE_NO_PAD.encode([3u8; 65]);
        assert_eq!(keys(&compressed, AUTH).as_deref(), Some("keys.p256dh"));
        assert_eq!(keys(P256DH, "short").as_deref(), Some("keys.auth"));
        assert_eq!(
            keys(P256DH, &URL_SAFE_NO_PAD.encode([1u8; 17])).as_deref(),
            Some("keys.auth")
        );
    }

    #[test]
    fn the_auth_secret_stays_out_of_debug_output() {
        let keys = PushKeys::parse(P256DH, AUTH).unwrap();
        assert!(!format!("{keys:?}").contains(AUTH));
    }

    proptest! {
        #[test]
        fn every_private_ipv4_address_is_refused_also_when_mapped_into_ipv6(
            a in prop_oneof![Just(10u8), Just(127u8), Just(0u8)], b: u8, c: u8, d: u8,
        ) {
            let v4 = Ipv4Addr::new(a, b, c, d);
            prop_assert!(!is_public_address(IpAddr::V4(v4)));
            prop_assert!(!is_public_address(IpAddr::V6(v4.to_ipv6_mapped())));
            let endpoint = format!("https://{v4}/push");
            prop_assert_eq!(field_of(&endpoint), Some("endpoint".to_owned()));
            let mapped = format!("https://[{}]/push", v4.to_ipv6_mapped());
            prop_assert_eq!(field_of(&mapped), Some("endpoint".to_owned()));
        }

        #[test]
        fn link_local_and_rfc1918_ranges_are_refused(b: u8, c: u8, d in 0u8..16, e: u8) {
            prop_assert!(!is_public_address(IpAddr::V4(Ipv4Addr::new(169, 254, b, c))));
            prop_assert!(!is_public_address(IpAddr::V4(Ipv4Addr::new(172, 16 + d, b, c))));
            prop_assert!(!is_public_address(IpAddr::V4(Ipv4Addr::new(192, 168, b, e))));
            let link_local = Ipv6Addr::new(0xfe80, 0, 0, 0, u16::from(b), u16::from(c), 0, 1);
            prop_assert!(!is_public_address(IpAddr::V6(link_local)));
        }

        #[test]
        fn parsing_never_panics_and_errors_name_a_field(endpoint in ".{0,80}", p256dh in ".{0,100}", auth in ".{0,30}") {
            let input = PushSubscriptionInput {
                endpoint,
                expiration_time: None,
                keys: PushKeysInput { p256dh, auth },
            };
            if let Err(error) = PushSubscription::parse(&input) {
                prop_assert!(["endpoint", "keys.p256dh", "keys.auth"].contains(&error.field.as_str()));
            }
        }

        #[test]
        fn keys_round_trip_through_base64url(point in proptest::collection::vec(any::<u8>(), 64), auth in proptest::array::uniform16(any::<u8>())) {
            let mut p256dh = vec![4u8];
            p256dh.extend(point);
            let keys = PushKeys::parse(&URL_SAFE_NO_PAD.encode(&p256dh), &URL_SAFE_NO_PAD.encode(auth)).unwrap();
            prop_assert_eq!(&keys.p256dh()[..], &p256dh[..]);
            prop_assert_eq!(keys.auth(), &auth);
            prop_assert_eq!(PushKeys::parse(&keys.p256dh_base64url(), &keys.auth_base64url()).unwrap(), keys);
        }
    }
}
