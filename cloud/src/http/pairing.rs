//! Pairing a minted vehicle with a claimed aftermarket device and unpairing it
//! (`/v1/user/devices/{userDeviceId}/aftermarket/commands/{pair,unpair}`: GET payload, POST
//! signatures). `externalId` is the device's serial (a query parameter of the pair GET).
//! Signatures are 0x hex or, as in DIMO's body, arrays of byte values.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::registry_api::{
    Eip712Payload, RegistryApiError, RegistryCallRef, RegistryUser, chain, ctx,
};
use super::user_devices::{DeviceSigningErrors, DevicesErrorBody};
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

#[derive(OpenApi)]
#[openapi(
    paths(pair_payload, pair, unpair_payload, unpair),
    components(schemas(PairBody, Paired))
)]
pub struct Doc;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Paired {
    registry_call: RegistryCallRef,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PairQuery {
    /// The aftermarket device's serial (required).
    #[serde(rename = "externalId", alias = "external_id")]
    #[param(required = true)]
    external_id: Option<String>,
}

fn payload_json(state: &AppState, plan: &PairPlan) -> Result<Json<Value>, RegistryApiError> {
    let chain = chain(state)?;
    Ok(Json(plan.payload.to_json(&chain.domain)))
}

/// The payload for pairing with the device `?externalId=<serial>`.
#[utoipa::path(get, path = "/v1/user/devices/{userDeviceId}/aftermarket/commands/pair", tag = "Devices API: pairing",
    params(("userDeviceId" = String, Path, description = "The vehicle's id"), PairQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Eip712Payload, description = "`PairAftermarketDeviceSign`"),
        (status = 400, body = DevicesErrorBody, description = "externalId missing"),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token"),
        (status = 404, body = DevicesErrorBody, description = "No such vehicle of the caller, or no such device"),
        (status = 409, body = DevicesErrorBody, description = "The vehicle is not minted, the device is not claimed, or either is already paired")))]
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
#[utoipa::path(get, path = "/v1/user/devices/{userDeviceId}/aftermarket/commands/unpair", tag = "Devices API: pairing",
    params(("userDeviceId" = String, Path, description = "The vehicle's id")), security(("bearer" = [])),
    responses((status = 200, body = Eip712Payload, description = "`UnPairAftermarketDeviceSign`"),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token"),
        (status = 404, body = DevicesErrorBody, description = "No such vehicle of the caller"),
        (status = 409, body = DevicesErrorBody, description = "The vehicle is not minted or not paired")))]
async fn unpair_payload(
    State(state): State<AppState>,
    user: RegistryUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, RegistryApiError> {
    let plan = pairing::unpair_payload(&state.db, &user.user_id, &id).await?;
    payload_json(&state, &plan)
}

/// The signatures of a pair or unpair payload. The vehicle's owner always signs
/// (`signature`); when the device belongs to another account the device signs too
/// (`aftermarketDeviceSignature`, asked from the device over MQTT when omitted). A device
/// signature given for an own device is checked as well.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PairBody {
    /// The device's serial (required to pair; checked against the paired device to unpair).
    external_id: Option<String>,
    /// The caller's wallet's signature of the payload.
    #[schema(schema_with = super::docs::signature_schema)]
    signature: Option<SignatureInput>,
    /// The device's signature of the payload (needed when the device has another owner).
    #[schema(schema_with = super::docs::signature_schema)]
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
#[utoipa::path(post, path = "/v1/user/devices/{userDeviceId}/aftermarket/commands/pair", tag = "Devices API: pairing",
    params(("userDeviceId" = String, Path, description = "The vehicle's id")),
    request_body = PairBody, security(("bearer" = [])),
    responses((status = 200, body = Paired),
        (status = 400, body = DevicesErrorBody, description = "externalId missing; a signature missing, malformed, replayed or not the expected signer's (the reason says which); the device refused to sign"),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token"),
        (status = 404, body = DevicesErrorBody, description = "No such vehicle of the caller, or no such device"),
        (status = 409, body = DevicesErrorBody, description = "The vehicle is not minted, the device is not claimed, or either is already paired"),
        DeviceSigningErrors))]
async fn pair(
    State(state): State<AppState>,
    user: RegistryUser,
    Path(id): Path<String>,
    body: Result<Json<PairBody>, JsonRejection>,
) -> Result<Json<Value>, RegistryApiError> {
    execute(state, user, id, Action::Pair, body).await
}

/// Unpairs the vehicle from its device.
#[utoipa::path(post, path = "/v1/user/devices/{userDeviceId}/aftermarket/commands/unpair", tag = "Devices API: pairing",
    params(("userDeviceId" = String, Path, description = "The vehicle's id")),
    request_body = PairBody, security(("bearer" = [])),
    responses((status = 200, body = Paired),
        (status = 400, body = DevicesErrorBody, description = "A signature missing, malformed, replayed or not the expected signer's (the reason says which); externalId not the paired device; the device refused to sign"),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token"),
        (status = 404, body = DevicesErrorBody, description = "No such vehicle of the caller"),
        (status = 409, body = DevicesErrorBody, description = "The vehicle is not minted or not paired"),
        DeviceSigningErrors))]
async fn unpair(
    State(state): State<AppState>,
    user: RegistryUser,
    Path(id): Path<String>,
    body: Result<Json<PairBody>, JsonRejection>,
) -> Result<Json<Value>, RegistryApiError> {
    execute(state, user, id, Action::Unpair, body).await
}
