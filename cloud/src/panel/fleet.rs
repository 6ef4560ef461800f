//! What the vehicle pages show about a user's vehicle beyond the devices domain: its token
//! (minted or not), the aftermarket device paired to it (claim and pairing state), what that
//! device last reported, and its recent telemetry. Read-only; every entry point starts from
//! a vehicle the caller owns.

use pitlane_shared::identity::Address;
use pitlane_shared::topics::TelemetryReport;
use sqlx::Row;

use super::error::PanelError;
use crate::db::Db;
use crate::devices::vehicles::UserDevice;
use crate::registry::devices::AftermarketDevice;
use crate::registry::vehicles::{PairedDevice, VehicleToken};
use crate::telemetry::state::DeviceState;

/// Reports drawn in the telemetry chart at most.
const CHART_REPORTS: i64 = 120;

/// A vehicle with its registry and device facts.
#[derive(Debug, Clone)]
pub struct Linked {
    pub vehicle: UserDevice,
    pub token: Option<VehicleToken>,
    pub paired: Option<PairedDevice>,
    pub device: Option<AftermarketDevice>,
    pub state: Option<DeviceState>,
}

fn internal(e: impl std::fmt::Display) -> PanelError {
    PanelError::Internal(e.to_string())
}

/// The registry and device facts of `vehicle` (which the caller owns).
pub async fn linked(db: &Db, vehicle: UserDevice) -> Result<Linked, PanelError> {
    let token = crate::registry::vehicles::vehicle_of_user_device(db, &vehicle.id)
        .await
        .map_err(internal)?;
    let paired = match &token {
        Some(t) => crate::registry::paired_device(db, t.token_id)
            .await
            .map_err(internal)?,
        None => None,
    };
    let (device, state) = match &paired {
        Some(p) => (
            crate::registry::device_by_address(db, &p.address)
                .await
                .map_err(internal)?,
            crate::telemetry::state::get(db, &p.address)
                .await
                .map_err(internal)?,
        ),
        None => (None, None),
    };
    Ok(Linked {
        vehicle,
        token,
        paired,
        device,
        state,
    })
}

/// Aftermarket devices the user has claimed, with the vehicle token each is paired to.
pub async fn claimed_devices(
    db: &Db,
    user_id: &str,
) -> Result<Vec<(AftermarketDevice, Option<u64>)>, PanelError> {
    let rows = sqlx::query(
        "SELECT serial FROM aftermarket_devices WHERE owner_user_id = $1 ORDER BY token_id",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await
    .map_err(internal)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let serial: String = row.try_get("serial").map_err(internal)?;
        let Some(device) = crate::registry::device_by_serial(db, &serial)
            .await
            .map_err(internal)?
        else {
            continue;
        };
        let paired = crate::registry::pairing_of_device(db, &device.address)
            .await
            .map_err(internal)?
            .map(|p| p.vehicle_token_id);
        out.push((device, paired));
    }
    Ok(out)
}

/// One point of a telemetry series.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub time_ms: i64,
    pub value: f64,
}

/// A named series (`Engine speed`, `rpm`).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub unit: String,
    pub points: Vec<Point>,
}

/// The device's recent telemetry as one series per value name, oldest point first.
/// Reports that do not parse are skipped (they were verified when stored, but the shape
/// may have changed since).
pub async fn telemetry(db: &Db, device: &Address) -> Result<Vec<Series>, PanelError> {
    let rows = sqlx::query(
        "SELECT data, recorded_ms FROM device_telemetry WHERE device_address = $1 AND kind = 'telemetry' \
         ORDER BY id DESC LIMIT $2",
    )
    .bind(device.to_lowercase_hex())
    .bind(CHART_REPORTS)
    .fetch_all(&db.pool)
    .await
    .map_err(internal)?;
    let mut series: Vec<Series> = Vec::new();
    for row in rows.iter().rev() {
        let data: String = row.try_get("data").map_err(internal)?;
        let time_ms: i64 = row.try_get("recorded_ms").map_err(internal)?;
        let Ok(report) = serde_json::from_str::<TelemetryReport>(&data) else {
            continue;
        };
        for v in report.values.iter().filter(|v| v.value.is_finite()) {
            let point = Point {
                time_ms,
                value: v.value,
            };
            match series.iter_mut().find(|s| s.name == v.name) {
                Some(s) => s.points.push(point),
                None => series.push(Series {
                    name: v.name.clone(),
                    unit: v.unit.clone(),
                    points: vec![point],
                }),
            }
        }
    }
    Ok(series)
}
