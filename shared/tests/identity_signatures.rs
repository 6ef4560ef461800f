//! Signatures: known EIP-191 vectors from MetaMask's eth-sig-util, low s, v = 27/28,
//! recovery, and rejection of malformed or malleated signatures.

use pitlane_shared::identity::{
    Address, B256, Backend, DeviceKey, Signature, SignatureError, keccak256, personal_message_hash,
};
use proptest::prelude::*;

/// Half the secp256k1 group order: a low-s signature has s ≤ this.
const HALF_ORDER: &str = "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0";
const ORDER: &str = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

#[test]
fn personal_sign_matches_eth_sig_util() {
    let check = |secret: &str, message: &str, signature: &str| {
        let key = DeviceKey::from_hex(secret).unwrap();
        let signed = key.sign_message(message.as_bytes());
        assert_eq!(signed.to_hex(), signature, "message {message:?}");
        let parsed: Signature = signature.parse().unwrap();
        assert_eq!(
            parsed
                .recover(&personal_message_hash(message.as_bytes()))
                .unwrap(),
            key.address()
        );
    };
    check(
        "4af1bceebf7f3634ec3cff8a2c38e51178d5d4ce585c52d6043e5e2cc3418bb0",
        "Hello, world!",
        "0x90a938f7457df6e8f741264c32697fc52f9a8f867c52dd70713d9d2d472f2e415d9c94148991bbe1f4a1818d1dff09165782749c877f5cf1eff4ef126e55714d1c",
    );
    check(
        "6969696969696969696969696969696969696969696969696969696969696969",
        "hello world",
        "0xce909e8ea6851bc36c007a0072d0524b07a3ff8d4e623aca4c71ca8e57250c4d0a3fc38fa8fbaaa81ead4b9f6bd03356b6f8bf18bccad167d78891636e1d69561b",
    );
    let key =
        DeviceKey::from_hex("4af1bceebf7f3634ec3cff8a2c38e51178d5d4ce585c52d6043e5e2cc3418bb0")
            .unwrap();
    assert_eq!(
        key.address().to_checksum(),
        "0x29C76e6aD8f28BB1004902578Fb108c507Be341b"
    );
}

#[test]
fn personal_message_hash_prefixes_the_length() {
    let mut prefixed = b"\x19Ethereum Signed Message:\n13".to_vec();
    prefixed.extend_from_slice(b"Hello, world!");
    assert_eq!(
        personal_message_hash(b"Hello, world!"),
        keccak256(&prefixed)
    );
}

#[test]
fn malformed_signatures_are_rejected_with_the_reason() {
    let key =
        DeviceKey::from_hex("4af1bceebf7f3634ec3cff8a2c38e51178d5d4ce585c52d6043e5e2cc3418bb0")
            .unwrap();
    let good = key.sign_hash(&keccak256("x")).to_bytes();
    let check = |bytes: &[u8], expected: SignatureError| {
        assert_eq!(Signature::from_bytes(bytes).unwrap_err(), expected);
    };
    check(&good[..64], SignatureError::Length { got: 64 });
    check(&[], SignatureError::Length { got: 0 });
    let mut bad_v = good;
    bad_v[64] = 29;
    check(&bad_v, SignatureError::RecoveryByte(29));
    let mut zero_r = good;
    zero_r[..32].fill(0);
    check(&zero_r, SignatureError::OutOfRange);
    let mut big_s = good;
    big_s[32..64].copy_from_slice(&hex::decode(ORDER).unwrap());
    check(&big_s, SignatureError::OutOfRange);
    // The malleated twin (r, n - s, v ^ 1) verifies mathematically but is refused (EIP-2).
    let s = pitlane_shared::eip712::U256::from_be_slice(&good[32..64]);
    let order = pitlane_shared::eip712::U256::from_str_radix(ORDER, 16).unwrap();
    let mut high = good;
    high[32..64].copy_from_slice(&(order - s).to_be_bytes::<32>());
    high[64] = 55 - high[64]; // 27 <-> 28
    check(&high, SignatureError::HighS);
    assert!("90a9".parse::<Signature>().is_err());
    assert_eq!(
        "0xzz".parse::<Signature>().unwrap_err(),
        SignatureError::NotHex
    );
}

#[test]
fn v_zero_and_one_are_normalised() {
    let key = DeviceKey::generate();
    let hash = keccak256("normalise");
    let signed = key.sign_hash(&hash);
    let mut raw = signed.to_bytes();
    raw[64] -= 27;
    let parsed = Signature::from_bytes(&raw).unwrap();
    assert_eq!(parsed, signed);
    assert_eq!(parsed.recover(&hash).unwrap(), key.address());
}

#[test]
fn verify_names_the_real_signer() {
    let key = DeviceKey::generate();
    let other = DeviceKey::generate();
    let hash = keccak256("who signed");
    let signature = other.sign_hash(&hash);
    assert_eq!(
        signature.verify(&hash, &key.address()).unwrap_err(),
        SignatureError::WrongSigner {
            expected: key.address(),
            recovered: other.address()
        }
    );
    signature.verify(&hash, &other.address()).unwrap();
}

#[test]
fn public_key_forms() {
    let key = DeviceKey::from_hex(&format!("0x{}1", "0".repeat(63))).unwrap();
    let public = key.public_key();
    // Secret 1 gives the generator point G.
    assert_eq!(
        public.to_compressed_hex(),
        "0x0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
    );
    assert!(
        public
            .to_uncompressed_hex()
            .starts_with("0x0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
    );
    assert_eq!(public.to_uncompressed_hex().len(), 2 + 130);
    assert_eq!(public.address(), key.address());
    let recovered = key
        .sign_hash(&keccak256("pk"))
        .recover_public_key(&keccak256("pk"))
        .unwrap();
    assert_eq!(recovered, public);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sign_recover_round_trip(secret in any::<[u8; 32]>(), hash in any::<[u8; 32]>()) {
        let Ok(key) = DeviceKey::from_bytes(&secret) else {
            return Ok(()); // zero or ≥ n: not a key (probability ~2^-128)
        };
        let hash = B256::from(hash);
        let signature = key.sign_hash(&hash);
        let bytes = signature.to_bytes();
        prop_assert!(bytes[64] == 27 || bytes[64] == 28);
        prop_assert!(hex::encode(&bytes[32..64]).as_str() <= HALF_ORDER, "s is low");
        prop_assert_eq!(Signature::from_bytes(&bytes).unwrap(), signature);
        prop_assert_eq!(signature.to_hex().parse::<Signature>().unwrap(), signature);
        prop_assert_eq!(signature.recover(&hash).unwrap(), key.address());
        let address: Address = key.address().to_lowercase_hex().parse().unwrap();
        prop_assert_eq!(address, key.address());
        prop_assert_eq!(key.to_hex().parse::<String>().unwrap().len(), 66);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The fast recovery agrees with k256's own, for genuine and for arbitrary signatures.
    #[test]
    fn fast_recovery_matches_k256(secret in any::<[u8; 32]>(), hash in any::<[u8; 32]>(), junk in any::<[u8; 64]>(), v in 27u8..29) {
        let hash = B256::from(hash);
        if let Ok(key) = DeviceKey::from_bytes(&secret) {
            let signature = key.sign_hash_with(Backend::K256, &hash);
            prop_assert_eq!(
                signature.recover_public_key_with(Backend::K256, &hash).unwrap(),
                signature.recover_public_key_reference(&hash).unwrap()
            );
        }
        let mut bytes = [0u8; 65];
        bytes[..64].copy_from_slice(&junk);
        bytes[64] = v;
        if let Ok(signature) = Signature::from_bytes(&bytes) {
            prop_assert_eq!(
                signature.recover_public_key_with(Backend::K256, &hash),
                signature.recover_public_key_reference(&hash)
            );
        }
    }
}
