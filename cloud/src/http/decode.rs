//! Decode API (`/api/v1/decode/{user_id}`): one VIN (cached per VIN, `force=true` decodes
//! again), bulk decodes as background tasks, pause/resume of a bulk, and task results.
//! Bearer-authenticated and owner-checked; errors use the Users API body.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{OpenApi, ToSchema};

use super::failure::Failure;
use super::users_auth::{UsersAuth, UsersError, UsersErrorBody, UsersJson};
use crate::app::AppState;
use crate::vin::store::{self, StoreError};
use crate::vin::{Decoder, Severity, worker};

/// Most VINs one bulk request may carry.
const MAX_BULK: usize = 10_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/decode/{user_id}",
            get(decode_one).post(decode_bulk),
        )
        .route("/api/v1/decode/{user_id}/bulk/{bulk_id}/pause", put(pause))
        .route(
            "/api/v1/decode/{user_id}/bulk/{bulk_id}/resume",
            put(resume),
        )
        .route("/api/v1/decode/{user_id}/tasks/{task_id}", get(task))
}

#[derive(OpenApi)]
#[openapi(
    paths(decode_one, decode_bulk, pause, resume, task),
    components(schemas(
        DecodeResponse,
        BulkRequest,
        BulkStarted,
        Acknowledged,
        TaskResponse,
        Progress
    ))
)]
pub struct Doc;

/// `GET /api/v1/decode/{user_id}` (the OpenAPI document; the handler builds it as JSON).
#[derive(Serialize, ToSchema)]
struct DecodeResponse {
    /// Always `completed` (single decodes run inline).
    task_state: String,
    /// Always null for a single decode.
    task_id: Option<String>,
    /// The report: make, model, body_type, year, tab_names, tabs.
    #[schema(value_type = Object)]
    task_result: Value,
    /// The stored lookup's id, for `POST /api/v1/vag-map/map` `report_id`.
    report_id: String,
    success: bool,
    message: String,
}

#[derive(Serialize, ToSchema)]
struct BulkStarted {
    /// `pending`.
    task_state: String,
    /// One task per VIN, in request order.
    task_ids: Vec<String>,
    /// The bulk's id (the one given, or a generated one), for pause and resume.
    bulk_id: String,
    success: bool,
    message: String,
}

#[derive(Serialize, ToSchema)]
struct Acknowledged {
    success: bool,
    message: String,
}

#[derive(Serialize, ToSchema)]
struct Progress {
    bulk_id: String,
    /// Tasks of the bulk completed or failed.
    completed: i64,
    total: i64,
}

#[derive(Serialize, ToSchema)]
struct TaskResponse {
    /// `pending`, `running`, `paused`, `completed` or `failed`.
    task_state: String,
    /// `{"final": report or null, "intermediate": {vin, progress} or null}`.
    #[schema(value_type = Object)]
    results: Value,
    progress: Progress,
    success: bool,
    message: String,
}

fn bad_request(message: impl Into<String>) -> UsersError {
    UsersError(Failure::BadRequest(message.into()))
}

fn store_error(e: StoreError, what: &str) -> UsersError {
    match e {
        StoreError::NotFound => UsersError(Failure::NotFound(format!("{what} not found"))),
        other => {
            tracing::error!(error = %other, "decode API storage");
            UsersError(Failure::Internal)
        }
    }
}

fn decoder() -> Result<Decoder, UsersError> {
    Decoder::new().map_err(|e| {
        tracing::error!(error = %e, "VIN decoder data");
        UsersError(Failure::Internal)
    })
}

/// Decodes one VIN, answering the cached result unless `force=true`.
#[utoipa::path(get, path = "/api/v1/decode/{user_id}", tag = "Decode API",
    params(("user_id" = String, Path, description = "The caller's user id (admins: anyone's)"),
        ("vin" = String, Query, description = "The VIN to decode"),
        ("force" = Option<bool>, Query, description = "Decode again instead of answering the cached result")),
    security(("bearer" = [])),
    responses((status = 200, body = DecodeResponse),
        (status = 400, body = UsersErrorBody, description = "Missing or invalid VIN (each position's error named)"),
        (status = 401, body = UsersErrorBody), (status = 403, body = UsersErrorBody)))]
async fn decode_one(
    State(state): State<AppState>,
    auth: UsersAuth,
    Path(user_id): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<Value>, UsersError> {
    auth.ensure_access(&user_id)?;
    let Query(query) = query.map_err(|_| bad_request("malformed query string"))?;
    let vin = query
        .get("vin")
        .map(|v| v.trim().to_uppercase())
        .filter(|v| !v.is_empty());
    let vin = vin.ok_or_else(|| bad_request("vin is required"))?;
    let force = match query.get("force").map(String::as_str) {
        None | Some("false" | "0" | "") => false,
        Some("true" | "1") => true,
        Some(_) => return Err(bad_request("force must be true or false")),
    };
    let decoder = decoder()?;
    let decoded = decoder.decode(&vin);
    let errors: Vec<String> = decoded
        .issues
        .iter()
        .filter(|i| i.severity() == Severity::Error)
        .map(ToString::to_string)
        .collect();
    if !errors.is_empty() {
        return Err(bad_request(format!("Invalid VIN: {}", errors.join("; "))));
    }
    let lookup = store::decode_cached(&state.db, &decoder, &user_id, &vin, force)
        .await
        .map_err(|e| store_error(e, "Lookup"))?;
    Ok(Json(json!({
        "task_state": "completed",
        "task_id": null,
        "task_result": lookup.report,
        "report_id": lookup.id,
        "success": true,
        "message": "Vin decoded",
    })))
}

#[derive(Debug, Deserialize, ToSchema)]
struct BulkRequest {
    /// 1 to 10,000 VINs.
    vins: Vec<String>,
    file_name: Option<String>,
    /// A string id, or a number as in the documented example.
    #[schema(value_type = Option<String>)]
    bulk_id: Option<Value>,
}

/// Starts background decoding of many VINs: one task per VIN.
#[utoipa::path(post, path = "/api/v1/decode/{user_id}", tag = "Decode API",
    params(("user_id" = String, Path, description = "The caller's user id (admins: anyone's)")),
    request_body = BulkRequest, security(("bearer" = [])),
    responses((status = 200, body = BulkStarted), (status = 400, body = UsersErrorBody),
        (status = 401, body = UsersErrorBody), (status = 403, body = UsersErrorBody)))]
async fn decode_bulk(
    State(state): State<AppState>,
    auth: UsersAuth,
    Path(user_id): Path<String>,
    UsersJson(body): UsersJson<BulkRequest>,
) -> Result<Json<Value>, UsersError> {
    auth.ensure_access(&user_id)?;
    let vins: Vec<String> = body
        .vins
        .iter()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect();
    if vins.is_empty() {
        return Err(bad_request("vins must hold at least one VIN"));
    }
    if vins.len() > MAX_BULK {
        return Err(bad_request(format!("at most {MAX_BULK} VINs per request")));
    }
    if vins.iter().any(|v| v.len() > 64) {
        return Err(bad_request("a VIN has 17 characters"));
    }
    let bulk_id = match &body.bulk_id {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => return Err(bad_request("bulk_id must be a string or null")),
    };
    let (bulk, ids) = store::create_bulk(
        &state.db,
        &user_id,
        &vins,
        body.file_name.as_deref(),
        bulk_id.as_deref(),
    )
    .await
    .map_err(|e| store_error(e, "Bulk"))?;
    worker::wake();
    Ok(Json(json!({
        "task_state": "pending",
        "task_ids": ids,
        "bulk_id": bulk,
        "success": true,
        "message": "Vin bulk decode task started",
    })))
}

async fn set_paused(
    state: &AppState,
    auth: &UsersAuth,
    user_id: &str,
    bulk_id: &str,
    paused: bool,
) -> Result<(), UsersError> {
    auth.ensure_access(user_id)?;
    store::set_paused(&state.db, user_id, bulk_id, paused)
        .await
        .map_err(|e| store_error(e, "Bulk"))?;
    Ok(())
}

/// Pauses a bulk: its pending tasks wait until resumed.
#[utoipa::path(put, path = "/api/v1/decode/{user_id}/bulk/{bulk_id}/pause", tag = "Decode API",
    params(("user_id" = String, Path), ("bulk_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Acknowledged), (status = 401, body = UsersErrorBody),
        (status = 403, body = UsersErrorBody), (status = 404, body = UsersErrorBody)))]
async fn pause(
    State(state): State<AppState>,
    auth: UsersAuth,
    Path((user_id, bulk_id)): Path<(String, String)>,
) -> Result<Json<Value>, UsersError> {
    set_paused(&state, &auth, &user_id, &bulk_id, true).await?;
    Ok(Json(
        json!({ "success": true, "message": "Bulk decode task paused" }),
    ))
}

/// Resumes a paused bulk.
#[utoipa::path(put, path = "/api/v1/decode/{user_id}/bulk/{bulk_id}/resume", tag = "Decode API",
    params(("user_id" = String, Path), ("bulk_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Acknowledged), (status = 401, body = UsersErrorBody),
        (status = 403, body = UsersErrorBody), (status = 404, body = UsersErrorBody)))]
async fn resume(
    State(state): State<AppState>,
    auth: UsersAuth,
    Path((user_id, bulk_id)): Path<(String, String)>,
) -> Result<Json<Value>, UsersError> {
    set_paused(&state, &auth, &user_id, &bulk_id, false).await?;
    worker::wake();
    Ok(Json(
        json!({ "success": true, "message": "Bulk decode task resumed" }),
    ))
}

/// A task's state, its final result once decoded, and its bulk's progress meanwhile.
#[utoipa::path(get, path = "/api/v1/decode/{user_id}/tasks/{task_id}", tag = "Decode API",
    params(("user_id" = String, Path), ("task_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = TaskResponse), (status = 401, body = UsersErrorBody),
        (status = 403, body = UsersErrorBody), (status = 404, body = UsersErrorBody)))]
async fn task(
    State(state): State<AppState>,
    auth: UsersAuth,
    Path((user_id, task_id)): Path<(String, String)>,
) -> Result<Json<Value>, UsersError> {
    auth.ensure_access(&user_id)?;
    let t = store::task(&state.db, &user_id, &task_id)
        .await
        .map_err(|e| store_error(e, "Task"))?;
    let progress = json!({ "bulk_id": t.bulk_id, "completed": t.bulk_done, "total": t.bulk_total });
    let (intermediate, message) = match t.state.as_str() {
        "completed" => (Value::Null, "Task completed"),
        "failed" => (Value::Null, "Task failed"),
        "paused" => (json!({ "vin": t.vin, "progress": progress }), "Task paused"),
        _ => (
            json!({ "vin": t.vin, "progress": progress }),
            "Task in progress",
        ),
    };
    Ok(Json(json!({
        "task_state": t.state,
        "results": { "final": t.result, "intermediate": intermediate },
        "progress": progress,
        "success": true,
        "message": message,
    })))
}
