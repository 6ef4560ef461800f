//! TLS of the link to an external `mqtts://` broker (rustls with the ring provider): the client
//! configuration from `mqtt_ca_file` (else the system's root certificates) and, for mutual
//! TLS, `mqtt_client_cert_file` + `mqtt_client_key_file`; and plain words for a refused
//! handshake, which the link logs before it retries. The embedded broker has no TLS (see
//! `config.rs`, which refuses these settings without an `mqtts://` `mqtt_url`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{AlertDescription, CertificateError, ClientConfig, RootCertStore};

use crate::config::Config;

/// Largest PEM file read (a whole system CA bundle is about 200 KB).
const MAX_PEM_FILE: u64 = 4 << 20;

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
        "setting `mqtt_client_key_file`: {} has mode {mode:04o}; group and others must have no \
         access (chmod 600)", path.display()
    )]
    KeyPermissions { path: PathBuf, mode: u32 },
    #[error("settings `mqtt_client_cert_file` and `mqtt_client_key_file`: {0}")]
    Identity(rustls::Error),
    #[error("no system root certificates could be loaded ({0}); set `mqtt_ca_file`")]
    NoSystemRoots(String),
    #[error("TLS setup: {0}")]
    Setup(rustls::Error),
}

/// The client configuration for an `mqtts://` `mqtt_url` (the config loader already checked
/// that the certificate and key come together).
pub fn client_config(config: &Config) -> Result<Arc<ClientConfig>, TlsError> {
    let roots = match &config.mqtt_ca_file {
        Some(path) => ca_roots(path)?,
        None => system_roots()?,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Setup)?
        .with_root_certificates(roots);
    let tls = match (&config.mqtt_client_cert_file, &config.mqtt_client_key_file) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(
                certificates("mqtt_client_cert_file", cert)?,
                private_key(key)?,
            )
            .map_err(TlsError::Identity)?,
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(tls))
}

fn read_pem(setting: &'static str, path: &Path, private: bool) -> Result<Vec<u8>, TlsError> {
    let read = |source| TlsError::Read {
        setting,
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read)?;
    // Checked on the open handle, so the file read is the file checked.
    let metadata = file.metadata().map_err(read)?;
    if private {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(TlsError::KeyPermissions {
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

fn ca_roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certificates("mqtt_ca_file", path)?);
    if added == 0 {
        return Err(pem_error(
            "mqtt_ca_file",
            path,
            "holds no usable CA certificate",
        ));
    }
    Ok(roots)
}

fn system_roots() -> Result<RootCertStore, TlsError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let why = match found.errors.first() {
            Some(e) => e.to_string(),
            None => "the trust store is empty".to_owned(),
        };
        return Err(TlsError::NoSystemRoots(why));
    }
    Ok(roots)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read_pem("mqtt_client_key_file", path, true)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| {
        pem_error(
            "mqtt_client_key_file",
            path,
            format!("holds no usable PEM private key ({e})"),
        )
    })
}

/// What a failed link connection means in TLS terms, when a TLS error is its cause.
pub fn explain(error: &(dyn std::error::Error + 'static), host: &str) -> Option<String> {
    use rustls::Error as E;
    Some(match find_rustls(error)? {
        E::InvalidCertificate(CertificateError::UnknownIssuer | CertificateError::BadSignature) => {
            "TLS: certificate not trusted: the broker's certificate is not signed by a CA of \
             mqtt_ca_file (or of the system roots when it is unset)"
                .to_owned()
        }
        E::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => {
            format!("TLS: the broker's certificate is not valid for {host} (the host of mqtt_url)")
        }
        E::InvalidCertificate(other) => {
            format!("TLS: the broker's certificate was refused ({other:?})")
        }
        E::AlertReceived(
            alert @ (AlertDescription::CertificateRequired
            | AlertDescription::HandshakeFailure
            | AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::AccessDenied),
        ) => format!(
            "TLS: the broker refused the handshake ({alert:?}); does it require a client \
             certificate (mqtt_client_cert_file, mqtt_client_key_file)?"
        ),
        E::InvalidMessage(_) => {
            "TLS: the broker did not answer in TLS (a plain MQTT port? then use mqtt://)".to_owned()
        }
        other => format!("TLS: {other}"),
    })
}

/// The rustls error behind `error`, looking through the source chain and into `io::Error`s
/// (whose `source()` skips the error they wrap).
fn find_rustls<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn check(error: rustls::Error, needle: &str) {
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, error);
        let wrapped = rumqttc::ConnectionError::Io(io);
        let text = explain(&wrapped, "broker.example").expect("a TLS explanation");
        assert!(text.contains(needle), "{needle:?} in {text:?}");
    }

    #[test]
    fn handshake_failures_in_plain_words() {
        check(
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
            "certificate not trusted",
        );
        check(
            rustls::Error::InvalidCertificate(CertificateError::NotValidForName),
            "not valid for broker.example",
        );
        check(
            rustls::Error::AlertReceived(AlertDescription::CertificateRequired),
            "mqtt_client_cert_file",
        );
        check(
            rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
            "did not answer in TLS",
        );
        let plain = rumqttc::ConnectionError::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        ));
        assert_eq!(explain(&plain, "h"), None);
    }
}
