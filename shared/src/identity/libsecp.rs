//! The libsecp256k1 backend (feature `libsecp256k1`): signing and recovery through the
//! `secp256k1` crate.

use std::sync::LazyLock;

use k256::elliptic_curve::rand_core::{OsRng, RngCore};
use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
use secp256k1::{All, Message, PublicKey, Secp256k1, SecretKey};

use super::{B256, SignatureError};

/// One context for the process: building one computes nothing (the tables are static), but
/// it is randomised once, libsecp256k1's blinding against side channels while signing.
static CONTEXT: LazyLock<Secp256k1<All>> = LazyLock::new(|| {
    let mut context = Secp256k1::new();
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(seed.as_mut());
    context.seeded_randomize(&seed);
    context
});

/// The secret scalar in libsecp256k1's form, erased (best effort) when dropped.
#[derive(Clone)]
pub(super) struct Secret(SecretKey);

impl Secret {
    /// `bytes` must be a valid secret scalar (non-zero, below the curve order).
    pub(super) fn new(bytes: &[u8; 32]) -> Self {
        // The caller passes a scalar k256 has already accepted, and both libraries accept
        // exactly the range 1..n.
        Secret(SecretKey::from_byte_array(*bytes).expect("k256 and libsecp256k1 agree on 1..n"))
    }

    /// r ‖ s ‖ recovery id (0/1), s low, RFC 6979 nonce.
    pub(super) fn sign_hash(&self, hash: &B256) -> ([u8; 64], bool) {
        let signature = CONTEXT.sign_ecdsa_recoverable(Message::from_digest(hash.0), &self.0);
        let (recovery, rs) = signature.serialize_compact();
        (rs, recovery == RecoveryId::One)
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.non_secure_erase();
    }
}

/// The uncompressed public key (0x04 ‖ x ‖ y) that made `rs` with recovery id `y_is_odd`
/// over `hash`. `rs` has already been checked (r and s in 1..n, s low).
pub(super) fn recover(
    rs: &[u8; 64],
    y_is_odd: bool,
    hash: &B256,
) -> Result<[u8; 65], SignatureError> {
    let recovery = if y_is_odd {
        RecoveryId::One
    } else {
        RecoveryId::Zero
    };
    let signature =
        RecoverableSignature::from_compact(rs, recovery).map_err(|_| SignatureError::OutOfRange)?;
    CONTEXT
        .recover_ecdsa(Message::from_digest(hash.0), &signature)
        .map(|key| key.serialize_uncompressed())
        .map_err(|_| SignatureError::Unrecoverable)
}

/// The uncompressed point (0x04 ‖ x ‖ y) whose x is `x` and whose y has parity `y_is_odd`;
/// `None` when no point has that x (or x is not below the field's modulus).
pub(super) fn lift_x(x: &[u8; 32], y_is_odd: bool) -> Option<[u8; 65]> {
    let mut compressed = [0u8; 33];
    compressed[0] = if y_is_odd { 0x03 } else { 0x02 };
    compressed[1..].copy_from_slice(x);
    PublicKey::from_slice(&compressed)
        .ok()
        .map(|point| point.serialize_uncompressed())
}
