//! EIP-191 version 0x45 (`personal_sign`): what wallets sign for a login message.

use super::B256;

/// keccak256(`"\x19Ethereum Signed Message:\n"` ‖ decimal length ‖ `message`).
///
/// Recover the signer of a wallet's `personal_sign` signature with
/// `signature.recover(&personal_message_hash(message))`.
pub fn personal_message_hash(message: &[u8]) -> B256 {
    alloy_primitives::eip191_hash_message(message)
}
