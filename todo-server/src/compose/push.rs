//! Web Push (SPEC §14): the VAPID key, where it comes from, and the channel built on it.
//!
//! | configuration | VAPID key |
//! |---|---|
//! | `TODO_VAPID_PRIVATE_KEY` set | that key |
//! | Dapr | the secret store's `vapid-private-key` (every replica signs with the same key); missing: push is off, and says so |
//! | SQLite (the embedded default) | generated once and kept beside the database, `todo.db.vapid-key` (mode 0600), so browsers stay subscribed across restarts |
//! | `all` in memory or on PostgreSQL | random for this process (subscriptions end with it; a warning says so) |
//! | a single service without Dapr | push is off (a warning says to set `TODO_VAPID_PRIVATE_KEY`): the api and notification services must share the key |

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use todo_core::error::{chain, PortError};
use todo_core::ports::SecretStore;
use todo_dapr::{DaprSecretStore, DEFAULT_SECRET_STORE};
use todo_push::{PushChannel, PushSettings, VapidKey};
use tracing::{info, warn};

use super::signing_key::write_private;
use super::{BuildError, Parts};
use crate::config::{Bus, Storage};

/// The secret (in the Dapr secret store) that holds the VAPID private key.
pub const VAPID_SECRET_NAME: &str = "vapid-private-key";

/// The VAPID key of this process (see the module's table), read once and shared by the roles;
/// `None`: Web Push is off.
pub(crate) async fn vapid_key(parts: &mut Parts) -> Result<Option<VapidKey>, BuildError> {
    if let Some(key) = &parts.vapid {
        return Ok(key.clone());
    }
    let key = read_vapid_key(parts).await?;
    if let Some(key) = &key {
        info!(public_key = key.public_key(), "Web Push is on");
    }
    parts.vapid = Some(key.clone());
    Ok(key)
}

async fn read_vapid_key(parts: &Parts) -> Result<Option<VapidKey>, BuildError> {
    if let Some(key) = &parts.config.push.vapid_key {
        return Ok(Some(key.clone()));
    }
    if let Some(client) = parts.transport.dapr_client() {
        return from_secret_store(&DaprSecretStore::new(client.clone(), DEFAULT_SECRET_STORE))
            .await;
    }
    if !matches!(parts.config.bus, Bus::InProcess) {
        warn!("Web Push is off: set TODO_VAPID_PRIVATE_KEY (the same on the api and notification services)");
        return Ok(None);
    }
    if let Storage::Sqlite(sqlite) = &parts.config.storage {
        let mut path = sqlite.path.as_os_str().to_owned();
        path.push(".vapid-key");
        let path = std::path::PathBuf::from(path);
        return kept_beside_the_data(&path)
            .map(Some)
            .map_err(|source| BuildError::VapidKeyFile { path, source });
    }
    warn!("TODO_VAPID_PRIVATE_KEY is not set: using a random VAPID key, so browsers' push subscriptions end with this process");
    Ok(Some(VapidKey::generate()))
}

/// The secret store's key; the sidecar may start after the app, so this waits for it a little. No
/// such secret: push is off.
async fn from_secret_store(secrets: &DaprSecretStore) -> Result<Option<VapidKey>, BuildError> {
    let mut attempts = 0;
    let values = loop {
        match secrets.get(VAPID_SECRET_NAME).await {
            Ok(values) => break values,
            Err(PortError::NotFound) => {
                warn!(
                    secret = VAPID_SECRET_NAME,
                    store = DEFAULT_SECRET_STORE,
                    "Web Push is off: no VAPID key in the secret store"
                );
                return Ok(None);
            }
            Err(error) if attempts < 30 => {
                attempts += 1;
                warn!(error = %chain(&error), "VAPID key not readable from the secret store yet");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(source) => {
                return Err(BuildError::VapidSecret {
                    name: VAPID_SECRET_NAME,
                    store: DEFAULT_SECRET_STORE,
                    source: Box::new(source),
                })
            }
        }
    };
    let text = values
        .get(VAPID_SECRET_NAME)
        .or_else(|| values.values().next())
        .cloned()
        .unwrap_or_default();
    VapidKey::parse(&text)
        .map(Some)
        .map_err(|source| BuildError::VapidSecret {
            name: VAPID_SECRET_NAME,
            store: DEFAULT_SECRET_STORE,
            source: Box::new(source),
        })
}

/// Reads the key file at `path`, or creates it (readable by its owner only) with a new key. The
/// database's lock is held by then, so no other server races to create it.
fn kept_beside_the_data(path: &Path) -> std::io::Result<VapidKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => VapidKey::parse(&text).map_err(|error| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{error}; delete the file to make a new key (browsers then subscribe again)"
                ),
            )
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let key = VapidKey::generate();
            write_private(path, &key.to_base64url())?;
            info!(path = %path.display(), "generated the VAPID key");
            Ok(key)
        }
        Err(error) => Err(error),
    }
}

/// The Web Push channel for the notification role; `None` while push is off (no VAPID key).
pub(crate) async fn push_channel(parts: &mut Parts) -> Result<Option<PushChannel>, BuildError> {
    let Some(vapid) = vapid_key(parts).await? else {
        return Ok(None);
    };
    let push = &parts.config.push;
    let settings = PushSettings {
        subject: push.subject.clone(),
        allow_private_endpoints: push.allow_private_endpoints,
        extra_roots_pem: push.extra_roots_pem.clone(),
        ..PushSettings::default()
    };
    PushChannel::new(
        parts.stores.push.clone(),
        vapid,
        parts.clock.clone(),
        settings,
    )
    .map(Some)
    .map_err(BuildError::PushClient)
}

/// What the API's push routes need: the subscriptions, the public key (`None`: push is off) and
/// whether the tests' private endpoints are accepted.
pub(crate) async fn push_api(parts: &mut Parts) -> Result<crate::http::PushApi, BuildError> {
    let key = vapid_key(parts).await?;
    Ok(crate::http::PushApi {
        subscriptions: parts.stores.push.clone(),
        vapid_public_key: key.map(|k| Arc::from(k.public_key())),
        allow_private_endpoints: parts.config.push.allow_private_endpoints,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("todo.db.vapid-key");
        let first = kept_beside_the_data(&path).unwrap();
        let again = kept_beside_the_data(&path).unwrap();
        assert_eq!(again.public_key(), first.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_damaged_key_file_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "damaged").unwrap();
        let error = kept_beside_the_data(&path).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "damaged");
    }
}
