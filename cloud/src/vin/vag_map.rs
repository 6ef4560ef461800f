//! The VAG map: turns a decode report's tabs into `{category, filter, value}` search filters.
//! A report whose structure or tab names do not match the decode result shape is a
//! [`ReportFormatError`] (the API's 422 `REPORT_FORMAT_ERROR`).

use serde::Serialize;
use serde_json::Value;

use super::report::{ENGINE, IDENTIFICATION, MANUFACTURER, VEHICLE};

/// One mapped filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MapEntry {
    pub category: &'static str,
    pub filter: &'static str,
    pub value: String,
}

/// Why a report cannot be mapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportFormatError {
    #[error("the report must be an object of tabs keyed \"0\", \"1\", …")]
    NotAnObject,
    #[error("tab {0}: expected an object with tab_name and data")]
    Tab(String),
    #[error("tab {0}: unknown tab_name {1:?}")]
    TabName(String, String),
    #[error("tab {0}: data must be a list of [label, value] pairs of strings")]
    Rows(String),
    #[error("the report has no Identification tab")]
    NoIdentification,
}

/// (tab, label) → (category, filter).
const RULES: &[(&str, &str, &str, &str)] = &[
    (IDENTIFICATION, "Make", "Make", "make"),
    (IDENTIFICATION, "Model", "Model", "model"),
    (IDENTIFICATION, "Model Year", "Model Year", "year"),
    (IDENTIFICATION, "Model Code", "Model Code", "model_code"),
    (IDENTIFICATION, "Series", "Series", "series"),
    (IDENTIFICATION, "Trim", "Trim", "trim"),
    (VEHICLE, "Body Class", "Body", "body_type"),
    (VEHICLE, "Doors", "Doors", "doors"),
    (VEHICLE, "Drive Type", "Drive", "drive_type"),
    (VEHICLE, "Production Years", "Production Years", "years"),
    (ENGINE, "Engine Model", "Engine Code", "engine_code"),
    (
        ENGINE,
        "Displacement (L)",
        "Engine Displacement",
        "displacement_l",
    ),
    (ENGINE, "Fuel Type - Primary", "Fuel", "fuel_type"),
    (ENGINE, "Engine Power (kW)", "Power", "power_kw"),
    (
        MANUFACTURER,
        "Plant Country",
        "Plant Country",
        "plant_country",
    ),
];

/// Maps a report (the decode result's `tabs`) to filters, in tab then row order.
pub fn map_report(report: &Value) -> Result<Vec<MapEntry>, ReportFormatError> {
    let tabs = report.as_object().ok_or(ReportFormatError::NotAnObject)?;
    let mut keys: Vec<&String> = tabs.keys().collect();
    keys.sort_by_key(|k| (k.parse::<u32>().unwrap_or(u32::MAX), k.as_str()));
    let mut out = Vec::new();
    let mut identification = false;
    for key in keys {
        let tab = tabs[key.as_str()]
            .as_object()
            .ok_or_else(|| ReportFormatError::Tab(key.clone()))?;
        let name = tab
            .get("tab_name")
            .and_then(Value::as_str)
            .ok_or_else(|| ReportFormatError::Tab(key.clone()))?;
        if ![IDENTIFICATION, VEHICLE, ENGINE, MANUFACTURER].contains(&name) {
            return Err(ReportFormatError::TabName(key.clone(), name.to_owned()));
        }
        identification |= name == IDENTIFICATION;
        let rows = tab
            .get("data")
            .and_then(Value::as_array)
            .ok_or_else(|| ReportFormatError::Rows(key.clone()))?;
        for row in rows {
            let pair = match row.as_array().map(Vec::as_slice) {
                Some([Value::String(label), Value::String(value)]) => (label, value),
                _ => return Err(ReportFormatError::Rows(key.clone())),
            };
            if let Some(&(_, _, category, filter)) =
                RULES.iter().find(|r| r.0 == name && r.1 == pair.0)
            {
                if !pair.1.trim().is_empty() {
                    out.push(MapEntry {
                        category,
                        filter,
                        value: pair.1.clone(),
                    });
                }
            }
        }
    }
    if !identification {
        return Err(ReportFormatError::NoIdentification);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(report: Value, expected: Result<Vec<(&str, &str, &str)>, ReportFormatError>) {
        let got = map_report(&report).map(|v| {
            v.into_iter()
                .map(|e| (e.category, e.filter, e.value))
                .collect::<Vec<_>>()
        });
        let expected = expected.map(|v| {
            v.into_iter()
                .map(|(c, f, x)| (c, f, x.to_owned()))
                .collect::<Vec<_>>()
        });
        assert_eq!(got, expected, "{report}");
    }

    #[test]
    fn maps_and_rejects() {
        check(
            json!({"0": {"tab_name": "Identification", "data": [["Model", "Golf"]]}}),
            Ok(vec![("Model", "model", "Golf")]),
        );
        check(
            json!({"1": {"tab_name": "Vehicle", "data": [["Body Class", "Hatchback"], ["Colour", "red"]]},
                   "0": {"tab_name": "Identification", "data": [["Make", "Volkswagen"], ["Model Year", "2015"]]}}),
            Ok(vec![
                ("Make", "make", "Volkswagen"),
                ("Model Year", "year", "2015"),
                ("Body", "body_type", "Hatchback"),
            ]),
        );
        check(json!([1, 2]), Err(ReportFormatError::NotAnObject));
        check(json!({"0": "x"}), Err(ReportFormatError::Tab("0".into())));
        check(
            json!({"0": {"tab_name": "Options", "data": []}}),
            Err(ReportFormatError::TabName("0".into(), "Options".into())),
        );
        check(
            json!({"0": {"tab_name": "Identification", "data": [["Model"]]}}),
            Err(ReportFormatError::Rows("0".into())),
        );
        check(
            json!({"0": {"tab_name": "Engine", "data": []}}),
            Err(ReportFormatError::NoIdentification),
        );
    }
}
