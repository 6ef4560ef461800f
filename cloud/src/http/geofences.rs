//! Devices API: the caller's geofences (`/v1/user/geofences`). Bad cells, types or bounds →
//! 400; a vehicle id that is not the caller's → 400 (the same answer whether it belongs to
//! someone else or does not exist); a duplicate name → 409; another user's geofence → 404.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{OpenApi, ToSchema};

use super::error_codes::rfc3339;
use super::user_devices::{DevicesApiError, DevicesErrorBody, DevicesUser, body};
use crate::app::AppState;
use crate::devices::geofences::{self, Geofence, GeofenceInput};
use crate::devices::{DevicesError, is_id};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/user/geofences", get(list).post(create))
        .route(
            "/v1/user/geofences/{geofence_id}",
            put(update).delete(delete),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(list, create, update, delete),
    components(schemas(GeofenceBody, GeofenceSchema, GeofenceList, GeofenceCreated))
)]
pub struct Doc;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GeofenceBody {
    /// 1–100 characters, unique among the caller's geofences.
    name: String,
    /// `PrivacyFence`, `TriggerEntry` or `TriggerExit`.
    #[serde(rename = "type")]
    #[schema(example = "PrivacyFence")]
    kind: String,
    /// 1–2,000 valid H3 cells (hex).
    h3_indexes: Vec<String>,
    /// At most 100 of the caller's own vehicles.
    #[serde(default)]
    user_device_ids: Vec<String>,
}

/// A stored geofence.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct GeofenceSchema {
    id: String,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    /// De-duplicated, lower-case hex.
    h3_indexes: Vec<String>,
    user_device_ids: Vec<String>,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339.
    updated_at: String,
}

#[derive(Serialize, ToSchema)]
struct GeofenceList {
    geofences: Vec<GeofenceSchema>,
}

#[derive(Serialize, ToSchema)]
struct GeofenceCreated {
    id: String,
}

impl GeofenceBody {
    fn validate(&self) -> Result<GeofenceInput, DevicesError> {
        GeofenceInput::parse(
            &self.name,
            &self.kind,
            &self.h3_indexes,
            &self.user_device_ids,
        )
    }
}

fn geofence_json(g: &Geofence) -> Value {
    json!({
        "id": g.id,
        "name": g.name,
        "type": g.kind.as_str(),
        "h3Indexes": g.cells,
        "userDeviceIds": g.device_ids,
        "createdAt": rfc3339(g.created_at),
        "updatedAt": rfc3339(g.updated_at),
    })
}

fn check_id(id: &str) -> Result<(), DevicesApiError> {
    if is_id(id) {
        Ok(())
    } else {
        Err(DevicesError::NotFound("geofence").into())
    }
}

/// The caller's geofences.
#[utoipa::path(get, path = "/v1/user/geofences", tag = "Devices API: geofences", security(("bearer" = [])),
    responses((status = 200, body = GeofenceList),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token")))]
async fn list(
    State(state): State<AppState>,
    user: DevicesUser,
) -> Result<Json<Value>, DevicesApiError> {
    let all = geofences::list(&state.db, &user.0).await?;
    Ok(Json(
        json!({ "geofences": all.iter().map(geofence_json).collect::<Vec<_>>() }),
    ))
}

/// Creates a geofence; answers `{"id": ...}` with 201.
#[utoipa::path(post, path = "/v1/user/geofences", tag = "Devices API: geofences",
    request_body = GeofenceBody, security(("bearer" = [])),
    responses((status = 201, body = GeofenceCreated),
        (status = 400, body = DevicesErrorBody, description = "Bad cell, type, name or bounds, or a userDeviceIds entry that is not the caller's vehicle"),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token"),
        (status = 409, body = DevicesErrorBody, description = "The caller has a geofence of that name, or 100 geofences already")))]
async fn create(
    State(state): State<AppState>,
    user: DevicesUser,
    req: Result<Json<GeofenceBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), DevicesApiError> {
    let input = body(req)?.validate()?;
    let id = geofences::create(&state.db, &user.0, &input).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))))
}

/// Replaces a geofence of the caller; 204.
#[utoipa::path(put, path = "/v1/user/geofences/{geofenceId}", tag = "Devices API: geofences",
    params(("geofenceId" = String, Path, description = "The geofence's id")),
    request_body = GeofenceBody, security(("bearer" = [])),
    responses((status = 204, description = "Replaced"),
        (status = 400, body = DevicesErrorBody, description = "Bad cell, type, name or bounds, or a userDeviceIds entry that is not the caller's vehicle"),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token"),
        (status = 404, body = DevicesErrorBody, description = "No such geofence of the caller"),
        (status = 409, body = DevicesErrorBody, description = "Another geofence of the caller has that name")))]
async fn update(
    State(state): State<AppState>,
    user: DevicesUser,
    Path(id): Path<String>,
    req: Result<Json<GeofenceBody>, JsonRejection>,
) -> Result<StatusCode, DevicesApiError> {
    check_id(&id)?;
    let input = body(req)?.validate()?;
    geofences::update(&state.db, &user.0, &id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a geofence of the caller; 204.
#[utoipa::path(delete, path = "/v1/user/geofences/{geofenceId}", tag = "Devices API: geofences",
    params(("geofenceId" = String, Path, description = "The geofence's id")), security(("bearer" = [])),
    responses((status = 204, description = "Deleted"),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token"),
        (status = 404, body = DevicesErrorBody, description = "No such geofence of the caller")))]
async fn delete(
    State(state): State<AppState>,
    user: DevicesUser,
    Path(id): Path<String>,
) -> Result<StatusCode, DevicesApiError> {
    check_id(&id)?;
    geofences::delete(&state.db, &user.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
