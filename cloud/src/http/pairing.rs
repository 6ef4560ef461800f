//! Pairing a minted vehicle with a claimed aftermarket device and unpairing it
//! (`/v1/user/devices/{userDeviceId}/aftermarket/commands/{pair,unpair}`: GET payload, POST
//! signatures). `externalId` is the device's serial (a query parameter of the pair GET).
//! Signatures are 0x hex or, as in DIMO's body, arrays of byte values.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::registry_api::{RegistryApiError, RegistryUser, chain, ctx};
use crate::app::AppState;
use crate::registry::RegistryError;
use crate::registry::pairing::{self, Action, PairPlan, PairSignatures};
use crate::registry::signatures::SignatureInput;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/user/devices/{user_device_id}/aftermarket/commands/pair",
            get(pair_payload).post(pair),
        )
        .route(
            "/v1/user/devices/{user_device_id}/aftermarket/commands/unpair",
            get(unpair_payload).post(unpair),
        )
}

#[derive(Debug, Deserialize)]
struct PairQuery {
    #[serde(rename = "externalId", alias = "external_id")]
    external_id: Option<String>,
}

fn payload_json(state: &AppState, plan: &PairPlan) -> Result<Json<Value>, RegistryApiError> {
    let chain = chain(state)?;
    Ok(Json(plan.payload.to_json(&chain.domain)))
}

/// The payload for pairing with the device `?externalId=<serial>`.
async fn pair_payload(
    State(state): State<AppState>,
    user: RegistryUser,
    Path(id): Path<String>,
    query: Result<Query<PairQuery>, QueryRejection>,
) -> Result<Json<Value>, RegistryApiError> {
    let Query(query) = query.map_err(|_| {
        RegistryApiError::from(RegistryError::BadInput("malformed query string".into()))
    })?;
    let external_id = query.external_id.ok_or_else(|| {
        RegistryError::BadInput("externalId (the device's serial) is required".into())
    })?;
    let plan = pairing::pair_payload(&state.db, &user.user_id, &id, &external_id).await?;
    payload_json(&state, &plan)
}

/// The payload for unpairing the vehicle from its device.
async fn unpair_payload(
    State(state): State<AppState>,
    user: RegistryUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, RegistryApiError> {
    let plan = pairing::unpair_payload(&state.db, &user.user_id, &id).await?;
    payload_json(&state, &plan)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PairBody {
    external_id: Option<String>,
    signature: Option<SignatureInput>,
    aftermarket_device_signature: Option<SignatureInput>,
}

async fn execute(
    state: AppState,
    user: RegistryUser,
    id: String,
    action: Action,
    body: Result<Json<PairBody>, JsonRejection>,
) -> Result<Json<Value>, RegistryApiError> {
    let Json(body) = body?;
    let chain = chain(&state)?;
    let signatures = PairSignatures {
        user: body.signature,
        device: body.aftermarket_device_signature,
    };
    let outcome = pairing::execute(
        &ctx(&state, &chain),
        action,
        &user.user_id,
        &id,
        body.external_id.as_deref(),
        &signatures,
    )
    .await?;
    Ok(Json(json!({
        "registryCall": { "id": outcome.call_id, "status": outcome.status.as_str() },
    })))
}

/// Pairs the vehicle with the device `externalId`.
async fn pair(
    State(state): State<AppState>,
    user: RegistryUser,
    Path(id): Path<String>,
    body: Result<Json<PairBody>, JsonRejection>,
) -> Result<Json<Value>, RegistryApiError> {
    execute(state, user, id, Action::Pair, body).await
}

/// Unpairs the vehicle from its device.
async fn unpair(
    State(state): State<AppState>,
    user: RegistryUser,
    Path(id): Path<String>,
    body: Result<Json<PairBody>, JsonRejection>,
) -> Result<Json<Value>, RegistryApiError> {
    execute(state, user, id, Action::Unpair, body).await
}
