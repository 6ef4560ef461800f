//! What the registry's routes share: their error body (the devices family's
//! `{"code": <status>, "message": "..."}`), the Web3-authenticated caller with its session,
//! the registry context built from the state, and the OpenAPI schemas of EIP-712 payloads
//! and registry calls.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::extract::rejection::JsonRejection;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::bearer::{self, BearerError};
use super::failure::Failure;
use super::user_devices::DevicesApiError;
use crate::accounts::jwt::Audience;
use crate::app::AppState;
use crate::registry::signatures::Ctx;
use crate::registry::{Chain, DeviceSignError, RegistryError};

/// The `domain` of a DIMO EIP-712 payload.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Eip712Domain {
    /// `DIMO`.
    name: String,
    /// `1`.
    version: String,
    /// Decimal string (config `chain_id`).
    chain_id: String,
    /// EIP-55 address of the registry contract (config `registry_address`).
    verifying_contract: String,
}

/// One field of an EIP-712 struct type.
#[derive(Serialize, ToSchema)]
pub struct Eip712Field {
    name: String,
    /// Solidity type, e.g. `uint256`, `address`, `string[]`.
    #[serde(rename = "type")]
    kind: String,
}

/// An EIP-712 payload for `eth_signTypedData_v4`; sign it and POST the signature back.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Eip712Payload {
    domain: Eip712Domain,
    /// Every struct type's fields, `EIP712Domain` included.
    types: BTreeMap<String, Vec<Eip712Field>>,
    /// `ClaimAftermarketDeviceSign`, `MintVehicleWithDeviceDefinitionSign`,
    /// `PairAftermarketDeviceSign` or `UnPairAftermarketDeviceSign`.
    primary_type: String,
    /// The values signed, by the primary type's field names (uint256 as decimal strings,
    /// addresses EIP-55).
    #[schema(value_type = Object)]
    message: Value,
}

/// A call recorded in the registry ledger and its lifecycle status.
#[derive(Serialize, ToSchema)]
pub struct RegistryCallRef {
    id: i64,
    /// `unsubmitted`, `submitted`, `mined`, `confirmed` or `failed`.
    status: String,
}

/// A registry route's failure: `{"code": <status>, "message": "..."}`.
#[derive(Debug)]
pub struct RegistryApiError {
    pub status: StatusCode,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl RegistryApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        RegistryApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
    }
}

impl IntoResponse for RegistryApiError {
    fn into_response(self) -> Response {
        let body = json!({ "code": self.status.as_u16(), "message": self.message });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<RegistryError> for RegistryApiError {
    fn from(e: RegistryError) -> Self {
        let status = match &e {
            RegistryError::NotFound(_) => StatusCode::NOT_FOUND,
            RegistryError::BadInput(_) | RegistryError::BadSignature(_) => StatusCode::BAD_REQUEST,
            RegistryError::Forbidden(_) => StatusCode::FORBIDDEN,
            RegistryError::Conflict(_) => StatusCode::CONFLICT,
            RegistryError::TooSoon(secs) => {
                return RegistryApiError {
                    status: StatusCode::TOO_MANY_REQUESTS,
                    message: e.to_string(),
                    retry_after: Some(*secs),
                };
            }
            RegistryError::DeviceSign(why) => match why {
                DeviceSignError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
                DeviceSignError::Offline => StatusCode::SERVICE_UNAVAILABLE,
                DeviceSignError::Transport(_) => StatusCode::BAD_GATEWAY,
                DeviceSignError::Refused(_) => StatusCode::BAD_REQUEST,
            },
            RegistryError::Db(_) | RegistryError::Corrupt(_) => {
                tracing::error!(error = %e, "registry");
                return Self::internal();
            }
        };
        Self::new(status, e.to_string())
    }
}

impl From<Failure> for RegistryApiError {
    fn from(f: Failure) -> Self {
        let retry_after = match &f {
            Failure::TooMany(r) => Some(r.0),
            _ => None,
        };
        RegistryApiError {
            status: f.status(),
            message: f.message(),
            retry_after,
        }
    }
}

impl From<DevicesApiError> for RegistryApiError {
    fn from(e: DevicesApiError) -> Self {
        e.0.into()
    }
}

impl From<JsonRejection> for RegistryApiError {
    fn from(r: JsonRejection) -> Self {
        Failure::from(r).into()
    }
}

/// The caller, from a Web3 access token: user id and session id.
#[derive(Debug, Clone)]
pub struct RegistryUser {
    pub user_id: String,
    pub session_id: String,
}

impl FromRequestParts<AppState> for RegistryUser {
    type Rejection = RegistryApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match bearer::authenticate(parts, state, Audience::Web3).await {
            Ok((_, session)) => Ok(RegistryUser {
                user_id: session.user_id,
                session_id: session.session_id,
            }),
            Err(BearerError::Account(e)) => Err(Failure::from(e).into()),
            Err(_) => Err(RegistryApiError::new(
                StatusCode::UNAUTHORIZED,
                "Invalid or missing access token",
            )),
        }
    }
}

/// The chain settings (validated when the configuration was loaded).
pub fn chain(state: &AppState) -> Result<Chain, RegistryApiError> {
    Chain::from_config(&state.config).map_err(|(key, message)| {
        tracing::error!(key, message, "registry settings");
        RegistryApiError::internal()
    })
}

/// The registry context of a request.
pub fn ctx<'a>(state: &'a AppState, chain: &'a Chain) -> Ctx<'a> {
    Ctx {
        db: &state.db,
        chain,
        registry: state.registry.as_ref(),
        signer: state.device_signer.as_deref(),
        sign_timeout: Duration::from_secs(state.config.device_sign_timeout_secs),
    }
}

/// A token id from a path: a decimal `u64` (anything else is not found).
pub fn parse_token_id(text: &str, what: &'static str) -> Result<u64, RegistryApiError> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RegistryError::NotFound(what).into());
    }
    text.parse()
        .map_err(|_| RegistryError::NotFound(what).into())
}

/// RFC 3339 of Unix seconds.
pub fn rfc3339(ts: i64) -> String {
    crate::accounts::rfc3339(ts)
}
