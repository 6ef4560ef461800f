//! TLS for `mqtts://` brokers (rustls with the ring provider): the client configuration
//! `[mqtt]` describes (`ca_file`, else the system's root certificates; `client_cert_file` and
//! `client_key_file` for mutual TLS), read and checked before the service starts, and plain
//! words for a refused handshake, which the sync task logs before it retries.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{AlertDescription, CertificateError, ClientConfig, RootCertStore};

use crate::config::MqttConfig;

/// Largest PEM file read (a whole system CA bundle is about 200 KB).
const MAX_PEM_FILE: u64 = 4 << 20;

/// A TLS setting that cannot be used; each names its setting.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("setting `mqtt.{setting}`: cannot read {}: {source}", path.display())]
    Read {
        setting: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("setting `mqtt.{setting}`: {}: {reason}", path.display())]
    Pem {
        setting: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error(
        "setting `mqtt.client_key_file`: {} has mode {mode:04o}; group and others must have no \
         access (chmod 600)", path.display()
    )]
    KeyPermissions { path: PathBuf, mode: u32 },
    #[error(
        "settings `mqtt.client_cert_file` and `mqtt.client_key_file`: set both (mutual TLS) or \
         neither"
    )]
    HalfIdentity,
    #[error("settings `mqtt.client_cert_file` and `mqtt.client_key_file`: {0}")]
    Identity(rustls::Error),
    #[error("setting `mqtt.{setting}` needs TLS: `mqtt.url` is {url:?}, use mqtts://")]
    NotTls { setting: &'static str, url: String },
    #[error("no system root certificates could be loaded ({0}); set `mqtt.ca_file`")]
    NoSystemRoots(String),
    #[error("TLS setup: {0}")]
    Setup(rustls::Error),
}

/// The TLS side of a broker connection.
#[derive(Clone)]
pub struct Tls {
    pub config: Arc<ClientConfig>,
    /// Who must have signed the broker's certificate, for messages.
    trusted: String,
    client_cert: bool,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("trusted", &self.trusted)
            .field("client_cert", &self.client_cert)
            .finish_non_exhaustive()
    }
}

/// The TLS configuration `[mqtt]` describes when the URL is `mqtts://` (`tls`); None for plain
/// `mqtt://`, where TLS settings are refused rather than silently ignored.
pub fn from_config(mqtt: &MqttConfig, tls: bool) -> Result<Option<Tls>, TlsError> {
    let settings = [
        ("ca_file", &mqtt.ca_file),
        ("client_cert_file", &mqtt.client_cert_file),
        ("client_key_file", &mqtt.client_key_file),
    ];
    if !tls {
        return match settings.iter().find(|(_, value)| value.is_some()) {
            Some((setting, _)) => Err(TlsError::NotTls {
                setting,
                url: mqtt.url.clone(),
            }),
            None => Ok(None),
        };
    }
    let (roots, trusted) = match &mqtt.ca_file {
        Some(path) => (
            ca_roots(path)?,
            format!("the CA in ca_file {}", path.display()),
        ),
        None => (
            system_roots()?,
            "a CA among the system roots (set mqtt.ca_file for a private CA)".to_owned(),
        ),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Setup)?
        .with_root_certificates(roots);
    let config = match (&mqtt.client_cert_file, &mqtt.client_key_file) {
        (None, None) => builder.with_no_client_auth(),
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(certificates("client_cert_file", cert)?, private_key(key)?)
            .map_err(TlsError::Identity)?,
        _ => return Err(TlsError::HalfIdentity),
    };
    Ok(Some(Tls {
        config: Arc::new(config),
        trusted,
        client_cert: mqtt.client_cert_file.is_some(),
    }))
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
    let (added, ignored) = roots.add_parsable_certificates(certificates("ca_file", path)?);
    if added == 0 {
        return Err(pem_error("ca_file", path, "holds no usable CA certificate"));
    }
    if ignored > 0 {
        tracing::warn!(
            ignored,
            "mqtt.ca_file {}: some certificates could not be parsed",
            path.display()
        );
    }
    Ok(roots)
}

/// The operating system's trust store (rustls-native-certs: `/etc/ssl/certs` on Debian,
/// `SSL_CERT_FILE` / `SSL_CERT_DIR` when set).
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
    let bytes = read_pem("client_key_file", path, true)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| {
        pem_error(
            "client_key_file",
            path,
            format!("holds no usable PEM private key ({e})"),
        )
    })
}

/// What a failed connection means in TLS terms, when a TLS error is its cause: `host` is the
/// name the broker's certificate was checked against.
pub fn explain(error: &(dyn std::error::Error + 'static), tls: &Tls, host: &str) -> Option<String> {
    use rustls::Error as E;
    let error = find_rustls(error)?;
    let refused_ours = "TLS: the broker refused our client certificate (mqtt.client_cert_file)";
    Some(match error {
        E::InvalidCertificate(CertificateError::UnknownIssuer | CertificateError::BadSignature) => {
            format!(
                "TLS: certificate not trusted: the broker's certificate is not signed by {}",
                tls.trusted
            )
        }
        E::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => {
            format!("TLS: the broker's certificate is not valid for {host} (the host of mqtt.url)")
        }
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
        E::AlertReceived(AlertDescription::CertificateRequired) if !tls.client_cert => {
            "TLS: the broker requires a client certificate (set mqtt.client_cert_file and \
             mqtt.client_key_file)"
                .to_owned()
        }
        E::AlertReceived(AlertDescription::HandshakeFailure) if !tls.client_cert => {
            "TLS: the broker refused the handshake; it may require a client certificate (set \
             mqtt.client_cert_file and mqtt.client_key_file)"
                .to_owned()
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
        ) => format!("{refused_ours}: {alert:?}"),
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
    use pitlane_testkit::TestPki;

    fn mqtt(url: &str, ca: Option<&Path>, cert: Option<&Path>, key: Option<&Path>) -> MqttConfig {
        MqttConfig {
            url: url.into(),
            cloud_command_address: "0x9858effd232b4033e47d90003d41ec34ecaeda94"
                .parse()
                .unwrap(),
            keep_alive_secs: 30,
            backoff_max_secs: 30,
            username: None,
            password: None,
            password_file: None,
            ca_file: ca.map(Path::to_path_buf),
            client_cert_file: cert.map(Path::to_path_buf),
            client_key_file: key.map(Path::to_path_buf),
            connect_timeout_secs: 10,
        }
    }

    /// `expected`: Ok(whether TLS is on, with a client certificate) or a piece of the error.
    fn check(config: MqttConfig, expected: Result<Option<bool>, &str>) {
        let tls = config.url.starts_with("mqtts://");
        match (from_config(&config, tls), expected) {
            (Ok(got), Ok(want)) => assert_eq!(got.map(|t| t.client_cert), want),
            (Err(e), Err(needle)) => assert!(e.to_string().contains(needle), "{needle:?} in {e}"),
            (got, want) => panic!("got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn settings_are_read_and_checked() {
        use std::os::unix::fs::PermissionsExt;
        let pki = TestPki::generate();
        let file = |name: &str, text: &[u8], mode: u32| {
            let path = pki.dir().join(name);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            path
        };
        let garbage = file("garbage.pem", b"not a certificate\n", 0o644);
        let open_key = file("open.key", &std::fs::read(&pki.client_key).unwrap(), 0o640);
        let missing = pki.dir().join("missing.pem");
        let (ca, cert, key) = (
            Some(pki.ca.as_path()),
            Some(pki.client_cert.as_path()),
            Some(pki.client_key.as_path()),
        );
        let tls = "mqtts://127.0.0.1:8883";
        let plain = "mqtt://127.0.0.1:1883";

        check(mqtt(plain, None, None, None), Ok(None));
        check(mqtt(tls, ca, None, None), Ok(Some(false)));
        check(mqtt(tls, ca, cert, key), Ok(Some(true)));
        check(mqtt(plain, ca, None, None), Err("`mqtt.ca_file` needs TLS"));
        check(mqtt(plain, None, cert, key), Err("use mqtts://"));
        check(
            mqtt(tls, Some(&missing), None, None),
            Err("setting `mqtt.ca_file`: cannot read"),
        );
        check(
            mqtt(tls, Some(&garbage), None, None),
            Err("holds no PEM certificate"),
        );
        check(mqtt(tls, ca, cert, None), Err("set both"));
        check(mqtt(tls, ca, None, key), Err("set both"));
        check(
            mqtt(tls, ca, Some(&garbage), key),
            Err("setting `mqtt.client_cert_file`"),
        );
        check(mqtt(tls, ca, cert, Some(&open_key)), Err("mode 0640"));
        let not_a_key = file("cert.key", &std::fs::read(&pki.ca).unwrap(), 0o600);
        check(
            mqtt(tls, ca, cert, Some(&not_a_key)),
            Err("holds no usable PEM private key"),
        );
        check(
            mqtt(tls, ca, cert, Some(&missing)),
            Err("setting `mqtt.client_key_file`: cannot read"),
        );
    }

    fn explained(error: rustls::Error, client_cert: bool) -> String {
        let pki = TestPki::generate();
        let cert = client_cert.then_some(pki.client_cert.as_path());
        let key = client_cert.then_some(pki.client_key.as_path());
        let config = mqtt("mqtts://h:8883", Some(&pki.ca), cert, key);
        let tls = from_config(&config, true).unwrap().unwrap();
        // As rumqttc reports it: an I/O error of the TLS stream.
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, error);
        let failure = rumqttc::ConnectionError::Tls(rumqttc::TlsError::Io(io));
        explain(&failure, &tls, "broker.example").expect("a TLS explanation")
    }

    #[test]
    fn refused_handshakes_in_plain_words() {
        let check = |error: rustls::Error, client_cert: bool, needle: &str| {
            let text = explained(error, client_cert);
            assert!(text.contains(needle), "{needle:?} in {text:?}");
        };
        use rustls::Error as E;
        check(
            E::InvalidCertificate(CertificateError::UnknownIssuer),
            false,
            "certificate not trusted: the broker's certificate is not signed by the CA in ca_file",
        );
        check(
            E::InvalidCertificate(CertificateError::NotValidForName),
            false,
            "not valid for broker.example",
        );
        check(
            E::InvalidCertificate(CertificateError::Expired),
            false,
            "expired",
        );
        check(
            E::AlertReceived(AlertDescription::CertificateRequired),
            false,
            "requires a client certificate",
        );
        check(
            E::AlertReceived(AlertDescription::UnknownCA),
            true,
            "refused our client certificate",
        );
        check(
            E::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
            false,
            "did not answer in TLS",
        );
        let pki = TestPki::generate();
        let config = mqtt("mqtts://h:8883", Some(&pki.ca), None, None);
        let tls = from_config(&config, true).unwrap().unwrap();
        let refused = rumqttc::ConnectionError::Io(std::io::ErrorKind::ConnectionRefused.into());
        assert_eq!(explain(&refused, &tls, "h"), None);
    }
}
