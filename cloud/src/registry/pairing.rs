//! Pairing and unpairing a vehicle with an aftermarket device:
//! `PairAftermarketDeviceSign` / `UnPairAftermarketDeviceSign(aftermarketDeviceNode,
//! vehicleNode)`. When one account owns both, its wallet signs; when the device belongs to
//! someone else, the device's own signature is required as well, and it must come with the
//! request (proof of possession): the cloud asks a device to sign only for its owner.

use pitlane_shared::eip712::{DimoPayload, U256};
use pitlane_shared::identity::{Address, Signature};

use super::RegistryError;
use super::devices::{AftermarketDevice, device_by_serial, device_by_token};
use super::ledger::{CallOutcome, Effect, SignedCall};
use super::mint::owned_vehicle;
use super::signatures::{
    Ctx, DEVICE_FIELD, Given, device_signature, signed_by_wallet, user_wallet,
};
use super::vehicles::{
    VehicleToken, paired_device, pairing_of_device_token, vehicle_of_user_device,
};
use crate::db::Db;

/// Pair or unpair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Pair,
    Unpair,
}

/// The signatures of a pairing call (`signature` is the vehicle owner's).
pub type PairSignatures = Given;

/// A pairing call about to be signed.
#[derive(Debug, Clone)]
pub struct PairPlan {
    pub vehicle: VehicleToken,
    pub device: AftermarketDevice,
    pub owner: Address,
    /// Whether the device belongs to another account (then the device signs too).
    pub foreign_device: bool,
    pub payload: DimoPayload,
}

async fn minted(
    db: &Db,
    user_id: &str,
    user_device_id: &str,
) -> Result<VehicleToken, RegistryError> {
    let vehicle = owned_vehicle(db, user_id, user_device_id).await?;
    vehicle_of_user_device(db, &vehicle.id)
        .await?
        .ok_or_else(|| {
            RegistryError::Conflict("the vehicle is not minted yet: mint it first".into())
        })
}

/// The payload for pairing the user's vehicle with the device whose serial is `external_id`.
pub async fn pair_payload(
    db: &Db,
    user_id: &str,
    user_device_id: &str,
    external_id: &str,
) -> Result<PairPlan, RegistryError> {
    let vehicle = minted(db, user_id, user_device_id).await?;
    let device = device_by_serial(db, external_id)
        .await?
        .ok_or(RegistryError::NotFound("aftermarket device"))?;
    let Some(device_owner) = &device.owner_user_id else {
        return Err(RegistryError::Conflict(
            "the device is not claimed yet: claim it first".into(),
        ));
    };
    if let Some(p) = paired_device(db, vehicle.token_id).await? {
        return Err(RegistryError::Conflict(format!(
            "the vehicle is already paired with device {}",
            p.aftermarket_token_id
        )));
    }
    if pairing_of_device_token(db, device.token_id)
        .await?
        .is_some()
    {
        return Err(RegistryError::Conflict(
            "the device is already paired with a vehicle".into(),
        ));
    }
    let foreign_device = device_owner != user_id;
    plan(db, user_id, Action::Pair, vehicle, device, foreign_device).await
}

/// The plan of `action` between `vehicle` and `device`, signed by `user_id`'s wallet.
async fn plan(
    db: &Db,
    user_id: &str,
    action: Action,
    vehicle: VehicleToken,
    device: AftermarketDevice,
    foreign_device: bool,
) -> Result<PairPlan, RegistryError> {
    let owner = user_wallet(db, user_id).await?;
    let (aftermarket_device_node, vehicle_node) =
        (U256::from(device.token_id), U256::from(vehicle.token_id));
    let payload = match action {
        Action::Pair => DimoPayload::Pair {
            aftermarket_device_node,
            vehicle_node,
        },
        Action::Unpair => DimoPayload::Unpair {
            aftermarket_device_node,
            vehicle_node,
        },
    };
    Ok(PairPlan {
        vehicle,
        device,
        owner,
        foreign_device,
        payload,
    })
}

/// The payload for unpairing the user's vehicle from its device.
pub async fn unpair_payload(
    db: &Db,
    user_id: &str,
    user_device_id: &str,
) -> Result<PairPlan, RegistryError> {
    let vehicle = minted(db, user_id, user_device_id).await?;
    let paired = paired_device(db, vehicle.token_id)
        .await?
        .ok_or_else(|| RegistryError::Conflict("the vehicle is not paired".into()))?;
    let device = device_by_token(db, paired.aftermarket_token_id)
        .await?
        .ok_or(RegistryError::NotFound("aftermarket device"))?;
    let foreign_device = device.owner_user_id.as_deref() != Some(user_id);
    plan(db, user_id, Action::Unpair, vehicle, device, foreign_device).await
}

/// Verifies the signatures and records the pairing or unpairing.
pub async fn execute(
    ctx: &Ctx<'_>,
    action: Action,
    user_id: &str,
    user_device_id: &str,
    external_id: Option<&str>,
    signatures: &PairSignatures,
) -> Result<CallOutcome, RegistryError> {
    let given = signatures.presented(ctx.db, "signature").await?;
    let plan = match action {
        Action::Pair => {
            let external_id = external_id.ok_or_else(|| {
                RegistryError::BadInput("externalId (the device's serial) is required".into())
            })?;
            pair_payload(ctx.db, user_id, user_device_id, external_id).await?
        }
        Action::Unpair => {
            let plan = unpair_payload(ctx.db, user_id, user_device_id).await?;
            if let Some(external_id) = external_id
                && external_id != plan.device.serial
            {
                return Err(RegistryError::BadInput(format!(
                    "externalId: the vehicle is paired with another device than {external_id}"
                )));
            }
            plan
        }
    };
    let typed = signed_by_wallet(ctx, "signature", &plan.payload, &given.user, &plan.owner)?;
    let mut all: Vec<(&'static str, Signature)> = vec![("user", given.user)];
    if plan.foreign_device || given.device.is_some() {
        // Never ask a device to consent on behalf of an account that does not own it.
        let device = device_signature(
            ctx,
            DEVICE_FIELD,
            given.device,
            &typed,
            &plan.device.address,
            !plan.foreign_device,
        )
        .await?;
        all.push(("aftermarketDevice", device));
    }
    let (device, vehicle) = (plan.device.token_id, plan.vehicle.token_id);
    ctx.registry
        .submit(
            ctx.db,
            SignedCall {
                user_id: user_id.to_owned(),
                payload: typed.to_json(),
                payload_hash: typed.signing_hash(),
                signatures: all,
                effect: match action {
                    Action::Pair => Effect::Pair { device, vehicle },
                    Action::Unpair => Effect::Unpair { device, vehicle },
                },
            },
        )
        .await
}
