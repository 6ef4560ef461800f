//! The apikey-hmac family's `x-signed-request` check: HMAC-SHA512 of the canonical JSON
//! body (keys sorted recursively, no whitespace: `pitlane_shared::canonical`) under the
//! session's `signatureToken`, hex, compared in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha512;

use crate::accounts::secrets::hmac_sha256_hex;

/// The header carrying the signature.
pub const HEADER: &str = "x-signed-request";

/// The session's signature token: derived from the service secret and the session id, so
/// it needs no storage and dies with the session.
pub fn signature_token(key: &[u8], session_id: &str) -> String {
    hmac_sha256_hex(key, session_id.as_bytes())
}

/// Why a signature was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("missing x-signed-request header")]
    Missing,
    #[error("request body is not JSON")]
    NotJson,
    #[error("x-signed-request does not match the request body")]
    Mismatch,
}

/// Checks `signature_hex` against `body` for `signature_token`.
pub fn verify(
    signature_token: &str,
    body: &[u8],
    signature_hex: Option<&str>,
) -> Result<serde_json::Value, SignatureError> {
    let signature_hex = signature_hex.ok_or(SignatureError::Missing)?;
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| SignatureError::NotJson)?;
    let signature = hex::decode(signature_hex.trim()).map_err(|_| SignatureError::Mismatch)?;
    // HMAC accepts keys of any length, so construction cannot fail.
    let mut mac = Hmac::<Sha512>::new_from_slice(signature_token.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(&pitlane_shared::canonical::to_vec(&value));
    mac.verify_slice(&signature)
        .map_err(|_| SignatureError::Mismatch)?;
    Ok(value)
}

/// The signature a client sends (for tests and examples).
pub fn sign(signature_token: &str, value: &serde_json::Value) -> String {
    let mut mac = Hmac::<Sha512>::new_from_slice(signature_token.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(&pitlane_shared::canonical::to_vec(value));
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_over_canonical_json() {
        let token = "a1b2c3";
        let value = serde_json::json!({ "b": 1, "a": { "d": [1, 2], "c": "x" } });
        let sig = sign(token, &value);
        // Key order and whitespace in the body do not matter; content does.
        let body = br#"{ "a": {"c": "x", "d": [1,2]}, "b": 1 }"#;
        assert!(verify(token, body, Some(&sig)).is_ok());
        assert_eq!(
            verify(token, br#"{"a":{"c":"y","d":[1,2]},"b":1}"#, Some(&sig)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("other", body, Some(&sig)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify(token, body, None), Err(SignatureError::Missing));
        assert_eq!(
            verify(token, b"not json", Some(&sig)),
            Err(SignatureError::NotJson)
        );
        assert_eq!(
            verify(token, body, Some("zz")),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(sig.len(), 128, "SHA-512 hex");
    }

    #[test]
    fn known_vector() {
        // python3: hmac.new(b"key", b'{"a":1}', hashlib.sha512).hexdigest()
        let expected = "dc7d8a6a7926059e98697ef54a65f745d924fc3e13c1176879dcdc84eac480ba\
                        e377fa06d1ebcc6fab1375cd9bd611a1899694cc4ca7dc0f629d8b8133c5c83d";
        assert_eq!(sign("key", &serde_json::json!({ "a": 1 })), expected);
    }
}
