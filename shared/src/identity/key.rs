//! The device's secret key and its public half.

use std::fmt;

use k256::ecdsa::{SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use super::{Address, B256, Backend, Signature};

/// Why bytes or text are not a secp256k1 secret key. Never includes the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not 64 hex digits (an optional `0x` prefix aside).
    #[error("a secret key is 64 hex digits (optionally after 0x), got {got} characters")]
    Length {
        /// Number of characters after the optional prefix.
        got: usize,
    },
    /// A character that is not a hex digit.
    #[error("a secret key may hold only hex digits")]
    NotHex,
    /// Zero or not below the curve order.
    #[error("the secret is not a valid secp256k1 scalar (zero or not below the curve order)")]
    OutOfRange,
}

/// A secp256k1 secret key: the device's identity.
///
/// The secret is wiped from memory when the key is dropped; [`fmt::Debug`] shows only the
/// address.
#[derive(Clone)]
pub struct DeviceKey {
    signing: SigningKey,
    #[cfg(feature = "libsecp256k1")]
    libsecp: super::libsecp::Secret,
    address: Address,
}

impl DeviceKey {
    /// A fresh key from the operating system's random number generator.
    pub fn generate() -> Self {
        Self::from_signing_key(SigningKey::random(
            &mut k256::elliptic_curve::rand_core::OsRng,
        ))
    }

    /// A key from its 32 secret bytes (big-endian scalar).
    pub fn from_bytes(secret: &[u8; 32]) -> Result<Self, KeyError> {
        SigningKey::from_slice(secret)
            .map(Self::from_signing_key)
            .map_err(|_| KeyError::OutOfRange)
    }

    /// A key from 64 hex digits, with or without a `0x` prefix.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        let digits = text.strip_prefix("0x").unwrap_or(text);
        if digits.len() != 64 {
            return Err(KeyError::Length { got: digits.len() });
        }
        let mut secret = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(digits, secret.as_mut()).map_err(|_| KeyError::NotHex)?;
        Self::from_bytes(&secret)
    }

    fn from_signing_key(signing: SigningKey) -> Self {
        let address = Address::from_public_key(signing.verifying_key());
        #[cfg(feature = "libsecp256k1")]
        let secret: Zeroizing<[u8; 32]> = Zeroizing::new(signing.to_bytes().into());
        DeviceKey {
            #[cfg(feature = "libsecp256k1")]
            libsecp: super::libsecp::Secret::new(&secret),
            signing,
            address,
        }
    }

    /// The secret as `0x` and 64 lowercase hex digits: the key file's content.
    pub fn to_hex(&self) -> Zeroizing<String> {
        let secret = Zeroizing::new(self.signing.to_bytes());
        Zeroizing::new(format!("0x{}", hex::encode(&secret[..])))
    }

    /// The device's Ethereum address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(*self.signing.verifying_key())
    }

    /// Signs a 32-byte hash (already hashed: EIP-712 digest, EIP-191 hash, envelope hash).
    ///
    /// Deterministic (RFC 6979 nonces); the result has low s and v = 27/28.
    pub fn sign_hash(&self, hash: &B256) -> Signature {
        self.sign_hash_with(Backend::DEFAULT, hash)
    }

    /// [`DeviceKey::sign_hash`] with a chosen backend; every backend gives the same bytes.
    pub fn sign_hash_with(&self, backend: Backend, hash: &B256) -> Signature {
        match backend {
            Backend::K256 => self.sign_hash_k256(hash),
            #[cfg(feature = "libsecp256k1")]
            Backend::Libsecp256k1 => {
                let (rs, y_is_odd) = self.libsecp.sign_hash(hash);
                Signature::from_rs_parity(rs, y_is_odd)
            }
        }
    }

    fn sign_hash_k256(&self, hash: &B256) -> Signature {
        // k256 signs any 32-byte prehash and normalises s to the low half; the only failure
        // is a zero r or s, which needs a hash collision with the nonce (probability 2^-256).
        let (signature, recovery) = self
            .signing
            .sign_prehash_recoverable(hash.as_slice())
            .expect("secp256k1 signing of a 32-byte prehash cannot fail in practice");
        Signature::from_parts(&signature, recovery)
    }

    /// EIP-191 `personal_sign`: signs `"\x19Ethereum Signed Message:\n" ‖ len ‖ message`.
    pub fn sign_message(&self, message: &[u8]) -> Signature {
        self.sign_hash(&super::personal_message_hash(message))
    }
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceKey")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// A secp256k1 public key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(pub(crate) VerifyingKey);

impl PublicKey {
    /// The Ethereum address of this key.
    pub fn address(&self) -> Address {
        Address::from_public_key(&self.0)
    }

    /// Uncompressed SEC1 form (`0x04` ‖ x ‖ y, 65 bytes) as 0x-hex.
    pub fn to_uncompressed_hex(&self) -> String {
        format!(
            "0x{}",
            hex::encode(self.0.to_encoded_point(false).as_bytes())
        )
    }

    /// Compressed SEC1 form (`0x02`/`0x03` ‖ x, 33 bytes) as 0x-hex.
    pub fn to_compressed_hex(&self) -> String {
        format!(
            "0x{}",
            hex::encode(self.0.to_encoded_point(true).as_bytes())
        )
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_compressed_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hex_and_rejects_bad_secrets() {
        let one = format!("0x{}1", "0".repeat(63));
        let key = DeviceKey::from_hex(&one).unwrap();
        // The address of secret 1 (the generator point) is well known.
        assert_eq!(
            key.address().to_checksum(),
            "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"
        );
        assert_eq!(*key.to_hex(), one);
        assert_eq!(
            DeviceKey::from_hex(&one[2..]).unwrap().address(),
            key.address()
        );
        let check = |input: &str, expected: KeyError| {
            assert_eq!(
                DeviceKey::from_hex(input).unwrap_err(),
                expected,
                "input {input:?}"
            );
        };
        check("0x12", KeyError::Length { got: 2 });
        check(&format!("0x{}", "g".repeat(64)), KeyError::NotHex);
        check(&format!("0x{}", "0".repeat(64)), KeyError::OutOfRange);
        check(&format!("0x{}", "f".repeat(64)), KeyError::OutOfRange);
    }
}
