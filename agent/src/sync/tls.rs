//! TLS for `mqtts://` brokers: the client configuration `[mqtt]` describes (`ca_file`, else the
//! system's root certificates; `client_cert_file` and `client_key_file` for mutual TLS), read
//! and checked before the service starts by [`pitlane_shared::tls`] under this file's setting
//! names, and plain words for a refused handshake, which the sync task logs before it retries.

use pitlane_shared::tls::{ClientFiles, ClientTls, SettingNames};

use crate::config::MqttConfig;

/// The TLS side of a broker connection.
pub type Tls = ClientTls;

/// The `[mqtt]` settings as the agent's configuration file spells them.
const NAMES: SettingNames = SettingNames {
    ca_file: "mqtt.ca_file",
    client_cert_file: "mqtt.client_cert_file",
    client_key_file: "mqtt.client_key_file",
    url: "mqtt.url",
};

/// A TLS setting that cannot be used; each names its setting.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(transparent)]
    Files(#[from] pitlane_shared::tls::TlsError),
    #[error("setting `mqtt.{setting}` needs TLS: `mqtt.url` is {url:?}, use mqtts://")]
    NotTls { setting: &'static str, url: String },
}

/// The TLS configuration `[mqtt]` describes when the URL is `mqtts://` (`tls`); None for plain
/// `mqtt://`, where TLS settings are refused rather than silently ignored.
pub fn from_config(mqtt: &MqttConfig, tls: bool) -> Result<Option<Tls>, TlsError> {
    let files = ClientFiles {
        ca_file: mqtt.ca_file.as_deref(),
        client_cert_file: mqtt.client_cert_file.as_deref(),
        client_key_file: mqtt.client_key_file.as_deref(),
    };
    if !tls {
        let set = [
            ("ca_file", files.ca_file),
            ("client_cert_file", files.client_cert_file),
            ("client_key_file", files.client_key_file),
        ];
        return match set.iter().find(|(_, value)| value.is_some()) {
            Some((setting, _)) => Err(TlsError::NotTls {
                setting,
                url: mqtt.url.clone(),
            }),
            None => Ok(None),
        };
    }
    let tls = ClientTls::from_files(&files, NAMES)?;
    if tls.ignored_ca_certificates() > 0 {
        tracing::warn!(
            ignored = tls.ignored_ca_certificates(),
            "mqtt.ca_file: some certificates could not be parsed"
        );
    }
    Ok(Some(tls))
}

/// What a failed connection means in TLS terms, when a TLS error is its cause: `host` is the
/// name the broker's certificate was checked against.
pub fn explain(error: &(dyn std::error::Error + 'static), tls: &Tls, host: &str) -> Option<String> {
    tls.explain(error, host)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use pitlane_testkit::TestPki;
    use rustls::{AlertDescription, CertificateError};

    use super::*;

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
            (Ok(got), Ok(want)) => assert_eq!(got.map(|t| t.has_client_cert()), want),
            (Err(e), Err(needle)) => assert!(e.to_string().contains(needle), "{needle:?} in {e}"),
            (got, want) => panic!("got {got:?}, expected {want:?}"),
        }
    }

    /// The reading and checking itself is tested in pitlane-shared; here: the agent's setting
    /// names and the refusal of TLS settings on a plain URL.
    #[test]
    fn settings_are_read_and_checked() {
        let pki = TestPki::generate();
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
            mqtt(tls, ca, cert, None),
            Err("settings `mqtt.client_cert_file` and `mqtt.client_key_file`: set both"),
        );
        check(
            mqtt(tls, ca, cert, Some(&missing)),
            Err("setting `mqtt.client_key_file`: cannot read"),
        );
    }

    #[test]
    fn refused_handshakes_in_plain_words() {
        let pki = TestPki::generate();
        let config = mqtt("mqtts://h:8883", Some(&pki.ca), None, None);
        let tls = from_config(&config, true).unwrap().unwrap();
        // As rumqttc reports it: an I/O error of the TLS stream.
        let explained = |error: rustls::Error| {
            let io = std::io::Error::new(std::io::ErrorKind::InvalidData, error);
            let failure = rumqttc::ConnectionError::Tls(rumqttc::TlsError::Io(io));
            explain(&failure, &tls, "broker.example").expect("a TLS explanation")
        };
        let text = explained(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ));
        let want = format!("not signed by the CA in mqtt.ca_file {}", pki.ca.display());
        assert!(text.contains(&want), "{want:?} in {text:?}");
        let text = explained(rustls::Error::AlertReceived(
            AlertDescription::CertificateRequired,
        ));
        assert!(
            text.contains("set mqtt.client_cert_file and mqtt.client_key_file"),
            "{text}"
        );
        let refused = rumqttc::ConnectionError::Io(std::io::ErrorKind::ConnectionRefused.into());
        assert_eq!(explain(&refused, &tls, "h"), None);
    }
}
