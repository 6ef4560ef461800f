//! Builders for the payloads the DIMO registry contracts verify (DESIGN.md, "EIP-712").

use alloy_primitives::U256;
use serde_json::{Value, json};

use super::TypedData;
use crate::identity::Address;

/// The domain name the DIMO registry uses.
pub const DIMO_DOMAIN_NAME: &str = "DIMO";
/// The domain version the DIMO registry uses.
pub const DIMO_DOMAIN_VERSION: &str = "1";

const CLAIM: &str = "ClaimAftermarketDeviceSign";
const PAIR: &str = "PairAftermarketDeviceSign";
const UNPAIR: &str = "UnPairAftermarketDeviceSign";
const MINT: &str = "MintVehicleWithDeviceDefinitionSign";

const CLAIM_FIELDS: &[(&str, &str)] = &[("aftermarketDeviceNode", "uint256"), ("owner", "address")];
const PAIR_FIELDS: &[(&str, &str)] = &[
    ("aftermarketDeviceNode", "uint256"),
    ("vehicleNode", "uint256"),
];
const MINT_FIELDS: &[(&str, &str)] = &[
    ("manufacturerNode", "uint256"),
    ("owner", "address"),
    ("deviceDefinitionId", "string"),
    ("attributes", "string[]"),
    ("infos", "string[]"),
];
const DOMAIN_FIELDS: &[(&str, &str)] = &[
    ("name", "string"),
    ("version", "string"),
    ("chainId", "uint256"),
    ("verifyingContract", "address"),
];

/// The registry's signing domain: name `DIMO`, version `1`, chain id and contract from
/// configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DimoDomain {
    /// EIP-155 chain id.
    pub chain_id: U256,
    /// The registry contract.
    pub verifying_contract: Address,
}

/// One of the four payloads the DIMO registry accepts from devices and owners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DimoPayload {
    /// `ClaimAftermarketDeviceSign(uint256 aftermarketDeviceNode,address owner)`.
    Claim {
        /// The device's node id.
        aftermarket_device_node: U256,
        /// The claiming owner.
        owner: Address,
    },
    /// `PairAftermarketDeviceSign(uint256 aftermarketDeviceNode,uint256 vehicleNode)`.
    Pair {
        /// The device's node id.
        aftermarket_device_node: U256,
        /// The vehicle's node id.
        vehicle_node: U256,
    },
    /// `UnPairAftermarketDeviceSign(uint256 aftermarketDeviceNode,uint256 vehicleNode)`.
    Unpair {
        /// The device's node id.
        aftermarket_device_node: U256,
        /// The vehicle's node id.
        vehicle_node: U256,
    },
    /// `MintVehicleWithDeviceDefinitionSign(uint256 manufacturerNode,address owner,string
    /// deviceDefinitionId,string[] attributes,string[] infos)`.
    MintVehicleWithDeviceDefinition {
        /// The manufacturer's node id.
        manufacturer_node: U256,
        /// The vehicle's owner.
        owner: Address,
        /// The device definition.
        device_definition_id: String,
        /// Attribute names, paired by position with `infos`.
        attributes: Vec<String>,
        /// Attribute values.
        infos: Vec<String>,
    },
}

impl DimoPayload {
    /// The EIP-712 primary type name.
    pub fn primary_type(&self) -> &'static str {
        match self {
            DimoPayload::Claim { .. } => CLAIM,
            DimoPayload::Pair { .. } => PAIR,
            DimoPayload::Unpair { .. } => UNPAIR,
            DimoPayload::MintVehicleWithDeviceDefinition { .. } => MINT,
        }
    }

    /// The `eth_signTypedData_v4` JSON for this payload in `domain`. Integers are written as
    /// decimal strings so that no JSON reader loses precision.
    pub fn to_json(&self, domain: &DimoDomain) -> Value {
        let primary = self.primary_type();
        let message = match self {
            DimoPayload::Claim {
                aftermarket_device_node,
                owner,
            } => json!({
                "aftermarketDeviceNode": aftermarket_device_node.to_string(),
                "owner": owner.to_checksum(),
            }),
            DimoPayload::Pair {
                aftermarket_device_node,
                vehicle_node,
            }
            | DimoPayload::Unpair {
                aftermarket_device_node,
                vehicle_node,
            } => json!({
                "aftermarketDeviceNode": aftermarket_device_node.to_string(),
                "vehicleNode": vehicle_node.to_string(),
            }),
            DimoPayload::MintVehicleWithDeviceDefinition {
                manufacturer_node,
                owner,
                device_definition_id,
                attributes,
                infos,
            } => json!({
                "manufacturerNode": manufacturer_node.to_string(),
                "owner": owner.to_checksum(),
                "deviceDefinitionId": device_definition_id,
                "attributes": attributes,
                "infos": infos,
            }),
        };
        json!({
            "types": {
                "EIP712Domain": fields_json(DOMAIN_FIELDS),
                primary: fields_json(fields_of(primary).unwrap_or_default()),
            },
            "primaryType": primary,
            "domain": {
                "name": DIMO_DOMAIN_NAME,
                "version": DIMO_DOMAIN_VERSION,
                "chainId": domain.chain_id.to_string(),
                "verifyingContract": domain.verifying_contract.to_checksum(),
            },
            "message": message,
        })
    }

    /// The checked, hashed payload, ready to sign.
    pub fn typed_data(&self, domain: &DimoDomain) -> TypedData {
        TypedData::from_value(&self.to_json(domain))
            // Every field is typed here and the type table is fixed; the tests in
            // eip712_dimo.rs hash each variant, so a failure would be a bug in this file.
            .expect("DIMO payloads built from typed fields are valid EIP-712")
    }
}

/// The `encodeType` string of a DIMO primary type, or `None` for any other name.
pub fn dimo_encode_type(primary_type: &str) -> Option<String> {
    let fields = fields_of(primary_type)?;
    let members: Vec<String> = fields
        .iter()
        .map(|(name, ty)| format!("{ty} {name}"))
        .collect();
    Some(format!("{primary_type}({})", members.join(",")))
}

/// The names of the DIMO primary types.
pub(crate) const DIMO_PRIMARY_TYPES: [&str; 4] = [CLAIM, PAIR, UNPAIR, MINT];

fn fields_of(primary_type: &str) -> Option<&'static [(&'static str, &'static str)]> {
    match primary_type {
        CLAIM => Some(CLAIM_FIELDS),
        PAIR | UNPAIR => Some(PAIR_FIELDS),
        MINT => Some(MINT_FIELDS),
        _ => None,
    }
}

fn fields_json(fields: &[(&str, &str)]) -> Value {
    Value::Array(
        fields
            .iter()
            .map(|(name, ty)| json!({"name": name, "type": ty}))
            .collect(),
    )
}
