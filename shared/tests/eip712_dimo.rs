//! DIMO payload builders, checked against alloy's compile-time `sol!` structs, and the
//! signing policy: every refusal names its rule.

use alloy_sol_types::{SolStruct, eip712_domain, sol};
use pitlane_shared::eip712::{
    DimoDomain, DimoPayload, SigningPolicy, TypedData, U256, dimo_encode_type,
};
use pitlane_shared::identity::{Address, DeviceKey};
use serde_json::{Value, json};

sol! {
    struct ClaimAftermarketDeviceSign { uint256 aftermarketDeviceNode; address owner; }
    struct PairAftermarketDeviceSign { uint256 aftermarketDeviceNode; uint256 vehicleNode; }
    struct UnPairAftermarketDeviceSign { uint256 aftermarketDeviceNode; uint256 vehicleNode; }
    struct MintVehicleWithDeviceDefinitionSign {
        uint256 manufacturerNode;
        address owner;
        string deviceDefinitionId;
        string[] attributes;
        string[] infos;
    }
}

const REGISTRY: &str = "0x5eAA326fB2fc97fAcCe6A79A304876daD0F2e96c";
const OWNER: &str = "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826";
const CHAIN: u64 = 80002;
const NODE: u64 = 42;

fn domain() -> DimoDomain {
    DimoDomain {
        chain_id: U256::from(CHAIN),
        verifying_contract: REGISTRY.parse().unwrap(),
    }
}

fn owner() -> Address {
    OWNER.parse().unwrap()
}

fn payloads() -> Vec<DimoPayload> {
    vec![
        DimoPayload::Claim {
            aftermarket_device_node: U256::from(NODE),
            owner: owner(),
        },
        DimoPayload::Pair {
            aftermarket_device_node: U256::from(NODE),
            vehicle_node: U256::from(7),
        },
        DimoPayload::Unpair {
            aftermarket_device_node: U256::from(NODE),
            vehicle_node: U256::from(7),
        },
        DimoPayload::MintVehicleWithDeviceDefinition {
            manufacturer_node: U256::from(131),
            owner: owner(),
            device_definition_id: "tesla_model-3_2019".into(),
            attributes: vec!["Make".into(), "Model".into(), "Year".into()],
            infos: vec!["Tesla".into(), "Model 3".into(), "2019".into()],
        },
    ]
}

#[test]
fn builders_hash_like_alloy_compile_time_structs() {
    let alloy_domain = eip712_domain! {
        name: "DIMO",
        version: "1",
        chain_id: CHAIN,
        verifying_contract: REGISTRY.parse::<alloy_sol_types::private::Address>().unwrap(),
    };
    let owner = alloy_sol_types::private::Address::from(*owner().as_bytes());
    let node = U256::from(NODE);
    let expected = [
        ClaimAftermarketDeviceSign {
            aftermarketDeviceNode: node,
            owner,
        }
        .eip712_signing_hash(&alloy_domain),
        PairAftermarketDeviceSign {
            aftermarketDeviceNode: node,
            vehicleNode: U256::from(7),
        }
        .eip712_signing_hash(&alloy_domain),
        UnPairAftermarketDeviceSign {
            aftermarketDeviceNode: node,
            vehicleNode: U256::from(7),
        }
        .eip712_signing_hash(&alloy_domain),
        MintVehicleWithDeviceDefinitionSign {
            manufacturerNode: U256::from(131),
            owner,
            deviceDefinitionId: "tesla_model-3_2019".into(),
            attributes: vec!["Make".into(), "Model".into(), "Year".into()],
            infos: vec!["Tesla".into(), "Model 3".into(), "2019".into()],
        }
        .eip712_signing_hash(&alloy_domain),
    ];
    for (payload, expected) in payloads().iter().zip(expected) {
        let typed = payload.typed_data(&domain());
        assert_eq!(typed.signing_hash(), expected, "{}", payload.primary_type());
        assert_eq!(typed.primary_type(), payload.primary_type());
        assert_eq!(
            Some(typed.encode_type().to_owned()),
            dimo_encode_type(payload.primary_type())
        );
        // The JSON form travels and parses back to the same digest.
        let json = payload.to_json(&domain());
        assert_eq!(json["domain"]["name"], "DIMO");
        assert_eq!(json["domain"]["version"], "1");
        assert_eq!(json["domain"]["chainId"], CHAIN.to_string());
        assert_eq!(
            TypedData::from_json(&json.to_string())
                .unwrap()
                .signing_hash(),
            expected
        );
    }
    assert_eq!(
        dimo_encode_type("ClaimAftermarketDeviceSign").unwrap(),
        "ClaimAftermarketDeviceSign(uint256 aftermarketDeviceNode,address owner)"
    );
    assert_eq!(dimo_encode_type("Mail"), None);
}

#[test]
fn device_signatures_recover() {
    let key = DeviceKey::generate();
    for payload in payloads() {
        let typed = payload.typed_data(&domain());
        let signed = typed.sign(&key);
        assert_eq!(
            typed.recover_signer(&signed.signature).unwrap(),
            key.address()
        );
    }
}

fn policy() -> SigningPolicy {
    SigningPolicy::dimo(domain(), Some(U256::from(NODE)))
}

fn claim() -> Value {
    DimoPayload::Claim {
        aftermarket_device_node: U256::from(NODE),
        owner: owner(),
    }
    .to_json(&domain())
}

/// Applies `edit` to the claim payload; expects acceptance or refusal by `rule`, and a
/// message that names the rule.
fn check(policy: &SigningPolicy, edit: impl FnOnce(&mut Value), rule: Option<&str>) {
    let mut payload = claim();
    edit(&mut payload);
    let typed = TypedData::from_value(&payload).unwrap();
    match (policy.check(&typed), rule) {
        (Ok(()), None) => {}
        (Err(violation), Some(rule)) => {
            assert_eq!(violation.rule(), rule, "{violation}");
            assert!(
                violation
                    .to_string()
                    .starts_with(&format!("refused by rule `{rule}`")),
                "{violation}"
            );
        }
        (got, want) => panic!("expected {want:?}, got {got:?} for {payload}"),
    }
}

#[test]
fn policy_accepts_own_payloads_and_refuses_everything_else() {
    let policy = policy();
    for payload in payloads() {
        policy.check(&payload.typed_data(&domain())).unwrap();
    }
    check(&policy, |_| {}, None);
    check(
        &policy,
        |p| p["domain"]["chainId"] = json!(1),
        Some("domain.chainId"),
    );
    check(
        &policy,
        |p| p["domain"]["chainId"] = json!(format!("{:#x}", CHAIN)),
        None,
    );
    check(
        &policy,
        |p| p["domain"]["verifyingContract"] = json!("0x0000000000000000000000000000000000000001"),
        Some("domain.verifyingContract"),
    );
    check(
        &policy,
        |p| p["domain"]["verifyingContract"] = json!(REGISTRY.to_lowercase()),
        None,
    );
    check(
        &policy,
        |p| p["domain"]["name"] = json!("D1MO"),
        Some("domain.name"),
    );
    check(
        &policy,
        |p| p["domain"]["version"] = json!("2"),
        Some("domain.version"),
    );
    check(
        &policy,
        |p| {
            p["types"]["EIP712Domain"]
                .as_array_mut()
                .unwrap()
                .push(json!({"name": "salt", "type": "bytes32"}));
            p["domain"]["salt"] = json!(format!("0x{}", "00".repeat(32)));
        },
        Some("domain.fields"),
    );
    check(
        &policy,
        |p| p["message"]["aftermarketDeviceNode"] = json!(43),
        Some("deviceNode"),
    );
    check(
        &policy,
        |p| p["message"]["aftermarketDeviceNode"] = json!("0x2a"),
        None,
    );
    check(
        &policy,
        |p| {
            p["types"]["ClaimAftermarketDeviceSign"]
                .as_array_mut()
                .unwrap()
                .push(json!({"name": "extra", "type": "uint256"}));
            p["message"]["extra"] = json!(1);
        },
        Some("typeDefinition"),
    );
    check(
        &policy,
        |p| {
            let types = p["types"].as_object_mut().unwrap();
            let fields = types.remove("ClaimAftermarketDeviceSign").unwrap();
            types.insert("TransferOwnership".into(), fields);
            p["primaryType"] = json!("TransferOwnership");
        },
        Some("primaryType"),
    );
}

#[test]
fn a_device_without_a_node_signs_no_device_payload() {
    let unprovisioned = SigningPolicy::dimo(domain(), None);
    check(&unprovisioned, |_| {}, Some("deviceNode"));
    let mint = payloads().pop().unwrap();
    unprovisioned.check(&mint.typed_data(&domain())).unwrap();
}

#[test]
fn refusal_messages_say_what_was_expected() {
    let mut payload = claim();
    payload["domain"]["chainId"] = json!(1);
    let typed = TypedData::from_value(&payload).unwrap();
    assert_eq!(
        policy().check(&typed).unwrap_err().to_string(),
        "refused by rule `domain.chainId`: expected chain 80002, payload has 1"
    );
    let mut payload = claim();
    payload["message"]["aftermarketDeviceNode"] = json!(7);
    let typed = TypedData::from_value(&payload).unwrap();
    assert_eq!(
        policy().check(&typed).unwrap_err().to_string(),
        "refused by rule `deviceNode`: payload is for device node 7, this device is node 42"
    );
}
