//! The panel's front page: the user's vehicles.

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;

use super::error::PanelError;
use super::layout::{self, Notice, Section};
use super::session::PanelUser;
use crate::app::AppState;
use crate::devices::vehicles;

pub fn router() -> Router<AppState> {
    Router::new().route("/panel/", get(show))
}

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    user: PanelUser,
    Query(q): Query<DoneQuery>,
) -> Result<Markup, PanelError> {
    let list = vehicles::list(&state.db, user.id()).await?;
    Ok(layout::page(
        "Vehicles",
        &user,
        Section::Vehicles,
        html! {
            h1 { "Vehicles" }
            @if q.done.as_deref() == Some("welcome") {
                (layout::notice(Notice::Ok, "Welcome to Pitlane: your account is active."))
            }
            @if list.is_empty() {
                p { "No vehicles yet. Vehicles appear here once you add them with "
                    code { "POST /v1/user/devices/fromvin" } " or claim a device." }
            } @else {
                div.scroll {
                    table {
                        thead { tr {
                            th scope="col" { "Vehicle" }
                            th scope="col" { "VIN" }
                        } }
                        tbody {
                            @for v in &list {
                                tr {
                                    td { (v.definition.name()) }
                                    td.mono { (v.vin.as_deref().unwrap_or("–")) }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}
