//! Ethereum addresses: parsed once, shown with the EIP-55 checksum, lowercase in topics.

use std::fmt;
use std::str::FromStr;

use k256::ecdsa::VerifyingKey;

/// Why a string is not an Ethereum address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// The text does not start with `0x`.
    #[error("an address must start with 0x")]
    MissingPrefix,
    /// Not 40 hex digits after the prefix.
    #[error("an address has 40 hex digits after 0x, got {got}")]
    Length {
        /// Number of characters after `0x`.
        got: usize,
    },
    /// A character that is not a hex digit.
    #[error("an address may hold only hex digits after 0x")]
    NotHex,
    /// Mixed case that does not match the EIP-55 checksum (a typo, most likely).
    #[error("mixed-case address fails its EIP-55 checksum (expected {expected})")]
    Checksum {
        /// The correctly checksummed spelling of the same 20 bytes.
        expected: String,
    },
}

/// A 20-byte Ethereum address.
///
/// Parsing accepts all-lowercase, all-uppercase or correctly EIP-55-checksummed hex with a
/// `0x` prefix. [`fmt::Display`] writes the EIP-55 form; [`Address::to_lowercase_hex`] the form
/// MQTT topics and client ids use.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address([u8; 20]);

impl Address {
    /// The all-zero address.
    pub const ZERO: Address = Address([0; 20]);

    /// Wraps 20 raw bytes.
    pub const fn from_bytes(bytes: [u8; 20]) -> Self {
        Address(bytes)
    }

    /// The 20 raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// The address of a public key: the last 20 bytes of keccak256 of the uncompressed point.
    pub fn from_public_key(key: &VerifyingKey) -> Self {
        Self::from_uncompressed_point(key.to_encoded_point(false).as_bytes())
    }

    /// The address of an uncompressed SEC1 point (0x04 ‖ x ‖ y, 65 bytes): the address hashes
    /// x ‖ y.
    pub(crate) fn from_uncompressed_point(point: &[u8]) -> Self {
        let hash = alloy_primitives::keccak256(point.get(1..).unwrap_or_default());
        let mut bytes = [0u8; 20];
        bytes.copy_from_slice(&hash[12..]);
        Address(bytes)
    }

    /// EIP-55 mixed-case checksum form, e.g. `0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826`.
    pub fn to_checksum(&self) -> String {
        alloy_primitives::Address::from(self.0).to_checksum(None)
    }

    /// Lowercase form, e.g. `0xcd2a3d9f938e13cd947ec05abc7fe734df8dd826` (MQTT topics).
    pub fn to_lowercase_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.strip_prefix("0x").ok_or(AddressError::MissingPrefix)?;
        if digits.len() != 40 {
            return Err(AddressError::Length { got: digits.len() });
        }
        let mut bytes = [0u8; 20];
        hex::decode_to_slice(digits, &mut bytes).map_err(|_| AddressError::NotHex)?;
        let address = Address(bytes);
        let has_lower = digits.bytes().any(|b| b.is_ascii_lowercase());
        let has_upper = digits.bytes().any(|b| b.is_ascii_uppercase());
        if has_lower && has_upper {
            let expected = address.to_checksum();
            if expected[2..] != *digits {
                return Err(AddressError::Checksum { expected });
            }
        }
        Ok(address)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_checksum())
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({})", self.to_checksum())
    }
}

impl From<alloy_primitives::Address> for Address {
    fn from(value: alloy_primitives::Address) -> Self {
        Address(value.into_array())
    }
}

impl From<Address> for alloy_primitives::Address {
    fn from(value: Address) -> Self {
        alloy_primitives::Address::from(value.0)
    }
}

impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_checksum())
    }
}

impl<'de> serde::Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, AddressError>) {
        let got = input.parse::<Address>().map(|a| a.to_checksum());
        assert_eq!(got, expected.map(str::to_owned), "input {input:?}");
    }

    #[test]
    fn parses_and_checksums() {
        // Checksummed examples from the EIP-55 specification.
        let spec = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
        check(spec, Ok(spec));
        check(&spec.to_lowercase(), Ok(spec));
        check(&format!("0x{}", spec[2..].to_uppercase()), Ok(spec));
        check(
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            Ok("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"),
        );
        check(
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD",
            Err(AddressError::Checksum {
                expected: spec.to_owned(),
            }),
        );
        check(
            "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            Err(AddressError::MissingPrefix),
        );
        check(
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA",
            Err(AddressError::Length { got: 38 }),
        );
        check("0x", Err(AddressError::Length { got: 0 }));
        check(
            "0xzzAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            Err(AddressError::NotHex),
        );
    }

    #[test]
    fn lowercase_and_serde_round_trip() {
        let a: Address = "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"
            .parse()
            .unwrap();
        assert_eq!(
            a.to_lowercase_hex(),
            "0xcd2a3d9f938e13cd947ec05abc7fe734df8dd826"
        );
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, "\"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826\"");
        assert_eq!(serde_json::from_str::<Address>(&json).unwrap(), a);
        assert!(serde_json::from_str::<Address>("\"0x12\"").is_err());
    }
}
