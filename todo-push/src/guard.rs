//! The SSRF guard: a push endpoint is a URL a user chose, so the server must not become a way to reach
//! addresses inside its own network. Registration refuses literal non-public hosts
//! ([`todo_core::model::PushEndpoint::parse`]); at delivery, names are resolved here and the request
//! goes only to the addresses checked, so a name that resolves (or is re-pointed, DNS rebinding) to a
//! loopback, private or link-local address reaches nothing.

use std::net::{IpAddr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use todo_core::model::is_public_address;

/// The resolved or literal address of an endpoint is not public.
#[derive(Debug, thiserror::Error)]
#[error("{host} is (or resolves to) {address}, which is not a public address")]
pub struct ForbiddenAddress {
    /// The endpoint's host.
    pub host: String,
    /// The first non-public address found.
    pub address: IpAddr,
}

/// Resolves with the system resolver and refuses a name when any of its addresses is not public
/// (unless `allow_private`, the tests' setting).
#[derive(Debug, Clone, Copy)]
pub(crate) struct GuardedResolver {
    pub(crate) allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private {
                check_all(&host, addresses.iter().map(SocketAddr::ip))?;
            }
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// `Err` naming the first address of `host` that is not public.
pub(crate) fn check_all(
    host: &str,
    addresses: impl IntoIterator<Item = IpAddr>,
) -> Result<(), ForbiddenAddress> {
    match addresses.into_iter().find(|ip| !is_public_address(*ip)) {
        Some(address) => Err(ForbiddenAddress {
            host: host.to_owned(),
            address,
        }),
        None => Ok(()),
    }
}

/// The [`ForbiddenAddress`] somewhere in `error`'s chain of causes.
pub(crate) fn forbidden_in<'e>(
    error: &'e (dyn std::error::Error + 'static),
) -> Option<&'e ForbiddenAddress> {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if let Some(forbidden) = error.downcast_ref::<ForbiddenAddress>() {
            return Some(forbidden);
        }
        cause = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused() {
        let guarded = GuardedResolver {
            allow_private: false,
        };
        let name: Name = "localhost".parse().unwrap();
        let error = match guarded.resolve(name).await {
            Ok(_) => panic!("localhost resolved through the guard"),
            Err(error) => error,
        };
        let forbidden = forbidden_in(error.as_ref()).expect("a ForbiddenAddress");
        assert!(forbidden.address.is_loopback(), "{forbidden}");
    }

    #[tokio::test]
    async fn the_tests_setting_lets_loopback_through() {
        let open = GuardedResolver {
            allow_private: true,
        };
        let name: Name = "localhost".parse().unwrap();
        let addresses: Vec<SocketAddr> = open.resolve(name).await.unwrap().collect();
        assert!(addresses.iter().all(|a| a.ip().is_loopback()));
    }

    #[test]
    fn one_private_address_among_public_ones_refuses_the_name() {
        let public: IpAddr = "8.8.8.8".parse().unwrap();
        let private: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(check_all("x", [public]).is_ok());
        assert_eq!(
            check_all("x", [public, private]).unwrap_err().address,
            private
        );
    }
}
