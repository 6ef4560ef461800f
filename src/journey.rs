//! The user journey as one call: a wallet logs in (its account is created), claims a device
//! (the device co-signs over MQTT), creates the vehicle from the VIN the agent reported, mints
//! it, pairs it, and exchanges a privilege token for commands.

use std::time::Duration;

use pitlane_shared::identity::DeviceKey;

use crate::client::{Api, ApiError, PRIVILEGE_COMMANDS};

/// A wallet user owning a paired vehicle.
#[derive(Debug)]
pub struct Owner {
    pub wallet: DeviceKey,
    pub access: String,
    pub vin: String,
    pub user_device_id: String,
    pub vehicle: u64,
    pub privilege: String,
}

/// Retries `f` (a step the device must co-sign, so it must be online) until it succeeds or
/// `wait` has passed.
async fn retrying<T, F, Fut>(wait: Duration, mut f: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::info!("{e}; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Runs the journey for the device `serial` with a new wallet.
pub async fn own(
    api: &Api,
    serial: &str,
    vehicle_nft: &str,
    wait: Duration,
) -> Result<Owner, ApiError> {
    let wallet = DeviceKey::generate();
    let access = api.web3_login(&wallet).await?;
    retrying(wait, || api.claim(&access, &wallet, serial)).await?;
    let vin = api.wait_for_vin(&access, serial, wait).await?;
    let user_device_id = api.vehicle_from_vin(&access, &vin, "USA").await?;
    let vehicle = api.mint(&access, &wallet, &user_device_id).await?;
    retrying(wait, || api.pair(&access, &wallet, &user_device_id, serial)).await?;
    let privilege = api
        .privilege_token(&access, vehicle_nft, vehicle, &[PRIVILEGE_COMMANDS])
        .await?;
    Ok(Owner {
        wallet,
        access,
        vin,
        user_device_id,
        vehicle,
        privilege,
    })
}
