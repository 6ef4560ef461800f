//! Synthetic devices of Smartcar-connected vehicles: once a connected vehicle is minted (or a
//! minted vehicle gets connected), its connection's key signs DIMO's
//! `MintSyntheticDeviceSign(uint256 integrationNode,uint256 vehicleNode)` and the call goes
//! through the registry like every other, recorded in the ledger as `mint_synthetic`.
//!
//! The ledger needs no owner signature here: the owner authorized the connection with their
//! access token and Smartcar's consent screen. A chain backend would also need the owner's
//! signature over the same payload (DIMO's contract asks for both).

use pitlane_shared::eip712::TypedData;
use serde_json::json;

use super::{SmartcarError, TokenCipher, store};
use crate::db::Db;
use crate::registry::ledger::{Effect, Registry, SignedCall};
use crate::registry::vehicles::{SyntheticDevice, synthetic_of_vehicle, vehicle_of_user_device};
use crate::registry::{Chain, RegistryError};

/// The integration node of Smartcar (DIMO's integration token id for Smartcar).
pub const SMARTCAR_INTEGRATION_NODE: u64 = 1;
/// The `integration` recorded for Smartcar synthetic devices.
pub const INTEGRATION: &str = "smartcar";

/// The payload a synthetic device signs to be minted for `vehicle_node`.
pub fn mint_payload(chain: &Chain, vehicle_node: u64) -> Result<TypedData, RegistryError> {
    let field = |name: &str, ty: &str| json!({ "name": name, "type": ty });
    let payload = json!({
        "types": {
            "EIP712Domain": [
                field("name", "string"),
                field("version", "string"),
                field("chainId", "uint256"),
                field("verifyingContract", "address"),
            ],
            "MintSyntheticDeviceSign": [
                field("integrationNode", "uint256"),
                field("vehicleNode", "uint256"),
            ],
        },
        "primaryType": "MintSyntheticDeviceSign",
        "domain": {
            "name": "DIMO",
            "version": "1",
            "chainId": chain.domain.chain_id.to_string(),
            "verifyingContract": chain.domain.verifying_contract.to_checksum(),
        },
        "message": {
            "integrationNode": SMARTCAR_INTEGRATION_NODE.to_string(),
            "vehicleNode": vehicle_node.to_string(),
        },
    });
    TypedData::from_value(&payload)
        .map_err(|e| RegistryError::Corrupt(format!("synthetic device payload: {e}")))
}

/// Mints the synthetic device of a Smartcar-connected, minted vehicle unless it has one.
/// Answers the device, or None when the vehicle is not connected or not minted yet.
pub async fn ensure(
    db: &Db,
    registry: &dyn Registry,
    chain: &Chain,
    cipher: &TokenCipher,
    user_device_id: &str,
) -> Result<Option<SyntheticDevice>, SmartcarError> {
    let Some(connection) = store::connection(db, user_device_id).await? else {
        return Ok(None);
    };
    let Some(vehicle) = vehicle_of_user_device(db, user_device_id).await? else {
        return Ok(None);
    };
    if let Some(existing) = synthetic_of_vehicle(db, vehicle.token_id).await? {
        return Ok(Some(existing));
    }
    let key = store::device_key(db, cipher, user_device_id).await?;
    if key.address() != connection.address {
        return Err(RegistryError::Corrupt(format!(
            "the stored key of {user_device_id} is not the key of its address"
        ))
        .into());
    }
    let typed = mint_payload(chain, vehicle.token_id)?;
    let signed = typed.sign(&key);
    let submitted = registry
        .submit(
            db,
            SignedCall {
                user_id: vehicle.owner_user_id.clone(),
                payload: typed.to_json(),
                payload_hash: typed.signing_hash(),
                signatures: vec![("syntheticDevice", signed.signature)],
                effect: Effect::MintSynthetic {
                    vehicle: vehicle.token_id,
                    integration: INTEGRATION.into(),
                    address: connection.address.to_lowercase_hex(),
                },
            },
        )
        .await;
    match submitted {
        Ok(_) => {}
        // Another instance (or loop) minted it first: the ledger refused ours as a whole.
        Err(RegistryError::Conflict(_)) => {}
        Err(e) if is_replay(&e) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(synthetic_of_vehicle(db, vehicle.token_id).await?)
}

/// The same key signing the same payload twice yields the same signature (RFC 6979), so a
/// concurrent mint shows up as a replayed signature.
fn is_replay(e: &RegistryError) -> bool {
    matches!(e, RegistryError::BadSignature(m) if m == crate::registry::ledger::REPLAYED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pitlane_shared::eip712::{DimoDomain, U256};
    use pitlane_shared::identity::{Address, DeviceKey};

    #[test]
    fn the_payload_is_signed_by_the_connection_key() {
        let address: Address = "0x5eAA326fB2fc97fAcCe6A79A304876daD0F2e96c"
            .parse()
            .expect("address");
        let chain = Chain {
            domain: DimoDomain {
                chain_id: U256::from(80002u64),
                verifying_contract: address,
            },
            vehicle_nft: address,
            aftermarket_device_nft: address,
            synthetic_device_nft: address,
        };
        let typed = mint_payload(&chain, 7).expect("payload");
        assert_eq!(
            typed.encode_type(),
            "MintSyntheticDeviceSign(uint256 integrationNode,uint256 vehicleNode)"
        );
        assert_eq!(typed.message()["vehicleNode"], "7");
        let key = DeviceKey::generate();
        let signed = typed.sign(&key);
        assert_eq!(
            typed.recover_signer(&signed.signature).expect("recover"),
            key.address()
        );
        assert_ne!(
            mint_payload(&chain, 8).expect("payload").signing_hash(),
            typed.signing_hash()
        );
    }
}
