//! Refreshing one Smartcar-connected vehicle: a valid access token (refreshed when it
//! expires within a minute), then the odometer and the location, stored as the vehicle's
//! newest telemetry under its synthetic device address, where the status API shows it.

use pitlane_shared::identity::Address;
use serde_json::json;

use super::client::{Call, CallError, Location};
use super::store::{self, Connection};
use super::{Smartcar, SmartcarError};
use crate::accounts::now;
use crate::config::Secret;
use crate::db::{Backend, Db};
use crate::telemetry::now_ms;

/// An access token expiring sooner than this (seconds) is refreshed first.
pub const TOKEN_MARGIN_SECS: i64 = 60;

/// The outcome of a request for a vehicle without a Smartcar connection.
pub const NO_CONNECTION: &str = "no software connection: the vehicle is not connected through \
    Smartcar; a paired aftermarket device reports on its own";

/// What one refresh read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub odometer_km: f64,
    pub location: Location,
    pub recorded_ms: i64,
}

/// The telemetry report of a reading, in the shape device telemetry is shown.
pub fn report(reading: &Reading) -> serde_json::Value {
    json!({
        "source": "smartcar",
        "ignition": null,
        "values": [
            { "name": "odometer", "value": reading.odometer_km, "unit": "km" },
            { "name": "latitude", "value": reading.location.latitude, "unit": "deg" },
            { "name": "longitude", "value": reading.location.longitude, "unit": "deg" },
        ],
    })
}

/// A valid access token of the connection's authorization, refreshed when needed. `lock`
/// serialises refreshes within this instance; on PostgreSQL the grant row is also locked
/// (`FOR UPDATE`) while Smartcar is asked, so other instances wait for the new tokens.
pub async fn access_token(
    db: &Db,
    smartcar: &Smartcar,
    lock: &tokio::sync::Mutex<()>,
    connection: &Connection,
) -> Result<Secret, SmartcarError> {
    let _guard = lock.lock().await;
    let cipher = smartcar.cipher()?;
    let grant_id = &connection.grant_id;
    match db.backend {
        Backend::Postgres => {
            let mut tx = db.pool.begin().await?;
            let grant = store::lock_grant(&mut tx, db.backend, cipher, grant_id).await?;
            if grant.access_expires_at > now() + TOKEN_MARGIN_SECS {
                tx.commit().await?;
                return Ok(grant.access_token);
            }
            let tokens = smartcar.client()?.refresh(&grant.refresh_token).await?;
            store::update_tokens(&mut tx, cipher, grant_id, &tokens, now()).await?;
            tx.commit().await?;
            Ok(tokens.access_token)
        }
        // One instance per SQLite file, and `lock` serialises this one. No transaction is
        // held across the call to Smartcar: SQLite would refuse to upgrade a read
        // transaction once another connection has written.
        Backend::Sqlite => {
            let mut conn = db.pool.acquire().await?;
            let grant = store::lock_grant(&mut conn, db.backend, cipher, grant_id).await?;
            drop(conn);
            if grant.access_expires_at > now() + TOKEN_MARGIN_SECS {
                return Ok(grant.access_token);
            }
            let tokens = smartcar.client()?.refresh(&grant.refresh_token).await?;
            let mut conn = db.pool.acquire().await?;
            store::update_tokens(&mut conn, cipher, grant_id, &tokens, now()).await?;
            Ok(tokens.access_token)
        }
    }
}

/// Reads the vehicle through Smartcar and stores the reading.
pub async fn refresh_vehicle(
    db: &Db,
    smartcar: &Smartcar,
    lock: &tokio::sync::Mutex<()>,
    user_device_id: &str,
) -> Result<Reading, SmartcarError> {
    let connection = store::connection(db, user_device_id)
        .await?
        .ok_or(SmartcarError::NotFound("Smartcar connection"))?;
    let client = smartcar.client()?;
    let token = access_token(db, smartcar, lock, &connection).await?;
    let id = &connection.smartcar_vehicle_id;
    let odometer_km = client.odometer(&token, id).await?;
    let location = client.location(&token, id).await?;
    let reading = Reading {
        odometer_km,
        location,
        recorded_ms: now_ms(),
    };
    store_reading(db, &connection.address, &reading).await?;
    store::mark_refreshed(db, user_device_id, now()).await?;
    Ok(reading)
}

/// Stores a reading as the newest telemetry of `address` (and in its history).
pub async fn store_reading(
    db: &Db,
    address: &Address,
    reading: &Reading,
) -> Result<(), SmartcarError> {
    let data = report(reading).to_string();
    let address = address.to_lowercase_hex();
    let mut tx = db.pool.begin().await?;
    sqlx::query(
        "INSERT INTO device_telemetry (device_address, kind, data, recorded_ms) \
         VALUES ($1, 'telemetry', $2, $3)",
    )
    .bind(&address)
    .bind(&data)
    .bind(reading.recorded_ms)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO device_state (device_address, online, last_seen_ms, telemetry, telemetry_ms) \
         VALUES ($1, 0, $2, $3, $2) ON CONFLICT (device_address) DO UPDATE SET \
         last_seen_ms = excluded.last_seen_ms, telemetry = excluded.telemetry, \
         telemetry_ms = excluded.telemetry_ms",
    )
    .bind(&address)
    .bind(reading.recorded_ms)
    .bind(&data)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The reason a failed refresh is recorded with (no secrets; storage errors are logged and
/// recorded generically).
pub fn failure_reason(e: &SmartcarError) -> String {
    match e {
        SmartcarError::NotFound("Smartcar connection") => NO_CONNECTION.into(),
        SmartcarError::Call(CallError::Rejected {
            call: Call::TokenRefresh,
            ..
        }) => format!("{e}; connect the vehicle again (fromsmartcar)"),
        SmartcarError::Call(_) | SmartcarError::NotConfigured | SmartcarError::BadInput(_) => {
            e.to_string()
        }
        other => {
            tracing::error!(error = %other, "Smartcar refresh");
            "internal error while refreshing; see the server log".into()
        }
    }
}
