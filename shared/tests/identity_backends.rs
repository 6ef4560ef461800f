//! k256 and libsecp256k1 agree byte for byte (feature `libsecp256k1`): RFC 6979 makes
//! signing deterministic, so both backends must produce the same signature, and both must
//! recover the same signer (or refuse the same way) for any 65 bytes.

mod common;

use pitlane_shared::eip712::TypedData;
use pitlane_shared::identity::{B256, Backend, DeviceKey, Signature, keccak256};
use proptest::prelude::*;

#[test]
fn the_faster_backend_is_the_default_when_built() {
    assert_eq!(Backend::DEFAULT, Backend::Libsecp256k1);
    assert_eq!(Backend::ALL, &[Backend::K256, Backend::Libsecp256k1]);
    assert_eq!(Backend::Libsecp256k1.to_string(), "libsecp256k1");
}

/// The EIP-712 specification's Mail example: its known signature, made by both backends.
#[test]
fn both_backends_reproduce_the_eip712_spec_signature() {
    let key = DeviceKey::from_bytes(&keccak256("cow").0).unwrap();
    let digest = TypedData::from_value(&common::mail())
        .unwrap()
        .signing_hash();
    let expected = "0x4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d\
                    07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b915621c";
    for &backend in Backend::ALL {
        let signature = key.sign_hash_with(backend, &digest);
        assert_eq!(signature.to_hex(), expected, "{backend}");
        for &recovering in Backend::ALL {
            assert_eq!(
                signature.recover_with(recovering, &digest).unwrap(),
                key.address(),
                "signed by {backend}, recovered by {recovering}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn backends_sign_identically_and_recover_each_other(secret in any::<[u8; 32]>(), hash in any::<[u8; 32]>()) {
        let hash = B256::from(hash);
        // About 2^-128 of random secrets are out of range; both refuse those in DeviceKey.
        let Ok(key) = DeviceKey::from_bytes(&secret) else { return Ok(()) };
        let by_k256 = key.sign_hash_with(Backend::K256, &hash);
        let by_libsecp = key.sign_hash_with(Backend::Libsecp256k1, &hash);
        prop_assert_eq!(by_k256, by_libsecp);
        prop_assert_eq!(key.sign_hash(&hash), by_k256);
        for &backend in Backend::ALL {
            prop_assert_eq!(by_k256.recover_with(backend, &hash).unwrap(), key.address());
            prop_assert_eq!(by_k256.recover_public_key_with(backend, &hash).unwrap(), key.public_key());
        }
    }

    /// Arbitrary well-formed signatures: most recover to some unrelated key, about half have
    /// an r that is no point's x coordinate; both backends must answer alike either way.
    #[test]
    fn backends_agree_on_arbitrary_signatures(rs in any::<[u8; 64]>(), v in 27u8..29, hash in any::<[u8; 32]>()) {
        let hash = B256::from(hash);
        let mut bytes = [0u8; 65];
        bytes[..64].copy_from_slice(&rs);
        bytes[64] = v;
        let Ok(signature) = Signature::from_bytes(&bytes) else { return Ok(()) };
        prop_assert_eq!(
            signature.recover_with(Backend::K256, &hash),
            signature.recover_with(Backend::Libsecp256k1, &hash)
        );
        prop_assert_eq!(
            signature.recover_public_key_with(Backend::K256, &hash),
            signature.recover_public_key_with(Backend::Libsecp256k1, &hash)
        );
    }
}
