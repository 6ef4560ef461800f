//! TLS client configuration for `mqtts://` brokers, shared by the agent and the cloud (feature
//! `tls`): rustls with the ring provider, the CA file (else the system's root certificates),
//! an optional client certificate and key for mutual TLS (the key file private to its owner),
//! and plain words for a refused handshake. Only files are read here; each side names its own
//! settings ([`SettingNames`]) so that every error points at the line to fix.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{AlertDescription, CertificateError, ClientConfig, RootCertStore};

/// Largest PEM file read (a whole system CA bundle is about 200 KB).
pub const MAX_PEM_FILE: u64 = 4 << 20;

/// What one side calls its TLS settings, as written in its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingNames {
    pub ca_file: &'static str,
    pub client_cert_file: &'static str,
    pub client_key_file: &'static str,
    /// The broker URL setting (its host is what the certificate is checked against).
    pub url: &'static str,
}

/// The files a TLS client configuration is built from.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientFiles<'a> {
    /// PEM CA certificates the broker's certificate must chain to; None: the system roots.
    pub ca_file: Option<&'a Path>,
    /// PEM client certificate chain (mutual TLS), together with `client_key_file`.
    pub client_cert_file: Option<&'a Path>,
    /// PEM private key of the client certificate; group and others must have no access.
    pub client_key_file: Option<&'a Path>,
}

/// A TLS setting that cannot be used; each names its setting.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("setting `{setting}`: cannot read {}: {source}", path.display())]
    Read {
        setting: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("setting `{setting}`: {}: {reason}", path.display())]
    Pem {
        setting: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error(
        "setting `{setting}`: {} has mode {mode:04o}; group and others must have no access \
         (chmod 600)", path.display()
    )]
    KeyPermissions {
        setting: &'static str,
        path: PathBuf,
        mode: u32,
    },
    #[error("settings `{cert}` and `{key}`: set both (mutual TLS) or neither")]
    HalfIdentity {
        cert: &'static str,
        key: &'static str,
    },
    #[error("settings `{cert}` and `{key}`: {source}")]
    Identity {
        cert: &'static str,
        key: &'static str,
        source: rustls::Error,
    },
    #[error("no system root certificates could be loaded ({why}); set `{ca_setting}`")]
    NoSystemRoots {
        ca_setting: &'static str,
        why: String,
    },
    #[error("TLS setup: {0}")]
    Setup(rustls::Error),
}

/// A client configuration and what messages about its handshakes need to know.
#[derive(Clone)]
pub struct ClientTls {
    pub config: Arc<ClientConfig>,
    names: SettingNames,
    /// Who must have signed the broker's certificate, for messages.
    trusted: String,
    client_cert: bool,
    ignored_ca_certificates: usize,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("trusted", &self.trusted)
            .field("client_cert", &self.client_cert)
            .finish_non_exhaustive()
    }
}

impl ClientTls {
    /// Reads and checks `files` and builds the rustls client configuration (ring provider,
    /// TLS 1.2 and 1.3).
    pub fn from_files(files: &ClientFiles<'_>, names: SettingNames) -> Result<Self, TlsError> {
        let (roots, ignored_ca_certificates, trusted) = match files.ca_file {
            Some(path) => {
                let (roots, ignored) = ca_roots(names.ca_file, path)?;
                let trusted = format!("the CA in {} {}", names.ca_file, path.display());
                (roots, ignored, trusted)
            }
            None => (
                system_roots(names.ca_file)?,
                0,
                format!(
                    "a CA among the system roots (set {} for a private CA)",
                    names.ca_file
                ),
            ),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Setup)?
            .with_root_certificates(roots);
        let (cert_name, key_name) = (names.client_cert_file, names.client_key_file);
        let config = match (files.client_cert_file, files.client_key_file) {
            (None, None) => builder.with_no_client_auth(),
            (Some(cert), Some(key)) => builder
                .with_client_auth_cert(certificates(cert_name, cert)?, private_key(key_name, key)?)
                .map_err(|source| TlsError::Identity {
                    cert: cert_name,
                    key: key_name,
                    source,
                })?,
            _ => {
                return Err(TlsError::HalfIdentity {
                    cert: cert_name,
                    key: key_name,
                });
            }
        };
        Ok(Self {
            config: Arc::new(config),
            names,
            trusted,
            client_cert: files.client_cert_file.is_some(),
            ignored_ca_certificates,
        })
    }

    /// Whether a client certificate is presented (mutual TLS).
    pub fn has_client_cert(&self) -> bool {
        self.client_cert
    }

    /// Certificates of the CA file that could not be parsed (and were skipped).
    pub fn ignored_ca_certificates(&self) -> usize {
        self.ignored_ca_certificates
    }

    /// What a failed connection means in TLS terms, when a TLS error is its cause: `host` is
    /// the name the broker's certificate was checked against.
    pub fn explain(&self, error: &(dyn std::error::Error + 'static), host: &str) -> Option<String> {
        let context = Context {
            names: self.names,
            trusted: &self.trusted,
            client_cert: Some(self.client_cert),
        };
        explain(error, &context, host)
    }
}

/// What a message about a refused handshake may say about the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub names: SettingNames,
    /// Who must have signed the broker's certificate ("the CA in …").
    pub trusted: &'a str,
    /// Whether a client certificate was presented; None when the caller cannot tell.
    pub client_cert: Option<bool>,
}

/// What a failed connection means in TLS terms, when a rustls error is its cause (found
/// through the source chain and inside `io::Error`s); None for any other failure.
pub fn explain(
    error: &(dyn std::error::Error + 'static),
    context: &Context<'_>,
    host: &str,
) -> Option<String> {
    use rustls::Error as E;
    let names = context.names;
    let (cert, key) = (names.client_cert_file, names.client_key_file);
    Some(match find_rustls(error)? {
        E::InvalidCertificate(CertificateError::UnknownIssuer | CertificateError::BadSignature) => {
            format!(
                "TLS: certificate not trusted: the broker's certificate is not signed by {}",
                context.trusted
            )
        }
        E::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => format!(
            "TLS: the broker's certificate is not valid for {host} (the host of {})",
            names.url
        ),
        E::InvalidCertificate(
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. },
        ) => "TLS: the broker's certificate has expired or is not valid yet (is the clock right?)"
            .to_owned(),
        E::InvalidCertificate(other) => {
            format!("TLS: the broker's certificate was refused ({other:?})")
        }
        E::AlertReceived(AlertDescription::CertificateRequired)
            if context.client_cert == Some(false) =>
        {
            format!("TLS: the broker requires a client certificate (set {cert} and {key})")
        }
        E::AlertReceived(AlertDescription::HandshakeFailure)
            if context.client_cert == Some(false) =>
        {
            format!(
                "TLS: the broker refused the handshake; it may require a client certificate \
                 (set {cert} and {key})"
            )
        }
        E::AlertReceived(
            alert @ (AlertDescription::CertificateRequired
            | AlertDescription::HandshakeFailure
            | AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::AccessDenied),
        ) => match context.client_cert {
            Some(_) => {
                format!("TLS: the broker refused our client certificate ({cert}): {alert:?}")
            }
            None => format!(
                "TLS: the broker refused the handshake ({alert:?}); does it require a client \
                 certificate ({cert}, {key})?"
            ),
        },
        E::InvalidMessage(_) => {
            "TLS: the broker did not answer in TLS (a plain MQTT port? then use mqtt://)".to_owned()
        }
        other => format!("TLS: {other}"),
    })
}

/// The rustls error behind `error`, looking through the source chain and into `io::Error`s
/// (whose `source()` skips the error they wrap).
pub fn find_rustls<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            && let Some(found) = inner.downcast_ref::<rustls::Error>()
        {
            return Some(found);
        }
        next = e.source();
    }
    None
}

/// Reads a PEM file of at most [`MAX_PEM_FILE`] bytes; a key file must be private to its owner
/// (checked on the open handle, so the file read is the file checked).
fn read_pem(setting: &'static str, path: &Path, private: bool) -> Result<Vec<u8>, TlsError> {
    let read = |source| TlsError::Read {
        setting,
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read)?;
    let metadata = file.metadata().map_err(read)?;
    if private {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(TlsError::KeyPermissions {
                setting,
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    if metadata.len() > MAX_PEM_FILE {
        return Err(pem_error(setting, path, "larger than 4 MiB"));
    }
    let mut bytes = Vec::new();
    file.take(MAX_PEM_FILE)
        .read_to_end(&mut bytes)
        .map_err(read)?;
    Ok(bytes)
}

fn pem_error(setting: &'static str, path: &Path, reason: impl Into<String>) -> TlsError {
    TlsError::Pem {
        setting,
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn certificates(
    setting: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read_pem(setting, path, false)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(setting, path, format!("not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(pem_error(
            setting,
            path,
            "holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
        ));
    }
    Ok(certs)
}

/// The CA file's certificates and how many of them could not be parsed.
fn ca_roots(setting: &'static str, path: &Path) -> Result<(RootCertStore, usize), TlsError> {
    let mut roots = RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(certificates(setting, path)?);
    if added == 0 {
        return Err(pem_error(setting, path, "holds no usable CA certificate"));
    }
    Ok((roots, ignored))
}

/// The operating system's trust store (rustls-native-certs: `/etc/ssl/certs` on Debian,
/// `SSL_CERT_FILE` / `SSL_CERT_DIR` when set).
fn system_roots(ca_setting: &'static str) -> Result<RootCertStore, TlsError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let why = match found.errors.first() {
            Some(e) => e.to_string(),
            None => "the trust store is empty".to_owned(),
        };
        return Err(TlsError::NoSystemRoots { ca_setting, why });
    }
    Ok(roots)
}

fn private_key(setting: &'static str, path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read_pem(setting, path, true)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| {
        pem_error(
            setting,
            path,
            format!("holds no usable PEM private key ({e})"),
        )
    })
}

#[cfg(test)]
mod tests;
