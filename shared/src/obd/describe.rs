//! Trouble-code descriptions from the embedded `data/dtc` tables (SAE J2012 titles and
//! manufacturer-specific definitions; provenance and licences in `data/dtc/README.md`).

use std::fmt;

use serde::Serialize;

use super::{Dtc, System};

mod tables {
    //! The tables `build.rs` compiles from `data/dtc/*.csv`, sorted for binary search.
    include!(concat!(env!("OUT_DIR"), "/dtc_tables.rs"));
}

/// What is known about one code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DtcDescription {
    pub code: Dtc,
    pub system: System,
    /// The title, when the tables know the code.
    pub description: Option<&'static str>,
    /// Whether SAE J2012 leaves the code's meaning to the manufacturer.
    pub manufacturer_specific: bool,
    /// The make whose table supplied the description (lower case), if it came from one.
    pub make: Option<&'static str>,
}

impl DtcDescription {
    /// The text an API shows next to the code: the title, or for an unknown code
    /// `no description known (powertrain)` / `… (powertrain, manufacturer-specific)`.
    pub fn text(&self) -> String {
        match self.description {
            Some(d) => d.to_owned(),
            None if self.manufacturer_specific => {
                format!(
                    "no description known ({}, manufacturer-specific)",
                    self.system
                )
            }
            None => format!("no description known ({})", self.system),
        }
    }
}

impl fmt::Display for DtcDescription {
    /// `P0301 (powertrain): Cylinder 1 Misfire Detected`, or
    /// `P1234 (powertrain, manufacturer-specific): no description known`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}", self.code, self.system)?;
        if self.manufacturer_specific {
            f.write_str(", manufacturer-specific")?;
        }
        if let Some(make) = self.make {
            write!(f, ", {make}")?;
        }
        f.write_str("): ")?;
        f.write_str(self.description.unwrap_or("no description known"))
    }
}

fn generic(code: Dtc) -> Option<&'static str> {
    let table = tables::GENERIC;
    let i = table.binary_search_by_key(&code.raw(), |(c, _)| *c).ok()?;
    Some(table[i].1)
}

/// The make's own entry for `code`: `(make, description)`.
fn from_make(make: &str, code: Dtc) -> Option<(&'static str, &'static str)> {
    let index = tables::MAKES.binary_search(&make).ok()?;
    // Invariant: build.rs asserts there are at most 256 makes.
    let key = (index as u8, code.raw());
    let table = tables::BY_MAKE;
    let i = table
        .binary_search_by_key(&key, |(m, c, _)| (*m, *c))
        .ok()?;
    Some((tables::MAKES[index], table[i].2))
}

/// Describes `code`, preferring the make's own definition for manufacturer-specific codes and
/// the SAE title for the others. `make` is matched case-insensitively (`"VW"` is not an alias
/// of `"volkswagen"`; see [`makes`]).
pub fn describe(code: Dtc, make: Option<&str>) -> DtcDescription {
    let from_make = make.and_then(|m| from_make(&m.trim().to_ascii_lowercase(), code));
    let generic = generic(code);
    let manufacturer_specific = code.is_manufacturer_specific();
    let (description, make) = match (manufacturer_specific, from_make, generic) {
        (true, Some((m, d)), _) => (Some(d), Some(m)),
        (_, _, Some(d)) => (Some(d), None),
        (false, Some((m, d)), None) => (Some(d), Some(m)),
        _ => (None, None),
    };
    DtcDescription {
        code,
        system: code.system(),
        description,
        manufacturer_specific,
        make,
    }
}

/// The makes with manufacturer-specific tables (lower case, sorted).
pub fn makes() -> impl Iterator<Item = &'static str> {
    tables::MAKES.iter().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(code: &str, make: Option<&str>, expected: &str) {
        let dtc = code.parse().expect("valid code");
        assert_eq!(describe(dtc, make).to_string(), expected, "{code} {make:?}");
    }

    #[test]
    fn describes_generic_and_manufacturer_codes() {
        check(
            "P0301",
            None,
            "P0301 (powertrain): Cylinder 1 Misfire Detected",
        );
        check(
            "P0301",
            Some("Ford"),
            "P0301 (powertrain): Cylinder 1 Misfire Detected",
        );
        check(
            "B0001",
            None,
            "B0001 (body): Driver Frontal Stage 1 Deployment Control",
        );
        check(
            "P1270",
            Some("ford"),
            "P1270 (powertrain, manufacturer-specific, ford): Engine RPM Or Speed Limiter Reached",
        );
        check(
            "P1270",
            Some(" BMW "),
            "P1270 (powertrain, manufacturer-specific, bmw): Control Module Self-Test Torque Monitoring",
        );
        check(
            "P1270",
            None,
            "P1270 (powertrain, manufacturer-specific): no description known",
        );
        check(
            "P1270",
            Some("no-such-make"),
            "P1270 (powertrain, manufacturer-specific): no description known",
        );
        check("U3FFF", None, "U3FFF (network): no description known");
        check(
            "C2FFF",
            Some("audi"),
            "C2FFF (chassis, manufacturer-specific): no description known",
        );
    }

    #[test]
    fn api_text() {
        let text = |code: &str, make| describe(code.parse().expect("valid"), make).text();
        assert_eq!(text("P0301", None), "Cylinder 1 Misfire Detected");
        assert_eq!(text("U3FFF", None), "no description known (network)");
        assert_eq!(
            text("B1FFF", Some("gm")),
            "no description known (body, manufacturer-specific)"
        );
    }

    #[test]
    fn tables_are_complete() {
        assert!(tables::GENERIC.len() > 9_000, "{}", tables::GENERIC.len());
        assert!(tables::BY_MAKE.len() > 6_000, "{}", tables::BY_MAKE.len());
        assert!(tables::GENERIC.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(
            tables::BY_MAKE
                .windows(2)
                .all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1))
        );
        assert_eq!(makes().count(), 32);
        assert!(makes().any(|m| m == "toyota"));
    }
}
