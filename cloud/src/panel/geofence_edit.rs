//! Editing a geofence: its name, type, vehicles and cells in a form filled with what is
//! stored; the cells can be edited as a list, toggled on the preview drawing, or moved to
//! another resolution (each cell becomes its parent, or its children). Saving validates
//! exactly as `PUT /v1/user/geofences/{id}` does (`GeofenceInput::parse`, then
//! `geofences::update`, which refuses another user's geofence as missing).

use std::collections::BTreeSet;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use h3o::{CellIndex, Resolution};
use maud::{Markup, html};

use super::error::PanelError;
use super::form::SessionForm;
use super::geofences::parse_cells;
use super::layout::{self, Notice, Section};
use super::map;
use super::session::PanelUser;
use crate::app::AppState;
use crate::devices::geofences::{self, Geofence, GeofenceInput, MAX_CELLS};
use crate::devices::{DevicesError, is_id, vehicles};

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/panel/geofences/{geofence_id}/edit",
        get(edit_page).post(save),
    )
}

/// The edit form as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct EditDraft {
    name: String,
    kind: String,
    devices: Vec<String>,
    cells: String,
    resolution: String,
}

impl EditDraft {
    fn of(g: &Geofence) -> EditDraft {
        let cells = parse_cells(&g.cells.join("\n")).unwrap_or_default();
        EditDraft {
            name: g.name.clone(),
            kind: g.kind.as_str().to_owned(),
            devices: g.device_ids.clone(),
            cells: g.cells.join("\n"),
            resolution: common_resolution(&cells)
                .map(|r| u8::from(r).to_string())
                .unwrap_or_default(),
        }
    }

    fn from_pairs(pairs: Vec<(String, String)>) -> (EditDraft, String) {
        let mut d = EditDraft::default();
        let mut action = String::new();
        for (k, v) in pairs {
            match k.as_str() {
                "name" => d.name = v,
                "type" => d.kind = v,
                "device" => d.devices.push(v),
                "cells" => d.cells = v,
                "resolution" => d.resolution = v,
                "action" => action = v,
                _ => {}
            }
        }
        (d, action)
    }

    /// The cells of the list, moved to the chosen resolution when one is given.
    fn cells(&self) -> Result<Vec<CellIndex>, PanelError> {
        let cells = parse_cells(&self.cells)?;
        if cells.is_empty() {
            return Err(PanelError::BadInput(
                "Give at least one H3 cell: a geofence cannot be empty.".into(),
            ));
        }
        match self.resolution.trim() {
            "" => Ok(cells),
            text => {
                let res = text
                    .parse::<u8>()
                    .ok()
                    .and_then(|r| Resolution::try_from(r).ok())
                    .ok_or_else(|| {
                        PanelError::BadInput("The resolution must be 0 to 15.".into())
                    })?;
                at_resolution(&cells, res)
            }
        }
    }
}

/// The resolution every cell has, if they share one.
fn common_resolution(cells: &[CellIndex]) -> Option<Resolution> {
    let first = cells.first()?.resolution();
    cells
        .iter()
        .all(|c| c.resolution() == first)
        .then_some(first)
}

/// The area of `cells` at resolution `res`: finer cells become their parent, coarser ones
/// their children; duplicates go. Refused when the result would exceed [`MAX_CELLS`]
/// (checked before any children are made).
fn at_resolution(cells: &[CellIndex], res: Resolution) -> Result<Vec<CellIndex>, PanelError> {
    let too_many = || {
        PanelError::BadInput(format!(
            "At resolution {} the area needs more than {MAX_CELLS} cells: choose a coarser one.",
            u8::from(res)
        ))
    };
    let mut out = BTreeSet::new();
    for cell in cells {
        if res <= cell.resolution() {
            // A cell has a parent at every resolution up to its own.
            if let Some(parent) = cell.parent(res) {
                out.insert(parent);
            }
        } else {
            let room = u64::try_from(MAX_CELLS.saturating_sub(out.len())).unwrap_or(0);
            if cell.children_count(res) > room {
                return Err(too_many());
            }
            out.extend(cell.children(res));
        }
        if out.len() > MAX_CELLS {
            return Err(too_many());
        }
    }
    Ok(out.into_iter().collect())
}

/// The caller's geofence `id`, or 404 (another user's reads as missing).
async fn owned(state: &AppState, user: &PanelUser, id: &str) -> Result<Geofence, PanelError> {
    if !is_id(id) {
        return Err(PanelError::NotFound);
    }
    geofences::list(&state.db, user.id())
        .await?
        .into_iter()
        .find(|g| g.id == id)
        .ok_or(PanelError::NotFound)
}

async fn page(
    state: &AppState,
    user: &PanelUser,
    fence: &Geofence,
    draft: &EditDraft,
    shown: &[CellIndex],
    notice: Option<(Notice, &str)>,
) -> Result<Markup, PanelError> {
    let cars = vehicles::list(&state.db, user.id()).await?;
    let action = format!("/panel/geofences/{}/edit", fence.id);
    Ok(layout::page(
        &format!("Edit {}", fence.name),
        user,
        Section::Geofences,
        html! {
            p { a href="/panel/geofences" { "← Geofences" } }
            h1 { "Edit geofence “" (fence.name) "”" }
            @if let Some((kind, text)) = notice { (layout::notice(kind, text)) }
            form.card method="post" action=(action) data-geofence-form {
                (layout::csrf(&user.csrf))
                (super::geofences::identity_fields(&draft.name, &draft.kind, &cars, &draft.devices))
                div.field {
                    label for="f-cells" { "H3 cells" }
                    textarea #f-cells name="cells" rows="6" spellcheck="false" { (draft.cells) }
                }
                div.field {
                    label for="f-resolution" { "Resolution (0–15): change it to turn each cell into its parent or children" }
                    input #f-resolution name="resolution" type="number" min="0" max="15" autocomplete="off" value=(draft.resolution);
                }
                p.hint { "Select a cell and press Space, or click it, to leave it out or put it back; Preview shows a changed list or resolution." }
                (map::svg(&map::project(shown), &draft.name, true))
                div.actions {
                    button type="submit" name="action" value="preview" { "Preview" }
                    button type="submit" name="action" value="save" { "Save changes" }
                    a href="/panel/geofences" { "Cancel" }
                }
            }
        },
    ))
}

async fn edit_page(
    State(state): State<AppState>,
    user: PanelUser,
    Path(id): Path<String>,
) -> Result<Markup, PanelError> {
    let fence = owned(&state, &user, &id).await?;
    let draft = EditDraft::of(&fence);
    let cells = parse_cells(&draft.cells).unwrap_or_default();
    page(&state, &user, &fence, &draft, &cells, None).await
}

async fn save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SessionForm { user, form }: SessionForm<Vec<(String, String)>>,
) -> Result<Response, PanelError> {
    let fence = owned(&state, &user, &id).await?;
    let (mut draft, action) = EditDraft::from_pairs(form);
    let outcome = async {
        let cells = draft.cells()?;
        if action == "preview" {
            return Ok(Err(cells));
        }
        let hex: Vec<String> = cells.iter().map(ToString::to_string).collect();
        let input = GeofenceInput::parse(&draft.name, &draft.kind, &hex, &draft.devices)?;
        geofences::update(&state.db, user.id(), &fence.id, &input).await?;
        Ok::<_, PanelError>(Ok(()))
    };
    let problem = match outcome.await {
        Ok(Ok(())) => return Ok(Redirect::to("/panel/geofences?done=updated").into_response()),
        Ok(Err(cells)) => {
            draft.cells = cells
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n");
            let page = page(&state, &user, &fence, &draft, &cells, None).await?;
            return Ok(page.into_response());
        }
        Err(PanelError::BadInput(m)) | Err(PanelError::Devices(DevicesError::BadInput(m))) => {
            (StatusCode::BAD_REQUEST, m)
        }
        Err(PanelError::Devices(DevicesError::Conflict(m))) => (StatusCode::CONFLICT, m),
        Err(e) => return Err(e),
    };
    // Draw what is stored while the form keeps what was typed.
    let stored = parse_cells(&fence.cells.join("\n")).unwrap_or_default();
    let page = page(
        &state,
        &user,
        &fence,
        &draft,
        &stored,
        Some((Notice::Problem, &problem.1)),
    )
    .await?;
    Ok((problem.0, page).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn res(r: u8) -> Resolution {
        Resolution::try_from(r).expect("resolution")
    }

    fn check(cells: &[&str], to: u8, expected: Result<usize, &str>) {
        let cells: Vec<CellIndex> = cells
            .iter()
            .map(|c| CellIndex::from_str(c).expect("cell"))
            .collect();
        match (at_resolution(&cells, res(to)), expected) {
            (Ok(got), Ok(n)) => {
                assert_eq!(got.len(), n, "{got:?}");
                assert!(got.iter().all(|c| c.resolution() == res(to)), "{got:?}");
            }
            (Err(e), Err(needle)) => assert!(e.to_string().contains(needle), "{e}"),
            (got, want) => panic!("{cells:?} to {to}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn cells_move_to_a_coarser_or_finer_resolution() {
        let disk = map::disk(52.52, 13.405, 9, 1).expect("disk");
        let hex: Vec<String> = disk.iter().map(ToString::to_string).collect();
        let hex: Vec<&str> = hex.iter().map(String::as_str).collect();
        // The same resolution keeps every cell; a parent is shared by neighbours.
        check(&hex, 9, Ok(7));
        check(&hex[..1], 8, Ok(1));
        check(&hex[..1], 0, Ok(1));
        // Each resolution step down gives seven children.
        check(&hex[..1], 10, Ok(7));
        check(&hex, 11, Ok(7 * 49));
        check(&hex[..1], 12, Ok(343));
        // 7^4 = 2,401 children: over the limit, refused before they are made.
        check(&hex[..1], 13, Err("more than 2000 cells"));
        check(&hex, 15, Err("more than 2000 cells"));
    }

    #[test]
    fn the_form_keeps_the_stored_resolution_and_parses_lists() {
        let draft = EditDraft {
            cells: "8928308280fffff, 89283082807ffff\n".into(),
            resolution: String::new(),
            ..EditDraft::default()
        };
        assert_eq!(draft.cells().expect("cells").len(), 2);
        let bad = EditDraft {
            cells: "8928308280fffff nope".into(),
            ..EditDraft::default()
        };
        assert!(
            bad.cells()
                .is_err_and(|e| e.to_string().contains("“nope” is not an H3 cell index")),
        );
        let empty = EditDraft::default();
        assert!(
            empty
                .cells()
                .is_err_and(|e| e.to_string().contains("at least one"))
        );
        let resolution = EditDraft {
            cells: "8928308280fffff".into(),
            resolution: "16".into(),
            ..EditDraft::default()
        };
        assert!(
            resolution
                .cells()
                .is_err_and(|e| e.to_string().contains("0 to 15"))
        );
        let cell = CellIndex::from_str("8928308280fffff").expect("cell");
        let mixed = vec![cell, cell.parent(res(8)).expect("parent")];
        assert_eq!(common_resolution(&mixed), None);
        assert_eq!(common_resolution(&mixed[..1]), Some(res(9)));
    }
}
