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
mod tests;
