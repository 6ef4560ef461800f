//! VAG Map API (`POST /api/v1/vag-map/map`): maps a decode report's tabs to search filters.
//! Exactly one of `report` or `report_id` (a stored lookup of the bearer's user); the bearer
//! is optional otherwise. Errors use the Users API body; 422 carries `REPORT_FORMAT_ERROR`.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{OpenApi, ToSchema};

use super::failure::Failure;
use super::users_auth::{UsersAuth, UsersError, UsersErrorBody, UsersJson};
use crate::app::AppState;
use crate::vin::store::{self, StoreError};
use crate::vin::vag_map::map_report;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/vag-map/map", post(map))
}

#[derive(OpenApi)]
#[openapi(paths(map), components(schemas(MapRequest, MapResponse)))]
pub struct Doc;

#[derive(Debug, Deserialize, ToSchema)]
struct MapRequest {
    /// `VAG` (the default; the only brand mapped).
    brand: Option<String>,
    /// A decode report's `tabs` (exactly one of `report` and `report_id`).
    #[schema(value_type = Option<Object>)]
    report: Option<Value>,
    /// A stored lookup of the bearer's user (`report_id` of a decode).
    report_id: Option<String>,
    // `vin`, `make` and `model` are accepted as documented and not needed for the mapping.
}

#[derive(Serialize, ToSchema)]
struct MapResponse {
    brand: String,
    /// `[{category, filter, value}]`.
    #[schema(value_type = Vec<Object>)]
    payload: Value,
    success: bool,
    message: Option<String>,
}

/// Maps a report's tabs to search filters.
#[utoipa::path(post, path = "/api/v1/vag-map/map", tag = "VAG Map API", request_body = MapRequest,
    security((), ("bearer" = [])),
    responses((status = 200, body = MapResponse),
        (status = 400, body = UsersErrorBody, description = "Not exactly one of report_id and report, or brand not VAG"),
        (status = 401, body = UsersErrorBody, description = "report_id without a bearer token"),
        (status = 404, body = UsersErrorBody, description = "No such lookup of the caller"),
        (status = 422, body = UsersErrorBody, description = "REPORT_FORMAT_ERROR: tab labels or structure do not match")))]
async fn map(
    State(state): State<AppState>,
    auth: Option<UsersAuth>,
    UsersJson(body): UsersJson<MapRequest>,
) -> Result<Json<Value>, UsersError> {
    let brand = body.brand.unwrap_or_else(|| "VAG".to_owned());
    if !brand.eq_ignore_ascii_case("VAG") {
        return Err(UsersError(Failure::BadRequest("brand must be VAG".into())));
    }
    let report = match (body.report, body.report_id) {
        (Some(report), None) => report,
        (None, Some(id)) => {
            let auth = auth.ok_or_else(|| {
                UsersError(Failure::Unauthorized(
                    "report_id needs a bearer token".into(),
                ))
            })?;
            let lookup = store::lookup_by_id(&state.db, &auth.user_id, &id)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound => {
                        UsersError(Failure::NotFound("Lookup not found".into()))
                    }
                    other => {
                        tracing::error!(error = %other, "VAG map storage");
                        UsersError(Failure::Internal)
                    }
                })?;
            serde_json::to_value(lookup.report.tabs).map_err(|_| UsersError(Failure::Internal))?
        }
        _ => {
            return Err(UsersError(Failure::BadRequest(
                "exactly one of report_id or report is required".into(),
            )));
        }
    };
    let payload = map_report(&report)
        .map_err(|e| UsersError(Failure::Unprocessable(format!("REPORT_FORMAT_ERROR: {e}"))))?;
    Ok(Json(
        json!({ "brand": brand, "payload": payload, "success": true, "message": null }),
    ))
}
