//! Minting a vehicle (`/v1/user/devices/{userDeviceId}/commands/mint`: GET payload, POST
//! signature and images), opting it in to data sharing (`…/commands/opt-in`) and queueing a
//! status refresh (`…/commands/refresh`, limited to one per vehicle per
//! `refresh_interval_secs`). Web3 token; another user's vehicle is not found.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::registry_api::{RegistryApiError, RegistryUser, chain, ctx};
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

/// The EIP-712 payload the owner signs to mint the vehicle.
async fn mint_payload(
    State(state): State<AppState>,
    user: RegistryUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, RegistryApiError> {
    let chain = chain(&state)?;
    let plan = mint::mint_payload(&state.db, &user.user_id, &id).await?;
    Ok(Json(plan.payload.to_json(&chain.domain)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MintBody {
    signature: Option<SignatureInput>,
    image_data: Option<String>,
    image_data_transparent: Option<String>,
}

/// Mints the vehicle: the signature must recover to the caller's wallet.
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
