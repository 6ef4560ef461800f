//! Tests of the shared TLS client configuration: settings read and checked, handshakes with a
//! real rustls server in memory, and refused handshakes in plain words.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use pitlane_testkit::TestPki;
use rustls::{AlertDescription, CertificateError};

use super::*;

const NAMES: SettingNames = SettingNames {
    ca_file: "mqtt.ca_file",
    client_cert_file: "mqtt.client_cert_file",
    client_key_file: "mqtt.client_key_file",
    url: "mqtt.url",
};

fn files<'a>(
    ca: Option<&'a Path>,
    cert: Option<&'a Path>,
    key: Option<&'a Path>,
) -> ClientFiles<'a> {
    ClientFiles {
        ca_file: ca,
        client_cert_file: cert,
        client_key_file: key,
    }
}

/// `expected`: Ok(whether a client certificate is presented) or a piece of the error.
fn check(files: ClientFiles<'_>, expected: Result<bool, &str>) {
    match (ClientTls::from_files(&files, NAMES), expected) {
        (Ok(got), Ok(want)) => assert_eq!(got.has_client_cert(), want),
        (Err(e), Err(needle)) => assert!(e.to_string().contains(needle), "{needle:?} in {e}"),
        (got, want) => panic!("got {got:?}, expected {want:?}"),
    }
}

#[test]
fn settings_are_read_and_checked() {
    let pki = TestPki::generate();
    let file = |name: &str, text: &[u8], mode: u32| {
        let path = pki.dir().join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    };
    let garbage = file("garbage.pem", b"not a certificate\n", 0o644);
    let open_key = file("open.key", &std::fs::read(&pki.client_key).unwrap(), 0o640);
    let not_a_key = file("cert.key", &std::fs::read(&pki.ca).unwrap(), 0o600);
    let huge = file("huge.pem", &vec![b'A'; MAX_PEM_FILE as usize + 1], 0o644);
    let missing = pki.dir().join("missing.pem");
    let (ca, cert, key) = (
        Some(pki.ca.as_path()),
        Some(pki.client_cert.as_path()),
        Some(pki.client_key.as_path()),
    );

    check(files(ca, None, None), Ok(false));
    check(files(ca, cert, key), Ok(true));
    check(
        files(Some(&missing), None, None),
        Err("setting `mqtt.ca_file`: cannot read"),
    );
    check(
        files(Some(&garbage), None, None),
        Err("setting `mqtt.ca_file`: "),
    );
    check(
        files(Some(&garbage), None, None),
        Err("holds no PEM certificate"),
    );
    check(files(Some(&huge), None, None), Err("larger than 4 MiB"));
    check(
        files(ca, cert, None),
        Err("settings `mqtt.client_cert_file` and `mqtt.client_key_file`: set both"),
    );
    check(files(ca, None, key), Err("set both"));
    check(
        files(ca, Some(&garbage), key),
        Err("setting `mqtt.client_cert_file`"),
    );
    check(
        files(ca, cert, Some(&open_key)),
        Err("setting `mqtt.client_key_file`: "),
    );
    check(files(ca, cert, Some(&open_key)), Err("mode 0640"));
    check(
        files(ca, cert, Some(&not_a_key)),
        Err("holds no usable PEM private key"),
    );
    check(
        files(ca, cert, Some(&missing)),
        Err("setting `mqtt.client_key_file`: cannot read"),
    );
}

/// A rustls server with `cert`/`key`, requiring a client certificate from `ca` when given,
/// and the client handshaking with it over in-memory buffers; the first error either side met.
fn handshake(
    client: &ClientTls,
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<(), rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            roots.add_parsable_certificates(certificates("ca", ca).unwrap());
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let server = builder
        .with_single_cert(
            certificates("cert", cert).unwrap(),
            private_key("key", key).unwrap(),
        )
        .unwrap();
    let name = "localhost".try_into().unwrap();
    let mut c = rustls::ClientConnection::new(client.config.clone(), name).unwrap();
    let mut s = rustls::ServerConnection::new(Arc::new(server)).unwrap();
    // Bounded: a TLS 1.3 handshake takes a few flights.
    for _ in 0..10 {
        let mut wire = Vec::new();
        c.write_tls(&mut wire).unwrap();
        s.read_tls(&mut wire.as_slice()).unwrap();
        let server_state = s.process_new_packets().map(|_| ());
        let mut back = Vec::new();
        s.write_tls(&mut back).unwrap();
        c.read_tls(&mut back.as_slice()).unwrap();
        c.process_new_packets()?;
        server_state?;
        if !c.is_handshaking() && !s.is_handshaking() {
            return Ok(());
        }
    }
    panic!("handshake did not finish in 10 rounds");
}

#[test]
fn handshakes_with_a_real_server() {
    let pki = TestPki::generate();
    let ca = Some(pki.ca.as_path());
    let plain = ClientTls::from_files(&files(ca, None, None), NAMES).unwrap();
    let mutual = ClientTls::from_files(
        &files(ca, Some(&pki.client_cert), Some(&pki.client_key)),
        NAMES,
    )
    .unwrap();
    let (cert, key) = (&pki.server_cert, &pki.server_key);

    assert_eq!(handshake(&plain, cert, key, None), Ok(()));
    assert_eq!(handshake(&mutual, cert, key, Some(&pki.ca)), Ok(()));
    // A server certificate of another CA: refused by the client, in plain words.
    let refused = handshake(&plain, &pki.other_server_cert, &pki.other_server_key, None)
        .expect_err("another CA's certificate");
    let text = plain.explain(&refused, "localhost").unwrap();
    assert!(
        text.contains("certificate not trusted: the broker's certificate is not signed by the CA in mqtt.ca_file"),
        "{text}"
    );
    assert!(text.contains(&pki.ca.display().to_string()), "{text}");
    // A server that wants a client certificate, and the client has none.
    let refused = handshake(&plain, cert, key, Some(&pki.ca)).expect_err("no client certificate");
    let text = plain.explain(&refused, "localhost").unwrap();
    assert!(text.contains("requires a client certificate"), "{text}");
    assert!(text.contains("mqtt.client_cert_file"), "{text}");
}

fn explained(error: rustls::Error, context: &Context<'_>) -> String {
    // As the MQTT clients report it: an I/O error of the TLS stream.
    let io = std::io::Error::new(std::io::ErrorKind::InvalidData, error);
    explain(&io, context, "broker.example").expect("a TLS explanation")
}

#[test]
fn refused_handshakes_in_plain_words() {
    use rustls::Error as E;
    let context = |client_cert| Context {
        names: NAMES,
        trusted: "the CA in mqtt.ca_file /etc/ca.pem",
        client_cert,
    };
    let check = |error: E, client_cert: Option<bool>, needle: &str| {
        let text = explained(error, &context(client_cert));
        assert!(text.contains(needle), "{needle:?} in {text:?}");
    };
    check(
        E::InvalidCertificate(CertificateError::UnknownIssuer),
        Some(false),
        "certificate not trusted: the broker's certificate is not signed by the CA in \
         mqtt.ca_file /etc/ca.pem",
    );
    check(
        E::InvalidCertificate(CertificateError::NotValidForName),
        Some(false),
        "not valid for broker.example (the host of mqtt.url)",
    );
    check(
        E::InvalidCertificate(CertificateError::Expired),
        Some(false),
        "expired",
    );
    check(
        E::AlertReceived(AlertDescription::CertificateRequired),
        Some(false),
        "requires a client certificate (set mqtt.client_cert_file and mqtt.client_key_file)",
    );
    check(
        E::AlertReceived(AlertDescription::HandshakeFailure),
        Some(false),
        "may require a client certificate",
    );
    check(
        E::AlertReceived(AlertDescription::UnknownCA),
        Some(true),
        "refused our client certificate (mqtt.client_cert_file): UnknownCA",
    );
    check(
        E::AlertReceived(AlertDescription::CertificateRequired),
        None,
        "does it require a client certificate (mqtt.client_cert_file, mqtt.client_key_file)?",
    );
    check(
        E::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
        Some(false),
        "did not answer in TLS",
    );
    let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
    assert_eq!(explain(&refused, &context(Some(false)), "h"), None);
}
