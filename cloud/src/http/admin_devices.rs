//! The admin devices API: `POST /v1/admin/aftermarket/devices` registers a device
//! (`{serial, address, manufacturer?}` → `{tokenId, serial, address, mqttUsername,
//! mqttPassword, agentConfig}`, the password shown only here) and `GET` lists them
//! (`?after=<tokenId>&limit=<1..500>`). `GET /v1/admin/registry/calls?limit=<1..500>` shows
//! the ledger of signed registry calls, newest first, with their lifecycle status.
//!
//! Authorization, either of:
//! - `X-Provisioning-Key: <key>` whose SHA-256 equals the configured
//!   `provisioning_api_key_sha256` (factory tooling; compared in constant time);
//! - a Users-API access token (`Authorization: Bearer ipHash.uaHash.<jwt>`) of an admin
//!   account.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequestParts, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::registry_api::{RegistryApiError, rfc3339};
use super::user_devices::DevicesErrorBody;
use super::users_auth::UsersAuth;
use crate::accounts::Role;
use crate::accounts::secrets::{ct_eq, sha256_hex};
use crate::app::AppState;
use crate::registry::RegistryError;
use crate::registry::devices::{AftermarketDevice, DEFAULT_MANUFACTURER, NewDevice, list_devices};
use crate::registry::ledger::recent_calls;
use crate::registry::provisioning::provision;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/aftermarket/devices", post(register).get(list))
        .route("/v1/admin/registry/calls", get(calls))
}

#[derive(OpenApi)]
#[openapi(
    paths(register, list, calls),
    components(schemas(
        RegisterBody,
        Provisioned,
        AdminDevice,
        AdminDeviceList,
        RegistryCall,
        RegistryCallList
    ))
)]
pub struct Doc;

/// A registered device and its one-time credentials.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Provisioned {
    token_id: u64,
    serial: String,
    /// EIP-55.
    address: String,
    manufacturer: String,
    /// The device's lowercase address.
    mqtt_username: String,
    /// Shown only here; only its hash is stored.
    mqtt_password: String,
    /// A complete agent configuration (TOML) with these credentials and the chain settings.
    agent_config: String,
}

/// A device as the admin API lists it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AdminDevice {
    token_id: u64,
    serial: String,
    /// EIP-55.
    address: String,
    manufacturer: String,
    claimed: bool,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339, once claimed.
    claimed_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct AdminDeviceList {
    /// In token id order.
    devices: Vec<AdminDevice>,
}

/// One signed call in the registry ledger.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RegistryCall {
    id: i64,
    /// `claim`, `pair`, `unpair`, `mint` or `mint_synthetic`.
    kind: String,
    /// `unsubmitted`, `submitted`, `mined`, `confirmed` or `failed`.
    status: String,
    /// 0x EIP-712 signing hash.
    payload_hash: String,
    /// Who signed (`user`, `aftermarketDevice`) and the signatures.
    #[schema(value_type = Object)]
    signatures: Value,
    tx_hash: Option<String>,
    failure_reason: Option<String>,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339.
    confirmed_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct RegistryCallList {
    /// Newest first.
    calls: Vec<RegistryCall>,
}

/// The header carrying the provisioning API key.
pub const PROVISIONING_KEY_HEADER: &str = "x-provisioning-key";

/// A caller allowed to provision: the provisioning key's holder or an admin.
#[derive(Debug, Clone)]
pub struct Provisioner;

impl FromRequestParts<AppState> for Provisioner {
    type Rejection = RegistryApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(key) = parts.headers.get(PROVISIONING_KEY_HEADER) {
            let presented = sha256_hex(key.to_str().unwrap_or_default());
            return match &state.config.provisioning_api_key_sha256 {
                Some(digest) if ct_eq(&digest.to_ascii_lowercase(), &presented) => Ok(Provisioner),
                _ => Err(RegistryApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "Invalid provisioning key",
                )),
            };
        }
        let auth = UsersAuth::from_request_parts(parts, state)
            .await
            .map_err(|e| RegistryApiError::from(e.0))?;
        if auth.role != Role::Admin {
            return Err(RegistryApiError::new(
                StatusCode::FORBIDDEN,
                "only administrators may provision devices",
            ));
        }
        Ok(Provisioner)
    }
}

/// A device as the admin API shows it.
pub fn device_json(d: &AftermarketDevice) -> Value {
    json!({
        "tokenId": d.token_id,
        "serial": d.serial,
        "address": d.address.to_checksum(),
        "manufacturer": d.manufacturer,
        "claimed": d.owner_user_id.is_some(),
        "createdAt": rfc3339(d.created_at),
        "claimedAt": d.claimed_at.map(rfc3339),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    /// Unique serial number.
    serial: String,
    /// The device's 0x address (its key's), unique.
    address: String,
    /// Defaults to the configured manufacturer name.
    manufacturer: Option<String>,
}

/// Registers a device; answers its MQTT credentials and agent configuration once.
#[utoipa::path(post, path = "/v1/admin/aftermarket/devices", operation_id = "register_device", tag = "Admin",
    request_body = RegisterBody,
    security(("provisioningKey" = []), ("bearer" = [])),
    responses((status = 201, body = Provisioned),
        (status = 400, body = DevicesErrorBody, description = "Malformed body, bad serial or address"),
        (status = 401, body = DevicesErrorBody, description = "Invalid provisioning key, or no valid Users-API token"),
        (status = 403, body = DevicesErrorBody, description = "The Users-API token is not an administrator's"),
        (status = 409, body = DevicesErrorBody, description = "The serial or address is registered already")))]
async fn register(
    State(state): State<AppState>,
    _: Provisioner,
    body: Result<Json<RegisterBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), RegistryApiError> {
    let Json(body) = body?;
    let address = body
        .address
        .parse()
        .map_err(|e| RegistryError::BadInput(format!("address: {e}")))?;
    let new = NewDevice {
        serial: body.serial,
        address,
        manufacturer: body
            .manufacturer
            .unwrap_or_else(|| DEFAULT_MANUFACTURER.into()),
    };
    let provisioned = provision(&state.db, &state.config, new).await?;
    let device = &provisioned.registered.device;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "tokenId": device.token_id,
            "serial": device.serial,
            "address": device.address.to_checksum(),
            "manufacturer": device.manufacturer,
            "mqttUsername": device.address.to_lowercase_hex(),
            "mqttPassword": provisioned.registered.mqtt_password,
            "agentConfig": provisioned.agent_config,
        })),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Start after this token id (devices only).
    after: Option<u64>,
    /// 1 to 500 (default 100).
    limit: Option<u32>,
}

/// Registered devices in token id order, a page at a time.
#[utoipa::path(get, path = "/v1/admin/aftermarket/devices", operation_id = "list_devices", tag = "Admin", params(ListQuery),
    security(("provisioningKey" = []), ("bearer" = [])),
    responses((status = 200, body = AdminDeviceList),
        (status = 400, body = DevicesErrorBody, description = "after or limit not a whole number, or limit out of range"),
        (status = 401, body = DevicesErrorBody, description = "Invalid provisioning key, or no valid Users-API token"),
        (status = 403, body = DevicesErrorBody, description = "The Users-API token is not an administrator's")))]
async fn list(
    State(state): State<AppState>,
    _: Provisioner,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, RegistryApiError> {
    let Query(query) = query.map_err(|_| {
        RegistryApiError::from(RegistryError::BadInput(
            "after and limit must be whole numbers".into(),
        ))
    })?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(RegistryError::BadInput("limit: must be 1 to 500".into()).into());
    }
    let devices = list_devices(&state.db, query.after.unwrap_or(0), limit).await?;
    Ok(Json(json!({
        "devices": devices.iter().map(device_json).collect::<Vec<_>>(),
    })))
}

/// The most recent registry calls (the ledger), newest first.
#[utoipa::path(get, path = "/v1/admin/registry/calls", operation_id = "registry_calls", tag = "Admin",
    params(("limit" = Option<u32>, Query, description = "1 to 500 (default 100)")),
    security(("provisioningKey" = []), ("bearer" = [])),
    responses((status = 200, body = RegistryCallList),
        (status = 400, body = DevicesErrorBody, description = "limit not a whole number or out of range"),
        (status = 401, body = DevicesErrorBody, description = "Invalid provisioning key, or no valid Users-API token"),
        (status = 403, body = DevicesErrorBody, description = "The Users-API token is not an administrator's")))]
async fn calls(
    State(state): State<AppState>,
    _: Provisioner,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, RegistryApiError> {
    let Query(query) = query.map_err(|_| {
        RegistryApiError::from(RegistryError::BadInput(
            "limit must be a whole number".into(),
        ))
    })?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(RegistryError::BadInput("limit: must be 1 to 500".into()).into());
    }
    let calls = recent_calls(&state.db, limit).await?;
    let list: Vec<Value> = calls
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "kind": c.kind,
                "status": c.status,
                "payloadHash": c.payload_hash,
                "signatures": c.signatures,
                "txHash": c.tx_hash,
                "failureReason": c.failure_reason,
                "createdAt": rfc3339(c.created_at),
                "confirmedAt": c.confirmed_at.map(rfc3339),
            })
        })
        .collect();
    Ok(Json(json!({ "calls": list })))
}
