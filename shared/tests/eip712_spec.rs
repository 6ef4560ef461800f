//! The EIP-712 specification's own example (Example.js in the EIP): Mail from Cow to Bob,
//! signed with keccak256("cow"). Expected values are the ones the specification publishes.

use pitlane_shared::eip712::TypedData;
use pitlane_shared::identity::{Address, DeviceKey, Signature, keccak256};
use serde_json::json;

mod common;
use common::mail;

fn cow() -> DeviceKey {
    let secret = keccak256("cow");
    DeviceKey::from_bytes(&secret.0).unwrap()
}

#[test]
fn type_hash_struct_hash_and_digest() {
    let typed = TypedData::from_value(&mail()).unwrap();
    assert_eq!(
        typed.encode_type(),
        "Mail(Person from,Person to,string contents)Person(string name,address wallet)"
    );
    assert_eq!(
        typed.type_hash().to_string(),
        "0xa0cedeb2dc280ba39b857546d74f5549c3a1d7bdc2dd96bf881f76108e23dac2"
    );
    assert_eq!(
        typed.domain_separator().to_string(),
        "0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f"
    );
    assert_eq!(
        typed.hash_struct().to_string(),
        "0xc52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e"
    );
    assert_eq!(
        typed.signing_hash().to_string(),
        "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2"
    );
}

#[test]
fn signature_with_the_cow_key() {
    let key = cow();
    assert_eq!(
        key.address().to_checksum(),
        "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"
    );
    let typed = TypedData::from_value(&mail()).unwrap();
    let signed = typed.sign(&key);
    // v = 28, r = 0x4355…1c9d, s = 0x0729…1562 in the specification.
    assert_eq!(
        signed.signature.to_hex(),
        "0x4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d\
         07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b915621c"
    );
    assert_eq!(signed.signature.v(), 28);
    assert_eq!(
        typed.recover_signer(&signed.signature).unwrap(),
        key.address()
    );
    assert_eq!(
        serde_json::to_string(&signed).unwrap(),
        format!(
            r#"{{"hash":"0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2","signature":"{}","address":"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"}}"#,
            signed.signature
        )
    );
}

#[test]
fn every_accepted_number_form_gives_the_same_digest() {
    for chain_id in [json!(1), json!("1"), json!("0x1"), json!("0x01")] {
        let mut payload = mail();
        payload["domain"]["chainId"] = chain_id.clone();
        let typed = TypedData::from_value(&payload).unwrap();
        assert_eq!(
            typed.signing_hash().to_string(),
            "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2",
            "chainId {chain_id}"
        );
    }
}

#[test]
fn payload_as_text_and_derived_domain_type() {
    let text = mail().to_string();
    assert_eq!(
        TypedData::from_json(&text).unwrap().signing_hash(),
        TypedData::from_value(&mail()).unwrap().signing_hash()
    );
    // Without EIP712Domain in types, the domain type follows the domain's fields (as ethers).
    let mut payload = mail();
    payload["types"]
        .as_object_mut()
        .unwrap()
        .remove("EIP712Domain");
    assert_eq!(
        TypedData::from_value(&payload)
            .unwrap()
            .signing_hash()
            .to_string(),
        "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2"
    );
}

#[test]
fn the_spec_signature_parses_and_recovers() {
    let signature: Signature = "0x4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d\
        07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b915621c"
        .parse()
        .unwrap();
    let typed = TypedData::from_value(&mail()).unwrap();
    let expected: Address = "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"
        .parse()
        .unwrap();
    assert_eq!(typed.recover_signer(&signature).unwrap(), expected);
    signature.verify(&typed.signing_hash(), &expected).unwrap();
}
