//! Vehicle tokens (minted user devices), synthetic devices and pairings with aftermarket
//! devices.

use pitlane_shared::identity::Address;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{RegistryError, db_id, stored_address, token_id};
use crate::accounts::now;
use crate::db::{Db, is_unique_violation};

/// A minted vehicle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VehicleToken {
    pub token_id: u64,
    pub user_device_id: String,
    pub owner_user_id: String,
    pub manufacturer_node: u64,
    pub opted_in_at: Option<i64>,
    pub minted_at: i64,
}

/// A vehicle and the aftermarket device paired to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairedDevice {
    pub aftermarket_token_id: u64,
    pub address: Address,
    pub vehicle_token_id: u64,
    pub user_device_id: String,
    pub owner_user_id: String,
}

/// A synthetic device (a software connection's token) bound to a vehicle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticDevice {
    pub token_id: u64,
    pub vehicle_token_id: u64,
    pub integration: String,
    pub address: Address,
    pub minted_at: i64,
}

const SELECT_VEHICLE: &str = "SELECT token_id, user_device_id, owner_user_id, manufacturer_node, \
    opted_in_at, minted_at FROM vehicle_tokens";

fn vehicle_from_row(row: &AnyRow) -> Result<VehicleToken, RegistryError> {
    Ok(VehicleToken {
        token_id: token_id(row.try_get("token_id")?)?,
        user_device_id: row.try_get("user_device_id")?,
        owner_user_id: row.try_get("owner_user_id")?,
        manufacturer_node: token_id(row.try_get("manufacturer_node")?)?,
        opted_in_at: row.try_get("opted_in_at")?,
        minted_at: row.try_get("minted_at")?,
    })
}

/// The vehicle token of a user device, when it has been minted.
pub async fn vehicle_of_user_device(
    db: &Db,
    user_device_id: &str,
) -> Result<Option<VehicleToken>, RegistryError> {
    let row = sqlx::query(&format!("{SELECT_VEHICLE} WHERE user_device_id = $1"))
        .bind(user_device_id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(vehicle_from_row).transpose()
}

/// The vehicle with this token id.
pub async fn vehicle_by_token(db: &Db, token: u64) -> Result<Option<VehicleToken>, RegistryError> {
    let Some(id) = db_id(token) else {
        return Ok(None);
    };
    let row = sqlx::query(&format!("{SELECT_VEHICLE} WHERE token_id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(vehicle_from_row).transpose()
}

/// Marks the vehicle as opted in to data sharing (idempotent: the first time is kept).
pub async fn opt_in(db: &Db, vehicle_token_id: u64) -> Result<i64, RegistryError> {
    let id = db_id(vehicle_token_id).ok_or(RegistryError::NotFound("vehicle"))?;
    sqlx::query(
        "UPDATE vehicle_tokens SET opted_in_at = $1 WHERE token_id = $2 AND opted_in_at IS NULL",
    )
    .bind(now())
    .bind(id)
    .execute(&db.pool)
    .await?;
    let at: Option<i64> =
        sqlx::query_scalar("SELECT opted_in_at FROM vehicle_tokens WHERE token_id = $1")
            .bind(id)
            .fetch_optional(&db.pool)
            .await?
            .flatten();
    at.ok_or(RegistryError::NotFound("vehicle"))
}

const SELECT_PAIRED: &str = "SELECT p.aftermarket_token_id, a.address, p.vehicle_token_id, \
    v.user_device_id, v.owner_user_id FROM pairings p \
    JOIN aftermarket_devices a ON a.token_id = p.aftermarket_token_id \
    JOIN vehicle_tokens v ON v.token_id = p.vehicle_token_id";

fn paired_from_row(row: &AnyRow) -> Result<PairedDevice, RegistryError> {
    let address: String = row.try_get("address")?;
    Ok(PairedDevice {
        aftermarket_token_id: token_id(row.try_get("aftermarket_token_id")?)?,
        address: stored_address(&address)?,
        vehicle_token_id: token_id(row.try_get("vehicle_token_id")?)?,
        user_device_id: row.try_get("user_device_id")?,
        owner_user_id: row.try_get("owner_user_id")?,
    })
}

/// The device paired to a vehicle.
pub async fn paired_device(
    db: &Db,
    vehicle_token_id: u64,
) -> Result<Option<PairedDevice>, RegistryError> {
    let Some(id) = db_id(vehicle_token_id) else {
        return Ok(None);
    };
    let row = sqlx::query(&format!("{SELECT_PAIRED} WHERE p.vehicle_token_id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(paired_from_row).transpose()
}

/// The vehicle a device (by address) is paired to.
pub async fn pairing_of_device(
    db: &Db,
    address: &Address,
) -> Result<Option<PairedDevice>, RegistryError> {
    let row = sqlx::query(&format!("{SELECT_PAIRED} WHERE a.address = $1"))
        .bind(address.to_lowercase_hex())
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(paired_from_row).transpose()
}

/// The vehicle a device (by token id) is paired to.
pub async fn pairing_of_device_token(
    db: &Db,
    aftermarket_token_id: u64,
) -> Result<Option<PairedDevice>, RegistryError> {
    let Some(id) = db_id(aftermarket_token_id) else {
        return Ok(None);
    };
    let row = sqlx::query(&format!(
        "{SELECT_PAIRED} WHERE p.aftermarket_token_id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(paired_from_row).transpose()
}

/// Records a synthetic device for a vehicle (a software connection's token).
pub async fn mint_synthetic_device(
    db: &Db,
    vehicle_token_id: u64,
    integration: &str,
    address: &Address,
) -> Result<SyntheticDevice, RegistryError> {
    let vehicle = db_id(vehicle_token_id).ok_or(RegistryError::NotFound("vehicle"))?;
    let ts = now();
    let inserted = sqlx::query(
        "INSERT INTO synthetic_devices (vehicle_token_id, integration, address, minted_at) \
         VALUES ($1, $2, $3, $4) RETURNING token_id",
    )
    .bind(vehicle)
    .bind(integration)
    .bind(address.to_lowercase_hex())
    .bind(ts)
    .fetch_one(&db.pool)
    .await;
    match inserted {
        Ok(row) => Ok(SyntheticDevice {
            token_id: token_id(row.try_get("token_id")?)?,
            vehicle_token_id,
            integration: integration.to_owned(),
            address: *address,
            minted_at: ts,
        }),
        Err(e) if is_unique_violation(&e) => Err(RegistryError::Conflict(
            "the vehicle or the address already has a synthetic device".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

/// The synthetic device with this token id.
pub async fn synthetic_device(
    db: &Db,
    token: u64,
) -> Result<Option<SyntheticDevice>, RegistryError> {
    let Some(id) = db_id(token) else {
        return Ok(None);
    };
    let row = sqlx::query(
        "SELECT token_id, vehicle_token_id, integration, address, minted_at \
         FROM synthetic_devices WHERE token_id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let address: String = row.try_get("address")?;
    Ok(Some(SyntheticDevice {
        token_id: token_id(row.try_get("token_id")?)?,
        vehicle_token_id: token_id(row.try_get("vehicle_token_id")?)?,
        integration: row.try_get("integration")?,
        address: stored_address(&address)?,
        minted_at: row.try_get("minted_at")?,
    }))
}

/// The synthetic device bound to a vehicle, if any.
pub async fn synthetic_of_vehicle(
    db: &Db,
    vehicle_token_id: u64,
) -> Result<Option<SyntheticDevice>, RegistryError> {
    let Some(id) = db_id(vehicle_token_id) else {
        return Ok(None);
    };
    let token: Option<i64> =
        sqlx::query_scalar("SELECT token_id FROM synthetic_devices WHERE vehicle_token_id = $1")
            .bind(id)
            .fetch_optional(&db.pool)
            .await?;
    match token {
        Some(token) => synthetic_device(db, super::token_id(token)?).await,
        None => Ok(None),
    }
}

/// Queues a refresh of a vehicle's status unless one was requested less than
/// `interval_secs` ago; then [`RegistryError::TooSoon`] says when to try again.
pub async fn queue_refresh(
    db: &Db,
    user_device_id: &str,
    interval_secs: i64,
    now: i64,
) -> Result<(), RegistryError> {
    let since = now - interval_secs;
    // One statement, so two simultaneous requests cannot both pass the check on SQLite.
    let done = sqlx::query(
        "INSERT INTO refresh_requests (user_device_id, status, requested_at) \
         SELECT $1, 'queued', $2 WHERE NOT EXISTS (SELECT 1 FROM refresh_requests \
         WHERE user_device_id = $1 AND requested_at > $3)",
    )
    .bind(user_device_id)
    .bind(now)
    .bind(since)
    .execute(&db.pool)
    .await?;
    if done.rows_affected() == 1 {
        return Ok(());
    }
    let last: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(requested_at) FROM refresh_requests WHERE user_device_id = $1",
    )
    .bind(user_device_id)
    .fetch_one(&db.pool)
    .await?;
    let wait = last.map_or(1, |last| (last + interval_secs - now).max(1));
    Err(RegistryError::TooSoon(u64::try_from(wait).unwrap_or(1)))
}
