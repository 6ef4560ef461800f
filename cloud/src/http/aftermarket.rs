//! Aftermarket devices in the devices API: claiming by serial
//! (`/v1/aftermarket/device/by-serial/{serial}/commands/claim`, GET payload and POST
//! signatures; Web3 token) and the public on-chain queries by token id and by address,
//! with the device's identicon as its image.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use pitlane_shared::identity::Address;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{OpenApi, ToSchema};

use super::registry_api::{
    Eip712Payload, RegistryApiError, RegistryCallRef, RegistryUser, chain, ctx, parse_token_id,
    rfc3339,
};
use super::user_devices::{DeviceSigningErrors, DevicesErrorBody};
use crate::app::AppState;
use crate::registry::claim::{self, ClaimSignatures};
use crate::registry::devices::{AftermarketDevice, device_by_token, validate_serial};
use crate::registry::identicon::Identicon;
use crate::registry::signatures::SignatureInput;
use crate::registry::vehicles::pairing_of_device_token;
use crate::registry::{RegistryError, device_by_address};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/aftermarket/device/by-serial/{serial}/commands/claim",
            get(claim_payload).post(claim),
        )
        .route(
            "/v1/aftermarket/device/by-address/{address}",
            get(by_address),
        )
        .route("/v1/aftermarket/device/{token_id}", get(by_token))
        .route("/v1/aftermarket/device/{token_id}/image", get(image))
}

#[derive(OpenApi)]
#[openapi(
    paths(claim_payload, claim, by_token, by_address, image),
    components(schemas(
        ClaimBody,
        Claimed,
        DeviceMetadata,
        Attribute,
        Eip712Payload,
        super::registry_api::Eip712Domain,
        super::registry_api::Eip712Field,
        RegistryCallRef
    ))
)]
pub struct Doc;

/// An ERC-721 metadata attribute.
#[derive(Serialize, ToSchema)]
pub struct Attribute {
    trait_type: String,
    /// A string or a number.
    #[schema(value_type = String)]
    value: Value,
}

/// ERC-721 style metadata of an aftermarket device, plus its fields.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DeviceMetadata {
    name: String,
    description: String,
    /// URL of `GET /v1/aftermarket/device/{tokenId}/image`.
    image: String,
    /// `Ethereum Address`, `Serial Number`, `Manufacturer`.
    attributes: Vec<Attribute>,
    token_id: u64,
    /// EIP-55.
    address: String,
    serial: String,
    manufacturer: String,
    /// RFC 3339.
    minted_at: String,
    /// RFC 3339, once claimed.
    claimed_at: Option<String>,
    /// The vehicle it is paired with.
    vehicle_token_id: Option<u64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Claimed {
    aftermarket_device_token_id: u64,
    registry_call: RegistryCallRef,
}

fn known_serial(serial: &str) -> Result<(), RegistryApiError> {
    validate_serial(serial).map_err(|_| RegistryError::NotFound("aftermarket device").into())
}

/// The EIP-712 payload the caller's wallet and the device sign to claim the device.
#[utoipa::path(get, path = "/v1/aftermarket/device/by-serial/{serial}/commands/claim",
    tag = "Devices API: aftermarket devices",
    params(("serial" = String, Path, description = "The device's serial number")), security(("bearer" = [])),
    responses((status = 200, body = Eip712Payload, description = "`ClaimAftermarketDeviceSign`"),
        (status = 400, body = DevicesErrorBody, description = "The caller's account has no wallet (log in with the Web3 challenge)"),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token"),
        (status = 404, body = DevicesErrorBody, description = "No such device"),
        (status = 409, body = DevicesErrorBody, description = "The device is already claimed")))]
async fn claim_payload(
    State(state): State<AppState>,
    user: RegistryUser,
    Path(serial): Path<String>,
) -> Result<Json<Value>, RegistryApiError> {
    known_serial(&serial)?;
    let chain = chain(&state)?;
    let plan = claim::claim_payload(&state.db, &user.user_id, &serial).await?;
    Ok(Json(plan.payload.to_json(&chain.domain)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClaimBody {
    /// The caller's wallet's signature of the claim payload (required).
    #[schema(schema_with = super::docs::signature_schema)]
    user_signature: Option<SignatureInput>,
    /// The device's signature of the same payload; when omitted the cloud asks the device
    /// over MQTT.
    #[schema(schema_with = super::docs::signature_schema)]
    aftermarket_device_signature: Option<SignatureInput>,
}

/// Claims the device: `userSignature` must recover to the caller's wallet and
/// `aftermarketDeviceSignature` to the device (asked from the device when omitted).
#[utoipa::path(post, path = "/v1/aftermarket/device/by-serial/{serial}/commands/claim",
    tag = "Devices API: aftermarket devices",
    params(("serial" = String, Path, description = "The device's serial number")),
    request_body = ClaimBody, security(("bearer" = [])),
    responses((status = 200, body = Claimed),
        (status = 400, body = DevicesErrorBody, description = "A signature that is missing, malformed, replayed or not the expected signer's (the reason says which), the device refused to sign, or the caller has no wallet"),
        (status = 401, body = DevicesErrorBody, description = "Missing or invalid Web3 access token"),
        (status = 404, body = DevicesErrorBody, description = "No such device"),
        (status = 409, body = DevicesErrorBody, description = "The device is already claimed"),
        DeviceSigningErrors))]
async fn claim(
    State(state): State<AppState>,
    user: RegistryUser,
    Path(serial): Path<String>,
    body: Result<Json<ClaimBody>, JsonRejection>,
) -> Result<Json<Value>, RegistryApiError> {
    known_serial(&serial)?;
    let Json(body) = body?;
    let chain = chain(&state)?;
    let signatures = ClaimSignatures {
        user: body.user_signature,
        device: body.aftermarket_device_signature,
    };
    let outcome = claim::claim(&ctx(&state, &chain), &user.user_id, &serial, &signatures).await?;
    let device = crate::registry::device_by_serial(&state.db, &serial)
        .await?
        .ok_or(RegistryError::NotFound("aftermarket device"))?;
    Ok(Json(json!({
        "aftermarketDeviceTokenId": device.token_id,
        "registryCall": { "id": outcome.call_id, "status": outcome.status.as_str() },
    })))
}

/// ERC-721 style metadata of a device, plus its fields.
async fn metadata(state: &AppState, device: &AftermarketDevice) -> Result<Value, RegistryApiError> {
    let paired = pairing_of_device_token(&state.db, device.token_id).await?;
    let image = format!(
        "{}/v1/aftermarket/device/{}/image",
        state.config.public_url.trim_end_matches('/'),
        device.token_id
    );
    Ok(json!({
        "name": format!("{} device {}", device.manufacturer, device.serial),
        "description": format!("Aftermarket device {} ({})", device.token_id, device.manufacturer),
        "image": image,
        "attributes": [
            { "trait_type": "Ethereum Address", "value": device.address.to_checksum() },
            { "trait_type": "Serial Number", "value": device.serial },
            { "trait_type": "Manufacturer", "value": device.manufacturer },
        ],
        "tokenId": device.token_id,
        "address": device.address.to_checksum(),
        "serial": device.serial,
        "manufacturer": device.manufacturer,
        "mintedAt": rfc3339(device.created_at),
        "claimedAt": device.claimed_at.map(rfc3339),
        "vehicleTokenId": paired.map(|p| p.vehicle_token_id),
    }))
}

async fn device(state: &AppState, token: &str) -> Result<AftermarketDevice, RegistryApiError> {
    let token = parse_token_id(token, "aftermarket device")?;
    Ok(device_by_token(&state.db, token)
        .await?
        .ok_or(RegistryError::NotFound("aftermarket device"))?)
}

/// Device metadata by token id (public).
#[utoipa::path(get, path = "/v1/aftermarket/device/{tokenId}", operation_id = "device_by_token", tag = "Devices API: on-chain queries",
    params(("tokenId" = String, Path, description = "The device's token id (decimal)")),
    responses((status = 200, body = DeviceMetadata),
        (status = 404, body = DevicesErrorBody, description = "No such device")))]
async fn by_token(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<Value>, RegistryApiError> {
    let device = device(&state, &token).await?;
    Ok(Json(metadata(&state, &device).await?))
}

/// Device metadata by 0x address (public).
#[utoipa::path(get, path = "/v1/aftermarket/device/by-address/{address}", operation_id = "device_by_address", tag = "Devices API: on-chain queries",
    params(("address" = String, Path, description = "The device's 0x Ethereum address")),
    responses((status = 200, body = DeviceMetadata),
        (status = 400, body = DevicesErrorBody, description = "Not an Ethereum address (or a mixed-case one failing EIP-55)"),
        (status = 404, body = DevicesErrorBody, description = "No such device")))]
async fn by_address(
    State(state): State<AppState>,
    Path(address): Path<String>,
) -> Result<Json<Value>, RegistryApiError> {
    let address: Address = address
        .parse()
        .map_err(|e| RegistryApiError::from(RegistryError::BadInput(format!("address: {e}"))))?;
    let device = device_by_address(&state.db, &address)
        .await?
        .ok_or(RegistryError::NotFound("aftermarket device"))?;
    Ok(Json(metadata(&state, &device).await?))
}

/// The device's identicon (PNG, public).
#[utoipa::path(get, path = "/v1/aftermarket/device/{tokenId}/image", operation_id = "device_image", tag = "Devices API: on-chain queries",
    params(("tokenId" = String, Path, description = "The device's token id (decimal)")),
    responses((status = 200, content_type = "image/png", body = Vec<u8>, description = "A PNG identicon of the device's address"),
        (status = 404, body = DevicesErrorBody, description = "No such device")))]
async fn image(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<impl IntoResponse, RegistryApiError> {
    let device = device(&state, &token).await?;
    png_response(device.address.as_bytes())
}

/// A PNG identicon response for `seed`, cacheable (the picture never changes).
pub fn png_response(seed: &[u8]) -> Result<impl IntoResponse + use<>, RegistryApiError> {
    let png = Identicon::new(seed)
        .to_png()
        .map_err(|e| RegistryApiError::from(RegistryError::Corrupt(format!("identicon: {e}"))))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        png,
    ))
}
