//! DCN names and synthetic devices: `GET /v1/dcn/{nodeId}` (`{node, name, owner,
//! expiration, attributes}`) and `GET /v1/dcn/{nodeId}/image` (the node's identicon),
//! `GET /v1/synthetic/device/{tokenId}`, all public; `POST /v1/admin/dcn` registers a name
//! (`{name, owner, expiresAt, vehicleTokenId?}`; provisioning key or admin, as the admin
//! devices API).

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use pitlane_shared::eip712::U256;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{OpenApi, ToSchema};

use super::admin_devices::Provisioner;
use super::aftermarket::{Attribute, png_response};
use super::registry_api::{RegistryApiError, parse_token_id, rfc3339};
use super::user_devices::DevicesErrorBody;
use crate::app::AppState;
use crate::registry::RegistryError;
use crate::registry::dcn::{self, DcnNode, parse_node_id};
use crate::registry::vehicles::synthetic_device;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/dcn/{node_id}", get(node))
        .route("/v1/dcn/{node_id}/image", get(image))
        .route("/v1/admin/dcn", post(register))
        .route("/v1/synthetic/device/{token_id}", get(synthetic))
}

#[derive(OpenApi)]
#[openapi(
    paths(node, image, register, synthetic),
    components(schemas(DcnMetadata, RegisterBody, SyntheticMetadata))
)]
pub struct Doc;

/// A DCN node's metadata.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DcnMetadata {
    /// The namehash, 0x + 64 hex digits.
    node: String,
    /// The node as a decimal uint256 (its token id).
    token_id: String,
    name: String,
    /// EIP-55.
    owner: String,
    /// RFC 3339.
    expiration: String,
    /// The vehicle the name points at.
    vehicle_token_id: Option<u64>,
    /// URL of `GET /v1/dcn/{nodeId}/image`.
    image: String,
    /// `Creation Date`, and `Vehicle ID` when set.
    attributes: Vec<Attribute>,
}

/// A synthetic device's metadata (a Smartcar connection of a vehicle).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SyntheticMetadata {
    name: String,
    description: String,
    /// `Ethereum Address`, `Integration`, `Vehicle ID`.
    attributes: Vec<Attribute>,
    token_id: u64,
    /// EIP-55.
    address: String,
    integration: String,
    vehicle_token_id: u64,
    /// RFC 3339.
    minted_at: String,
}

fn node_json(state: &AppState, n: &DcnNode) -> Value {
    let node = format!("{:#x}", n.node);
    let mut attributes = vec![json!({ "trait_type": "Creation Date", "value": n.created_at })];
    if let Some(vehicle) = n.vehicle_token_id {
        attributes.push(json!({ "trait_type": "Vehicle ID", "value": vehicle }));
    }
    json!({
        "node": node,
        "tokenId": U256::from_be_bytes(n.node.0).to_string(),
        "name": n.name,
        "owner": n.owner.to_checksum(),
        "expiration": rfc3339(n.expires_at),
        "vehicleTokenId": n.vehicle_token_id,
        "image": format!("{}/v1/dcn/{node}/image", state.config.public_url.trim_end_matches('/')),
        "attributes": attributes,
    })
}

async fn find(state: &AppState, node_id: &str) -> Result<DcnNode, RegistryApiError> {
    let node = parse_node_id(node_id).ok_or(RegistryError::NotFound("DCN node"))?;
    Ok(dcn::by_node(&state.db, &node)
        .await?
        .ok_or(RegistryError::NotFound("DCN node"))?)
}

/// A DCN node's metadata (public).
#[utoipa::path(get, path = "/v1/dcn/{nodeId}", operation_id = "dcn_node", tag = "Devices API: on-chain queries",
    params(("nodeId" = String, Path, description = "The namehash (0x + 64 hex digits) or its decimal token id")),
    responses((status = 200, body = DcnMetadata),
        (status = 404, body = DevicesErrorBody, description = "No such node")))]
async fn node(
    State(state): State<AppState>,
    Path(node_id): Path<String>,
) -> Result<Json<Value>, RegistryApiError> {
    let node = find(&state, &node_id).await?;
    Ok(Json(node_json(&state, &node)))
}

/// A DCN node's identicon (PNG, public).
#[utoipa::path(get, path = "/v1/dcn/{nodeId}/image", operation_id = "dcn_image", tag = "Devices API: on-chain queries",
    params(("nodeId" = String, Path, description = "The namehash (0x + 64 hex digits) or its decimal token id")),
    responses((status = 200, content_type = "image/png", body = Vec<u8>, description = "A PNG identicon of the node"),
        (status = 404, body = DevicesErrorBody, description = "No such node")))]
async fn image(
    State(state): State<AppState>,
    Path(node_id): Path<String>,
) -> Result<impl IntoResponse, RegistryApiError> {
    let node = find(&state, &node_id).await?;
    png_response(node.node.as_slice())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RegisterBody {
    /// A DCN name such as `alice.dimo`.
    name: String,
    /// The owner's 0x address.
    owner: String,
    /// RFC 3339.
    expires_at: String,
    /// A minted vehicle the name points at.
    vehicle_token_id: Option<u64>,
}

/// Registers a DCN name (provisioning key or admin).
#[utoipa::path(post, path = "/v1/admin/dcn", operation_id = "register_dcn", tag = "Admin",
    request_body = RegisterBody,
    security(("provisioningKey" = []), ("bearer" = [])),
    responses((status = 201, body = DcnMetadata),
        (status = 400, body = DevicesErrorBody, description = "Bad name, owner address or time"),
        (status = 401, body = DevicesErrorBody, description = "Invalid provisioning key, or no valid Users-API token"),
        (status = 403, body = DevicesErrorBody, description = "The Users-API token is not an administrator's"),
        (status = 404, body = DevicesErrorBody, description = "No such vehicle"),
        (status = 409, body = DevicesErrorBody, description = "The name is registered already")))]
async fn register(
    State(state): State<AppState>,
    _: Provisioner,
    body: Result<Json<RegisterBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), RegistryApiError> {
    let Json(body) = body?;
    let bad = |m: String| RegistryApiError::from(RegistryError::BadInput(m));
    let owner = body.owner.parse().map_err(|e| bad(format!("owner: {e}")))?;
    let expires_at = chrono::DateTime::parse_from_rfc3339(&body.expires_at)
        .map_err(|_| bad("expiresAt: not an RFC 3339 time".into()))?
        .timestamp();
    let node = dcn::register(
        &state.db,
        &body.name,
        &owner,
        body.vehicle_token_id,
        expires_at,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(node_json(&state, &node))))
}

/// A synthetic device's metadata (public).
#[utoipa::path(get, path = "/v1/synthetic/device/{tokenId}", operation_id = "synthetic_device", tag = "Devices API: on-chain queries",
    params(("tokenId" = String, Path, description = "The synthetic device's token id (decimal)")),
    responses((status = 200, body = SyntheticMetadata),
        (status = 404, body = DevicesErrorBody, description = "No such synthetic device")))]
async fn synthetic(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<Value>, RegistryApiError> {
    let token = parse_token_id(&token, "synthetic device")?;
    let device = synthetic_device(&state.db, token)
        .await?
        .ok_or(RegistryError::NotFound("synthetic device"))?;
    Ok(Json(json!({
        "name": format!("Synthetic device {}", device.token_id),
        "description": format!("{} connection of vehicle {}", device.integration, device.vehicle_token_id),
        "attributes": [
            { "trait_type": "Ethereum Address", "value": device.address.to_checksum() },
            { "trait_type": "Integration", "value": device.integration },
            { "trait_type": "Vehicle ID", "value": device.vehicle_token_id },
        ],
        "tokenId": device.token_id,
        "address": device.address.to_checksum(),
        "integration": device.integration,
        "vehicleTokenId": device.vehicle_token_id,
        "mintedAt": rfc3339(device.minted_at),
    })))
}
