//! Reading a device's latest state (`device_state`).

use pitlane_shared::identity::Address;
use serde_json::Value;
use sqlx::Row;

use super::TelemetryError;
use crate::db::Db;

/// What the cloud last heard from a device.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceState {
    pub online: bool,
    pub last_seen_ms: i64,
    pub firmware: Option<String>,
    pub bus: Option<String>,
    pub ignition: Option<String>,
    pub vin: Option<String>,
    pub vin_ms: Option<i64>,
    /// `{stored, pending, permanent}` of the newest report.
    pub dtcs: Option<Value>,
    pub dtcs_ms: Option<i64>,
    /// The newest telemetry report.
    pub telemetry: Option<Value>,
    pub telemetry_ms: Option<i64>,
}

fn json(text: Option<String>) -> Result<Option<Value>, TelemetryError> {
    Ok(text.map(|t| serde_json::from_str(&t)).transpose()?)
}

/// The device's state; None when it never reported.
pub async fn get(db: &Db, device: &Address) -> Result<Option<DeviceState>, TelemetryError> {
    let row = sqlx::query(
        "SELECT online, last_seen_ms, firmware, bus, ignition, vin, vin_ms, dtcs, dtcs_ms, \
         telemetry, telemetry_ms FROM device_state WHERE device_address = $1",
    )
    .bind(device.to_lowercase_hex())
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(DeviceState {
        online: row.try_get::<i64, _>("online")? != 0,
        last_seen_ms: row.try_get("last_seen_ms")?,
        firmware: row.try_get("firmware")?,
        bus: row.try_get("bus")?,
        ignition: row.try_get("ignition")?,
        vin: row.try_get("vin")?,
        vin_ms: row.try_get("vin_ms")?,
        dtcs: json(row.try_get("dtcs")?)?,
        dtcs_ms: row.try_get("dtcs_ms")?,
        telemetry: json(row.try_get("telemetry")?)?,
        telemetry_ms: row.try_get("telemetry_ms")?,
    }))
}
