//! Volkswagen-group model codes in VIN positions 7–8 (`cloud/data/vag-chassis-codes*.csv`),
//! for European-market VINs that vPIC has no patterns for. A code that is not in the table,
//! or that two models share for the same WMI and year, gives no model: never a guess.

use std::sync::OnceLock;

static TABLE_CSV: &str = include_str!("../../data/vag-chassis-codes.csv");
static EXTRA_CSV: &str = include_str!("../../data/vag-chassis-codes-extra.csv");

/// One model and the codes and WMIs it appears under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VagModel {
    pub make: String,
    pub model: String,
    pub years: (u16, u16),
    codes: Vec<String>,
    wmis: Vec<String>,
}

/// The table could not be read.
#[derive(Debug, thiserror::Error)]
pub enum VagTableError {
    #[error("VAG model-code table: {0}")]
    Csv(#[from] csv::Error),
    #[error("VAG model-code table: bad years {0:?} (expected YYYY or YYYY-YYYY)")]
    Years(String),
}

#[derive(serde::Deserialize)]
struct Row {
    make: String,
    model: String,
    years: String,
    chassis_codes: String,
    wmis: String,
}

static TABLE: OnceLock<Result<Vec<VagModel>, String>> = OnceLock::new();

/// The VAG table compiled into this binary.
pub fn table() -> Result<&'static [VagModel], &'static str> {
    TABLE
        .get_or_init(|| {
            let mut rows = parse(TABLE_CSV).map_err(|e| e.to_string())?;
            rows.extend(parse(EXTRA_CSV).map_err(|e| e.to_string())?);
            Ok(rows)
        })
        .as_ref()
        .map(Vec::as_slice)
        .map_err(String::as_str)
}

/// Parses a model-code table (`make,model,years,chassis_codes,wmis`).
pub fn parse(text: &str) -> Result<Vec<VagModel>, VagTableError> {
    let mut out = Vec::new();
    for row in csv::Reader::from_reader(text.as_bytes()).deserialize() {
        let row: Row = row?;
        let years =
            parse_years(&row.years).ok_or_else(|| VagTableError::Years(row.years.clone()))?;
        out.push(VagModel {
            make: row.make,
            model: row.model,
            years,
            codes: row
                .chassis_codes
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            wmis: row.wmis.split_whitespace().map(str::to_owned).collect(),
        });
    }
    Ok(out)
}

fn parse_years(s: &str) -> Option<(u16, u16)> {
    match s.split_once('-') {
        Some((a, b)) => Some((a.trim().parse().ok()?, b.trim().parse().ok()?)),
        None => {
            let y = s.trim().parse().ok()?;
            Some((y, y))
        }
    }
}

/// Is this a WMI the table knows?
pub fn knows_wmi(table: &[VagModel], wmi: &str) -> bool {
    table.iter().any(|m| m.wmis.iter().any(|w| w == wmi))
}

/// The model for a WMI and positions 7–8. `years` are the candidate model years from position
/// 10 (the table's year ranges pick between 30-year cycles); `make` is the WMI's make, used to
/// choose between group brands sharing a code (e.g. Volkswagen Crafter and MAN TGE).
/// Returns the model and the year it fits, or `None` when unknown or ambiguous.
pub fn lookup<'t>(
    table: &'t [VagModel],
    wmi: &str,
    code: &str,
    years: &[u16],
    make: Option<&str>,
) -> Option<(&'t VagModel, Option<u16>)> {
    let candidates: Vec<&VagModel> = table
        .iter()
        .filter(|m| m.wmis.iter().any(|w| w == wmi) && m.codes.iter().any(|c| c == code))
        .collect();
    let fits = |m: &VagModel| {
        years
            .iter()
            .copied()
            .find(|y| (m.years.0..=m.years.1).contains(y))
    };
    let mut hits: Vec<(&VagModel, Option<u16>)> = candidates
        .iter()
        .filter_map(|m| fits(m).map(|y| (*m, Some(y))))
        .collect();
    if hits.is_empty() {
        // No candidate year fits a range (the table's years are incomplete): keep the model
        // only if the code is unambiguous for this WMI, and leave the year to position 10.
        hits = candidates.iter().map(|m| (*m, None)).collect();
    }
    if hits.len() > 1 {
        if let Some(make) = make {
            hits.retain(|(m, _)| m.make.eq_ignore_ascii_case(make));
        }
    }
    match hits.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(
        wmi: &str,
        code: &str,
        years: &[u16],
        make: Option<&str>,
        expected: Option<(&str, Option<u16>)>,
    ) {
        let table = table().expect("table");
        let got = lookup(table, wmi, code, years, make).map(|(m, y)| (m.model.as_str(), y));
        assert_eq!(got, expected, "{wmi} {code} {years:?}");
    }

    #[test]
    fn model_codes() {
        check(
            "WVW",
            "AU",
            &[2015, 1985],
            None,
            Some(("Golf (Mk7)", Some(2015))),
        );
        check(
            "WVW",
            "1K",
            &[2006],
            None,
            Some(("Golf (Mk5/Mk6)", Some(2006))),
        );
        check(
            "WVW",
            "3C",
            &[2008],
            None,
            Some(("Passat (B6/B7)", Some(2008))),
        );
        check(
            "WVW",
            "3C",
            &[2016, 1986],
            None,
            Some(("Passat (B8)", Some(2016))),
        );
        check(
            "TMB",
            "NE",
            &[2017],
            None,
            Some(("Octavia (Mk3)", Some(2017))),
        );
        check("WMA", "SZ", &[2020], Some("MAN"), Some(("TGE", Some(2020))));
        check(
            "WV1",
            "SZ",
            &[2020],
            Some("Volkswagen"),
            Some(("Crafter / Grand California", Some(2020))),
        );
        check("WV1", "SZ", &[2020], None, None);
        check("WVW", "XX", &[2020], None, None);
        check("TMB", "AU", &[2020], None, None);
        check("WVW", "AU", &[2030], None, Some(("Golf (Mk7)", None)));
    }

    #[test]
    fn bad_rows_are_errors() {
        assert!(parse("make,model,years,chassis_codes,wmis\nVW,Golf,soon,AU,WVW\n").is_err());
        assert!(parse("make,model\nVW\n").is_err());
    }
}
