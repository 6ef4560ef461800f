//! Geofences: each drawn as its H3 cells on an SVG; created from a centre and a number of
//! rings (previewed first, and cells can then be toggled on the drawing) or from pasted
//! cell indexes; deleted with a button. Validation is the devices domain's.

use std::str::FromStr;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use h3o::CellIndex;
use maud::{Markup, html};
use serde::Deserialize;

use super::error::PanelError;
use super::form::SessionForm;
use super::layout::{self, Notice, Section};
use super::map;
use super::session::PanelUser;
use crate::app::AppState;
use crate::devices::DevicesError;
use crate::devices::geofences::{self, GeofenceInput, Kind};
use crate::devices::vehicles::{self, UserDevice};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/panel/geofences", get(show).post(submit))
        .route("/panel/geofences/{geofence_id}/delete", post(delete))
}

/// The create form as typed (kept to fill the form again after a preview or a problem).
#[derive(Debug, Clone, Default)]
struct Draft {
    name: String,
    kind: String,
    devices: Vec<String>,
    cells: String,
    lat: String,
    lng: String,
    resolution: String,
    rings: String,
}

impl Draft {
    fn from_pairs(pairs: Vec<(String, String)>) -> (Draft, String) {
        let mut d = Draft::default();
        let mut action = String::new();
        for (k, v) in pairs {
            match k.as_str() {
                "name" => d.name = v,
                "type" => d.kind = v,
                "device" => d.devices.push(v),
                "cells" => d.cells = v,
                "lat" => d.lat = v,
                "lng" => d.lng = v,
                "resolution" => d.resolution = v,
                "rings" => d.rings = v,
                "action" => action = v,
                _ => {}
            }
        }
        (d, action)
    }

    /// The cells: the pasted list when there is one, else the disk around the centre.
    fn cells(&self) -> Result<Vec<CellIndex>, PanelError> {
        let pasted = parse_cells(&self.cells)?;
        if !pasted.is_empty() {
            return Ok(pasted);
        }
        let num = |s: &str, what: &str| {
            s.trim()
                .parse::<f64>()
                .map_err(|_| PanelError::BadInput(format!("Enter the {what} as a number.")))
        };
        let lat = num(&self.lat, "latitude")?;
        let lng = num(&self.lng, "longitude")?;
        let res = self
            .resolution
            .trim()
            .parse::<u8>()
            .map_err(|_| PanelError::BadInput("The resolution must be 0 to 15.".into()))?;
        let rings = self
            .rings
            .trim()
            .parse::<u32>()
            .map_err(|_| PanelError::BadInput("The rings must be 0 to 25.".into()))?;
        map::disk(lat, lng, res, rings)
    }
}

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

async fn page(
    state: &AppState,
    user: &PanelUser,
    draft: &Draft,
    preview: Option<&[CellIndex]>,
    notice: Option<(Notice, &str)>,
) -> Result<Markup, PanelError> {
    let fences = geofences::list(&state.db, user.id()).await?;
    let cars = vehicles::list(&state.db, user.id()).await?;
    let car_name = |id: &str| {
        cars.iter()
            .find(|c| c.id == id)
            .map(|c| c.definition.name())
            .unwrap_or_else(|| id.to_owned())
    };
    let resolution = if draft.resolution.is_empty() {
        "9"
    } else {
        &draft.resolution
    };
    let rings = if draft.rings.is_empty() {
        "2"
    } else {
        &draft.rings
    };
    Ok(layout::page(
        "Geofences",
        user,
        Section::Geofences,
        html! {
            h1 { "Geofences" }
            @if let Some((kind, text)) = notice { (layout::notice(kind, text)) }
            section.card {
                h2 { "New geofence" }
                form method="post" action="/panel/geofences" data-geofence-form {
                    (layout::csrf(&user.csrf))
                    (identity_fields(&draft.name, &draft.kind, &cars, &draft.devices))
                    fieldset.grid {
                        legend { "Area: a centre and rings of H3 cells around it" }
                        (layout::field("Latitude", "lat", "text", "off", &draft.lat))
                        (layout::field("Longitude", "lng", "text", "off", &draft.lng))
                        (layout::field("Resolution (0–15)", "resolution", "number", "off", resolution))
                        (layout::field("Rings (0–25)", "rings", "number", "off", rings))
                    }
                    div.field {
                        label for="f-cells" { "Or the H3 cells themselves (overrides the centre)" }
                        textarea #f-cells name="cells" rows="3" spellcheck="false" { (draft.cells) }
                    }
                    @if let Some(cells) = preview {
                        p.hint { "Select a cell and press Space, or click it, to leave it out or put it back." }
                        (map::svg(&map::project(cells), "Preview", true))
                    }
                    div.actions {
                        button type="submit" name="action" value="preview" { "Preview" }
                        button type="submit" name="action" value="create" { "Create geofence" }
                    }
                }
            }
            h2 { "Your geofences" }
            @if fences.is_empty() { p { "None yet." } }
            @for g in &fences {
                @let cells: Vec<CellIndex> = g.cells.iter().filter_map(|c| CellIndex::from_str(c).ok()).collect();
                article.card.geofence {
                    h3 { (g.name) }
                    p { (g.kind.as_str()) " · " (g.cells.len()) " cells"
                        @if !g.device_ids.is_empty() {
                            " · " (g.device_ids.iter().map(|id| car_name(id)).collect::<Vec<_>>().join(", "))
                        }
                    }
                    (map::svg(&map::project(&cells), &g.name, false))
                    div.actions {
                        a.button href=(format!("/panel/geofences/{}/edit", g.id)) aria-label=(format!("Edit geofence {}", g.name)) { "Edit" }
                        form method="post" action=(format!("/panel/geofences/{}/delete", g.id)) data-confirm=(format!("Delete the geofence “{}”?", g.name)) {
                            (layout::csrf(&user.csrf))
                            button.danger type="submit" aria-label=(format!("Delete geofence {}", g.name)) { "Delete" }
                        }
                    }
                }
            }
        },
    ))
}

async fn show(
    State(state): State<AppState>,
    user: PanelUser,
    Query(q): Query<DoneQuery>,
) -> Result<Markup, PanelError> {
    let notice = match q.done.as_deref() {
        Some("created") => Some((Notice::Ok, "Geofence created.")),
        Some("deleted") => Some((Notice::Ok, "Geofence deleted.")),
        Some("updated") => Some((Notice::Ok, "Geofence saved.")),
        _ => None,
    };
    page(&state, &user, &Draft::default(), None, notice).await
}

async fn submit(
    State(state): State<AppState>,
    SessionForm { user, form }: SessionForm<Vec<(String, String)>>,
) -> Result<Response, PanelError> {
    let (mut draft, action) = Draft::from_pairs(form);
    let outcome = async {
        let cells = draft.cells()?;
        if action == "preview" {
            return Ok(Err(cells));
        }
        let hex: Vec<String> = cells.iter().map(ToString::to_string).collect();
        let input = GeofenceInput::parse(&draft.name, &draft.kind, &hex, &draft.devices)?;
        geofences::create(&state.db, user.id(), &input).await?;
        Ok::<_, PanelError>(Ok(()))
    };
    let problem = match outcome.await {
        Ok(Ok(())) => return Ok(Redirect::to("/panel/geofences?done=created").into_response()),
        Ok(Err(cells)) => {
            draft.cells = cells
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n");
            let page = page(&state, &user, &draft, Some(&cells), None).await?;
            return Ok(page.into_response());
        }
        Err(PanelError::BadInput(m)) | Err(PanelError::Devices(DevicesError::BadInput(m))) => m,
        Err(PanelError::Devices(DevicesError::Conflict(m))) => m,
        Err(e) => return Err(e),
    };
    let page = page(
        &state,
        &user,
        &draft,
        None,
        Some((Notice::Problem, &problem)),
    )
    .await?;
    Ok((StatusCode::BAD_REQUEST, page).into_response())
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

async fn delete(
    State(state): State<AppState>,
    Path(geofence_id): Path<String>,
    SessionForm { user, .. }: SessionForm<Empty>,
) -> Result<Response, PanelError> {
    if !crate::devices::is_id(&geofence_id) {
        return Err(PanelError::NotFound);
    }
    geofences::delete(&state.db, user.id(), &geofence_id).await?;
    Ok(Redirect::to("/panel/geofences?done=deleted").into_response())
}

/// A geofence form's name, type and vehicle fields, shared by the new and the edit form.
pub(super) fn identity_fields(
    name: &str,
    kind: &str,
    cars: &[UserDevice],
    checked: &[String],
) -> Markup {
    html! {
        (layout::field("Name", "name", "text", "off", name))
        div.field {
            label for="f-type" { "Type" }
            select #f-type name="type" {
                @for k in Kind::ALL {
                    option value=(k.as_str()) selected[kind == k.as_str()] { (k.as_str()) }
                }
            }
        }
        @if !cars.is_empty() {
            fieldset {
                legend { "Vehicles" }
                @for c in cars {
                    label.check {
                        input type="checkbox" name="device" value=(c.id) checked[checked.contains(&c.id)];
                        (c.definition.name())
                    }
                }
            }
        }
    }
}

/// Cell indexes separated by commas or white space; at most [`geofences::MAX_CELLS`] of them.
pub(super) fn parse_cells(text: &str) -> Result<Vec<CellIndex>, PanelError> {
    let listed: Vec<&str> = text
        .split([',', ' ', '\n', '\r', '\t'])
        .filter(|s| !s.is_empty())
        .collect();
    if listed.len() > geofences::MAX_CELLS {
        return Err(PanelError::BadInput(format!(
            "At most {} cells.",
            geofences::MAX_CELLS
        )));
    }
    listed
        .iter()
        .map(|s| {
            CellIndex::from_str(s.trim()).map_err(|_| {
                PanelError::BadInput(format!(
                    "“{}” is not an H3 cell index.",
                    s.chars().take(32).collect::<String>()
                ))
            })
        })
        .collect()
}
