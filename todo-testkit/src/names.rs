//! Unique names and free ports, so parallel tests never share a resource by accident.

use std::net::TcpListener;

use crate::TestkitError;

/// A name unique to this call: `prefix` plus 12 random hex digits, lower case.
///
/// Safe as a database, topic, app or job name (only `[a-z0-9_-]` when `prefix` is).
#[must_use]
pub fn unique_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..12])
}

/// A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it).
pub fn free_port() -> Result<u16, TestkitError> {
    let listener =
        TcpListener::bind(("127.0.0.1", 0)).map_err(TestkitError::io("binding 127.0.0.1:0"))?;
    let port = listener
        .local_addr()
        .map_err(TestkitError::io("reading a bound port"))?
        .port();
    Ok(port)
}
