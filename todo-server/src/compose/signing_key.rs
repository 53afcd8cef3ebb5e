//! The key that signs the API's tokens, and where it comes from.
//!
//! | configuration | key |
//! |---|---|
//! | `TODO_JWT_SECRET` set | that secret |
//! | Dapr | the secret store's `jwt-signing-key` (every replica signs with the same key) |
//! | SQLite (the embedded default) | generated once and kept beside the database, `todo.db.jwt-key` (mode 0600), so tokens survive a restart |
//! | `all` in memory or on PostgreSQL | random for this process (tokens end with it; a warning says so) |
//! | a single service without Dapr | refused: replicas must share the key |

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use rand::RngCore;
use todo_core::error::chain;
use todo_core::ports::SecretStore;
use todo_dapr::{DaprSecretStore, DEFAULT_SECRET_STORE};
use tracing::{info, warn};

use super::{BuildError, Parts};
use crate::config::{Bus, Storage};

/// The secret (in the Dapr secret store) that holds the JWT signing key.
pub const JWT_SECRET_NAME: &str = "jwt-signing-key";

/// The shortest key accepted, in bytes.
const MIN_KEY_BYTES: usize = 32;

/// The JWT signing key of the API (see the module's table).
pub(super) async fn jwt_key(parts: &Parts) -> Result<Vec<u8>, BuildError> {
    if let Some(secret) = &parts.config.auth.jwt_secret {
        return Ok(secret.as_bytes().to_vec());
    }
    if let Some(client) = parts.transport.dapr_client() {
        return from_secret_store(&DaprSecretStore::new(client.clone(), DEFAULT_SECRET_STORE))
            .await;
    }
    if !matches!(parts.config.bus, Bus::InProcess) {
        return Err(BuildError::Requires {
            service: "api",
            variable: "TODO_JWT_SECRET",
            reason: "every API replica must sign tokens with the same key",
        });
    }
    if let Storage::Sqlite(sqlite) = &parts.config.storage {
        let path = sqlite.signing_key_path();
        return kept_beside_the_data(&path)
            .map_err(|source| BuildError::SigningKeyFile { path, source });
    }
    warn!("TODO_JWT_SECRET is not set: using a random key, so tokens end with this process");
    Ok(random_key().into_bytes())
}

/// The secret store's key; the sidecar may start after the app, so this waits for it a little.
async fn from_secret_store(secrets: &DaprSecretStore) -> Result<Vec<u8>, BuildError> {
    let mut attempts = 0;
    let values = loop {
        match secrets.get(JWT_SECRET_NAME).await {
            Ok(values) => break values,
            Err(error) if attempts < 30 => {
                attempts += 1;
                warn!(error = %chain(&error), "JWT signing key not readable from the secret store yet");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(source) => {
                return Err(BuildError::JwtSecret {
                    name: JWT_SECRET_NAME,
                    store: DEFAULT_SECRET_STORE,
                    source,
                })
            }
        }
    };
    let key = values
        .get(JWT_SECRET_NAME)
        .or_else(|| values.values().next())
        .cloned()
        .unwrap_or_default();
    if key.len() < MIN_KEY_BYTES {
        return Err(BuildError::WeakJwtSecret {
            name: JWT_SECRET_NAME,
        });
    }
    Ok(key.into_bytes())
}

/// Reads the key file at `path`, or creates it (readable by its owner only) with a new random key.
/// The database's lock is held by then, so no other server races to create it.
fn kept_beside_the_data(path: &Path) -> std::io::Result<Vec<u8>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let key = text.trim();
            if key.len() < MIN_KEY_BYTES {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("the key is shorter than {MIN_KEY_BYTES} bytes; delete the file to make a new one (signing everyone out)"),
                ));
            }
            warn_if_shared(path);
            Ok(key.as_bytes().to_vec())
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let key = random_key();
            write_private(path, &key)?;
            info!(path = %path.display(), "generated the JWT signing key");
            Ok(key.into_bytes())
        }
        Err(error) => Err(error),
    }
}

/// 32 random bytes as 64 hexadecimal digits.
fn random_key() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `text` to a new file at `path` that only its owner can read, completely or not at all
/// (a temporary file renamed into place after it is on disk).
pub(super) fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".new");
    let temporary = std::path::PathBuf::from(temporary);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

/// Warns when others than the owner may read the key file.
fn warn_if_shared(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = std::fs::metadata(path) {
            let mode = metadata.permissions().mode();
            if mode & 0o077 != 0 {
                warn!(path = %path.display(), mode = format!("{:o}", mode & 0o777), "the JWT signing key is readable by others: chmod 600 it");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("todo.db.jwt-key");
        let first = kept_beside_the_data(&path).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(
            kept_beside_the_data(&path).unwrap(),
            first,
            "the same key again"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let other = tempfile::tempdir().unwrap();
        let another = kept_beside_the_data(&other.path().join("k")).unwrap();
        assert_ne!(another, first, "each data directory gets its own key");
    }

    #[test]
    fn a_damaged_key_file_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "short").unwrap();
        let error = kept_beside_the_data(&path).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "short",
            "left as it was"
        );
    }
}
