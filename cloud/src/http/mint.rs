//! Minting a vehicle (`/v1/user/devices/{userDeviceId}/commands/mint`: GET payload, POST
//! signature and images), opting it in to data sharing (`…/commands/opt-in`) and queueing a
//! status refresh (`…/commands/refresh`, limited to one per vehicle per
//! `refresh_interval_secs`). Web3 token; another user's vehicle is not found.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{OpenApi, ToSchema};

use super::registry_api::{Eip712Payload, RegistryApiError, RegistryUser, chain, ctx};
use super::user_devices::DevicesErrorBody;
use crate::accounts::now;
use crate::app::AppState;
use crate::registry::RegistryError;
use crate::registry::mint::{self, MintRequest, owned_vehicle};
use crate::registry::signatures::SignatureInput;
use crate::registry::vehicles::{opt_in, queue_refresh, vehicle_of_user_device};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/user/devices/{user_device_id}/commands/mint",
            get(mint_payload).post(mint),
        )
        .route(
            "/v1/user/devices/{user_device_id}/commands/opt-in",
            post(opt_in_route),
        )
        .route(
            "/v1/user/devices/{user_device_id}/commands/refresh",
            post(refresh),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(mint_payload, mint, opt_in_route, refresh),
    components(schemas(MintBody, Minted))
)]
pub struct Doc;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Minted {
    /// The vehicle's new token id.
    token_id: u64,
    user_device_id: String,
}

/// The EIP-712 payload the owner signs to mint the vehicle.
#[utoipa::path(get, path = "/v1/user/devices/{userDeviceId}/commands/mint", tag = "Devices API: minting",
    params(("userDeviceId" = String, Path, description = "The vehicle's id")), security(("bearer" = [])),
    responses((status = 200, body = Eip712Payload, description = "`MintVehicleWithDeviceDefinitionSign`"),
        (status = 400, body = DevicesErrorBody, description = "The caller's account has no wallet (log in with the Web3 challenge)"),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token"),
        (status = 404, body = DevicesErrorBody, description = "No such vehicle of the caller"),
        (status = 409, body = DevicesErrorBody, description = "The vehicle is already minted")))]
async fn mint_payload(
    State(state): State<AppState>,
    user: RegistryUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, RegistryApiError> {
    let chain = chain(&state)?;
    let plan = mint::mint_payload(&state.db, &user.user_id, &id).await?;
    Ok(Json(plan.payload.to_json(&chain.domain)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MintBody {
    /// The caller's wallet's signature of the mint payload (required).
    #[schema(schema_with = super::docs::signature_schema)]
    signature: Option<SignatureInput>,
    /// Base64 (a `data:image/…;base64,` prefix allowed) PNG, JPEG or WebP.
    image_data: Option<String>,
    /// The same with a transparent background.
    image_data_transparent: Option<String>,
}

/// Mints the vehicle: the signature must recover to the caller's wallet.
#[utoipa::path(post, path = "/v1/user/devices/{userDeviceId}/commands/mint", tag = "Devices API: minting",
    params(("userDeviceId" = String, Path, description = "The vehicle's id")),
    request_body = MintBody, security(("bearer" = [])),
    responses((status = 200, body = Minted),
        (status = 400, body = DevicesErrorBody, description = "A signature that is missing, malformed, replayed or not the caller's wallet's; a bad image; no wallet"),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token"),
        (status = 404, body = DevicesErrorBody, description = "No such vehicle of the caller"),
        (status = 409, body = DevicesErrorBody, description = "The vehicle is already minted")))]
async fn mint(
    State(state): State<AppState>,
    user: RegistryUser,
    Path(id): Path<String>,
    body: Result<Json<MintBody>, JsonRejection>,
) -> Result<Json<Value>, RegistryApiError> {
    let Json(body) = body?;
    let chain = chain(&state)?;
    let request = MintRequest {
        signature: body.signature,
        image_data: body.image_data,
        image_data_transparent: body.image_data_transparent,
    };
    let token = mint::mint(&ctx(&state, &chain), &user.user_id, &id, &request).await?;
    Ok(Json(json!({ "tokenId": token, "userDeviceId": id })))
}

/// Opts the minted vehicle in to data sharing (idempotent).
#[utoipa::path(post, path = "/v1/user/devices/{userDeviceId}/commands/opt-in", tag = "Devices API: minting",
    params(("userDeviceId" = String, Path, description = "The vehicle's id")), security(("bearer" = [])),
    responses((status = 204, description = "Opted in"),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token"),
        (status = 404, body = DevicesErrorBody, description = "No such vehicle of the caller"),
        (status = 409, body = DevicesErrorBody, description = "The vehicle is not minted yet")))]
async fn opt_in_route(
    State(state): State<AppState>,
    user: RegistryUser,
    Path(id): Path<String>,
) -> Result<StatusCode, RegistryApiError> {
    let vehicle = owned_vehicle(&state.db, &user.user_id, &id).await?;
    let token = vehicle_of_user_device(&state.db, &vehicle.id)
        .await?
        .ok_or_else(|| {
            RegistryError::Conflict("the vehicle is not minted yet: mint it first".into())
        })?;
    opt_in(&state.db, token.token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Queues a refresh of the vehicle's status (rate-limited per vehicle).
#[utoipa::path(post, path = "/v1/user/devices/{userDeviceId}/commands/refresh", tag = "Devices API: minting",
    params(("userDeviceId" = String, Path, description = "The vehicle's id")), security(("bearer" = [])),
    responses((status = 204, description = "Refresh queued"),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token"),
        (status = 404, body = DevicesErrorBody, description = "No such vehicle of the caller"),
        (status = 429, body = DevicesErrorBody, description = "Refreshed less than `refresh_interval_secs` ago; `Retry-After` says when to try again",
            headers(("Retry-After" = u64, description = "Seconds to wait")))))]
async fn refresh(
    State(state): State<AppState>,
    user: RegistryUser,
    Path(id): Path<String>,
) -> Result<StatusCode, RegistryApiError> {
    let vehicle = owned_vehicle(&state.db, &user.user_id, &id).await?;
    let interval = i64::try_from(state.config.refresh_interval_secs).unwrap_or(i64::MAX);
    queue_refresh(&state.db, &vehicle.id, interval, now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
