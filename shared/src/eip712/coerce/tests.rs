//! Coercion cases: one line per input and the value or error it must give.

use super::*;
use serde_json::json;

fn check(ty: DynSolType, input: Value, expected: Result<DynSolValue, &str>) {
    let got = coerce(&ty, &input, Path::Root("v")).map_err(|e| e.to_string());
    assert_eq!(got, expected.map_err(str::to_owned), "{ty:?} {input}");
}

#[test]
fn unsigned_integers() {
    let u = |n: u64, bits| Ok(DynSolValue::Uint(U256::from(n), bits));
    check(DynSolType::Uint(256), json!(42), u(42, 256));
    check(DynSolType::Uint(256), json!("42"), u(42, 256));
    check(DynSolType::Uint(256), json!("0x2a"), u(42, 256));
    check(DynSolType::Uint(256), json!("0X2A"), u(42, 256));
    check(DynSolType::Uint(8), json!(255), u(255, 8));
    check(DynSolType::Uint(8), json!("-0"), u(0, 8));
    check(
        DynSolType::Uint(8),
        json!(256),
        Err("v: 256 is out of range for uint8"),
    );
    check(
        DynSolType::Uint(8),
        json!(-1),
        Err("v: -1 is out of range for uint8"),
    );
    check(
        DynSolType::Uint(8),
        json!("-1"),
        Err("v: \"-1\" is out of range for uint8"),
    );
    check(
        DynSolType::Uint(256),
        json!(format!("0x1{}", "0".repeat(64))),
        Err(&format!(
            "v: \"0x1{}\" is out of range for uint256",
            "0".repeat(64)
        )),
    );
    check(
        DynSolType::Uint(256),
        json!("1_000"),
        Err("v: invalid uint256: \"1_000\" is not a decimal or 0x-hex integer"),
    );
    check(
        DynSolType::Uint(256),
        json!(""),
        Err("v: invalid uint256: \"\" is not a decimal or 0x-hex integer"),
    );
    check(
        DynSolType::Uint(256),
        json!("0x"),
        Err("v: invalid uint256: \"0x\" is not a decimal or 0x-hex integer"),
    );
    check(
        DynSolType::Uint(256),
        json!(" 1"),
        Err("v: invalid uint256: \" 1\" is not a decimal or 0x-hex integer"),
    );
    check(
        DynSolType::Uint(256),
        json!(1.5),
        Err(
            "v: invalid uint256: 1.5 is not an exact integer; give large numbers as decimal or 0x-hex strings",
        ),
    );
    check(
        DynSolType::Uint(256),
        json!(true),
        Err(
            "v: expected a JSON integer, a decimal string or a 0x-hex string for type uint256, got a boolean",
        ),
    );
}

#[test]
fn signed_integers() {
    let i = |n: i64, bits| Ok(DynSolValue::Int(I256::try_from(n).unwrap(), bits));
    check(DynSolType::Int(8), json!(-128), i(-128, 8));
    check(DynSolType::Int(8), json!(127), i(127, 8));
    check(DynSolType::Int(8), json!("-0x80"), i(-128, 8));
    check(
        DynSolType::Int(8),
        json!(128),
        Err("v: 128 is out of range for int8"),
    );
    check(
        DynSolType::Int(8),
        json!(-129),
        Err("v: -129 is out of range for int8"),
    );
    check(
        DynSolType::Int(256),
        json!(format!("-{}", U256::from(1u8) << 255)),
        Ok(DynSolValue::Int(I256::MIN, 256)),
    );
    check(
        DynSolType::Int(256),
        json!(format!("{}", U256::from(1u8) << 255)),
        Err(&format!(
            "v: \"{}\" is out of range for int256",
            U256::from(1u8) << 255
        )),
    );
}

#[test]
fn bytes_addresses_strings_bools() {
    let mut word = B256::ZERO;
    word[..2].copy_from_slice(&[0xab, 0xcd]);
    check(
        DynSolType::FixedBytes(2),
        json!("0xabcd"),
        Ok(DynSolValue::FixedBytes(word, 2)),
    );
    check(
        DynSolType::FixedBytes(2),
        json!("0xabcdef"),
        Err("v: invalid bytes2: needs exactly 2 bytes, got 3"),
    );
    check(
        DynSolType::FixedBytes(2),
        json!("abcd"),
        Err("v: invalid bytes2: bytes are written as 0x followed by hex digits"),
    );
    check(
        DynSolType::Bytes,
        json!("0x"),
        Ok(DynSolValue::Bytes(vec![])),
    );
    check(
        DynSolType::Bytes,
        json!("0x0102"),
        Ok(DynSolValue::Bytes(vec![1, 2])),
    );
    check(
        DynSolType::Bytes,
        json!([1, 2]),
        Err("v: expected a 0x-hex string for type bytes, got an array"),
    );
    check(
        DynSolType::Bytes,
        json!("0x123"),
        Err("v: invalid bytes: not hex: Odd number of digits"),
    );
    check(
        DynSolType::Address,
        json!("0x12"),
        Err("v: invalid address: an address has 40 hex digits after 0x, got 2"),
    );
    check(
        DynSolType::String,
        json!("hi"),
        Ok(DynSolValue::String("hi".into())),
    );
    check(
        DynSolType::String,
        json!(1),
        Err("v: expected a JSON string for type string, got a number"),
    );
    check(DynSolType::Bool, json!(true), Ok(DynSolValue::Bool(true)));
    check(
        DynSolType::Bool,
        json!("true"),
        Err("v: expected a JSON boolean for type bool, got a string"),
    );
}

#[test]
fn arrays_and_structs_name_the_element() {
    let fixed = DynSolType::FixedArray(Box::new(DynSolType::Uint(8)), 2);
    check(
        fixed.clone(),
        json!([1, 2]),
        Ok(DynSolValue::FixedArray(vec![
            DynSolValue::Uint(U256::from(1), 8),
            DynSolValue::Uint(U256::from(2), 8),
        ])),
    );
    check(
        fixed.clone(),
        json!([1]),
        Err("v: type uint8[2] needs 2 elements, got 1"),
    );
    check(
        fixed,
        json!([1, 300]),
        Err("v[1]: 300 is out of range for uint8"),
    );
    let person = DynSolType::CustomStruct {
        name: "Person".into(),
        prop_names: vec!["name".into(), "wallets".into()],
        tuple: vec![
            DynSolType::String,
            DynSolType::Array(Box::new(DynSolType::Address)),
        ],
    };
    check(
        person.clone(),
        json!({"name": "a"}),
        Err("v: missing field `wallets` of type Person"),
    );
    check(
        person.clone(),
        json!({"name": "a", "wallets": [], "x": 1}),
        Err("v.x: field is not declared in type Person"),
    );
    check(
        person.clone(),
        json!({"name": "a", "wallets": ["0x00"]}),
        Err("v.wallets[0]: invalid address: an address has 40 hex digits after 0x, got 2"),
    );
    check(
        person,
        json!([]),
        Err("v: expected a JSON object for type Person, got an array"),
    );
}
