//! Bad typed-data input: each case is refused with an error that names the field.

use pitlane_shared::eip712::{Eip712Error, TypedData};
use serde_json::{Value, json};

mod common;
use common::mail;

/// Applies `edit` to the Mail example and expects exactly `message` as the error.
fn check(edit: impl FnOnce(&mut Value), message: &str) {
    let mut payload = mail();
    edit(&mut payload);
    let err = TypedData::from_value(&payload).expect_err(message);
    assert_eq!(err.to_string(), message);
}

#[test]
fn malformed_json_text() {
    let err = TypedData::from_json("{\"types\": ").unwrap_err();
    assert!(matches!(err, Eip712Error::Json(_)), "{err}");
    assert!(
        err.to_string()
            .starts_with("malformed JSON: EOF while parsing"),
        "{err}"
    );
    assert_eq!(
        TypedData::from_json("[1]").unwrap_err().to_string(),
        "payload: must be a JSON object with types, primaryType, domain and message"
    );
}

#[test]
fn payload_shape() {
    check(
        |p| drop(p.as_object_mut().unwrap().remove("types")),
        "types: is missing",
    );
    check(
        |p| drop(p.as_object_mut().unwrap().remove("message")),
        "message: is missing",
    );
    check(
        |p| p["primaryType"] = json!(5),
        "primaryType: must be a string",
    );
    check(
        |p| p["types"] = json!([]),
        "types: must be an object of type definitions",
    );
    check(
        |p| p["types"]["Person"] = json!({}),
        "types.Person: must be an array of {\"name\", \"type\"} objects",
    );
    check(
        |p| p["types"]["Person"][1] = json!({"name": "wallet"}),
        "types.Person[1]: a field definition needs a string `type`",
    );
}

#[test]
fn unknown_and_invalid_types() {
    check(
        |p| p["primaryType"] = json!("Letter"),
        "primaryType: unknown type `Letter`",
    );
    check(
        |p| p["types"]["Mail"][1]["type"] = json!("Persn"),
        "types.Mail[1].type: unknown type `Persn`",
    );
    check(
        |p| p["types"]["Person"][1]["type"] = json!("uint"),
        "types.Person[1].type: unknown type `uint`",
    );
    check(
        |p| p["types"]["Person"][1]["type"] = json!("uint7"),
        "types.Person[1].type: unknown type `uint7`",
    );
    check(
        |p| p["types"]["Person"][1]["type"] = json!("bytes33"),
        "types.Person[1].type: unknown type `bytes33`",
    );
    check(
        |p| p["types"]["Person"][1]["type"] = json!("address[0]"),
        "types.Person[1].type: invalid name `address[0]`: array suffixes are `[]` or `[N]` with N > 0",
    );
    check(
        |p| p["types"]["Person"][1]["name"] = json!("name"),
        "types.Person[1].name: invalid name `name`: declared twice",
    );
    check(
        |p| p["types"]["Person"][1]["name"] = json!("my wallet"),
        "types.Person[1].name: invalid name `my wallet`: names are letters, digits, `_` and `$`, not starting with a digit",
    );
    check(
        |p| p["types"]["uint256"] = json!([]),
        "types.uint256: invalid name `uint256`: an elementary type cannot be redefined",
    );
}

#[test]
fn cyclic_types() {
    check(
        |p| p["types"]["Person"][1] = json!({"name": "friend", "type": "Person"}),
        "cyclic type definition: Person -> Person",
    );
    check(
        |p| p["types"]["Person"][1] = json!({"name": "inbox", "type": "Mail[]"}),
        "cyclic type definition: Mail -> Person -> Mail",
    );
    check(
        |p| {
            p["types"]["A"] = json!([{"name": "b", "type": "B[2]"}]);
            p["types"]["B"] = json!([{"name": "c", "type": "C"}]);
            p["types"]["C"] = json!([{"name": "a", "type": "A[][]"}]);
        },
        "cyclic type definition: A -> B -> C -> A",
    );
}

#[test]
fn values_name_the_field() {
    check(
        |p| p["message"]["from"]["wallet"] = json!("0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD8"),
        "message.from.wallet: invalid address: an address has 40 hex digits after 0x, got 38",
    );
    check(
        |p| p["message"]["to"]["wallet"] = json!("0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbb"),
        "message.to.wallet: invalid address: mixed-case address fails its EIP-55 checksum (expected 0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB)",
    );
    check(
        |p| p["message"]["contents"] = json!(7),
        "message.contents: expected a JSON string for type string, got a number",
    );
    check(
        |p| drop(p["message"]["to"].as_object_mut().unwrap().remove("name")),
        "message.to: missing field `name` of type Person",
    );
    check(
        |p| p["message"]["cc"] = json!("x"),
        "message.cc: field is not declared in type Mail",
    );
    check(
        |p| p["message"] = json!(null),
        "message: expected a JSON object for type Mail, got null",
    );
    check(
        |p| p["domain"]["chainId"] = json!(-1),
        "domain.chainId: -1 is out of range for uint256",
    );
    check(
        |p| p["domain"]["chainId"] = json!(1.5),
        "domain.chainId: invalid uint256: 1.5 is not an exact integer; give large numbers as decimal or 0x-hex strings",
    );
    check(
        |p| p["domain"]["chainId"] = json!("one"),
        "domain.chainId: invalid uint256: \"one\" is not a decimal or 0x-hex integer",
    );
    check(
        |p| p["domain"]["salt"] = json!("0x00"),
        "domain.salt: field is not declared in type EIP712Domain",
    );
    check(
        |p| drop(p["domain"].as_object_mut().unwrap().remove("chainId")),
        "domain: missing field `chainId` of type EIP712Domain",
    );
    check(
        |p| {
            p["types"].as_object_mut().unwrap().remove("EIP712Domain");
            p["domain"]["chain"] = json!(1);
        },
        "domain.chain: not a standard EIP-712 domain field (declare EIP712Domain in types to use it)",
    );
}

#[test]
fn ranges_of_every_integer_width() {
    use pitlane_shared::eip712::U256;
    for bits in (8usize..=256).step_by(8) {
        let max = U256::MAX >> (256 - bits);
        let over = format!("{}", max.wrapping_add(U256::from(1u8)));
        let edit = |value: Value| {
            move |p: &mut Value| {
                p["types"]["Mail"][2]["type"] = json!(format!("uint{bits}"));
                p["message"]["contents"] = value;
            }
        };
        let mut ok = mail();
        edit(json!(max.to_string()))(&mut ok);
        TypedData::from_value(&ok).unwrap();
        if bits < 256 {
            check(
                edit(json!(over.clone())),
                &format!("message.contents: \"{over}\" is out of range for uint{bits}"),
            );
        }
    }
}

#[test]
fn hostile_type_sizes_are_bounded() {
    check(
        |p| p["types"]["Person"][1]["type"] = json!(format!("address{}", "[]".repeat(10_000))),
        &format!(
            "types.Person[1].type: invalid name `address{}`: more than 8 array dimensions",
            "[]".repeat(10_000)
        ),
    );
    check(
        |p| p["types"]["Person"][1]["type"] = json!("address[][][][][][][][]"),
        "message.from.wallet: expected a JSON array for type address[][][][][][][][], got a string",
    );
    // A chain of 10,000 struct types, each holding the next: refused, not a stack overflow.
    check(
        |p| {
            let types = p["types"].as_object_mut().unwrap();
            for i in 0..10_000 {
                types.insert(
                    format!("T{i}"),
                    json!([{"name": "next", "type": format!("T{}", i + 1)}]),
                );
            }
            types.insert("T10000".into(), json!([{"name": "end", "type": "bool"}]));
        },
        "types.T32: struct types nest more than 32 deep",
    );
}
