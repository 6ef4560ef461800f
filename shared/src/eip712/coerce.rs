//! JSON values to typed EIP-712 values, with errors that name the field.
//!
//! alloy's own JSON coercion accepts more than we want to sign (numbers as floats, bytes as
//! number arrays, extra struct fields) and reports failures without saying where; this walk
//! is strict and precise, and hands alloy values it only has to encode.

use alloy_dyn_abi::{DynSolType, DynSolValue};
use alloy_primitives::{B256, I256, U256};
use serde_json::Value;

use super::Eip712Error;
use crate::identity::Address;

/// Where a value sits, built only when an error needs to be reported.
#[derive(Clone, Copy)]
pub(crate) enum Path<'a> {
    Root(&'a str),
    Field(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Root(name) => f.write_str(name),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// Checks `value` against `ty` and converts it.
pub(crate) fn coerce(
    ty: &DynSolType,
    value: &Value,
    path: Path<'_>,
) -> Result<DynSolValue, Eip712Error> {
    match ty {
        DynSolType::Bool => match value {
            Value::Bool(b) => Ok(DynSolValue::Bool(*b)),
            other => Err(wrong_kind(ty, path, "a JSON boolean", other)),
        },
        DynSolType::Uint(bits) => {
            let (negative, abs) = integer(ty, value, path)?;
            if (negative && !abs.is_zero()) || abs.bit_len() > *bits {
                return Err(out_of_range(ty, value, path));
            }
            Ok(DynSolValue::Uint(abs, *bits))
        }
        DynSolType::Int(bits) => {
            let (negative, abs) = integer(ty, value, path)?;
            let limit = U256::from(1u8) << (bits - 1);
            if (negative && abs > limit) || (!negative && abs >= limit) {
                return Err(out_of_range(ty, value, path));
            }
            // Two's complement; |abs| ≤ 2^255 here, so the negation is exact.
            let raw = if negative { abs.wrapping_neg() } else { abs };
            Ok(DynSolValue::Int(I256::from_raw(raw), *bits))
        }
        DynSolType::Address => {
            let Value::String(text) = value else {
                return Err(wrong_kind(ty, path, "a 0x-hex address string", value));
            };
            let address: Address = text.parse().map_err(|source| Eip712Error::Address {
                path: path.to_string(),
                source,
            })?;
            Ok(DynSolValue::Address(address.into()))
        }
        DynSolType::String => match value {
            Value::String(s) => Ok(DynSolValue::String(s.clone())),
            other => Err(wrong_kind(ty, path, "a JSON string", other)),
        },
        DynSolType::Bytes => Ok(DynSolValue::Bytes(hex_bytes(ty, value, path)?)),
        DynSolType::FixedBytes(size) => {
            let bytes = hex_bytes(ty, value, path)?;
            if bytes.len() != *size {
                return Err(invalid(
                    ty,
                    path,
                    format!("needs exactly {size} bytes, got {}", bytes.len()),
                ));
            }
            let mut word = B256::ZERO;
            word[..*size].copy_from_slice(&bytes);
            Ok(DynSolValue::FixedBytes(word, *size))
        }
        DynSolType::Array(inner) => Ok(DynSolValue::Array(elements(ty, inner, value, path)?)),
        DynSolType::FixedArray(inner, len) => {
            let items = elements(ty, inner, value, path)?;
            if items.len() != *len {
                return Err(Eip712Error::ArrayLength {
                    path: path.to_string(),
                    type_name: type_label(ty),
                    expected: *len,
                    got: items.len(),
                });
            }
            Ok(DynSolValue::FixedArray(items))
        }
        DynSolType::CustomStruct {
            name,
            prop_names,
            tuple,
        } => {
            let Value::Object(map) = value else {
                return Err(wrong_kind(ty, path, "a JSON object", value));
            };
            if let Some(extra) = map.keys().find(|key| !prop_names.contains(key)) {
                return Err(Eip712Error::UndeclaredField {
                    path: Path::Field(&path, extra).to_string(),
                    type_name: name.clone(),
                });
            }
            let mut fields = Vec::with_capacity(tuple.len());
            for (field, field_ty) in prop_names.iter().zip(tuple) {
                let Some(field_value) = map.get(field) else {
                    return Err(Eip712Error::MissingField {
                        path: path.to_string(),
                        field: field.clone(),
                        type_name: name.clone(),
                    });
                };
                fields.push(coerce(field_ty, field_value, Path::Field(&path, field))?);
            }
            Ok(DynSolValue::CustomStruct {
                name: name.clone(),
                prop_names: prop_names.clone(),
                tuple: fields,
            })
        }
        DynSolType::Tuple(_) | DynSolType::Function => {
            Err(invalid(ty, path, "not an EIP-712 type".to_owned()))
        }
    }
}

fn elements(
    ty: &DynSolType,
    inner: &DynSolType,
    value: &Value,
    path: Path<'_>,
) -> Result<Vec<DynSolValue>, Eip712Error> {
    let Value::Array(items) = value else {
        return Err(wrong_kind(ty, path, "a JSON array", value));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| coerce(inner, item, Path::Index(&path, i)))
        .collect()
}

/// An integer as (is negative, absolute value): a JSON integer, or a string holding an
/// optionally signed decimal or 0x-hex number.
fn integer(ty: &DynSolType, value: &Value, path: Path<'_>) -> Result<(bool, U256), Eip712Error> {
    match value {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Ok((false, U256::from(u)))
            } else if let Some(i) = n.as_i64() {
                Ok((i < 0, U256::from(i.unsigned_abs())))
            } else {
                Err(invalid(
                    ty,
                    path,
                    format!(
                        "{n} is not an exact integer; give large numbers as decimal or 0x-hex strings"
                    ),
                ))
            }
        }
        Value::String(text) => {
            let (negative, digits) = match text.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, text.as_str()),
            };
            let (radix, digits) = match digits
                .strip_prefix("0x")
                .or_else(|| digits.strip_prefix("0X"))
            {
                Some(hex) => (16, hex),
                None => (10, digits),
            };
            if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
                return Err(invalid(
                    ty,
                    path,
                    format!("{text:?} is not a decimal or 0x-hex integer"),
                ));
            }
            let abs = U256::from_str_radix(digits, radix as u64)
                .map_err(|_| out_of_range(ty, value, path))?;
            Ok((negative, abs))
        }
        other => Err(wrong_kind(
            ty,
            path,
            "a JSON integer, a decimal string or a 0x-hex string",
            other,
        )),
    }
}

fn hex_bytes(ty: &DynSolType, value: &Value, path: Path<'_>) -> Result<Vec<u8>, Eip712Error> {
    let Value::String(text) = value else {
        return Err(wrong_kind(ty, path, "a 0x-hex string", value));
    };
    let digits = text.strip_prefix("0x").ok_or_else(|| {
        invalid(
            ty,
            path,
            "bytes are written as 0x followed by hex digits".to_owned(),
        )
    })?;
    hex::decode(digits).map_err(|e| invalid(ty, path, format!("not hex: {e}")))
}

/// The EIP-712 spelling of a type, for error messages: `uint256`, `Person[]`.
pub(crate) fn type_label(ty: &DynSolType) -> String {
    match ty {
        DynSolType::CustomStruct { name, .. } => name.clone(),
        DynSolType::Array(inner) => format!("{}[]", type_label(inner)),
        DynSolType::FixedArray(inner, n) => format!("{}[{n}]", type_label(inner)),
        other => other.sol_type_name().into_owned(),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn wrong_kind(ty: &DynSolType, path: Path<'_>, expected: &'static str, got: &Value) -> Eip712Error {
    Eip712Error::WrongKind {
        path: path.to_string(),
        type_name: type_label(ty),
        expected,
        got: json_kind(got),
    }
}

fn out_of_range(ty: &DynSolType, value: &Value, path: Path<'_>) -> Eip712Error {
    let mut shown = value.to_string();
    if shown.len() > 90 {
        let cut = (0..=80)
            .rev()
            .find(|&i| shown.is_char_boundary(i))
            .unwrap_or(0);
        shown.truncate(cut);
        shown.push('…');
    }
    Eip712Error::OutOfRange {
        path: path.to_string(),
        type_name: type_label(ty),
        value: shown,
    }
}

fn invalid(ty: &DynSolType, path: Path<'_>, reason: String) -> Eip712Error {
    Eip712Error::InvalidValue {
        path: path.to_string(),
        type_name: type_label(ty),
        reason,
    }
}

#[cfg(test)]
mod tests {
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
}
