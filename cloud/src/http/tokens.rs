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
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{OpenApi, ToSchema};

use super::registry_api::{RegistryApiError, RegistryUser, chain, rfc3339};
use super::user_devices::DevicesErrorBody;
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

#[derive(OpenApi)]
#[openapi(
    paths(exchange, list_grants, grant, revoke),
    components(schemas(ExchangeBody, PrivilegeToken, GrantBody, Grants, Grant))
)]
pub struct Doc;

#[derive(Serialize, ToSchema)]
struct PrivilegeToken {
    /// A short-lived JWT for `Authorization: Bearer` on the vehicle routes; claims `sub`,
    /// `contract`, `token_id`, `privilege_ids`.
    token: String,
}

/// One shared privilege.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Grant {
    /// The grantee's wallet (EIP-55).
    grantee: String,
    privilege_id: u32,
    /// RFC 3339.
    expires_at: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Grants {
    /// The vehicle's token id.
    token_id: u64,
    privileges: Vec<Grant>,
}

fn bad(message: String) -> RegistryApiError {
    RegistryError::BadInput(message).into()
}

fn address(field: &str, text: &str) -> Result<Address, RegistryApiError> {
    text.parse().map_err(|e| bad(format!("{field}: {e}")))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ExchangeBody {
    /// The vehicle NFT contract (config `vehicle_nft_address`).
    nft_contract_address: String,
    /// DIMO privilege ids: 1 all-time non-location data, 2 commands, 3 current location,
    /// 4 all-time location, 5 VIN credential.
    #[schema(example = json!([2]))]
    privileges: Vec<i64>,
    /// The vehicle's token id.
    token_id: u64,
}

/// Issues a privilege token for the vehicle: to its owner, or to an account the owner
/// shared the privileges with.
#[utoipa::path(post, path = "/v1/tokens/exchange", tag = "Token exchange",
    request_body = ExchangeBody, security(("bearer" = [])),
    responses((status = 200, body = PrivilegeToken),
        (status = 400, body = DevicesErrorBody, description = "Malformed body, bad address, unknown privilege id, or another contract than the vehicle NFT's"),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token"),
        (status = 403, body = DevicesErrorBody, description = "Neither the owner nor granted these privileges"),
        (status = 404, body = DevicesErrorBody, description = "No such vehicle")))]
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
#[utoipa::path(get, path = "/v1/user/devices/{userDeviceId}/privileges", tag = "Token exchange",
    params(("userDeviceId" = String, Path, description = "The vehicle's id")), security(("bearer" = [])),
    responses((status = 200, body = Grants),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token"),
        (status = 404, body = DevicesErrorBody, description = "No such vehicle of the caller"),
        (status = 409, body = DevicesErrorBody, description = "The vehicle is not minted yet")))]
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GrantBody {
    /// The wallet (0x address) of the account to share with.
    grantee: String,
    /// DIMO privilege ids (1–5).
    privileges: Vec<i64>,
    /// RFC 3339, in the future.
    expires_at: String,
}

/// Shares privileges on the vehicle with the account of the `grantee` wallet.
#[utoipa::path(post, path = "/v1/user/devices/{userDeviceId}/privileges", tag = "Token exchange",
    params(("userDeviceId" = String, Path, description = "The vehicle's id")),
    request_body = GrantBody, security(("bearer" = [])),
    responses((status = 204, description = "Shared"),
        (status = 400, body = DevicesErrorBody, description = "Bad address, privilege id or time; the grantee is the caller"),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token"),
        (status = 404, body = DevicesErrorBody, description = "No such vehicle of the caller, or no account with that wallet"),
        (status = 409, body = DevicesErrorBody, description = "The vehicle is not minted yet")))]
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
#[utoipa::path(delete, path = "/v1/user/devices/{userDeviceId}/privileges/{grantee}", tag = "Token exchange",
    params(("userDeviceId" = String, Path, description = "The vehicle's id"),
        ("grantee" = String, Path, description = "The grantee's wallet (0x address)")),
    security(("bearer" = [])),
    responses((status = 204, description = "Withdrawn"),
        (status = 400, body = DevicesErrorBody, description = "Not an address"),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token"),
        (status = 404, body = DevicesErrorBody, description = "No such vehicle of the caller, or nothing shared with that wallet"),
        (status = 409, body = DevicesErrorBody, description = "The vehicle is not minted yet")))]
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
