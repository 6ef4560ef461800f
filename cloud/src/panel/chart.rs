//! Telemetry series drawn server-side as small SVG line charts (no chart library, no
//! script): time on x, the value on y with its minimum and maximum labelled, and a text
//! summary beside each chart for screen readers.

use std::fmt::Write as _;

use maud::{Markup, html};

use super::fleet::Series;

const W: f64 = 600.0;
const H: f64 = 160.0;
/// Room for the y labels on the left and the time labels below.
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 18.0;
const TOP: f64 = 8.0;

/// The polyline `points` of a series in the chart box, and its value range.
pub fn polyline(series: &Series) -> (String, f64, f64) {
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    let (mut t0, mut t1) = (i64::MAX, i64::MIN);
    for p in &series.points {
        lo = lo.min(p.value);
        hi = hi.max(p.value);
        t0 = t0.min(p.time_ms);
        t1 = t1.max(p.time_ms);
    }
    if series.points.is_empty() {
        return (String::new(), 0.0, 0.0);
    }
    // A flat series is drawn in the middle rather than on an axis.
    let span = if hi > lo { hi - lo } else { 1.0 };
    let base = if hi > lo { lo } else { lo - 0.5 };
    // Milliseconds of a few hours fit f64 exactly.
    let dt = (t1 - t0).max(1) as f64;
    let mut points = String::new();
    for p in &series.points {
        let x = LEFT + (p.time_ms - t0) as f64 / dt * (W - LEFT - 4.0);
        let y = TOP + (1.0 - (p.value - base) / span) * (H - TOP - BOTTOM);
        // Writing to a String cannot fail.
        let _ = write!(points, "{x:.1},{y:.1} ");
    }
    (points.trim_end().to_owned(), lo, hi)
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn clock(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%H:%M:%S").to_string())
        .unwrap_or_default()
}

/// One chart per series.
pub fn charts(series: &[Series]) -> Markup {
    html! {
        @for s in series {
            @let (points, lo, hi) = polyline(s);
            @let first = s.points.first().map(|p| p.time_ms).unwrap_or(0);
            @let last = s.points.last().map(|p| p.time_ms).unwrap_or(0);
            @let latest = s.points.last().map(|p| number(p.value)).unwrap_or_default();
            @let summary = format!("{}: {} readings from {} to {} UTC, between {} and {} {}; latest {} {}",
                s.name, s.points.len(), clock(first), clock(last), number(lo), number(hi), s.unit, latest, s.unit);
            figure.chart {
                svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {W} {H}")) role="img" aria-label=(summary) {
                    line.axis x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(H - BOTTOM) {}
                    line.axis x1=(LEFT) y1=(H - BOTTOM) x2=(W) y2=(H - BOTTOM) {}
                    text x="2" y=(TOP + 10.0) { (number(hi)) }
                    text x="2" y=(H - BOTTOM) { (number(lo)) }
                    text x=(LEFT) y=(H - 4.0) { (clock(first)) }
                    text x=(W - 52.0) y=(H - 4.0) { (clock(last)) }
                    @if s.points.len() == 1 {
                        circle.dot cx=(LEFT) cy=(H / 2.0) r="3" {}
                    } @else {
                        polyline.line points=(points) {}
                    }
                }
                figcaption { strong { (s.name) } " (" (s.unit) "): latest " (latest) ", range " (number(lo)) "–" (number(hi)) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::panel::fleet::Point;

    fn series(values: &[(i64, f64)]) -> Series {
        Series {
            name: "Engine speed".into(),
            unit: "rpm".into(),
            points: values
                .iter()
                .map(|&(time_ms, value)| Point { time_ms, value })
                .collect(),
        }
    }

    #[test]
    fn points_span_the_box_from_oldest_to_newest() {
        let (points, lo, hi) = polyline(&series(&[(0, 800.0), (1000, 2400.0), (2000, 1600.0)]));
        assert_eq!((lo, hi), (800.0, 2400.0));
        let xy: Vec<(f64, f64)> = points
            .split(' ')
            .map(|p| {
                let (x, y) = p.split_once(',').expect("x,y");
                (x.parse().expect("x"), y.parse().expect("y"))
            })
            .collect();
        assert_eq!(
            xy[0],
            (LEFT, H - BOTTOM),
            "lowest value, first time: bottom left"
        );
        assert_eq!(xy[1].1, TOP, "highest value at the top");
        assert_eq!(xy[2].0, W - 4.0, "newest at the right");
    }

    #[test]
    fn a_flat_series_sits_mid_height() {
        let (points, _, _) = polyline(&series(&[(0, 12.5), (10, 12.5)]));
        for p in points.split(' ') {
            let y: f64 = p.split_once(',').expect("x,y").1.parse().expect("y");
            assert!((y - (TOP + (H - TOP - BOTTOM) / 2.0)).abs() < 0.1, "{p}");
        }
    }
}
