//! Clearing a vehicle's trouble codes: the vehicle page's "Clear codes" button opens a
//! confirmation page (no script needed) listing what will be cleared; confirming marks the
//! newest report cleared (`error_codes::clear_latest`, as `POST …/error-codes/clear` does)
//! and, when asked and the vehicle's device is online, sends the car `dtc.clear` (OBD-II
//! service 04) through the same dispatch as the other vehicle commands. The vehicle page then
//! shows the outcome: the record's clearing time and the command's live status.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};
use pitlane_shared::command::Action;
use serde::Deserialize;

use super::commands;
use super::error::PanelError;
use super::fleet::Linked;
use super::form::SessionForm;
use super::layout::{self, Notice, Section, when};
use super::session::PanelUser;
use super::vehicles::owned;
use crate::app::AppState;
use crate::devices::DevicesError;
use crate::devices::error_codes::{self, Query};

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/panel/vehicles/{vehicle_id}/clear-codes",
        get(confirm_page).post(clear),
    )
}

/// Why the car cannot be asked to clear its codes now, if it cannot. Commands need a
/// paired device the caller still owns and the MQTT layer; clearing also needs the device
/// online, since a car that is off would only see the command expire.
fn car_unavailable(state: &AppState, user: &PanelUser, linked: &Linked) -> Option<String> {
    if let Err(e) = commands::target(state, user, linked) {
        return Some(match e {
            PanelError::BadInput(m) => m,
            _ => "Remote commands are unavailable.".into(),
        });
    }
    match &linked.state {
        Some(s) if s.online => None,
        _ => Some("The vehicle's device is offline: only the record can be cleared now.".into()),
    }
}

/// The newest report when it is not cleared yet.
fn clearable(history: &[Query]) -> Option<&Query> {
    history.first().filter(|q| q.cleared_at.is_none())
}

fn confirm_view(
    state: &AppState,
    user: &PanelUser,
    linked: &Linked,
    history: &[Query],
    problem: Option<&str>,
) -> Markup {
    let v = &linked.vehicle;
    let base = format!("/panel/vehicles/{}", v.id);
    let car = car_unavailable(state, user, linked);
    layout::page(
        "Clear trouble codes",
        user,
        Section::Vehicles,
        html! {
            p { a href=(base) { "← " (v.definition.name()) } }
            h1 { "Clear trouble codes" }
            @if let Some(p) = problem { (layout::notice(Notice::Problem, p)) }
            @match clearable(history) {
                None => {
                    p { "Nothing to clear: "
                        @if history.is_empty() { "no trouble codes were reported for this vehicle." }
                        @else { "the latest trouble codes are already cleared." } }
                    p { a href=(base) { "Back to the vehicle" } }
                }
                Some(latest) => {
                    p { "These codes, reported " (when(latest.requested_at)) ", will be marked cleared:" }
                    ul.codes {
                        @for c in &latest.codes {
                            li { span.mono { (c.code.to_string()) } " " (c.description) }
                        }
                    }
                    form.card method="post" action=(format!("{base}/clear-codes")) {
                        (layout::csrf(&user.csrf))
                        @match &car {
                            None => {
                                label.check {
                                    input type="checkbox" name="on_vehicle" value="1";
                                    "Also ask the car to clear them (OBD-II service 04). This turns off the warning light and erases the car's stored fault data."
                                }
                            }
                            Some(why) => p.hint { (why) }
                        }
                        div.actions {
                            button.danger type="submit" { "Clear codes" }
                            a href=(base) { "Cancel" }
                        }
                    }
                }
            }
        },
    )
}

async fn confirm_page(
    State(state): State<AppState>,
    user: PanelUser,
    Path(id): Path<String>,
) -> Result<Markup, PanelError> {
    let linked = owned(&state, &user, &id).await?;
    let history = error_codes::list(&state.db, &linked.vehicle).await?;
    Ok(confirm_view(&state, &user, &linked, &history, None))
}

#[derive(Debug, Deserialize)]
pub struct ClearForm {
    /// Present (any value) when the car is to be asked too.
    #[serde(default)]
    on_vehicle: Option<String>,
}

async fn clear(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SessionForm { user, form }: SessionForm<ClearForm>,
) -> Result<Response, PanelError> {
    let linked = owned(&state, &user, &id).await?;
    let history = error_codes::list(&state.db, &linked.vehicle).await?;
    let again = |problem: &str| {
        let page = confirm_view(&state, &user, &linked, &history, Some(problem));
        Ok((StatusCode::CONFLICT, page).into_response())
    };
    // Check the car first, so a refused request clears nothing.
    let car = match form.on_vehicle {
        None => None,
        Some(_) => match car_unavailable(&state, &user, &linked) {
            Some(why) => return again(&why),
            None => Some(commands::target(&state, &user, &linked)?),
        },
    };
    match error_codes::clear_latest(&state.db, &linked.vehicle).await {
        Ok(_) => {}
        Err(DevicesError::State(_)) => {
            return again("Nothing to clear: the latest trouble codes are already cleared.");
        }
        Err(e) => return Err(e.into()),
    }
    let base = format!("/panel/vehicles/{}", linked.vehicle.id);
    let Some((paired, mqtt)) = car else {
        return Ok(Redirect::to(&format!("{base}?done=codes-cleared")).into_response());
    };
    let request_id = commands::dispatch(&user, paired, mqtt, Action::DtcClear)
        .await
        .map_err(|e| match e {
            PanelError::BadInput(m) => PanelError::BadInput(format!(
                "The codes are cleared in the record, but the car was not asked: {m}"
            )),
            other => other,
        })?;
    Ok(Redirect::to(&format!("{base}?done=codes-cleared&command={request_id}")).into_response())
}
