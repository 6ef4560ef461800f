//! Devices API: a vehicle's error-code queries (`/v1/user/devices/{id}/error-codes`). Codes
//! are validated (at most 100 per request) and described from the embedded SAE J2012 tables,
//! with manufacturer-specific codes looked up under the vehicle's make and flagged.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{OpenApi, ToSchema};

use super::user_devices::{DevicesApiError, DevicesErrorBody, DevicesUser, body, owned_vehicle};
use crate::app::AppState;
use crate::devices::error_codes::{self, Query, Source};
use crate::http::failure::Failure;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/user/devices/{user_device_id}/error-codes",
            get(list).post(submit),
        )
        .route(
            "/v1/user/devices/{user_device_id}/error-codes/clear",
            post(clear),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(list, submit, clear),
    components(schemas(SubmitBody, ClearBody, QueryList, QuerySchema, Cleared, DescribedCode))
)]
pub struct Doc;

/// One code of a query, described.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DescribedCode {
    /// SAE J2012 text, e.g. `P0148`.
    code: String,
    /// The SAE J2012 title, or the make's own for manufacturer codes.
    description: String,
    /// Whether the code is in a manufacturer-controlled range.
    manufacturer_specific: bool,
}

/// One error-code query: the codes submitted (or reported by the vehicle's device) at once.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct QuerySchema {
    /// RFC 3339.
    requested_at: String,
    /// RFC 3339, once cleared.
    cleared_at: Option<String>,
    /// `user` (submitted here) or `device` (reported by the paired device).
    source: String,
    error_codes: Vec<DescribedCode>,
}

#[derive(Serialize, ToSchema)]
struct QueryList {
    /// Newest first.
    queries: Vec<QuerySchema>,
}

/// The cleared query; with `clearOnVehicle` also the `dtc.clear` command's `requestId`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Cleared {
    requested_at: String,
    cleared_at: Option<String>,
    source: String,
    error_codes: Vec<DescribedCode>,
    /// The `dtc.clear` command sent to the paired device (status:
    /// `GET /v1/vehicle/{tokenId}/commands/{requestId}`).
    request_id: Option<String>,
}

/// Unix seconds as `2023-05-23T12:56:36Z`.
pub fn rfc3339(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn query_json(q: &Query) -> Value {
    json!({
        "requestedAt": rfc3339(q.requested_at),
        "clearedAt": q.cleared_at.map(rfc3339),
        "source": q.source.as_str(),
        "errorCodes": q.codes.iter().map(|c| json!({
            "code": c.code.to_string(),
            "description": c.description,
            "manufacturerSpecific": c.manufacturer_specific,
        })).collect::<Vec<_>>(),
    })
}

/// The vehicle's queries, newest first.
#[utoipa::path(get, path = "/v1/user/devices/{userDeviceId}/error-codes", tag = "Devices API: error codes",
    params(("userDeviceId" = String, Path, description = "The vehicle's id")), security(("bearer" = [])),
    responses((status = 200, body = QueryList),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token"),
        (status = 404, body = DevicesErrorBody, description = "No such vehicle of the caller")))]
async fn list(
    State(state): State<AppState>,
    user: DevicesUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, DevicesApiError> {
    let vehicle = owned_vehicle(&state, &user, &id).await?;
    let queries = error_codes::list(&state.db, &vehicle).await?;
    Ok(Json(
        json!({ "queries": queries.iter().map(query_json).collect::<Vec<_>>() }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SubmitBody {
    /// 1 to 100 SAE J2012 codes (`P0106`); duplicates are dropped.
    error_codes: Vec<String>,
}

/// Stores the submitted codes as a new query and answers it, described.
#[utoipa::path(post, path = "/v1/user/devices/{userDeviceId}/error-codes", tag = "Devices API: error codes",
    params(("userDeviceId" = String, Path, description = "The vehicle's id")),
    request_body = SubmitBody, security(("bearer" = [])),
    responses((status = 200, body = QueryList, description = "The new query alone"),
        (status = 400, body = DevicesErrorBody, description = "No codes, more than 100, or a code that is not a trouble code (named)"),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token"),
        (status = 404, body = DevicesErrorBody, description = "No such vehicle of the caller")))]
async fn submit(
    State(state): State<AppState>,
    user: DevicesUser,
    Path(id): Path<String>,
    req: Result<Json<SubmitBody>, JsonRejection>,
) -> Result<Json<Value>, DevicesApiError> {
    let vehicle = owned_vehicle(&state, &user, &id).await?;
    let codes = error_codes::parse_codes(&body(req)?.error_codes)?;
    let query = error_codes::submit(&state.db, &vehicle, &codes, Source::User).await?;
    Ok(Json(json!({ "queries": [query_json(&query)] })))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClearBody {
    /// Also ask the vehicle's paired device to clear the codes in the car (OBD service 04).
    #[serde(default)]
    clear_on_vehicle: bool,
}

/// Marks the most recent query cleared and answers it. With `{"clearOnVehicle": true}` the
/// paired device is also sent `dtc.clear`; the answer then carries that command's
/// `requestId` (its outcome: `GET /v1/vehicle/{tokenId}/commands/{requestId}`).
#[utoipa::path(post, path = "/v1/user/devices/{userDeviceId}/error-codes/clear", tag = "Devices API: error codes",
    params(("userDeviceId" = String, Path, description = "The vehicle's id")),
    request_body(content = Option<ClearBody>, description = "Optional; an empty body clears only the record"),
    security(("bearer" = [])),
    responses((status = 200, body = Cleared),
        (status = 400, body = DevicesErrorBody, description = "Malformed body"),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token"),
        (status = 404, body = DevicesErrorBody, description = "No such vehicle of the caller"),
        (status = 409, body = DevicesErrorBody, description = "Nothing to clear (no query, or the newest is already cleared), or clearOnVehicle without a minted, paired vehicle")))]
async fn clear(
    State(state): State<AppState>,
    user: DevicesUser,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, DevicesApiError> {
    let vehicle = owned_vehicle(&state, &user, &id).await?;
    let req: ClearBody = if raw.iter().all(u8::is_ascii_whitespace) {
        ClearBody::default()
    } else {
        serde_json::from_slice(&raw)
            .map_err(|e| DevicesApiError(Failure::BadRequest(format!("request body: {e}"))))?
    };
    // Find the device first, so a vehicle without one fails before anything is cleared.
    let target = if req.clear_on_vehicle {
        let conflict = |m: &str| DevicesApiError(Failure::Conflict(m.to_owned()));
        let token = crate::registry::vehicles::vehicle_of_user_device(&state.db, &vehicle.id)
            .await
            .map_err(|e| internal(&e))?
            .ok_or_else(|| {
                conflict("clearOnVehicle needs a minted vehicle with a paired device")
            })?;
        let paired = crate::registry::paired_device(&state.db, token.token_id)
            .await
            .map_err(|e| internal(&e))?
            .ok_or_else(|| conflict("clearOnVehicle needs a paired aftermarket device"))?;
        let mqtt = state
            .mqtt
            .clone()
            .ok_or_else(|| conflict("clearOnVehicle needs the MQTT layer, which is not running"))?;
        Some((mqtt, paired))
    } else {
        None
    };
    let query = error_codes::clear_latest(&state.db, &vehicle).await?;
    let mut body = query_json(&query);
    if let Some((mqtt, paired)) = target {
        let sent = mqtt
            .send_command(crate::mqtt::dispatch::CommandRequest {
                device: paired.address,
                action: pitlane_shared::command::Action::DtcClear,
                params: json!({}),
                vehicle_token_id: Some(paired.vehicle_token_id),
                user_id: Some(&user.0),
                ttl: None,
            })
            .await
            .map_err(|e| internal(&e))?;
        if let Some(o) = body.as_object_mut() {
            o.insert("requestId".into(), Value::String(sent.request_id));
        }
    }
    Ok(Json(body))
}

fn internal(e: &dyn std::fmt::Display) -> DevicesApiError {
    tracing::error!(error = %e, "error codes: clear on vehicle");
    DevicesApiError(Failure::Internal)
}
