//! H3 cells drawn as SVG polygons on a plain equirectangular projection around their
//! centre (no map tiles: nothing may be fetched). Longitudes are scaled by the cosine of
//! the centre's latitude so that cells keep their shape; good for the city-sized areas
//! geofences cover, not for areas that cross the antimeridian.

use std::fmt::Write as _;

use h3o::{CellIndex, LatLng, Resolution};
use maud::{Markup, html};

use super::error::PanelError;

/// Width of the drawing in SVG units; the height follows the area's shape.
const WIDTH: f64 = 640.0;
const MARGIN: f64 = 12.0;
/// Most rings around a centre cell (1 + 3k(k+1) cells: 1,951 for 25, under the 2,000 limit).
pub const MAX_RINGS: u32 = 25;

/// One cell ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct DrawnCell {
    pub hex: String,
    /// SVG `points`: `x,y x,y …`.
    pub points: String,
}

/// Cells projected into a drawing.
#[derive(Debug, Clone, PartialEq)]
pub struct Drawing {
    pub height: f64,
    pub cells: Vec<DrawnCell>,
    /// Centre of the drawn area, degrees.
    pub centre: (f64, f64),
}

/// Projects `cells` into a drawing [`WIDTH`] units wide.
pub fn project(cells: &[CellIndex]) -> Drawing {
    let outlines: Vec<(CellIndex, Vec<(f64, f64)>)> = cells
        .iter()
        .map(|c| {
            (
                *c,
                c.boundary().iter().map(|ll| (ll.lng(), ll.lat())).collect(),
            )
        })
        .collect();
    let all = || outlines.iter().flat_map(|(_, pts)| pts.iter().copied());
    let (mut min_x, mut max_x, mut min_y, mut max_y) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (lng, lat) in all() {
        min_x = min_x.min(lng);
        max_x = max_x.max(lng);
        min_y = min_y.min(lat);
        max_y = max_y.max(lat);
    }
    if outlines.is_empty() {
        return Drawing {
            height: WIDTH / 2.0,
            cells: Vec::new(),
            centre: (0.0, 0.0),
        };
    }
    let centre = ((min_y + max_y) / 2.0, (min_x + max_x) / 2.0);
    let k = centre.0.to_radians().cos().max(0.01);
    let span_x = ((max_x - min_x) * k).max(1e-9);
    let span_y = (max_y - min_y).max(1e-9);
    let scale = (WIDTH - 2.0 * MARGIN) / span_x;
    // Very tall areas would make a very tall drawing: cap at square and scale down.
    let scale = scale.min((WIDTH - 2.0 * MARGIN) / span_y);
    let height = span_y * scale + 2.0 * MARGIN;
    let offset_x = (WIDTH - span_x * scale) / 2.0;
    let drawn = outlines
        .into_iter()
        .map(|(cell, pts)| {
            let mut points = String::new();
            for (lng, lat) in pts {
                let x = offset_x + (lng - min_x) * k * scale;
                let y = MARGIN + (max_y - lat) * scale;
                // Writing to a String cannot fail.
                let _ = write!(points, "{x:.1},{y:.1} ");
            }
            DrawnCell {
                hex: cell.to_string(),
                points: points.trim_end().to_owned(),
            }
        })
        .collect();
    Drawing {
        height,
        cells: drawn,
        centre,
    }
}

/// The cells within `rings` steps of the cell holding (`lat`, `lng`) at `resolution`.
pub fn disk(lat: f64, lng: f64, resolution: u8, rings: u32) -> Result<Vec<CellIndex>, PanelError> {
    let bad = |m: &str| Err(PanelError::BadInput(m.into()));
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lng) {
        return bad("The latitude must be within ±90° and the longitude within ±180°.");
    }
    let Ok(res) = Resolution::try_from(resolution) else {
        return bad("The resolution must be 0 to 15.");
    };
    if rings > MAX_RINGS {
        return bad("At most 25 rings around the centre.");
    }
    let centre = LatLng::new(lat, lng)
        .map_err(|e| PanelError::BadInput(format!("Invalid position: {e}.")))?
        .to_cell(res);
    let mut cells: Vec<CellIndex> = centre.grid_disk(rings);
    cells.sort_unstable();
    Ok(cells)
}

/// The drawing as an SVG figure; `interactive` cells can be toggled (click, Enter, Space)
/// by the page's script, which keeps the form's cell list in step.
pub fn svg(drawing: &Drawing, label: &str, interactive: bool) -> Markup {
    let (lat, lng) = drawing.centre;
    let ns = if lat >= 0.0 { 'N' } else { 'S' };
    let ew = if lng >= 0.0 { 'E' } else { 'W' };
    let caption = format!(
        "{label}: {} cells around {ns} {:.4}°, {ew} {:.4}°",
        drawing.cells.len(),
        lat.abs(),
        lng.abs()
    );
    html! {
        figure.map {
            svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {WIDTH} {:.1}", drawing.height))
                role=(if interactive { "group" } else { "img" }) aria-label=(caption) {
                rect.sea x="0" y="0" width=(WIDTH) height=(format!("{:.1}", drawing.height)) {}
                @for c in &drawing.cells {
                    @if interactive {
                        polygon.cell points=(c.points) data-cell=(c.hex) tabindex="0" role="checkbox"
                            aria-checked="true" aria-label=(format!("Cell {}", c.hex)) {}
                    } @else {
                        polygon.cell points=(c.points) { title { (c.hex) } }
                    }
                }
            }
            figcaption { (caption) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disk_has_the_expected_number_of_cells() {
        for (rings, count) in [(0, 1), (1, 7), (2, 19), (25, 1951)] {
            let cells = disk(52.52, 13.405, 9, rings).expect("disk");
            assert_eq!(cells.len(), count, "rings {rings}");
        }
    }

    #[test]
    fn bad_positions_and_sizes_are_refused() {
        for (lat, lng, res, rings) in [
            (91.0, 0.0, 9, 1),
            (0.0, 181.0, 9, 1),
            (0.0, 0.0, 16, 1),
            (0.0, 0.0, 9, 26),
        ] {
            assert!(
                disk(lat, lng, res, rings).is_err(),
                "{lat} {lng} {res} {rings}"
            );
        }
    }

    #[test]
    fn every_vertex_lands_inside_the_drawing() {
        let cells = disk(-33.86, 151.21, 8, 3).expect("disk");
        let d = project(&cells);
        assert_eq!(d.cells.len(), cells.len());
        for c in &d.cells {
            for pair in c.points.split(' ') {
                let (x, y) = pair.split_once(',').expect("x,y");
                let (x, y): (f64, f64) = (x.parse().expect("x"), y.parse().expect("y"));
                assert!(
                    (0.0..=WIDTH).contains(&x) && (0.0..=d.height).contains(&y),
                    "{pair}"
                );
            }
        }
        assert!(
            (d.centre.0 + 33.86).abs() < 0.1 && (d.centre.1 - 151.21).abs() < 0.1,
            "{:?}",
            d.centre
        );
    }
}
