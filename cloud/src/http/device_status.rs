//! What a device last reported, for its owner (Web3 token, devices-API error shape):
//! `GET /v1/aftermarket/device/by-serial/{serial}/status` (the claimed device's owner) and
//! `GET /v1/user/devices/{userDeviceId}/status` (through the vehicle's paired device, else
//! its Smartcar connection).

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use pitlane_shared::identity::Address;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::{OpenApi, ToSchema};

use super::user_devices::{DevicesApiError, DevicesErrorBody, DevicesUser, owned_vehicle};
use crate::app::AppState;
use crate::commands::envelope::rfc3339_ms;
use crate::http::failure::Failure;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/aftermarket/device/by-serial/{serial}/status",
            get(by_serial),
        )
        .route("/v1/user/devices/{user_device_id}/status", get(by_vehicle))
}

#[derive(OpenApi)]
#[openapi(
    paths(by_serial, by_vehicle),
    components(schemas(DeviceStatus, ReportedDtcs, ReportedTelemetry))
)]
pub struct Doc;

/// The device's last DTC report.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ReportedDtcs {
    /// `{stored, pending, permanent}`, each ECU id → codes.
    #[schema(value_type = Object)]
    codes: Value,
    /// RFC 3339 with milliseconds.
    reported_at: Option<String>,
}

/// The device's last telemetry report.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ReportedTelemetry {
    /// `{ignition, values: [{ecu, pid, name, value, unit}]}`.
    #[schema(value_type = Object)]
    report: Value,
    /// RFC 3339 with milliseconds.
    recorded_at: Option<String>,
}

/// What the device last reported (nulls until it has).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DeviceStatus {
    /// The device's EIP-55 address.
    address: String,
    online: bool,
    /// RFC 3339 with milliseconds.
    last_seen: Option<String>,
    vin: Option<String>,
    /// `on`, `off` or `unknown`.
    ignition: Option<String>,
    firmware: Option<String>,
    /// The bus spec the agent uses.
    bus: Option<String>,
    dtcs: Option<ReportedDtcs>,
    telemetry: Option<ReportedTelemetry>,
}

fn internal(e: &dyn std::fmt::Display) -> DevicesApiError {
    tracing::error!(error = %e, "device status");
    DevicesApiError(Failure::Internal)
}

/// The status body: `{online, lastSeen, vin, ignition, firmware, bus, dtcs, telemetry}`.
async fn status_json(state: &AppState, device: &Address) -> Result<Value, DevicesApiError> {
    let s = crate::telemetry::state::get(&state.db, device)
        .await
        .map_err(|e| internal(&e))?;
    let Some(s) = s else {
        return Ok(json!({
            "address": device.to_checksum(),
            "online": false, "lastSeen": null, "vin": null, "ignition": null,
            "firmware": null, "bus": null, "dtcs": null, "telemetry": null,
        }));
    };
    Ok(json!({
        "address": device.to_checksum(),
        "online": s.online,
        "lastSeen": rfc3339_ms(s.last_seen_ms),
        "vin": s.vin,
        "ignition": s.ignition,
        "firmware": s.firmware,
        "bus": s.bus,
        "dtcs": s.dtcs.map(|d| json!({ "codes": d, "reportedAt": s.dtcs_ms.map(rfc3339_ms) })),
        "telemetry": s.telemetry.map(|t| json!({ "report": t, "recordedAt": s.telemetry_ms.map(rfc3339_ms) })),
    }))
}

/// What the claimed device last reported (its owner only).
#[utoipa::path(get, path = "/v1/aftermarket/device/by-serial/{serial}/status", tag = "Devices API: aftermarket devices",
    params(("serial" = String, Path, description = "The device's serial number")), security(("bearer" = [])),
    responses((status = 200, body = DeviceStatus),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token"),
        (status = 404, body = DevicesErrorBody, description = "No such device claimed by the caller")))]
async fn by_serial(
    State(state): State<AppState>,
    user: DevicesUser,
    Path(serial): Path<String>,
) -> Result<Json<Value>, DevicesApiError> {
    let device = crate::registry::device_by_serial(&state.db, &serial)
        .await
        .map_err(|e| internal(&e))?
        .filter(|d| d.owner_user_id.as_deref() == Some(user.0.as_str()))
        .ok_or_else(|| DevicesApiError(Failure::NotFound("aftermarket device not found".into())))?;
    Ok(Json(status_json(&state, &device.address).await?))
}

/// What the vehicle's paired device (else its Smartcar connection) last reported (the
/// vehicle's owner only).
#[utoipa::path(get, path = "/v1/user/devices/{userDeviceId}/status", tag = "Devices API: vehicles",
    params(("userDeviceId" = String, Path, description = "The vehicle's id")), security(("bearer" = [])),
    responses((status = 200, body = DeviceStatus),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token"),
        (status = 404, body = DevicesErrorBody, description = "No such vehicle of the caller, or it has neither a paired device nor a Smartcar connection")))]
async fn by_vehicle(
    State(state): State<AppState>,
    user: DevicesUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, DevicesApiError> {
    let vehicle = owned_vehicle(&state, &user, &id).await?;
    let mut device = paired_device_of(&state, &vehicle.id).await?;
    if device.is_none() {
        // A Smartcar connection reports under its synthetic device's address.
        device = crate::smartcar::store::connection(&state.db, &vehicle.id)
            .await
            .map_err(|e| internal(&e))?
            .map(|c| c.address);
    }
    let device = device.ok_or_else(|| {
        DevicesApiError(Failure::NotFound(
            "this vehicle has no paired aftermarket device or Smartcar connection".into(),
        ))
    })?;
    Ok(Json(status_json(&state, &device).await?))
}

/// The address of the device paired with a user device (vehicle), if it is minted and paired.
pub async fn paired_device_of(
    state: &AppState,
    user_device_id: &str,
) -> Result<Option<Address>, DevicesApiError> {
    let Some(token) = crate::registry::vehicles::vehicle_of_user_device(&state.db, user_device_id)
        .await
        .map_err(|e| internal(&e))?
    else {
        return Ok(None);
    };
    Ok(crate::registry::paired_device(&state.db, token.token_id)
        .await
        .map_err(|e| internal(&e))?
        .map(|p| p.address))
}
