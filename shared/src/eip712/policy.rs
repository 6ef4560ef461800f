//! What the device agrees to sign: its configured domain, known primary types, its own node.

use alloy_primitives::U256;

use super::dimo::{DIMO_DOMAIN_NAME, DIMO_DOMAIN_VERSION, DIMO_PRIMARY_TYPES, dimo_encode_type};
use super::{DimoDomain, TypedData};
use crate::identity::Address;

/// The message field that names the device a payload is about.
const DEVICE_NODE_FIELD: &str = "aftermarketDeviceNode";

/// The signing policy: anything that does not match is refused, naming the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningPolicy {
    /// Required `domain.name`.
    pub domain_name: String,
    /// Required `domain.version`.
    pub domain_version: String,
    /// Required `domain.chainId`.
    pub chain_id: U256,
    /// Required `domain.verifyingContract`.
    pub verifying_contract: Address,
    /// Primary types the device signs.
    pub allowed_primary_types: Vec<String>,
    /// The device's own node id; payloads with an `aftermarketDeviceNode` must carry it.
    pub device_node: Option<U256>,
}

/// The registry's domain type; a domain with other fields (a salt, say) is another domain.
const DIMO_DOMAIN_TYPE: &str =
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";

/// Why the policy refused a payload; [`PolicyViolation::rule`] names the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    /// The domain declares other fields than name, version, chainId and verifyingContract.
    #[error(
        "refused by rule `domain.fields`: the domain must be {DIMO_DOMAIN_TYPE}, payload has {got}"
    )]
    DomainFields {
        /// The payload's domain type.
        got: String,
    },
    /// `domain.name` differs.
    #[error("refused by rule `domain.name`: expected {expected:?}, payload has {got:?}")]
    DomainName {
        /// Configured.
        expected: String,
        /// In the payload.
        got: Option<String>,
    },
    /// `domain.version` differs.
    #[error("refused by rule `domain.version`: expected {expected:?}, payload has {got:?}")]
    DomainVersion {
        /// Configured.
        expected: String,
        /// In the payload.
        got: Option<String>,
    },
    /// `domain.chainId` differs or is absent.
    #[error(
        "refused by rule `domain.chainId`: expected chain {expected}, payload has {}",
        show(got)
    )]
    ChainId {
        /// Configured.
        expected: U256,
        /// In the payload.
        got: Option<U256>,
    },
    /// `domain.verifyingContract` differs or is absent.
    #[error(
        "refused by rule `domain.verifyingContract`: expected {expected}, payload has {}",
        show(got)
    )]
    VerifyingContract {
        /// Configured.
        expected: Address,
        /// In the payload.
        got: Option<Address>,
    },
    /// The primary type is not on the allowed list.
    #[error("refused by rule `primaryType`: {got} is not one of the allowed types ({})", allowed.join(", "))]
    PrimaryType {
        /// In the payload.
        got: String,
        /// Configured.
        allowed: Vec<String>,
    },
    /// A known primary type defined with other fields than the registry's.
    #[error(
        "refused by rule `typeDefinition`: {primary_type} must be defined as {expected}, payload defines {got}"
    )]
    TypeDefinition {
        /// The primary type.
        primary_type: String,
        /// The registry's definition.
        expected: String,
        /// The payload's definition.
        got: String,
    },
    /// The payload is about another device.
    #[error(
        "refused by rule `deviceNode`: payload is for device node {got}, this device is node {}",
        show(expected)
    )]
    DeviceNode {
        /// Configured (None: the device has no node yet).
        expected: Option<U256>,
        /// In the payload.
        got: U256,
    },
}

fn show<T: std::fmt::Display>(value: &Option<T>) -> String {
    value
        .as_ref()
        .map_or_else(|| "none".to_owned(), T::to_string)
}

impl PolicyViolation {
    /// The name of the rule that refused: `domain.fields`, `domain.name`, `domain.version`, `domain.chainId`,
    /// `domain.verifyingContract`, `primaryType`, `typeDefinition` or `deviceNode`.
    pub fn rule(&self) -> &'static str {
        match self {
            PolicyViolation::DomainFields { .. } => "domain.fields",
            PolicyViolation::DomainName { .. } => "domain.name",
            PolicyViolation::DomainVersion { .. } => "domain.version",
            PolicyViolation::ChainId { .. } => "domain.chainId",
            PolicyViolation::VerifyingContract { .. } => "domain.verifyingContract",
            PolicyViolation::PrimaryType { .. } => "primaryType",
            PolicyViolation::TypeDefinition { .. } => "typeDefinition",
            PolicyViolation::DeviceNode { .. } => "deviceNode",
        }
    }
}

impl SigningPolicy {
    /// The DIMO policy: domain `DIMO`/`1` at `domain`, the four registry primary types.
    pub fn dimo(domain: DimoDomain, device_node: Option<U256>) -> Self {
        SigningPolicy {
            domain_name: DIMO_DOMAIN_NAME.to_owned(),
            domain_version: DIMO_DOMAIN_VERSION.to_owned(),
            chain_id: domain.chain_id,
            verifying_contract: domain.verifying_contract,
            allowed_primary_types: DIMO_PRIMARY_TYPES.iter().map(|t| (*t).to_owned()).collect(),
            device_node,
        }
    }

    /// Accepts `typed` or says which rule refuses it. Rules are checked in the order the
    /// variants of [`PolicyViolation`] are listed.
    pub fn check(&self, typed: &TypedData) -> Result<(), PolicyViolation> {
        if typed.domain_encode_type() != DIMO_DOMAIN_TYPE {
            return Err(PolicyViolation::DomainFields {
                got: typed.domain_encode_type().to_owned(),
            });
        }
        let domain = typed.domain();
        if domain.name.as_deref() != Some(self.domain_name.as_str()) {
            return Err(PolicyViolation::DomainName {
                expected: self.domain_name.clone(),
                got: domain.name.clone(),
            });
        }
        if domain.version.as_deref() != Some(self.domain_version.as_str()) {
            return Err(PolicyViolation::DomainVersion {
                expected: self.domain_version.clone(),
                got: domain.version.clone(),
            });
        }
        if domain.chain_id != Some(self.chain_id) {
            return Err(PolicyViolation::ChainId {
                expected: self.chain_id,
                got: domain.chain_id,
            });
        }
        if domain.verifying_contract != Some(self.verifying_contract) {
            return Err(PolicyViolation::VerifyingContract {
                expected: self.verifying_contract,
                got: domain.verifying_contract,
            });
        }
        let primary = typed.primary_type();
        if !self.allowed_primary_types.iter().any(|t| t == primary) {
            return Err(PolicyViolation::PrimaryType {
                got: primary.to_owned(),
                allowed: self.allowed_primary_types.clone(),
            });
        }
        if let Some(expected) = dimo_encode_type(primary) {
            if typed.encode_type() != expected {
                return Err(PolicyViolation::TypeDefinition {
                    primary_type: primary.to_owned(),
                    expected,
                    got: typed.encode_type().to_owned(),
                });
            }
        }
        if let Some(node) = typed.message_uint(DEVICE_NODE_FIELD) {
            if self.device_node != Some(node) {
                return Err(PolicyViolation::DeviceNode {
                    expected: self.device_node,
                    got: node,
                });
            }
        }
        Ok(())
    }
}
