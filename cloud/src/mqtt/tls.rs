//! TLS of the link to an external `mqtts://` broker: the client configuration from
//! `mqtt_ca_file` (else the system's root certificates) and, for mutual TLS,
//! `mqtt_client_cert_file` + `mqtt_client_key_file`, built by [`pitlane_shared::tls`] under
//! this file's setting names; and plain words for a refused handshake, which the link logs
//! before it retries. The embedded broker has no TLS (see `config.rs`, which refuses these
//! settings without an `mqtts://` `mqtt_url`).

use std::sync::Arc;

use pitlane_shared::tls::{ClientFiles, ClientTls, Context, SettingNames};
use rustls::ClientConfig;

use crate::config::Config;

pub use pitlane_shared::tls::TlsError;

/// The settings as the cloud's configuration spells them.
const NAMES: SettingNames = SettingNames {
    ca_file: "mqtt_ca_file",
    client_cert_file: "mqtt_client_cert_file",
    client_key_file: "mqtt_client_key_file",
    url: "mqtt_url",
};

/// The client configuration for an `mqtts://` `mqtt_url` (the config loader already checked
/// that the certificate and key come together).
pub fn client_config(config: &Config) -> Result<Arc<ClientConfig>, TlsError> {
    let files = ClientFiles {
        ca_file: config.mqtt_ca_file.as_deref(),
        client_cert_file: config.mqtt_client_cert_file.as_deref(),
        client_key_file: config.mqtt_client_key_file.as_deref(),
    };
    let tls = ClientTls::from_files(&files, NAMES)?;
    if tls.ignored_ca_certificates() > 0 {
        tracing::warn!(
            ignored = tls.ignored_ca_certificates(),
            "mqtt_ca_file: some certificates could not be parsed"
        );
    }
    Ok(tls.config)
}

/// What a failed link connection means in TLS terms, when a TLS error is its cause.
pub fn explain(error: &(dyn std::error::Error + 'static), host: &str) -> Option<String> {
    let context = Context {
        names: NAMES,
        trusted: "a CA of mqtt_ca_file (or of the system roots when it is unset)",
        // The link keeps only the rustls configuration, so the words stay open on this.
        client_cert: None,
    };
    pitlane_shared::tls::explain(error, &context, host)
}

#[cfg(test)]
mod tests {
    use rustls::{AlertDescription, CertificateError};

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
            "not valid for broker.example (the host of mqtt_url)",
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
