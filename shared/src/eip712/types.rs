//! The `types` section: checked definitions, cycle detection, and alloy's resolver over them.

use std::collections::{BTreeMap, BTreeSet};

use alloy_dyn_abi::DynSolType;
use alloy_dyn_abi::eip712::{PropertyDef, Resolver, TypeDef};
use serde_json::Value;

use super::Eip712Error;

/// The domain struct's name.
pub(crate) const DOMAIN_TYPE: &str = "EIP712Domain";

/// The standard domain fields, in the order EIP-712 lists them (used when a payload leaves
/// `EIP712Domain` out of `types` and the fields are derived from `domain`, as ethers does).
const STANDARD_DOMAIN_FIELDS: [(&str, &str); 5] = [
    ("name", "string"),
    ("version", "string"),
    ("chainId", "uint256"),
    ("verifyingContract", "address"),
    ("salt", "bytes32"),
];

/// Most array dimensions a field type may have (`uint8[][]` has two). Real payloads use one
/// or two; the limit keeps hostile type strings from building deeply nested type trees.
const MAX_ARRAY_DIMENSIONS: usize = 8;

/// Longest chain of struct references (`A` holds a `B` holds a `C` ...), for the same reason.
const MAX_STRUCT_DEPTH: usize = 32;

/// Checked type definitions: every referenced type exists and no type reaches itself.
#[derive(Debug, Clone)]
pub(crate) struct TypeSet {
    resolver: Resolver,
    names: BTreeSet<String>,
}

impl TypeSet {
    /// Parses and checks `types`; adds a derived `EIP712Domain` when `domain` needs one.
    pub(crate) fn parse(types: &Value, domain: &Value) -> Result<Self, Eip712Error> {
        let Some(types) = types.as_object() else {
            return Err(shape("types", "must be an object of type definitions"));
        };
        let mut defs: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for (name, fields) in types {
            let path = format!("types.{name}");
            check_identifier(&path, name)?;
            if elementary(name).is_some() {
                return Err(invalid_name(
                    &path,
                    name,
                    "an elementary type cannot be redefined",
                ));
            }
            defs.insert(name.clone(), parse_fields(&path, fields)?);
        }
        if !defs.contains_key(DOMAIN_TYPE) {
            defs.insert(DOMAIN_TYPE.to_owned(), derive_domain_fields(domain)?);
        }
        for (name, fields) in &defs {
            for (i, (_, type_name)) in fields.iter().enumerate() {
                let root = root_type(&format!("types.{name}[{i}].type"), type_name)?;
                if elementary(root).is_none() && !defs.contains_key(root) {
                    return Err(Eip712Error::UnknownType {
                        path: format!("types.{name}[{i}].type"),
                        type_name: type_name.clone(),
                    });
                }
            }
        }
        detect_cycles(&defs)?;

        let mut resolver = Resolver::default();
        for (name, fields) in &defs {
            let props = fields
                .iter()
                .map(|(field, ty)| PropertyDef::new(ty.as_str(), field.as_str()))
                .collect::<Result<Vec<_>, _>>()?;
            resolver.ingest(TypeDef::new(name.as_str(), props)?);
        }
        Ok(TypeSet {
            resolver,
            names: defs.into_keys().collect(),
        })
    }

    /// The full type tree of a defined struct.
    pub(crate) fn resolve(&self, name: &str) -> Result<DynSolType, Eip712Error> {
        if !self.names.contains(name) {
            return Err(Eip712Error::UnknownType {
                path: "primaryType".to_owned(),
                type_name: name.to_owned(),
            });
        }
        Ok(self.resolver.resolve(name)?)
    }

    pub(crate) fn resolver(&self) -> &Resolver {
        &self.resolver
    }
}

fn parse_fields(path: &str, fields: &Value) -> Result<Vec<(String, String)>, Eip712Error> {
    let Some(fields) = fields.as_array() else {
        return Err(shape(
            path,
            "must be an array of {\"name\", \"type\"} objects",
        ));
    };
    let mut out: Vec<(String, String)> = Vec::with_capacity(fields.len());
    for (i, field) in fields.iter().enumerate() {
        let path = format!("{path}[{i}]");
        let text = |key: &str| {
            field
                .get(key)
                .and_then(Value::as_str)
                .ok_or_else(|| shape(&path, &format!("a field definition needs a string `{key}`")))
        };
        let (name, type_name) = (text("name")?, text("type")?);
        check_identifier(&format!("{path}.name"), name)?;
        if out.iter().any(|(existing, _)| existing == name) {
            return Err(invalid_name(
                &format!("{path}.name"),
                name,
                "declared twice",
            ));
        }
        out.push((name.to_owned(), type_name.to_owned()));
    }
    Ok(out)
}

fn derive_domain_fields(domain: &Value) -> Result<Vec<(String, String)>, Eip712Error> {
    let Some(domain) = domain.as_object() else {
        return Err(shape("domain", "must be an object"));
    };
    if let Some(key) = domain
        .keys()
        .find(|key| !STANDARD_DOMAIN_FIELDS.iter().any(|(name, _)| name == key))
    {
        return Err(shape(
            &format!("domain.{key}"),
            "not a standard EIP-712 domain field (declare EIP712Domain in types to use it)",
        ));
    }
    Ok(STANDARD_DOMAIN_FIELDS
        .iter()
        .filter(|(name, _)| domain.contains_key(*name))
        .map(|(name, ty)| ((*name).to_owned(), (*ty).to_owned()))
        .collect())
}

/// The element type of a possibly array type: `Person` for `Person[2][]`.
fn root_type<'a>(path: &str, type_name: &'a str) -> Result<&'a str, Eip712Error> {
    let root_end = type_name.find('[').unwrap_or(type_name.len());
    let (root, mut dims) = type_name.split_at(root_end);
    if dims.matches('[').count() > MAX_ARRAY_DIMENSIONS {
        return Err(invalid_name(
            path,
            type_name,
            "more than 8 array dimensions",
        ));
    }
    while !dims.is_empty() {
        let close = dims.find(']').ok_or_else(|| bad_array(path, type_name))?;
        let size = &dims[1..close];
        let canonical = size.is_empty()
            || size
                .parse::<usize>()
                .is_ok_and(|n| n > 0 && n.to_string() == size);
        if !dims.starts_with('[') || !canonical {
            return Err(bad_array(path, type_name));
        }
        dims = &dims[close + 1..];
    }
    check_identifier(path, root)?;
    Ok(root)
}

fn bad_array(path: &str, type_name: &str) -> Eip712Error {
    invalid_name(
        path,
        type_name,
        "array suffixes are `[]` or `[N]` with N > 0",
    )
}

/// The elementary (non-struct) EIP-712 type spelled exactly `name`, if any.
///
/// Only canonical spellings count: `uint` or `bytes01` would hash differently from what
/// wallets and contracts expect, so they are unknown types here.
pub(crate) fn elementary(name: &str) -> Option<DynSolType> {
    let sized = |digits: &str, valid: fn(usize) -> bool| {
        digits
            .parse::<usize>()
            .ok()
            .filter(|&n| valid(n) && n.to_string() == digits)
    };
    match name {
        "address" => Some(DynSolType::Address),
        "bool" => Some(DynSolType::Bool),
        "string" => Some(DynSolType::String),
        "bytes" => Some(DynSolType::Bytes),
        _ => {
            if let Some(digits) = name.strip_prefix("bytes") {
                sized(digits, |n| (1..=32).contains(&n)).map(DynSolType::FixedBytes)
            } else if let Some(digits) = name.strip_prefix("uint") {
                sized(digits, |n| n % 8 == 0 && (8..=256).contains(&n)).map(DynSolType::Uint)
            } else if let Some(digits) = name.strip_prefix("int") {
                sized(digits, |n| n % 8 == 0 && (8..=256).contains(&n)).map(DynSolType::Int)
            } else {
                None
            }
        }
    }
}

fn check_identifier(path: &str, name: &str) -> Result<(), Eip712Error> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
        Ok(())
    } else {
        Err(invalid_name(
            path,
            name,
            "names are letters, digits, `_` and `$`, not starting with a digit",
        ))
    }
}

/// Depth-first search over struct references; reports the first cycle as `A -> B -> A`.
fn detect_cycles(defs: &BTreeMap<String, Vec<(String, String)>>) -> Result<(), Eip712Error> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit<'a>(
        name: &'a str,
        defs: &'a BTreeMap<String, Vec<(String, String)>>,
        marks: &mut BTreeMap<&'a str, Mark>,
        stack: &mut Vec<&'a str>,
    ) -> Result<(), Eip712Error> {
        match marks.get(name) {
            Some(Mark::Done) => return Ok(()),
            Some(Mark::Visiting) => {
                let start = stack.iter().position(|n| *n == name).unwrap_or(0);
                let mut cycle: Vec<&str> = stack[start..].to_vec();
                cycle.push(name);
                return Err(Eip712Error::CyclicType {
                    cycle: cycle.join(" -> "),
                });
            }
            None => {}
        }
        if stack.len() >= MAX_STRUCT_DEPTH {
            return Err(Eip712Error::Shape {
                path: format!("types.{name}"),
                reason: format!("struct types nest more than {MAX_STRUCT_DEPTH} deep"),
            });
        }
        marks.insert(name, Mark::Visiting);
        stack.push(name);
        for (_, type_name) in defs.get(name).into_iter().flatten() {
            let root = &type_name[..type_name.find('[').unwrap_or(type_name.len())];
            if defs.contains_key(root) {
                visit(root, defs, marks, stack)?;
            }
        }
        stack.pop();
        marks.insert(name, Mark::Done);
        Ok(())
    }
    let mut marks = BTreeMap::new();
    for name in defs.keys() {
        visit(name, defs, &mut marks, &mut Vec::new())?;
    }
    Ok(())
}

pub(crate) fn shape(path: &str, reason: &str) -> Eip712Error {
    Eip712Error::Shape {
        path: path.to_owned(),
        reason: reason.to_owned(),
    }
}

fn invalid_name(path: &str, name: &str, reason: &'static str) -> Eip712Error {
    Eip712Error::InvalidName {
        path: path.to_owned(),
        name: name.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elementary_types_are_canonical_only() {
        let check = |name: &str, expected: Option<DynSolType>| {
            assert_eq!(elementary(name), expected, "type {name}");
        };
        check("uint256", Some(DynSolType::Uint(256)));
        check("uint8", Some(DynSolType::Uint(8)));
        check("int128", Some(DynSolType::Int(128)));
        check("bytes32", Some(DynSolType::FixedBytes(32)));
        check("bytes1", Some(DynSolType::FixedBytes(1)));
        check("bytes", Some(DynSolType::Bytes));
        check("uint", None);
        check("uint7", None);
        check("uint264", None);
        check("uint0", None);
        check("uint08", None);
        check("bytes0", None);
        check("bytes33", None);
        check("bytes01", None);
        check("int", None);
        check("Person", None);
    }

    #[test]
    fn root_types_and_array_suffixes() {
        let check = |name: &str, expected: Option<&str>| {
            assert_eq!(root_type("p", name).ok(), expected, "type {name}");
        };
        check("Person", Some("Person"));
        check("Person[]", Some("Person"));
        check("uint256[2][]", Some("uint256"));
        check("uint256[0]", None);
        check("uint256[02]", None);
        check("uint256[", None);
        check("uint256]", None);
        check("uint256[x]", None);
        check("[]", None);
        check("(uint256,bool)", None);
    }
}
