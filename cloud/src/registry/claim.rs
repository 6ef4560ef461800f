//! Claiming an aftermarket device: the owner's wallet and the device both sign
//! `ClaimAftermarketDeviceSign(aftermarketDeviceNode, owner)`.

use pitlane_shared::eip712::{DimoPayload, U256};
use pitlane_shared::identity::Address;

use super::RegistryError;
use super::devices::{AftermarketDevice, device_by_serial};
use super::ledger::{CallOutcome, Effect, SignedCall};
use super::signatures::{
    Ctx, DEVICE_FIELD, Given, device_signature, signed_by_wallet, user_wallet,
};
use crate::db::Db;

/// The signatures a claim carries; the device's may be omitted (then the device is asked).
pub type ClaimSignatures = Given;

/// The device named by `serial`, if it can still be claimed by `user_id`.
async fn claimable(
    db: &Db,
    user_id: &str,
    serial: &str,
) -> Result<AftermarketDevice, RegistryError> {
    let device = device_by_serial(db, serial)
        .await?
        .ok_or(RegistryError::NotFound("aftermarket device"))?;
    match &device.owner_user_id {
        None => Ok(device),
        Some(owner) if owner == user_id => Err(RegistryError::Conflict(
            "you have already claimed this device".into(),
        )),
        Some(_) => Err(RegistryError::Conflict(
            "the device is already claimed by another account".into(),
        )),
    }
}

/// A claim about to be signed: the device, the owner's wallet and the payload.
#[derive(Debug, Clone)]
pub struct ClaimPlan {
    pub device: AftermarketDevice,
    pub owner: Address,
    pub payload: DimoPayload,
}

/// The payload the caller's wallet and the device must sign to claim the device.
pub async fn claim_payload(
    db: &Db,
    user_id: &str,
    serial: &str,
) -> Result<ClaimPlan, RegistryError> {
    let device = claimable(db, user_id, serial).await?;
    let owner = user_wallet(db, user_id).await?;
    let payload = DimoPayload::Claim {
        aftermarket_device_node: U256::from(device.token_id),
        owner,
    };
    Ok(ClaimPlan {
        device,
        owner,
        payload,
    })
}

/// Verifies both signatures and records the claim. Nothing is recorded when a signature is
/// missing, malformed, made by the wrong key, or already used.
pub async fn claim(
    ctx: &Ctx<'_>,
    user_id: &str,
    serial: &str,
    signatures: &ClaimSignatures,
) -> Result<CallOutcome, RegistryError> {
    let given = signatures.presented(ctx.db, "userSignature").await?;
    let ClaimPlan {
        device,
        owner,
        payload,
    } = claim_payload(ctx.db, user_id, serial).await?;
    let typed = signed_by_wallet(ctx, "userSignature", &payload, &given.user, &owner)?;
    let device_signature = device_signature(
        ctx,
        DEVICE_FIELD,
        given.device,
        &typed,
        &device.address,
        true,
    )
    .await?;
    ctx.registry
        .submit(
            ctx.db,
            SignedCall {
                user_id: user_id.to_owned(),
                payload: typed.to_json(),
                payload_hash: typed.signing_hash(),
                signatures: vec![
                    ("user", given.user),
                    ("aftermarketDevice", device_signature),
                ],
                effect: Effect::Claim {
                    device: device.token_id,
                    owner_user_id: user_id.to_owned(),
                },
            },
        )
        .await
}
