//! Devices API: a vehicle's error-code queries (`/v1/user/devices/{id}/error-codes`). Codes
//! are validated (at most 100 per request) and described from the embedded SAE J2012 tables,
//! with manufacturer-specific codes looked up under the vehicle's make and flagged.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat};
use serde::Deserialize;
use serde_json::{Value, json};

use super::user_devices::{DevicesApiError, DevicesUser, body, owned_vehicle};
use crate::app::AppState;
use crate::devices::error_codes::{self, Query, Source};

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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SubmitBody {
    error_codes: Vec<String>,
}

/// Stores the submitted codes as a new query and answers it, described.
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

/// Marks the most recent query cleared and answers it.
async fn clear(
    State(state): State<AppState>,
    user: DevicesUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, DevicesApiError> {
    let vehicle = owned_vehicle(&state, &user, &id).await?;
    let query = error_codes::clear_latest(&state.db, &vehicle).await?;
    Ok(Json(query_json(&query)))
}
