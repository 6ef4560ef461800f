//! A throwaway PKI for TLS tests (rcgen, ECDSA P-256): a CA, a server certificate for
//! `localhost` and `127.0.0.1` and a client certificate signed by it, and a second, unrelated
//! CA with a server certificate of its own (the "wrong CA" case), written as PEM files into a
//! temporary directory (keys mode 0600).

use std::io::Write;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// PEM files of a test PKI; the directory goes away on drop.
pub struct TestPki {
    dir: tempfile::TempDir,
    /// The CA that signs `server_cert` and `client_cert`.
    pub ca: PathBuf,
    /// Server certificate for `localhost` and `127.0.0.1`, signed by `ca`.
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// Client certificate (CN `pitlane-test-device`), signed by `ca`.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A second CA, unrelated to `ca`.
    pub other_ca: PathBuf,
    /// Server certificate for `localhost` and `127.0.0.1`, signed by `other_ca`.
    pub other_server_cert: PathBuf,
    pub other_server_key: PathBuf,
}

struct Ca {
    cert: Certificate,
    key: KeyPair,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().expect("CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key).expect("self-signed CA");
    Ca { cert, key }
}

fn leaf(
    issuer: &Ca,
    name: &str,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let key = KeyPair::generate().expect("leaf key");
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    // `new` makes IP-address SANs of names that parse as addresses, DNS names of the rest.
    let mut params = CertificateParams::new(names).expect("leaf params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    let cert = params
        .signed_by(&key, &issuer.cert, &issuer.key)
        .expect("sign leaf");
    (cert.pem(), key.serialize_pem())
}

fn write(path: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    file.write_all(text.as_bytes())
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

impl TestPki {
    /// Generates every key and certificate and writes them.
    pub fn generate() -> TestPki {
        let dir = tempfile::tempdir().expect("a temporary directory for the PKI");
        let path = |name: &str| dir.path().join(name);
        let hosts = ["localhost", "127.0.0.1"];

        let main = ca("Pitlane test CA");
        let (server_cert, server_key) = leaf(
            &main,
            "localhost",
            &hosts,
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (client_cert, client_key) = leaf(
            &main,
            "pitlane-test-device",
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        let other = ca("Unrelated test CA");
        let (other_cert, other_key) = leaf(
            &other,
            "localhost",
            &hosts,
            ExtendedKeyUsagePurpose::ServerAuth,
        );

        let pki = TestPki {
            ca: path("ca.pem"),
            server_cert: path("server.pem"),
            server_key: path("server.key"),
            client_cert: path("client.pem"),
            client_key: path("client.key"),
            other_ca: path("other-ca.pem"),
            other_server_cert: path("other-server.pem"),
            other_server_key: path("other-server.key"),
            dir,
        };
        write(&pki.ca, &main.cert.pem(), 0o644);
        write(&pki.server_cert, &server_cert, 0o644);
        write(&pki.server_key, &server_key, 0o600);
        write(&pki.client_cert, &client_cert, 0o644);
        write(&pki.client_key, &client_key, 0o600);
        write(&pki.other_ca, &other.cert.pem(), 0o644);
        write(&pki.other_server_cert, &other_cert, 0o644);
        write(&pki.other_server_key, &other_key, 0o600);
        pki
    }

    /// The directory holding the files (for extra files a test writes).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_pem_files_with_private_keys_0600() {
        let pki = TestPki::generate();
        for cert in [
            &pki.ca,
            &pki.server_cert,
            &pki.client_cert,
            &pki.other_ca,
            &pki.other_server_cert,
        ] {
            let text = std::fs::read_to_string(cert).unwrap();
            assert!(
                text.starts_with("-----BEGIN CERTIFICATE-----"),
                "{}",
                cert.display()
            );
        }
        for key in [&pki.server_key, &pki.client_key, &pki.other_server_key] {
            let text = std::fs::read_to_string(key).unwrap();
            assert!(
                text.starts_with("-----BEGIN PRIVATE KEY-----"),
                "{}",
                key.display()
            );
            let mode = std::fs::metadata(key).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", key.display());
        }
        assert_ne!(
            std::fs::read(&pki.ca).unwrap(),
            std::fs::read(&pki.other_ca).unwrap()
        );
    }
}
