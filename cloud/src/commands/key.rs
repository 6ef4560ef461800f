//! The cloud's command key: the secp256k1 key that signs every `pitlane.command.v1` envelope.
//! Agents pin its address (`[mqtt] cloud_command_address`) at provisioning, so it must stay
//! the same across restarts: it is generated once into a 0600 key file and loaded after that.

use std::path::Path;

use pitlane_shared::identity::{DeviceKey, KeyFileError};

/// Why the command key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum CommandKeyError {
    #[error("command key: {0}")]
    KeyFile(#[from] KeyFileError),
    #[error("command key directory {path}: {source}")]
    Dir {
        path: String,
        source: std::io::Error,
    },
}

/// Loads the key file at `path`, or creates it (mode 0600, atomically, never overwriting)
/// when it does not exist yet. A key file readable by group or others is refused.
pub fn load_or_create(path: &Path) -> Result<DeviceKey, CommandKeyError> {
    match DeviceKey::load(path) {
        Ok(key) => return Ok(key),
        Err(KeyFileError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| CommandKeyError::Dir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    match DeviceKey::create(path) {
        Ok(key) => {
            tracing::info!(path = %path.display(), address = %key.address().to_checksum(),
                "created the cloud command key");
            Ok(key)
        }
        // Another process created it between our load and create: use theirs.
        Err(KeyFileError::AlreadyExists { .. }) => Ok(DeviceKey::load(path)?),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_loaded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub").join("command.key");
        let first = load_or_create(&path).expect("create");
        let second = load_or_create(&path).expect("load");
        assert_eq!(first.address(), second.address());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[cfg(unix)]
    #[test]
    fn an_exposed_key_file_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("command.key");
        load_or_create(&path).expect("create");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = load_or_create(&path).expect_err("refused").to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }
}
