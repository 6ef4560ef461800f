//! EIP-712 typed-data hashing and signing, and the DIMO-compatible payload builders.
//!
//! [`TypedData`] takes an `eth_signTypedData_v4` payload (`types`, `primaryType`, `domain`,
//! `message`), checks every type and value against the specification — naming the offending
//! field in every error — and hashes it with alloy's dynamic EIP-712 encoder. Numbers may be
//! JSON integers, decimal strings or 0x hex; `bytes` and `bytesN` are 0x hex; addresses are
//! 0x hex, lowercase or EIP-55 checksummed. Types must be acyclic, and a message must carry
//! exactly the fields its type declares, so a signature covers everything the payload shows.

mod coerce;
mod dimo;
mod policy;
mod typed_data;
mod types;

pub use alloy_primitives::U256;
pub use dimo::{DIMO_DOMAIN_NAME, DIMO_DOMAIN_VERSION, DimoDomain, DimoPayload, dimo_encode_type};
pub use policy::{PolicyViolation, SigningPolicy};
pub use typed_data::{Domain, TypedData, TypedDataSignature};

use crate::identity::AddressError;

/// Why a typed-data payload cannot be hashed. Every variant names where the problem is:
/// `types.Mail[1].type`, `domain.chainId`, `message.to[2].wallet` and so on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Eip712Error {
    /// The text is not JSON at all.
    #[error("malformed JSON: {0}")]
    Json(String),
    /// A part of the payload has the wrong JSON shape (missing key, object expected, ...).
    #[error("{path}: {reason}")]
    Shape {
        /// Where.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A type name or field name that EIP-712 does not allow.
    #[error("{path}: invalid name `{name}`: {reason}")]
    InvalidName {
        /// Where.
        path: String,
        /// The name.
        name: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// A field refers to a type that is neither elementary nor defined in `types`.
    #[error("{path}: unknown type `{type_name}`")]
    UnknownType {
        /// Where.
        path: String,
        /// The unknown type.
        type_name: String,
    },
    /// The type definitions refer to themselves.
    #[error("cyclic type definition: {cycle}")]
    CyclicType {
        /// The cycle, e.g. `Mail -> Person -> Mail`.
        cycle: String,
    },
    /// A declared field is absent from the value.
    #[error("{path}: missing field `{field}` of type {type_name}")]
    MissingField {
        /// The struct value.
        path: String,
        /// The absent field.
        field: String,
        /// The struct type.
        type_name: String,
    },
    /// The value has a field its type does not declare (it would not be signed).
    #[error("{path}: field is not declared in type {type_name}")]
    UndeclaredField {
        /// The extra field.
        path: String,
        /// The struct type.
        type_name: String,
    },
    /// The value has the wrong JSON kind for its type.
    #[error("{path}: expected {expected} for type {type_name}, got {got}")]
    WrongKind {
        /// Where.
        path: String,
        /// The EIP-712 type.
        type_name: String,
        /// The JSON forms the type accepts.
        expected: &'static str,
        /// The JSON kind found.
        got: &'static str,
    },
    /// A number outside its type's range, or too long bytes.
    #[error("{path}: {value} is out of range for {type_name}")]
    OutOfRange {
        /// Where.
        path: String,
        /// The EIP-712 type.
        type_name: String,
        /// The value as given (shortened when long).
        value: String,
    },
    /// A value of the right kind that cannot be read as its type.
    #[error("{path}: invalid {type_name}: {reason}")]
    InvalidValue {
        /// Where.
        path: String,
        /// The EIP-712 type.
        type_name: String,
        /// Why.
        reason: String,
    },
    /// A malformed address.
    #[error("{path}: invalid address: {source}")]
    Address {
        /// Where.
        path: String,
        /// Why.
        source: AddressError,
    },
    /// A fixed-size array with the wrong number of elements.
    #[error("{path}: type {type_name} needs {expected} elements, got {got}")]
    ArrayLength {
        /// Where.
        path: String,
        /// The array type.
        type_name: String,
        /// Declared length.
        expected: usize,
        /// Given length.
        got: usize,
    },
    /// The encoder refused input that passed validation (a bug on our side if it happens).
    #[error("EIP-712 encoding failed: {0}")]
    Encoding(String),
}

impl From<alloy_dyn_abi::Error> for Eip712Error {
    fn from(e: alloy_dyn_abi::Error) -> Self {
        Eip712Error::Encoding(e.to_string())
    }
}
