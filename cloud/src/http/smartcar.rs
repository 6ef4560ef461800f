//! Smartcar routes of the devices API (Web3 token, error body `{"code", "message"}`):
//! `POST /v1/user/devices/fromsmartcar` (seed) connects the vehicles of a Smartcar Connect
//! authorization, and `GET /v1/user/devices/{userDeviceId}/smartcar` (ours) shows a
//! vehicle's connection, its synthetic device and its newest refresh request.
//!
//! Status codes: a missing or malformed field is 400 naming it; Smartcar refusing the code
//! (invalid, expired or already used, redirect URI mismatch) is 400 with Smartcar's own
//! description; no Smartcar application configured is 503; Smartcar unreachable, timing
//! out, failing (5xx), refusing a later call or answering something malformed is 502 naming
//! the call.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{OpenApi, ToSchema};

use super::error_codes::rfc3339;
use super::registry_api::{RegistryApiError, chain};
use super::user_devices::{DevicesApiError, DevicesUser, owned_vehicle, vehicle_json};
use crate::app::AppState;
use crate::registry::refresh as refresh_queue;
use crate::registry::vehicles::{synthetic_of_vehicle, vehicle_of_user_device};
use crate::smartcar::client::Call;
use crate::smartcar::connect::{self, ConnectRequest};
use crate::smartcar::{CallError, SmartcarError, store, synthetic};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/user/devices/fromsmartcar", post(from_smartcar))
        .route(
            "/v1/user/devices/{user_device_id}/smartcar",
            get(connection),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(from_smartcar, connection),
    components(schemas(FromSmartcarBody, SmartcarErrorBody))
)]
pub struct Doc;

/// The devices family's error body.
#[derive(Serialize, ToSchema)]
struct SmartcarErrorBody {
    /// The HTTP status.
    code: u16,
    message: String,
}

fn api_error(e: SmartcarError) -> RegistryApiError {
    if let SmartcarError::Devices(inner) = e {
        return DevicesApiError::from(inner).into();
    }
    let status = match &e {
        SmartcarError::BadInput(_) => StatusCode::BAD_REQUEST,
        SmartcarError::NotConfigured => StatusCode::SERVICE_UNAVAILABLE,
        SmartcarError::Call(CallError::Rejected {
            call: Call::CodeExchange,
            ..
        }) => StatusCode::BAD_REQUEST,
        SmartcarError::Call(_) => StatusCode::BAD_GATEWAY,
        SmartcarError::NotFound(_) => StatusCode::NOT_FOUND,
        SmartcarError::Devices(_)
        | SmartcarError::Registry(_)
        | SmartcarError::Crypto(_)
        | SmartcarError::Db(_) => {
            tracing::error!(error = %e, "Smartcar connection");
            return RegistryApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error",
            );
        }
    };
    RegistryApiError::new(status, e.to_string())
}

/// `POST /v1/user/devices/fromsmartcar`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct FromSmartcarBody {
    /// The authorization code from Smartcar Connect's redirect.
    code: Option<String>,
    /// ISO 3166-1 alpha-3 country code of the new vehicles.
    #[serde(rename = "countryCode")]
    country_code: Option<String>,
    /// The redirect URI given to Smartcar Connect (must match it exactly).
    #[serde(rename = "redirectURI")]
    redirect_uri: Option<String>,
}

/// Connects the vehicles a user authorized in Smartcar Connect: exchanges the code, reads
/// each vehicle's VIN, creates it like `fromvin` (a VIN already registered by the user is
/// reconnected instead) and keeps the connection for refreshes.
#[utoipa::path(post, path = "/v1/user/devices/fromsmartcar", tag = "Devices API: vehicles",
    request_body = FromSmartcarBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "`{userDevice, userDevices}`: the first vehicle (fromvin's shape) and all of them; at least one was created", body = Object),
        (status = 200, description = "Same body; every vehicle already existed and was reconnected", body = Object),
        (status = 400, body = SmartcarErrorBody, description = "A missing or invalid field (named), or Smartcar refused the code (its description)"),
        (status = 401, body = SmartcarErrorBody),
        (status = 409, body = SmartcarErrorBody, description = "The same VIN was being registered concurrently"),
        (status = 502, body = SmartcarErrorBody, description = "Smartcar unreachable, timed out, failed or answered malformed data (the call is named)"),
        (status = 503, body = SmartcarErrorBody, description = "No Smartcar application is configured")))]
async fn from_smartcar(
    State(state): State<AppState>,
    user: DevicesUser,
    body: Result<Json<FromSmartcarBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), RegistryApiError> {
    let Json(body) = body?;
    let request = ConnectRequest {
        code: body.code.unwrap_or_default(),
        country_code: body.country_code.unwrap_or_default(),
        redirect_uri: body.redirect_uri.unwrap_or_default(),
    };
    let connected = connect::connect(&state.db, &state.smartcar, &user.0, &request)
        .await
        .map_err(api_error)?;
    // A minted vehicle that gets (re)connected gets its synthetic device now; a failure
    // here is logged and retried by the refresh worker, the connection itself stands.
    if let (Ok(chain), Ok(cipher)) = (chain(&state), state.smartcar.cipher()) {
        for reconnected in connected.iter().filter(|c| !c.created) {
            if let Err(e) = synthetic::ensure(
                &state.db,
                state.registry.as_ref(),
                &chain,
                cipher,
                &reconnected.vehicle.id,
            )
            .await
            {
                tracing::warn!(user_device_id = %reconnected.vehicle.id, error = %e,
                    "minting a synthetic device");
            }
        }
    }
    let status = if connected.iter().any(|c| c.created) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let all: Vec<Value> = connected.iter().map(|c| vehicle_json(&c.vehicle)).collect();
    Ok((
        status,
        Json(json!({ "userDevice": all.first(), "userDevices": all })),
    ))
}

/// A vehicle's Smartcar connection: the synthetic device (once the vehicle is minted), when
/// it was last read, and the newest refresh request with its outcome.
#[utoipa::path(get, path = "/v1/user/devices/{userDeviceId}/smartcar", tag = "Devices API: vehicles",
    params(("userDeviceId" = String, Path, description = "One of the caller's vehicles")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`{userDeviceId, smartcarVehicleId, address, connectedAt, lastReadAt, syntheticDevice, lastRefresh}`", body = Object),
        (status = 401, body = SmartcarErrorBody),
        (status = 404, body = SmartcarErrorBody, description = "Not the caller's vehicle, or not connected through Smartcar")))]
async fn connection(
    State(state): State<AppState>,
    user: DevicesUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, RegistryApiError> {
    let vehicle = owned_vehicle(&state, &user, &id).await?;
    let connection = store::connection(&state.db, &vehicle.id)
        .await
        .map_err(api_error)?
        .ok_or_else(|| api_error(SmartcarError::NotFound("Smartcar connection")))?;
    let token = vehicle_of_user_device(&state.db, &vehicle.id).await?;
    let synthetic = match token {
        Some(token) => synthetic_of_vehicle(&state.db, token.token_id).await?,
        None => None,
    };
    let refresh = refresh_queue::latest(&state.db, &vehicle.id).await?;
    Ok(Json(json!({
        "userDeviceId": vehicle.id,
        "smartcarVehicleId": connection.smartcar_vehicle_id,
        "address": connection.address.to_checksum(),
        "connectedAt": rfc3339(connection.connected_at),
        "lastReadAt": connection.refreshed_at.map(rfc3339),
        "syntheticDevice": synthetic.map(|s| json!({
            "tokenId": s.token_id,
            "address": s.address.to_checksum(),
            "integration": s.integration,
            "mintedAt": rfc3339(s.minted_at),
        })),
        "lastRefresh": refresh.map(|r| json!({
            "status": r.status,
            "reason": r.reason,
            "requestedAt": rfc3339(r.requested_at),
            "finishedAt": r.finished_at.map(rfc3339),
        })),
    })))
}
