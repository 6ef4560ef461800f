//! Remote vehicle commands: `POST /v1/vehicle/{tokenId}/commands/{doors/lock, doors/unlock,
//! trunk/open, frunk/open}` sends a signed command to the vehicle's paired device and answers
//! its `requestId`; `GET /v1/vehicle/{tokenId}/commands/{requestId}` answers its status. Both
//! need a privilege token with privilege 2 (commands) for that vehicle. Errors are
//! `{"code": <status>, "message"}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use pitlane_shared::command::Action;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::{OpenApi, ToSchema};

use super::privilege::{PrivilegeRejection, VehiclePrivilege};
use super::user_devices::DevicesErrorBody;
use crate::app::AppState;
use crate::commands::envelope::rfc3339_ms;
use crate::commands::store::{self, CommandRow};
use crate::mqtt::dispatch::CommandRequest;

/// DIMO's privilege id for vehicle commands.
pub const COMMANDS_PRIVILEGE: u32 = 2;

pub fn router() -> Router<AppState> {
    let route = |action: Action| {
        post(
            move |state: State<AppState>, p: VehiclePrivilege, Path(token): Path<String>| {
                send(state, p, token, action)
            },
        )
    };
    Router::new()
        .route(
            "/v1/vehicle/{token_id}/commands/doors/lock",
            route(Action::DoorsLock),
        )
        .route(
            "/v1/vehicle/{token_id}/commands/doors/unlock",
            route(Action::DoorsUnlock),
        )
        .route(
            "/v1/vehicle/{token_id}/commands/trunk/open",
            route(Action::TrunkOpen),
        )
        .route(
            "/v1/vehicle/{token_id}/commands/frunk/open",
            route(Action::FrunkOpen),
        )
        .route("/v1/vehicle/{token_id}/commands/{request_id}", get(status))
}

#[derive(OpenApi)]
#[openapi(
    paths(doors_lock, doors_unlock, trunk_open, frunk_open, status),
    components(schemas(CommandSent, CommandStatus))
)]
pub struct Doc;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CommandSent {
    /// Poll `GET /v1/vehicle/{tokenId}/commands/{requestId}` for the outcome.
    #[schema(example = "2bh8fNMoix9qduuiE9NHUzTGpZx")]
    request_id: String,
}

/// A command's status.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CommandStatus {
    request_id: String,
    /// `doors.lock`, `doors.unlock`, `trunk.open`, `frunk.open`, `dtc.clear`.
    action: String,
    /// `pending`, `executed`, `failed`, `rejected` or `expired`.
    status: String,
    /// Why it failed or was refused (`policy`, `expired`, `unsupported`, …).
    code: Option<String>,
    reason: Option<String>,
    /// What the car confirmed (e.g. the door lock state), when the device reported it.
    #[schema(value_type = Option<Object>)]
    state: Option<Value>,
    /// RFC 3339 with milliseconds.
    issued_at: String,
    expires_at: String,
    completed_at: Option<String>,
}

/// Sends a command to the vehicle's paired device (documentation of the four routes).
macro_rules! command_doc {
    ($name:ident, $path:literal, $what:literal) => {
        #[doc = $what]
        #[utoipa::path(post, path = $path, tag = "Devices API: vehicle commands",
            params(("tokenId" = String, Path, description = "The vehicle's token id")),
            security(("privilegeToken" = [])),
            responses((status = 200, body = CommandSent, description = "Sent; the device executes it and reports back"),
                (status = 401, body = DevicesErrorBody, description = "Missing, invalid or expired privilege token, or its session ended"),
                (status = 403, body = DevicesErrorBody, description = "The token is for another vehicle, lacks privilege 2 (commands), or its holder no longer owns the vehicle"),
                (status = 404, body = DevicesErrorBody, description = "Not a token id"),
                (status = 409, body = DevicesErrorBody, description = "The vehicle has no paired aftermarket device"),
                (status = 503, body = DevicesErrorBody, description = "The MQTT layer is not running or the command could not be published")))]
        #[allow(dead_code)] // Documentation only: `router` serves the route.
        fn $name() {}
    };
}
command_doc!(
    doors_lock,
    "/v1/vehicle/{tokenId}/commands/doors/lock",
    "Locks the doors."
);
command_doc!(
    doors_unlock,
    "/v1/vehicle/{tokenId}/commands/doors/unlock",
    "Unlocks the doors."
);
command_doc!(
    trunk_open,
    "/v1/vehicle/{tokenId}/commands/trunk/open",
    "Opens the trunk."
);
command_doc!(
    frunk_open,
    "/v1/vehicle/{tokenId}/commands/frunk/open",
    "Opens the frunk."
);

/// An error of this family.
#[derive(Debug)]
pub struct CommandsApiError {
    status: StatusCode,
    message: String,
}

impl CommandsApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        CommandsApiError {
            status,
            message: message.into(),
        }
    }

    fn internal(e: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %e, "vehicle commands");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
    }
}

impl IntoResponse for CommandsApiError {
    fn into_response(self) -> Response {
        let body = json!({ "code": self.status.as_u16(), "message": self.message });
        (self.status, Json(body)).into_response()
    }
}

impl From<PrivilegeRejection> for CommandsApiError {
    fn from(r: PrivilegeRejection) -> Self {
        Self::new(r.status, r.message)
    }
}

fn token_id(text: &str) -> Result<u64, CommandsApiError> {
    text.parse()
        .map_err(|_| CommandsApiError::new(StatusCode::NOT_FOUND, "vehicle not found"))
}

async fn send(
    State(state): State<AppState>,
    privilege: VehiclePrivilege,
    token: String,
    action: Action,
) -> Result<Json<Value>, CommandsApiError> {
    let token_id = token_id(&token)?;
    privilege.require(token_id, COMMANDS_PRIVILEGE)?;
    let mqtt = state.mqtt.as_ref().ok_or_else(|| {
        CommandsApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "remote commands are unavailable: the MQTT layer is not running",
        )
    })?;
    let paired = crate::registry::paired_device(&state.db, token_id)
        .await
        .map_err(|e| CommandsApiError::internal(&e))?
        .ok_or_else(|| {
            CommandsApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "vehicle {token_id} has no paired aftermarket device; pair one before \
                     sending commands"
                ),
            )
        })?;
    if paired.owner_user_id != privilege.user_id() {
        return Err(CommandsApiError::new(
            StatusCode::FORBIDDEN,
            format!("the holder of this privilege token no longer owns vehicle {token_id}"),
        ));
    }
    let sent = mqtt
        .send_command(CommandRequest {
            device: paired.address,
            action,
            params: json!({}),
            vehicle_token_id: Some(token_id),
            user_id: Some(privilege.user_id()),
            ttl: None,
        })
        .await
        .map_err(|e| match e {
            crate::mqtt::dispatch::DispatchError::Publish(m) => CommandsApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the command could not be sent: {m}"),
            ),
            other => CommandsApiError::internal(&other),
        })?;
    Ok(Json(json!({ "requestId": sent.request_id })))
}

/// The documented status body of a command.
pub fn command_json(c: &CommandRow) -> Value {
    let mut body = json!({
        "requestId": c.request_id,
        "action": c.action,
        "status": c.status,
        "issuedAt": rfc3339_ms(c.issued_ms),
        "expiresAt": rfc3339_ms(c.expires_ms),
    });
    let optional = [
        ("code", c.code.clone().map(Value::String)),
        ("reason", c.reason.clone().map(Value::String)),
        (
            "state",
            c.state
                .clone()
                .filter(|s| s.as_object().is_some_and(|o| !o.is_empty())),
        ),
        (
            "completedAt",
            c.completed_ms.map(|t| Value::String(rfc3339_ms(t))),
        ),
    ];
    if let Some(object) = body.as_object_mut() {
        for (key, value) in optional {
            if let Some(v) = value {
                object.insert(key.to_owned(), v);
            }
        }
    }
    body
}

/// A command's status (only commands sent to this vehicle).
#[utoipa::path(get, path = "/v1/vehicle/{tokenId}/commands/{requestId}", tag = "Devices API: vehicle commands",
    params(("tokenId" = String, Path, description = "The vehicle's token id"),
        ("requestId" = String, Path, description = "From the command's answer")),
    security(("privilegeToken" = [])),
    responses((status = 200, body = CommandStatus),
        (status = 401, body = DevicesErrorBody, description = "Missing, invalid or expired privilege token, or its session ended"),
        (status = 403, body = DevicesErrorBody, description = "The token is for another vehicle or lacks privilege 2 (commands)"),
        (status = 404, body = DevicesErrorBody, description = "No such command of this vehicle")))]
async fn status(
    State(state): State<AppState>,
    privilege: VehiclePrivilege,
    Path((token, request_id)): Path<(String, String)>,
) -> Result<Json<Value>, CommandsApiError> {
    let token_id = token_id(&token)?;
    privilege.require(token_id, COMMANDS_PRIVILEGE)?;
    let not_found = || CommandsApiError::new(StatusCode::NOT_FOUND, "command not found");
    if !crate::devices::is_id(&request_id) {
        return Err(not_found());
    }
    let row = store::get(&state.db, &request_id)
        .await
        .map_err(|e| CommandsApiError::internal(&e))?
        .filter(|c| c.vehicle_token_id.and_then(|t| u64::try_from(t).ok()) == Some(token_id))
        .ok_or_else(not_found)?;
    Ok(Json(command_json(&row)))
}
