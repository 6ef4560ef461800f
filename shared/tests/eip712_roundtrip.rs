//! Generated payloads: random acyclic struct types with random values. The digest must not
//! depend on how numbers are written or how keys are ordered, must match alloy's own
//! `TypedData` (an independent path through the domain and JSON coercion), must change when
//! any value changes, and signatures over it must recover to the signer.

use pitlane_shared::eip712::{TypedData, U256};
use pitlane_shared::identity::{Address, DeviceKey};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// A field type in a generated type set; struct references point only at earlier structs,
/// so every generated set is acyclic.
#[derive(Debug, Clone)]
enum Ty {
    Elem(&'static str),
    Array(Box<Ty>, Option<usize>),
    Struct(usize),
}

const ELEMENTARY: [&str; 12] = [
    "uint8", "uint64", "uint256", "int8", "int64", "int256", "bool", "address", "string", "bytes",
    "bytes1", "bytes32",
];

fn ty_name(ty: &Ty) -> String {
    match ty {
        Ty::Elem(name) => (*name).to_owned(),
        Ty::Array(inner, None) => format!("{}[]", ty_name(inner)),
        Ty::Array(inner, Some(n)) => format!("{}[{n}]", ty_name(inner)),
        Ty::Struct(i) => format!("S{i}"),
    }
}

fn ty_strategy(structs_before: usize) -> BoxedStrategy<Ty> {
    let elem = prop::sample::select(ELEMENTARY.to_vec()).prop_map(Ty::Elem);
    let leaf = if structs_before == 0 {
        elem.boxed()
    } else {
        prop_oneof![3 => elem, 1 => (0..structs_before).prop_map(Ty::Struct)].boxed()
    };
    leaf.prop_recursive(2, 4, 1, |inner| {
        (inner, prop::option::of(1usize..3)).prop_map(|(t, n)| Ty::Array(Box::new(t), n))
    })
    .boxed()
}

/// Struct i has 1..4 fields named f0, f1, ...
fn types_strategy() -> impl Strategy<Value = Vec<Vec<Ty>>> {
    (1usize..4).prop_flat_map(|count| {
        (0..count)
            .map(|i| prop::collection::vec(ty_strategy(i), 1..4))
            .collect::<Vec<_>>()
    })
}

/// A generated value in two spellings: `plain` (integers as decimal strings, the form every
/// implementation reads) and `varied` (integers as JSON numbers, decimal or 0x hex, addresses
/// in either case), plus one path to a leaf for tampering.
#[derive(Debug, Clone)]
struct Generated {
    plain: Value,
    varied: Value,
}

fn int_strategy(name: &'static str) -> BoxedStrategy<(bool, U256)> {
    let signed = name.starts_with("int");
    let bits: usize = name
        .trim_start_matches("uint")
        .trim_start_matches("int")
        .parse()
        .unwrap();
    let magnitude_bits = if signed { bits - 1 } else { bits };
    (any::<[u8; 32]>(), any::<bool>(), 0..=magnitude_bits)
        .prop_map(move |(raw, negative, width)| {
            let mut value = U256::from_be_bytes(raw);
            value = if width == 0 {
                U256::ZERO
            } else {
                value >> (256 - width)
            };
            (signed && negative && !value.is_zero(), value)
        })
        .boxed()
}

fn spellings(negative: bool, value: U256, form: u8) -> (Value, Value) {
    let sign = if negative { "-" } else { "" };
    let plain = json!(format!("{sign}{value}"));
    let varied = match form % 3 {
        0 if value <= U256::from(i64::MAX as u64) => {
            let n = value.to::<i64>();
            json!(if negative { -n } else { n })
        }
        1 => json!(format!("{sign}{value:#x}")),
        _ => plain.clone(),
    };
    (plain, varied)
}

fn value_strategy(ty: &Ty, structs: &[Vec<Ty>]) -> BoxedStrategy<Generated> {
    match ty {
        Ty::Elem(name) if name.contains("int") => (int_strategy(name), any::<u8>())
            .prop_map(|((negative, value), form)| {
                let (plain, varied) = spellings(negative, value, form);
                Generated { plain, varied }
            })
            .boxed(),
        Ty::Elem("bool") => any::<bool>()
            .prop_map(|b| Generated {
                plain: json!(b),
                varied: json!(b),
            })
            .boxed(),
        Ty::Elem("address") => (any::<[u8; 20]>(), any::<bool>())
            .prop_map(|(bytes, checksum)| {
                let address = Address::from_bytes(bytes);
                let varied = if checksum {
                    address.to_checksum()
                } else {
                    address.to_lowercase_hex()
                };
                Generated {
                    plain: json!(address.to_lowercase_hex()),
                    varied: json!(varied),
                }
            })
            .boxed(),
        Ty::Elem("string") => "\\PC{0,12}"
            .prop_map(|s| Generated {
                plain: json!(s),
                varied: json!(s),
            })
            .boxed(),
        Ty::Elem(name) => {
            let len = match *name {
                "bytes1" => 1..2,
                "bytes32" => 32..33,
                _ => 0..40,
            };
            prop::collection::vec(any::<u8>(), len)
                .prop_map(|b| {
                    let text = json!(format!("0x{}", hex::encode(b)));
                    Generated {
                        plain: text.clone(),
                        varied: text,
                    }
                })
                .boxed()
        }
        Ty::Array(inner, size) => {
            let len = match size {
                Some(n) => *n..*n + 1,
                None => 0..3,
            };
            prop::collection::vec(value_strategy(inner, structs), len)
                .prop_map(|items| Generated {
                    plain: Value::Array(items.iter().map(|g| g.plain.clone()).collect()),
                    varied: Value::Array(items.into_iter().map(|g| g.varied).collect()),
                })
                .boxed()
        }
        Ty::Struct(i) => {
            let fields: Vec<_> = structs[*i]
                .iter()
                .map(|t| value_strategy(t, structs))
                .collect();
            fields
                .prop_map(|values| {
                    let mut plain = Map::new();
                    let mut varied = Map::new();
                    // Inserted in reverse so the varied object's key order differs.
                    for (k, g) in values.into_iter().enumerate().rev() {
                        plain.insert(format!("f{k}"), g.plain);
                        varied.insert(format!("f{k}"), g.varied);
                    }
                    Generated {
                        plain: Value::Object(plain),
                        varied: Value::Object(varied),
                    }
                })
                .boxed()
        }
    }
}

fn payload_strategy() -> impl Strategy<Value = (Value, Value)> {
    (types_strategy(), any::<u64>(), any::<[u8; 20]>()).prop_flat_map(|(structs, chain_id, contract)| {
        let primary = structs.len() - 1;
        let mut types = Map::new();
        types.insert(
            "EIP712Domain".into(),
            json!([
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"}
            ]),
        );
        for (i, fields) in structs.iter().enumerate() {
            let defs: Vec<Value> = fields
                .iter()
                .enumerate()
                .map(|(k, t)| json!({"name": format!("f{k}"), "type": ty_name(t)}))
                .collect();
            types.insert(format!("S{i}"), Value::Array(defs));
        }
        let domain = json!({
            "name": "Generated",
            "version": "7",
            "chainId": chain_id,
            "verifyingContract": Address::from_bytes(contract).to_lowercase_hex(),
        });
        value_strategy(&Ty::Struct(primary), &structs).prop_map(move |message| {
            let build = |message: Value| {
                json!({"types": types, "primaryType": format!("S{primary}"), "domain": domain, "message": message})
            };
            (build(message.plain), build(message.varied))
        })
    })
}

/// Every leaf of `value` with a way to change it to something else of the same type.
fn tamper_all(value: &Value, out: &mut Vec<Value>, rebuild: &dyn Fn(Value) -> Value) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                let key = key.clone();
                let map = map.clone();
                tamper_all(item, out, &|changed| {
                    let mut map = map.clone();
                    map.insert(key.clone(), changed);
                    rebuild(Value::Object(map))
                });
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let items = items.clone();
                tamper_all(item, out, &|changed| {
                    let mut items = items.clone();
                    items[i] = changed;
                    rebuild(Value::Array(items))
                });
            }
        }
        Value::Bool(b) => out.push(rebuild(json!(!b))),
        Value::String(s) => {
            let changed = if let Some(digits) = s.strip_prefix("0x") {
                // Hex (address, bytes): flip the last digit, keep the length.
                match digits.chars().last() {
                    Some(c) => format!("{}{}", &s[..s.len() - 1], if c == '0' { '1' } else { '0' }),
                    None => "0x00".to_owned(),
                }
            } else if let Some(abs) = s
                .strip_prefix('-')
                .unwrap_or(s)
                .parse::<U256>()
                .ok()
                .filter(|_| !s.is_empty())
            {
                // Decimal integer: one step towards zero, always still in range.
                match (s.starts_with('-'), abs.is_zero()) {
                    (_, true) => "1".to_owned(),
                    (true, false) if abs == U256::from(1) => "0".to_owned(),
                    (true, false) => format!("-{}", abs - U256::from(1)),
                    (false, false) => (abs - U256::from(1)).to_string(),
                }
            } else {
                format!("{s}!")
            };
            out.push(rebuild(json!(changed)));
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn digest_is_stable_matches_alloy_and_signs((plain, varied) in payload_strategy(), secret in any::<[u8; 32]>()) {
        let typed = TypedData::from_value(&plain).unwrap();
        let other = TypedData::from_value(&varied).unwrap();
        prop_assert_eq!(typed.signing_hash(), other.signing_hash(), "spelling changed the digest");

        let reference: alloy_dyn_abi::TypedData = serde_json::from_value(plain.clone()).unwrap();
        prop_assert_eq!(typed.signing_hash(), reference.eip712_signing_hash().unwrap());
        prop_assert_eq!(typed.hash_struct(), reference.hash_struct().unwrap());

        let reparsed = TypedData::from_json(&typed.to_json().to_string()).unwrap();
        prop_assert_eq!(reparsed.signing_hash(), typed.signing_hash());

        if let Ok(key) = DeviceKey::from_bytes(&secret) {
            let signed = typed.sign(&key);
            prop_assert_eq!(typed.recover_signer(&signed.signature).unwrap(), key.address());
        }
    }

    #[test]
    fn any_changed_value_changes_the_digest((plain, _varied) in payload_strategy()) {
        let original = TypedData::from_value(&plain).unwrap().signing_hash();
        let mut tampered = Vec::new();
        let payload = plain.clone();
        tamper_all(&plain["message"], &mut tampered, &|message| {
            let mut p = payload.clone();
            p["message"] = message;
            p
        });
        for changed in tampered {
            match TypedData::from_value(&changed) {
                Ok(typed) => prop_assert_ne!(typed.signing_hash(), original, "{}", changed["message"]),
                Err(e) => prop_assert!(false, "tampered payload no longer valid: {e}: {}", changed["message"]),
            }
        }
    }
}
