//! VINs confirmed by the paired device: the device signs keccak256 of the VIN's ASCII bytes
//! with its identity key (a raw 32-byte hash signature, not EIP-191).

use pitlane_shared::identity::keccak256;

use super::RegistryError;
use super::signatures::SignatureInput;
use super::vehicles::{paired_device, vehicle_of_user_device};
use crate::db::Db;

/// Checks that `signature` is the signature of keccak256(`vin`) by the device paired to the
/// vehicle `user_device_id`.
pub async fn check_device_vin_signature(
    db: &Db,
    user_device_id: &str,
    vin: &str,
    signature: &SignatureInput,
) -> Result<(), RegistryError> {
    let signature = signature.parse("signature")?;
    let vehicle = vehicle_of_user_device(db, user_device_id)
        .await?
        .ok_or_else(|| {
            RegistryError::BadSignature(
                "signature: the vehicle is not minted, so no device is paired".into(),
            )
        })?;
    let paired = paired_device(db, vehicle.token_id).await?.ok_or_else(|| {
        RegistryError::BadSignature("signature: no device is paired with the vehicle".into())
    })?;
    let recovered = signature
        .recover(&keccak256(vin.as_bytes()))
        .map_err(|e| RegistryError::BadSignature(format!("signature: {e}")))?;
    if recovered != paired.address {
        return Err(RegistryError::BadSignature(format!(
            "signature: recovers to {recovered}, not to the paired device {}",
            paired.address
        )));
    }
    Ok(())
}
