//! Lock, unlock, trunk and frunk buttons and the command's live status. The owner of a
//! vehicle sends commands to its paired device through the MQTT layer (the same checks as
//! `POST /v1/vehicle/{tokenId}/commands/…`, without a privilege token: the panel session is
//! the owner's). Without script the form posts and the page shows the status with a
//! refresh link; with script the status follows until it settles, also for a command the
//! page was opened with (`?command=`, as after clearing trouble codes with the car).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use maud::{Markup, html};
use pitlane_shared::command::Action;
use serde::Deserialize;
use serde_json::json;

use super::error::PanelError;
use super::fleet::Linked;
use super::form::{SessionForm, SessionJson};
use super::layout;
use super::session::PanelUser;
use super::vehicles::owned;
use crate::app::AppState;
use crate::commands::store;
use crate::mqtt::MqttLayer;
use crate::mqtt::dispatch::{CommandRequest, DispatchError};
use crate::registry::vehicles::PairedDevice;

/// The buttons, in order.
const BUTTONS: [(Action, &str); 4] = [
    (Action::DoorsLock, "Lock"),
    (Action::DoorsUnlock, "Unlock"),
    (Action::TrunkOpen, "Open trunk"),
    (Action::FrunkOpen, "Open frunk"),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/panel/vehicles/{vehicle_id}/commands", post(send_form))
        .route(
            "/panel/vehicles/{vehicle_id}/commands.json",
            post(send_json),
        )
        .route(
            "/panel/vehicles/{vehicle_id}/commands/{request_id}",
            get(status),
        )
}

/// A command as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandView {
    pub request_id: String,
    pub status: String,
    pub text: String,
}

fn label(action: &str) -> &'static str {
    if action == Action::DtcClear.as_str() {
        return "Clear trouble codes";
    }
    BUTTONS
        .iter()
        .find(|(a, _)| a.as_str() == action)
        .map_or("Command", |(_, l)| l)
}

/// A command of this vehicle's, or None (another vehicle's reads as missing).
pub async fn status_of(
    state: &AppState,
    linked: &Linked,
    request_id: &str,
) -> Result<Option<CommandView>, PanelError> {
    let Some(token) = &linked.token else {
        return Ok(None);
    };
    if !crate::devices::is_id(request_id) {
        return Ok(None);
    }
    let row = store::get(&state.db, request_id)
        .await
        .map_err(|e| PanelError::Internal(e.to_string()))?
        .filter(|c| c.vehicle_token_id.and_then(|t| u64::try_from(t).ok()) == Some(token.token_id));
    Ok(row.map(|c| {
        let mut text = format!("{}: {}", label(&c.action), c.status);
        if let Some(reason) = c.reason.as_deref().filter(|r| !r.is_empty()) {
            text.push_str(&format!(" ({reason})"));
        }
        CommandView {
            request_id: c.request_id,
            status: c.status,
            text,
        }
    }))
}

/// Where a command's status is read as JSON (owner only: another user's vehicle or
/// command is 404).
fn status_url(vehicle_id: &str, request_id: &str) -> String {
    format!("/panel/vehicles/{vehicle_id}/commands/{request_id}")
}

/// Why commands cannot be sent to this vehicle now, if they cannot.
fn unavailable(state: &AppState, linked: &Linked) -> Option<&'static str> {
    if linked.paired.is_none() {
        Some("Pair an aftermarket device with this vehicle to send commands.")
    } else if state.mqtt.is_none() {
        Some("Remote commands are unavailable: the MQTT layer is not running.")
    } else {
        None
    }
}

/// The commands card.
pub fn panel(user: &PanelUser, linked: &Linked, sent: Option<&CommandView>) -> Markup {
    let base = format!("/panel/vehicles/{}", linked.vehicle.id);
    let no_device = linked.paired.is_none();
    // A pending command's status URL: the page's script follows it until it settles.
    let follow = sent
        .filter(|s| s.status == "pending")
        .map(|s| status_url(&linked.vehicle.id, &s.request_id));
    html! {
        section.card aria-labelledby="commands-title" {
            h2 #commands-title { "Commands" }
            @if no_device { p { "Pair an aftermarket device with this vehicle to send commands." } }
            form method="post" action=(format!("{base}/commands")) data-json-action=(format!("{base}/commands.json")) {
                (layout::csrf(&user.csrf))
                div.commands {
                    @for (action, text) in BUTTONS {
                        button type="submit" name="action" value=(action.as_str()) data-command=(action.as_str()) disabled[no_device] { (text) }
                    }
                }
            }
            p #command-status role="status" aria-live="polite" data-status=(sent.map(|s| s.status.as_str()).unwrap_or(""))
                data-follow=[follow.as_deref()] {
                @if let Some(s) = sent {
                    (s.text)
                    @if s.status == "pending" { " · " a href=(format!("{base}?command={}", s.request_id)) { "Refresh" } }
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct SendForm {
    action: String,
}

/// The paired device and the MQTT layer a command to this vehicle goes through, or why
/// there is none. The vehicle is the caller's (the caller used [`owned`]); its pairing must
/// be too.
pub fn target<'a>(
    state: &'a AppState,
    user: &PanelUser,
    linked: &'a Linked,
) -> Result<(&'a PairedDevice, &'a MqttLayer), PanelError> {
    if let Some(why) = unavailable(state, linked) {
        return Err(PanelError::BadInput(why.into()));
    }
    let (Some(paired), Some(mqtt)) = (&linked.paired, state.mqtt.as_ref()) else {
        return Err(PanelError::Internal("pairing or MQTT vanished".into()));
    };
    if paired.owner_user_id != user.id() {
        return Err(PanelError::BadInput(
            "You no longer own this vehicle's token.".into(),
        ));
    }
    Ok((paired, mqtt))
}

/// Stores and publishes `action` for the device `paired`; answers the request id.
pub async fn dispatch(
    user: &PanelUser,
    paired: &PairedDevice,
    mqtt: &MqttLayer,
    action: Action,
) -> Result<String, PanelError> {
    let sent = mqtt
        .send_command(CommandRequest {
            device: paired.address,
            action,
            params: json!({}),
            vehicle_token_id: Some(paired.vehicle_token_id),
            user_id: Some(user.id()),
            ttl: None,
        })
        .await
        .map_err(|e| match e {
            DispatchError::Publish(m) => {
                PanelError::BadInput(format!("The command could not be sent: {m}."))
            }
            other => PanelError::Internal(other.to_string()),
        })?;
    Ok(sent.request_id)
}

async fn send(
    state: &AppState,
    user: &PanelUser,
    vehicle_id: &str,
    action: &str,
) -> Result<String, PanelError> {
    let action = BUTTONS
        .iter()
        .map(|(a, _)| *a)
        .find(|a| a.as_str() == action)
        .ok_or_else(|| PanelError::BadInput("Unknown command.".into()))?;
    let linked = owned(state, user, vehicle_id).await?;
    let (paired, mqtt) = target(state, user, &linked)?;
    dispatch(user, paired, mqtt, action).await
}

async fn send_form(
    State(state): State<AppState>,
    Path(vehicle_id): Path<String>,
    SessionForm { user, form }: SessionForm<SendForm>,
) -> Result<Response, PanelError> {
    let rid = send(&state, &user, &vehicle_id, &form.action).await?;
    Ok(Redirect::to(&format!("/panel/vehicles/{vehicle_id}?command={rid}")).into_response())
}

async fn send_json(
    State(state): State<AppState>,
    Path(vehicle_id): Path<String>,
    SessionJson { user, body }: SessionJson<SendForm>,
) -> Response {
    match send(&state, &user, &vehicle_id, &body.action).await {
        Ok(rid) => Json(json!({
            "requestId": rid,
            "statusUrl": status_url(&vehicle_id, &rid),
        }))
        .into_response(),
        Err(e) => e.into_json(),
    }
}

async fn status(
    State(state): State<AppState>,
    user: PanelUser,
    Path((vehicle_id, request_id)): Path<(String, String)>,
) -> Response {
    let run = async {
        let linked = owned(&state, &user, &vehicle_id).await?;
        status_of(&state, &linked, &request_id)
            .await?
            .ok_or(PanelError::NotFound)
    };
    match run.await {
        Ok(c) => Json(json!({ "requestId": c.request_id, "status": c.status, "text": c.text }))
            .into_response(),
        Err(e) => e.into_json(),
    }
}
