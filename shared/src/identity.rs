//! The device's secp256k1 identity: key files, addresses, signatures.
//!
//! A [`DeviceKey`] signs 32-byte hashes into Ethereum-style 65-byte [`Signature`]s
//! (r ‖ s ‖ v, v = 27/28, low s); anyone holding the hash and the signature can recover
//! the signer's [`Address`]. Key files hold the 0x-hex secret on one line and are refused
//! when group or others may read them.

mod address;
mod backend;
mod batch;
mod key;
mod keyfile;
#[cfg(feature = "libsecp256k1")]
mod libsecp;
mod personal;
mod signature;

pub use address::{Address, AddressError};
pub use alloy_primitives::B256;
pub use backend::Backend;
pub use batch::{BatchItem, verify_batch};
pub use key::{DeviceKey, KeyError, PublicKey};
pub use keyfile::KeyFileError;
pub use personal::personal_message_hash;
pub use signature::{Signature, SignatureError};

/// Keccak-256 of `data`, the hash Ethereum uses everywhere.
pub fn keccak256(data: impl AsRef<[u8]>) -> B256 {
    alloy_primitives::keccak256(data)
}
