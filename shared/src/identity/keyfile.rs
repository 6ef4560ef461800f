//! Key files: the 0x-hex secret on one line, created atomically with mode 0600.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::{DeviceKey, KeyError};

/// A key file larger than this is not a key file (a 0x-hex secret is 67 bytes with newline).
const MAX_KEY_FILE_LEN: u64 = 1024;

/// Why a key file cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file does not exist.
    #[error("key file {} does not exist", path.display())]
    NotFound {
        /// The key file.
        path: PathBuf,
    },
    /// Creating a key where one already exists (keys are never overwritten).
    #[error("key file {} already exists; refusing to overwrite it", path.display())]
    AlreadyExists {
        /// The key file.
        path: PathBuf,
    },
    /// Group or others may access the file.
    #[error(
        "key file {} is accessible by group or others (mode {mode:04o}); \
         restrict it with `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    InsecurePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The content is not one 0x-hex secret.
    #[error("key file {} does not hold a valid secret: {source}", path.display())]
    Malformed {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        source: KeyError,
    },
    /// The file is far larger than a key.
    #[error("key file {} is too large to be a key file", path.display())]
    TooLarge {
        /// The key file.
        path: PathBuf,
    },
    /// Any other I/O failure.
    #[error("key file {}: {source}", path.display())]
    Io {
        /// The key file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl KeyFileError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        let path = path.to_path_buf();
        match source.kind() {
            std::io::ErrorKind::NotFound => KeyFileError::NotFound { path },
            std::io::ErrorKind::AlreadyExists => KeyFileError::AlreadyExists { path },
            _ => KeyFileError::Io { path, source },
        }
    }
}

impl DeviceKey {
    /// Loads a key file, refusing it when group or others have any access to it.
    pub fn load(path: &Path) -> Result<Self, KeyFileError> {
        let file = std::fs::File::open(path).map_err(|e| KeyFileError::io(path, e))?;
        // Checked on the open handle, so the file we read is the file we checked.
        let metadata = file.metadata().map_err(|e| KeyFileError::io(path, e))?;
        check_permissions(path, &metadata)?;
        if metadata.len() > MAX_KEY_FILE_LEN {
            return Err(KeyFileError::TooLarge {
                path: path.to_path_buf(),
            });
        }
        let mut text = Zeroizing::new(String::new());
        file.take(MAX_KEY_FILE_LEN + 1)
            .read_to_string(&mut text)
            .map_err(|e| KeyFileError::io(path, e))?;
        DeviceKey::from_hex(text.trim()).map_err(|source| KeyFileError::Malformed {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Writes this key to a new file with mode 0600, atomically: the file appears complete or
    /// not at all, and an existing file is never overwritten.
    pub fn save_new(&self, path: &Path) -> Result<(), KeyFileError> {
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".pitlane-key-");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o600));
        }
        let mut temp = builder
            .tempfile_in(dir)
            .map_err(|e| KeyFileError::io(path, e))?;
        let mut line = self.to_hex();
        line.push('\n');
        temp.write_all(line.as_bytes())
            .and_then(|()| temp.as_file().sync_all())
            .map_err(|e| KeyFileError::io(path, e))?;
        temp.persist_noclobber(path)
            .map_err(|e| KeyFileError::io(path, e.error))?;
        // Make the new directory entry durable too (a power cut must not lose the identity).
        #[cfg(unix)]
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| KeyFileError::io(path, e))?;
        Ok(())
    }

    /// Generates a key and saves it to a new file (see [`DeviceKey::save_new`]).
    pub fn create(path: &Path) -> Result<Self, KeyFileError> {
        let key = DeviceKey::generate();
        key.save_new(path)?;
        Ok(key)
    }
}

#[cfg(unix)]
fn check_permissions(path: &Path, metadata: &std::fs::Metadata) -> Result<(), KeyFileError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path, _metadata: &std::fs::Metadata) -> Result<(), KeyFileError> {
    Ok(())
}
