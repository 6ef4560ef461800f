//! Token exchange (`POST /v1/tokens/exchange`): a Web3 access token plus a vehicle token id
//! and privilege ids → a short-lived privilege token for the vehicle routes. Only the owner,
//! or an account the owner shared the privileges with, gets one. Sharing lives at
//! `/v1/user/devices/{userDeviceId}/privileges` (owner only): GET lists, POST grants
//! `{grantee, privileges, expiresAt}`, DELETE `…/privileges/{grantee}` withdraws.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use pitlane_shared::identity::Address;
use serde::Deserialize;
use serde_json::{Value, json};

use super::registry_api::{RegistryApiError, RegistryUser, chain, rfc3339};
use crate::accounts::now;
use crate::app::AppState;
use crate::registry::RegistryError;
use crate::registry::mint::owned_vehicle;
use crate::registry::privileges::{self, Exchange, PrivilegeKeys, parse_privileges};
use crate::registry::vehicles::{VehicleToken, vehicle_of_user_device};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/tokens/exchange", post(exchange))
        .route(
            "/v1/user/devices/{user_device_id}/privileges",
            get(list_grants).post(grant),
        )
        .route(
            "/v1/user/devices/{user_device_id}/privileges/{grantee}",
            delete(revoke),
        )
}

fn bad(message: String) -> RegistryApiError {
    RegistryError::BadInput(message).into()
}

fn address(field: &str, text: &str) -> Result<Address, RegistryApiError> {
    text.parse().map_err(|e| bad(format!("{field}: {e}")))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ExchangeBody {
    nft_contract_address: String,
    privileges: Vec<i64>,
    token_id: u64,
}

/// Issues a privilege token for the vehicle.
async fn exchange(
    State(state): State<AppState>,
    user: RegistryUser,
    body: Result<Json<ExchangeBody>, JsonRejection>,
) -> Result<Json<Value>, RegistryApiError> {
    let Json(body) = body?;
    let chain = chain(&state)?;
    let request = Exchange {
        contract: address("nftContractAddress", &body.nft_contract_address)?,
        token_id: body.token_id,
        privileges: parse_privileges(&body.privileges)?,
    };
    let keys = PrivilegeKeys::derive(&state.keys.jwt);
    let ttl = i64::try_from(state.config.privilege_token_ttl_secs).unwrap_or(600);
    let token = privileges::exchange(
        &state.db,
        &chain,
        &keys,
        (&user.user_id, &user.session_id),
        &request,
        now(),
        ttl,
    )
    .await?;
    Ok(Json(json!({ "token": token })))
}

async fn minted(
    state: &AppState,
    user: &RegistryUser,
    id: &str,
) -> Result<VehicleToken, RegistryApiError> {
    let vehicle = owned_vehicle(&state.db, &user.user_id, id).await?;
    Ok(vehicle_of_user_device(&state.db, &vehicle.id)
        .await?
        .ok_or_else(|| {
            RegistryError::Conflict("the vehicle is not minted yet: mint it first".into())
        })?)
}

/// The privileges the owner has shared on the vehicle (unexpired).
async fn list_grants(
    State(state): State<AppState>,
    user: RegistryUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, RegistryApiError> {
    let vehicle = minted(&state, &user, &id).await?;
    let grants = privileges::grants(&state.db, &user.user_id, vehicle.token_id, now()).await?;
    let list: Vec<Value> = grants
        .iter()
        .map(|g| {
            json!({
                "grantee": g.grantee_wallet,
                "privilegeId": g.privilege_id,
                "expiresAt": rfc3339(g.expires_at),
            })
        })
        .collect();
    Ok(Json(
        json!({ "tokenId": vehicle.token_id, "privileges": list }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GrantBody {
    grantee: String,
    privileges: Vec<i64>,
    expires_at: String,
}

/// Shares privileges on the vehicle with the account of the `grantee` wallet.
async fn grant(
    State(state): State<AppState>,
    user: RegistryUser,
    Path(id): Path<String>,
    body: Result<Json<GrantBody>, JsonRejection>,
) -> Result<StatusCode, RegistryApiError> {
    let Json(body) = body?;
    let grantee = address("grantee", &body.grantee)?;
    let privileges = parse_privileges(&body.privileges)?;
    let expires_at = chrono::DateTime::parse_from_rfc3339(&body.expires_at)
        .map_err(|_| bad("expiresAt: not an RFC 3339 time".into()))?
        .timestamp();
    let vehicle = minted(&state, &user, &id).await?;
    privileges::grant(
        &state.db,
        &user.user_id,
        vehicle.token_id,
        &grantee,
        &privileges,
        expires_at,
        now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Withdraws every privilege shared with the `grantee` wallet.
async fn revoke(
    State(state): State<AppState>,
    user: RegistryUser,
    Path((id, grantee)): Path<(String, String)>,
) -> Result<StatusCode, RegistryApiError> {
    let grantee = address("grantee", &grantee)?;
    let vehicle = minted(&state, &user, &id).await?;
    match privileges::revoke(&state.db, &user.user_id, vehicle.token_id, &grantee).await? {
        0 => Err(RegistryError::NotFound("grant").into()),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}
