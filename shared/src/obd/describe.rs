//! Trouble-code descriptions from the embedded `data/dtc` tables (SAE J2012 titles and
//! manufacturer-specific definitions; provenance and licences in `data/dtc/README.md`).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::OnceLock;

use serde::Serialize;

use super::{Dtc, System};

const GENERIC_CSV: &str = include_str!("../../../data/dtc/generic.csv");
const MANUFACTURER_CSV: &str = include_str!("../../../data/dtc/manufacturer.csv");

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

struct Tables {
    generic: HashMap<Dtc, Box<str>>,
    /// Per lower-case make; the first row of a duplicate wins.
    by_make: BTreeMap<String, HashMap<Dtc, Box<str>>>,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut by_make: BTreeMap<String, HashMap<Dtc, Box<str>>> = BTreeMap::new();
        for (code, make, text) in rows(MANUFACTURER_CSV) {
            by_make.entry(make).or_default().entry(code).or_insert(text);
        }
        let mut generic = HashMap::new();
        for (code, _, text) in rows(GENERIC_CSV) {
            generic.entry(code).or_insert(text);
        }
        Tables { generic, by_make }
    })
}

/// `(code, lower-case make, description)` of every well-formed row.
fn rows(csv_text: &str) -> impl Iterator<Item = (Dtc, String, Box<str>)> + '_ {
    csv::Reader::from_reader(csv_text.as_bytes())
        .into_records()
        .filter_map(Result::ok)
        .filter_map(|record| {
            let code = record.get(0)?.parse::<Dtc>().ok()?;
            let make = record.get(2)?.trim().to_ascii_lowercase();
            let text = record.get(3)?.trim().into();
            Some((code, make, text))
        })
}

/// Describes `code`, preferring the make's own definition for manufacturer-specific codes and
/// the SAE title for the others. `make` is matched case-insensitively (`"VW"` is not an alias
/// of `"volkswagen"`; see [`makes`]).
pub fn describe(code: Dtc, make: Option<&str>) -> DtcDescription {
    let t = tables();
    let make_key = make.map(|m| m.trim().to_ascii_lowercase());
    let from_make = make_key.and_then(|m| {
        let (known, table) = t.by_make.get_key_value(&m)?;
        Some((known.as_str(), &**table.get(&code)?))
    });
    let generic = t.generic.get(&code).map(|d| &**d);
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
    tables().by_make.keys().map(String::as_str)
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
    fn tables_are_complete() {
        let t = tables();
        assert!(t.generic.len() > 9_000, "{} generic codes", t.generic.len());
        let make_codes: usize = t.by_make.values().map(HashMap::len).sum();
        assert!(make_codes > 6_000, "{make_codes} make codes");
        assert_eq!(makes().count(), 32);
        assert!(makes().any(|m| m == "toyota"));
    }
}
