//! Devices API: the caller's geofences (`/v1/user/geofences`). Bad cells, types or bounds →
//! 400; a vehicle id that is not the caller's → 400 (the same answer whether it belongs to
//! someone else or does not exist); a duplicate name → 409; another user's geofence → 404.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error_codes::rfc3339;
use super::user_devices::{DevicesApiError, DevicesUser, body};
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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GeofenceBody {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    h3_indexes: Vec<String>,
    #[serde(default)]
    user_device_ids: Vec<String>,
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
async fn delete(
    State(state): State<AppState>,
    user: DevicesUser,
    Path(id): Path<String>,
) -> Result<StatusCode, DevicesApiError> {
    check_id(&id)?;
    geofences::delete(&state.db, &user.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
