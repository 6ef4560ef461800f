//! Pausing and resuming a bulk decode from its page, with `vin::store::set_paused` (as
//! `PUT /api/v1/decode/{user_id}/bulk/{bulk_id}/pause` and `…/resume` do): pausing holds the
//! waiting VINs back (those being decoded at that moment finish), resuming hands them to the
//! workers again. Another user's bulk is 404.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use maud::{Markup, html};
use serde::Deserialize;

use super::bulks::{BulkState, BulkSummary};
use super::error::PanelError;
use super::form::SessionForm;
use super::layout::{self, Notice};
use super::session::PanelUser;
use crate::app::AppState;
use crate::vin::{store, worker};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/panel/decode/bulks/{bulk_id}/pause", post(pause))
        .route("/panel/decode/bulks/{bulk_id}/resume", post(resume))
}

/// The notice for a `?done=` code of the bulk page.
pub fn done_notice(code: &str) -> Option<(Notice, &'static str)> {
    match code {
        "paused" => Some((
            Notice::Ok,
            "Bulk paused: waiting VINs are held back; any being decoded now still finish.",
        )),
        "resumed" => Some((Notice::Ok, "Bulk resumed.")),
        "nothing-to-pause" => Some((
            Notice::Problem,
            "Nothing to pause: no VIN of this bulk is waiting.",
        )),
        "nothing-to-resume" => Some((
            Notice::Problem,
            "Nothing to resume: no VIN of this bulk is paused.",
        )),
        _ => None,
    }
}

/// The bulk's state and its pause or resume button.
pub fn controls(user: &PanelUser, bulk: &BulkSummary) -> Markup {
    let p = &bulk.progress;
    let base = format!("/panel/decode/bulks/{}", bulk.id);
    let state = p.state();
    html! {
        p { "State: " strong #bulk-state data-state=(state.as_str()) { (state.as_str()) } }
        @if p.pending > 0 || p.paused > 0 {
            div.actions {
                @if p.pending > 0 {
                    form method="post" action=(format!("{base}/pause")) {
                        (layout::csrf(&user.csrf))
                        button type="submit" { "Pause" }
                    }
                }
                @if p.paused > 0 {
                    form method="post" action=(format!("{base}/resume")) {
                        (layout::csrf(&user.csrf))
                        button type="submit" { "Resume" }
                    }
                }
            }
        }
        @if state == BulkState::Paused && p.running > 0 {
            p.hint { (p.running) " being decoded now will finish." }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

async fn set(
    state: &AppState,
    user: &PanelUser,
    bulk_id: &str,
    paused: bool,
) -> Result<Response, PanelError> {
    let changed = store::set_paused(&state.db, user.id(), bulk_id, paused).await?;
    if !paused && changed > 0 {
        worker::wake();
    }
    let done = match (paused, changed) {
        (true, 0) => "nothing-to-pause",
        (true, _) => "paused",
        (false, 0) => "nothing-to-resume",
        (false, _) => "resumed",
    };
    Ok(Redirect::to(&format!("/panel/decode/bulks/{bulk_id}?done={done}")).into_response())
}

async fn pause(
    State(state): State<AppState>,
    Path(bulk_id): Path<String>,
    SessionForm { user, .. }: SessionForm<Empty>,
) -> Result<Response, PanelError> {
    set(&state, &user, &bulk_id, true).await
}

async fn resume(
    State(state): State<AppState>,
    Path(bulk_id): Path<String>,
    SessionForm { user, .. }: SessionForm<Empty>,
) -> Result<Response, PanelError> {
    set(&state, &user, &bulk_id, false).await
}
