//! Encryption at rest of the secrets a Smartcar connection keeps: access and refresh tokens
//! (the cloud must present them again, so they cannot be hashed) and the synthetic device's
//! secret key.
//!
//! XChaCha20-Poly1305 with a random 192-bit nonce per value (random nonces are safe at this
//! size). Each value is bound to where it is stored through the associated data (for
//! example `smartcar_grants.access_token:<grant id>`), so a ciphertext copied into another
//! row or column does not decrypt. Stored form: `v1.` + base64(nonce ‖ ciphertext ‖ tag).

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

const PREFIX: &str = "v1.";
const NONCE_LEN: usize = 24;

/// Why a stored value could not be decrypted.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("stored secret is not in the v1 format")]
    Format,
    #[error(
        "stored secret does not decrypt: another encryption key, or the value was altered or moved"
    )]
    Decrypt,
    #[error("encryption failed")]
    Encrypt,
}

/// Why the key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("setting `smartcar.encryption_key_file` ({path}): {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("setting `smartcar.encryption_key_file` ({0}): must hold 64 hex digits")]
    Malformed(PathBuf),
    #[error("setting `smartcar.encryption_key_file` ({0}): group or others may read it; chmod 600")]
    Permissions(PathBuf),
}

/// Encrypts and decrypts stored Smartcar secrets.
#[derive(Clone)]
pub struct TokenCipher {
    aead: XChaCha20Poly1305,
}

impl fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenCipher(..)")
    }
}

impl TokenCipher {
    /// A cipher with this 256-bit key.
    pub fn new(key: &[u8; 32]) -> Self {
        TokenCipher {
            aead: XChaCha20Poly1305::new(&(*key).into()),
        }
    }

    /// Reads the key file (64 hex digits), creating it with a random key and mode 0600 when
    /// it does not exist. A file others may read is refused.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyFileError> {
        let io = |source| KeyFileError::Io {
            path: path.to_owned(),
            source,
        };
        match std::fs::File::open(path) {
            Ok(file) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = file.metadata().map_err(io)?.permissions().mode();
                    if mode & 0o077 != 0 {
                        return Err(KeyFileError::Permissions(path.to_owned()));
                    }
                }
                let mut text = String::new();
                std::io::Read::read_to_string(&mut &file, &mut text).map_err(io)?;
                let bytes = hex::decode(text.trim())
                    .map_err(|_| KeyFileError::Malformed(path.to_owned()))?;
                let key: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| KeyFileError::Malformed(path.to_owned()))?;
                Ok(Self::new(&key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                let mut key = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut key);
                let mut options = std::fs::OpenOptions::new();
                // create_new: two instances starting at once never overwrite each other.
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                match options.open(path) {
                    Ok(mut file) => {
                        file.write_all(format!("{}\n", hex::encode(key)).as_bytes())
                            .map_err(io)?;
                        file.sync_all().map_err(io)?;
                        Ok(Self::new(&key))
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::load_or_create(path)
                    }
                    Err(e) => Err(io(e)),
                }
            }
            Err(e) => Err(io(e)),
        }
    }

    /// Encrypts `plaintext`, bound to `context` (where it is stored).
    pub fn seal(&self, context: &str, plaintext: &str) -> Result<String, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .aead
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Encrypt)?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}", STANDARD_NO_PAD.encode(out)))
    }

    /// Decrypts a value [`seal`](Self::seal) made for the same `context`.
    pub fn open(&self, context: &str, stored: &str) -> Result<String, CryptoError> {
        let data = stored.strip_prefix(PREFIX).ok_or(CryptoError::Format)?;
        let data = STANDARD_NO_PAD
            .decode(data)
            .map_err(|_| CryptoError::Format)?;
        if data.len() < NONCE_LEN {
            return Err(CryptoError::Format);
        }
        let (nonce, sealed) = data.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Format)?;
        let plain = self
            .aead
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Decrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_binds_the_context() {
        let cipher = TokenCipher::new(&[7; 32]);
        let sealed = cipher.seal("grant.access:1", "tok-123").expect("seal");
        assert!(sealed.starts_with("v1.") && !sealed.contains("tok-123"));
        assert_eq!(
            cipher.open("grant.access:1", &sealed).expect("open"),
            "tok-123"
        );
        assert_ne!(
            sealed,
            cipher.seal("grant.access:1", "tok-123").expect("seal")
        );
        assert!(matches!(
            cipher.open("grant.access:2", &sealed),
            Err(CryptoError::Decrypt)
        ));
        assert!(matches!(
            TokenCipher::new(&[8; 32]).open("grant.access:1", &sealed),
            Err(CryptoError::Decrypt)
        ));
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).expect("ascii");
        assert!(cipher.open("grant.access:1", &altered).is_err());
        for junk in ["", "v1.", "v1.!!", "v2.AAAA", "v1.AAAA"] {
            assert!(cipher.open("x", junk).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub").join("smartcar.key");
        let a = TokenCipher::load_or_create(&path).expect("create");
        let sealed = a.seal("c", "secret").expect("seal");
        let b = TokenCipher::load_or_create(&path).expect("load");
        assert_eq!(b.open("c", &sealed).expect("open"), "secret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            assert!(matches!(
                TokenCipher::load_or_create(&path),
                Err(KeyFileError::Permissions(_))
            ));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        std::fs::write(&path, "not hex").expect("write");
        assert!(matches!(
            TokenCipher::load_or_create(&path),
            Err(KeyFileError::Malformed(_))
        ));
    }
}
