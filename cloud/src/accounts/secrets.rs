//! Random secrets, their digests, and keys derived from the service secret.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// 256 random bits as 64 lowercase hex characters (well over the 128-bit minimum).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// An identifier with a type prefix and 96 random bits: `usr_1f…`.
pub fn random_id(prefix: &str) -> String {
    let mut bytes = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}_{}", hex::encode(bytes))
}

/// SHA-256 hex digest: how tokens and API keys are stored.
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// HMAC-SHA256 of `data` under `key`, hex.
pub fn hmac_sha256_hex(key: &[u8], data: &[u8]) -> String {
    // HMAC accepts keys of any length, so construction cannot fail.
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    hex::encode(mac.finalize().into_bytes())
}

/// Constant-time equality of two strings (length is not secret).
pub fn ct_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Keys derived from the one service secret, each for one purpose.
#[derive(Clone)]
pub struct DerivedKeys {
    pub jwt: Vec<u8>,
    pub binding: Vec<u8>,
    pub signature: Vec<u8>,
}

impl DerivedKeys {
    pub fn new(master: &[u8]) -> Self {
        let derive = |label: &str| {
            hex::decode(hmac_sha256_hex(master, label.as_bytes())).unwrap_or_default()
        };
        Self {
            jwt: derive("pitlane/jwt/v1"),
            binding: derive("pitlane/client-binding/v1"),
            signature: derive("pitlane/signature-token/v1"),
        }
    }
}

impl std::fmt::Debug for DerivedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DerivedKeys(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_distinct() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(random_id("usr").starts_with("usr_"));
    }

    #[test]
    fn ct_eq_matches_eq() {
        for (a, b) in [
            ("", ""),
            ("a", "a"),
            ("a", "b"),
            ("ab", "a"),
            ("abc", "abd"),
        ] {
            assert_eq!(ct_eq(a, b), a == b, "{a:?} {b:?}");
        }
    }

    #[test]
    fn sha256_known_vector() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
