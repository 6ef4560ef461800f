//! A checked `eth_signTypedData_v4` payload and its EIP-712 hashes.

use alloy_dyn_abi::DynSolValue;
use alloy_primitives::{B256, U256, keccak256};
use serde_json::Value;

use super::Eip712Error;
use super::coerce::{Path, coerce};
use super::types::{DOMAIN_TYPE, TypeSet, shape};
use crate::identity::{Address, DeviceKey, Signature};

/// The domain fields EIP-712 defines, where the payload's domain declares them with their
/// standard types (a `chainId` declared as `string` is not a chain id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Domain {
    /// `string name`.
    pub name: Option<String>,
    /// `string version`.
    pub version: Option<String>,
    /// `uint256 chainId`.
    pub chain_id: Option<U256>,
    /// `address verifyingContract`.
    pub verifying_contract: Option<Address>,
    /// `bytes32 salt`.
    pub salt: Option<B256>,
}

/// A checked, hashed typed-data payload.
#[derive(Debug, Clone)]
pub struct TypedData {
    primary_type: String,
    types: Value,
    domain_json: Value,
    message_json: Value,
    domain: Domain,
    message: DynSolValue,
    encode_type: String,
    domain_encode_type: String,
    type_hash: B256,
    domain_separator: B256,
    hash_struct: B256,
    signing_hash: B256,
}

/// What `sign-typed-data` prints: `{"hash":"0x…","signature":"0x…","address":"0x…"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TypedDataSignature {
    /// The EIP-712 digest that was signed.
    pub hash: B256,
    /// r ‖ s ‖ v, v = 27/28.
    pub signature: Signature,
    /// The signer (EIP-55).
    pub address: Address,
}

impl TypedData {
    /// Parses JSON text (an `eth_signTypedData_v4` payload).
    pub fn from_json(text: &str) -> Result<Self, Eip712Error> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| Eip712Error::Json(e.to_string()))?;
        Self::from_value(&value)
    }

    /// Checks and hashes a parsed payload. Keys other than `types`, `primaryType`, `domain`
    /// and `message` are ignored.
    pub fn from_value(payload: &Value) -> Result<Self, Eip712Error> {
        let Some(object) = payload.as_object() else {
            return Err(shape(
                "payload",
                "must be a JSON object with types, primaryType, domain and message",
            ));
        };
        let field = |key: &str| object.get(key).ok_or_else(|| shape(key, "is missing"));
        let types_json = field("types")?;
        let primary_type = field("primaryType")?
            .as_str()
            .ok_or_else(|| shape("primaryType", "must be a string"))?;
        let domain_json = field("domain")?;
        let message_json = match object.get("message") {
            Some(message) => message,
            None if primary_type == DOMAIN_TYPE => &Value::Null,
            None => return Err(shape("message", "is missing")),
        };

        let types = TypeSet::parse(types_json, domain_json)?;
        let domain_value = coerce(
            &types.resolve(DOMAIN_TYPE)?,
            domain_json,
            Path::Root("domain"),
        )?;
        let primary = types.resolve(primary_type)?;
        let resolver = types.resolver();
        let domain_separator = resolver.eip712_data_word(&domain_value)?;

        let (message, hash_struct, signing_hash) = if primary_type == DOMAIN_TYPE {
            // eth-sig-util's convention: signing the domain itself hashes only the separator.
            let mut buf = [0u8; 34];
            buf[..2].copy_from_slice(&[0x19, 0x01]);
            buf[2..].copy_from_slice(domain_separator.as_slice());
            (domain_value.clone(), domain_separator, keccak256(buf))
        } else {
            let message = coerce(&primary, message_json, Path::Root("message"))?;
            let hash_struct = resolver.eip712_data_word(&message)?;
            let mut buf = [0u8; 66];
            buf[..2].copy_from_slice(&[0x19, 0x01]);
            buf[2..34].copy_from_slice(domain_separator.as_slice());
            buf[34..].copy_from_slice(hash_struct.as_slice());
            (message, hash_struct, keccak256(buf))
        };
        let encode_type = resolver.encode_type(primary_type)?;
        let domain_encode_type = resolver.encode_type(DOMAIN_TYPE)?;

        Ok(TypedData {
            primary_type: primary_type.to_owned(),
            types: types_json.clone(),
            domain_json: domain_json.clone(),
            message_json: message_json.clone(),
            domain: domain_fields(&domain_value),
            type_hash: keccak256(encode_type.as_bytes()),
            encode_type,
            domain_encode_type,
            message,
            domain_separator,
            hash_struct,
            signing_hash,
        })
    }

    /// The primary type's name.
    pub fn primary_type(&self) -> &str {
        &self.primary_type
    }

    /// The standard domain fields.
    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// The message as given.
    pub fn message(&self) -> &Value {
        &self.message_json
    }

    /// A `uint` field of the message, when the primary type has one with that name.
    pub fn message_uint(&self, field: &str) -> Option<U256> {
        let DynSolValue::CustomStruct {
            prop_names, tuple, ..
        } = &self.message
        else {
            return None;
        };
        let index = prop_names.iter().position(|name| name == field)?;
        match tuple.get(index)? {
            DynSolValue::Uint(value, _) => Some(*value),
            _ => None,
        }
    }

    /// The payload as `eth_signTypedData_v4` JSON, as it was given.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "types": self.types,
            "primaryType": self.primary_type,
            "domain": self.domain_json,
            "message": self.message_json,
        })
    }

    /// `encodeType` of the primary type, e.g. `Mail(Person from,Person to,string contents)Person(…)`.
    pub fn encode_type(&self) -> &str {
        &self.encode_type
    }

    /// `encodeType` of the domain, e.g.
    /// `EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)`.
    pub fn domain_encode_type(&self) -> &str {
        &self.domain_encode_type
    }

    /// keccak256 of [`TypedData::encode_type`].
    pub fn type_hash(&self) -> B256 {
        self.type_hash
    }

    /// `hashStruct(domain)`.
    pub fn domain_separator(&self) -> B256 {
        self.domain_separator
    }

    /// `hashStruct(message)`.
    pub fn hash_struct(&self) -> B256 {
        self.hash_struct
    }

    /// The digest a wallet signs: keccak256(`0x1901` ‖ domain separator ‖ hashStruct(message)).
    pub fn signing_hash(&self) -> B256 {
        self.signing_hash
    }

    /// Signs the digest.
    pub fn sign(&self, key: &DeviceKey) -> TypedDataSignature {
        TypedDataSignature {
            hash: self.signing_hash,
            signature: key.sign_hash(&self.signing_hash),
            address: key.address(),
        }
    }

    /// Who signed this payload.
    pub fn recover_signer(
        &self,
        signature: &Signature,
    ) -> Result<Address, crate::identity::SignatureError> {
        signature.recover(&self.signing_hash)
    }
}

fn domain_fields(domain: &DynSolValue) -> Domain {
    let mut out = Domain::default();
    let DynSolValue::CustomStruct {
        prop_names, tuple, ..
    } = domain
    else {
        return out;
    };
    for (name, value) in prop_names.iter().zip(tuple) {
        match (name.as_str(), value) {
            ("name", DynSolValue::String(s)) => out.name = Some(s.clone()),
            ("version", DynSolValue::String(s)) => out.version = Some(s.clone()),
            ("chainId", DynSolValue::Uint(n, 256)) => out.chain_id = Some(*n),
            ("verifyingContract", DynSolValue::Address(a)) => {
                out.verifying_contract = Some((*a).into())
            }
            ("salt", DynSolValue::FixedBytes(word, 32)) => out.salt = Some(*word),
            _ => {}
        }
    }
    out
}
