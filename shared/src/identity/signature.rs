//! 65-byte recoverable secp256k1 signatures in Ethereum's r ‖ s ‖ v layout.

use std::fmt;
use std::str::FromStr;

use k256::ecdsa::{RecoveryId, Signature as EcdsaSignature, VerifyingKey};
use k256::elliptic_curve::ops::{Invert, LinearCombination, Reduce};
use k256::elliptic_curve::point::DecompressPoint;
use k256::elliptic_curve::subtle::Choice;
use k256::{AffinePoint, FieldBytes, ProjectivePoint, Scalar};

use super::{Address, B256, Backend, PublicKey};

/// Why bytes are not an acceptable signature, or do not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// Not 65 bytes.
    #[error("a signature is 65 bytes (r ‖ s ‖ v), got {got}")]
    Length {
        /// Number of bytes given.
        got: usize,
    },
    /// The text form is not `0x` followed by hex digits.
    #[error("a signature is written as 0x followed by 130 hex digits")]
    NotHex,
    /// v is not 27/28 (0/1 are accepted on input and normalised).
    #[error("signature v must be 27 or 28, got {0}")]
    RecoveryByte(u8),
    /// r or s is zero or not below the curve order.
    #[error("signature r or s is out of range")]
    OutOfRange,
    /// s is in the upper half of the curve order: a malleated signature (EIP-2).
    #[error("signature s is not in the lower half of the curve order (malleable signature)")]
    HighS,
    /// No public key recovers from this signature and hash.
    #[error("no public key can be recovered from this signature")]
    Unrecoverable,
    /// The signature is valid, but made by another key than the expected one.
    #[error("signature was made by {recovered}, not by the expected signer {expected}")]
    WrongSigner {
        /// Who should have signed.
        expected: Address,
        /// Who the signature recovers to (for a tampered message: an unrelated address).
        recovered: Address,
    },
}

/// A recoverable signature: r (32 bytes) ‖ s (32 bytes, low half) ‖ v (27 or 28).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature([u8; 65]);

/// See [`Signature::recovery_parts`].
pub(super) struct RecoveryParts {
    pub z: Scalar,
    pub r: Scalar,
    pub s: Scalar,
    pub big_r: AffinePoint,
}

impl Signature {
    pub(crate) fn from_parts(signature: &EcdsaSignature, recovery: RecoveryId) -> Self {
        let mut bytes = [0u8; 65];
        bytes[..64].copy_from_slice(&signature.to_bytes());
        bytes[64] = 27 + u8::from(recovery.is_y_odd());
        Signature(bytes)
    }

    /// From r ‖ s (s already low) and the parity of R's y coordinate.
    #[cfg(feature = "libsecp256k1")]
    pub(crate) fn from_rs_parity(rs: [u8; 64], y_is_odd: bool) -> Self {
        let mut bytes = [0u8; 65];
        bytes[..64].copy_from_slice(&rs);
        bytes[64] = 27 + u8::from(y_is_odd);
        Signature(bytes)
    }

    /// Parses and checks 65 bytes. v may be 27/28 or 0/1 (stored as 27/28); s must be low.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SignatureError> {
        let bytes: [u8; 65] = bytes
            .try_into()
            .map_err(|_| SignatureError::Length { got: bytes.len() })?;
        let mut normalised = bytes;
        normalised[64] = match bytes[64] {
            0 | 27 => 27,
            1 | 28 => 28,
            v => return Err(SignatureError::RecoveryByte(v)),
        };
        let signature = Signature(normalised);
        let ecdsa = signature.ecdsa()?;
        if ecdsa.normalize_s().is_some() {
            return Err(SignatureError::HighS);
        }
        Ok(signature)
    }

    fn ecdsa(&self) -> Result<EcdsaSignature, SignatureError> {
        EcdsaSignature::from_slice(&self.0[..64]).map_err(|_| SignatureError::OutOfRange)
    }

    /// The 65 bytes r ‖ s ‖ v.
    pub const fn to_bytes(&self) -> [u8; 65] {
        self.0
    }

    /// The recovery byte v (27 or 28).
    pub const fn v(&self) -> u8 {
        self.0[64]
    }

    /// `0x` and 130 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }

    /// The public key that made this signature over `hash`.
    pub fn recover_public_key(&self, hash: &B256) -> Result<PublicKey, SignatureError> {
        self.recover_public_key_with(Backend::DEFAULT, hash)
    }

    /// [`Signature::recover_public_key`] with a chosen backend; every backend agrees.
    pub fn recover_public_key_with(
        &self,
        backend: Backend,
        hash: &B256,
    ) -> Result<PublicKey, SignatureError> {
        match backend {
            Backend::K256 => self.recover_public_key_k256(hash),
            #[cfg(feature = "libsecp256k1")]
            Backend::Libsecp256k1 => {
                let point = self.recover_libsecp(hash)?;
                VerifyingKey::from_sec1_bytes(&point)
                    .map(PublicKey)
                    .map_err(|_| SignatureError::Unrecoverable)
            }
        }
    }

    #[cfg(feature = "libsecp256k1")]
    fn recover_libsecp(&self, hash: &B256) -> Result<[u8; 65], SignatureError> {
        let mut rs = [0u8; 64];
        rs.copy_from_slice(&self.0[..64]);
        super::libsecp::recover(&rs, self.0[64] == 28, hash)
    }

    /// k256 recovery: computes Q = r⁻¹(s·R − z·G) directly.
    ///
    /// `VerifyingKey::recover_from_prehash` does the same and then verifies the signature
    /// against Q, which holds by construction for any Q that is not the identity (rejected
    /// below): skipping it halves the cost of recovery, the hot path of envelope verification.
    /// Only public values enter the variable-time inversion. Equivalence with k256's recovery
    /// is property-tested.
    fn recover_public_key_k256(&self, hash: &B256) -> Result<PublicKey, SignatureError> {
        let RecoveryParts { z, r, s, big_r } = self.recovery_parts(Backend::K256, hash)?;
        let r_inv: Option<Scalar> = Invert::invert_vartime(&r).into();
        let r_inv = r_inv.ok_or(SignatureError::Unrecoverable)?;
        let u1 = -(r_inv * z);
        let u2 = r_inv * s;
        let q = ProjectivePoint::lincomb(
            &ProjectivePoint::GENERATOR,
            &u1,
            &ProjectivePoint::from(big_r),
            &u2,
        );
        VerifyingKey::from_affine(q.to_affine())
            .map(PublicKey)
            .map_err(|_| SignatureError::Unrecoverable)
    }

    /// What recovery works on: the hash as a scalar z, r and s (each in 1..n), and the point R
    /// whose x is r and whose y has the parity v says. Recovery and the batch check
    /// ([`verify_batch`](super::verify_batch)) both start here. `backend` lifts R (a square
    /// root, the costliest step here): libsecp256k1's field arithmetic does it in about two
    /// thirds of k256's time, and both give the same point.
    pub(super) fn recovery_parts(
        &self,
        backend: Backend,
        hash: &B256,
    ) -> Result<RecoveryParts, SignatureError> {
        let ecdsa = self.ecdsa()?;
        let (r, s) = ecdsa.split_scalars();
        let z_bytes: FieldBytes = hash.0.into();
        let big_r = lift_x(backend, &r.to_bytes(), self.0[64] == 28);
        Ok(RecoveryParts {
            z: <Scalar as Reduce<k256::U256>>::reduce_bytes(&z_bytes),
            r: *r,
            s: *s,
            big_r: big_r.ok_or(SignatureError::Unrecoverable)?,
        })
    }

    /// Recovery the way `k256` does it (with the redundant verification); kept to test the
    /// fast path against.
    #[doc(hidden)]
    pub fn recover_public_key_reference(&self, hash: &B256) -> Result<PublicKey, SignatureError> {
        let ecdsa = self.ecdsa()?;
        let recovery = RecoveryId::new(self.0[64] == 28, false);
        VerifyingKey::recover_from_prehash(hash.as_slice(), &ecdsa, recovery)
            .map(PublicKey)
            .map_err(|_| SignatureError::Unrecoverable)
    }

    /// The address that made this signature over `hash`.
    pub fn recover(&self, hash: &B256) -> Result<Address, SignatureError> {
        self.recover_with(Backend::DEFAULT, hash)
    }

    /// [`Signature::recover`] with a chosen backend; every backend agrees.
    pub fn recover_with(&self, backend: Backend, hash: &B256) -> Result<Address, SignatureError> {
        match backend {
            Backend::K256 => self.recover_public_key_k256(hash).map(|key| key.address()),
            // Straight from the serialised point: no second parse into a k256 key.
            #[cfg(feature = "libsecp256k1")]
            Backend::Libsecp256k1 => self
                .recover_libsecp(hash)
                .map(|point| Address::from_uncompressed_point(&point)),
        }
    }

    /// Checks that `expected` made this signature over `hash`.
    pub fn verify(&self, hash: &B256, expected: &Address) -> Result<(), SignatureError> {
        let recovered = self.recover(hash)?;
        if recovered == *expected {
            Ok(())
        } else {
            Err(SignatureError::WrongSigner {
                expected: *expected,
                recovered,
            })
        }
    }
}

/// The curve point with x-coordinate `x` and a y of parity `y_is_odd`, if there is one.
pub(super) fn lift_x(backend: Backend, x: &FieldBytes, y_is_odd: bool) -> Option<AffinePoint> {
    match backend {
        Backend::K256 => AffinePoint::decompress(x, Choice::from(u8::from(y_is_odd))).into(),
        #[cfg(feature = "libsecp256k1")]
        Backend::Libsecp256k1 => {
            let point = super::libsecp::lift_x(&(*x).into(), y_is_odd)?;
            // Read as libsecp256k1 recovery's result is read; k256 checks again that the
            // point is on the curve (two multiplications).
            VerifyingKey::from_sec1_bytes(&point)
                .ok()
                .map(|key| *key.as_affine())
        }
    }
}

impl FromStr for Signature {
    type Err = SignatureError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.strip_prefix("0x").ok_or(SignatureError::NotHex)?;
        let bytes = hex::decode(digits).map_err(|_| SignatureError::NotHex)?;
        Signature::from_bytes(&bytes)
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_hex())
    }
}

impl serde::Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(all(test, feature = "libsecp256k1"))]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Both backends lift the same point, or both find none.
    fn check(x: [u8; 32], y_is_odd: bool) {
        let x = FieldBytes::from(x);
        let k256 = lift_x(Backend::K256, &x, y_is_odd);
        let libsecp = lift_x(Backend::Libsecp256k1, &x, y_is_odd);
        assert_eq!(k256, libsecp, "x = {x:x}, odd = {y_is_odd}");
    }

    /// The field's modulus p, big-endian.
    const P: [u8; 32] = {
        let mut p = [0xff; 32];
        p[27] = 0xfe;
        p[30] = 0xfc;
        p[31] = 0x2f;
        p
    };

    #[test]
    fn edges_agree() {
        let mut below_p = P;
        below_p[31] -= 1;
        let mut one = [0u8; 32];
        one[31] = 1;
        for x in [[0u8; 32], one, below_p, P, [0xff; 32]] {
            check(x, false);
            check(x, true);
        }
        // x = 1: 1 + 7 = 8 is a square mod p, so this one has points.
        assert!(lift_x(Backend::Libsecp256k1, &FieldBytes::from(one), true).is_some());
        assert!(lift_x(Backend::Libsecp256k1, &FieldBytes::from(P), false).is_none());
    }

    proptest! {
        #[test]
        fn random_x_agree(x in any::<[u8; 32]>(), y_is_odd in any::<bool>()) {
            check(x, y_is_odd);
        }
    }
}
