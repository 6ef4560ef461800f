//! The documented decode result shape (`make`, `model`, `body_type`, `year`, `tab_names`,
//! `tabs` of `[label, value]` rows) and the one-line summary the CLI prints.

use std::collections::BTreeMap;

use serde::Serialize;

use super::decode::{Decoded, Source};
use super::index::Index;

/// Tab names, in display order.
pub const IDENTIFICATION: &str = "Identification";
pub const VEHICLE: &str = "Vehicle";
pub const ENGINE: &str = "Engine";
pub const MANUFACTURER: &str = "Manufacturer";

/// One tab of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Tab {
    pub tab_name: String,
    pub data: Vec<[String; 2]>,
}

/// The decode result as the Decode API documents it (`task_result`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Report {
    pub make: Option<String>,
    pub model: Option<String>,
    pub body_type: Option<String>,
    /// The model year as text, as documented (`"2020"`).
    pub year: Option<String>,
    pub tab_names: Vec<String>,
    /// Tabs keyed by their position ("0", "1", …), as the VAG Map API reads them.
    pub tabs: BTreeMap<String, Tab>,
}

/// The per-VIN line of `pitlane-cloud decode --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub vin: String,
    pub valid: bool,
    pub make: Option<String>,
    pub model: Option<String>,
    pub year: Option<u16>,
    pub body_type: Option<String>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

impl Summary {
    pub fn new(d: &Decoded) -> Summary {
        Summary {
            vin: d.vin.clone(),
            valid: d.valid,
            make: d.make.map(str::to_owned),
            model: d.model.map(str::to_owned),
            year: d.year,
            body_type: d.body_type.map(str::to_owned),
            errors: d.errors().map(ToString::to_string).collect(),
            warnings: d.warnings().map(ToString::to_string).collect(),
        }
    }
}

/// Which tab a vPIC element belongs in.
fn tab_of(element: u16) -> &'static str {
    match element {
        // Model, series, trim (and their second values), note, destination market, price.
        28 | 34 | 38 | 109 | 110 | 114 | 10 | 136 => IDENTIFICATION,
        // Plant city, country, company, state.
        31 | 75 | 76 | 77 => MANUFACTURER,
        // Engine, fuel, electrification, battery and charger.
        1
        | 2
        | 9
        | 11..=13
        | 17
        | 18
        | 21
        | 24
        | 48
        | 57..=59
        | 62
        | 64
        | 66
        | 67
        | 71
        | 72
        | 122
        | 125..=129
        | 132..=135
        | 137..=139
        | 146 => ENGINE,
        _ => VEHICLE,
    }
}

/// Builds the documented report for a decoded VIN.
pub fn report(d: &Decoded, index: &Index) -> Report {
    let mut tabs: Vec<(&str, Vec<[String; 2]>)> = vec![
        (IDENTIFICATION, vec![]),
        (VEHICLE, vec![]),
        (ENGINE, vec![]),
        (MANUFACTURER, vec![]),
    ];
    let mut push = |tab: &str, label: &str, value: &str| {
        if value.is_empty() {
            return;
        }
        if let Some((_, rows)) = tabs.iter_mut().find(|(t, _)| *t == tab) {
            rows.push([label.to_owned(), value.to_owned()]);
        }
    };
    push(IDENTIFICATION, "VIN", &d.vin);
    if let Some(w) = &d.wmi {
        push(IDENTIFICATION, "WMI", w);
    }
    push(IDENTIFICATION, "Make", d.make.unwrap_or_default());
    push(IDENTIFICATION, "Model", d.model.unwrap_or_default());
    push(
        IDENTIFICATION,
        "Model Year",
        &d.year.map(|y| y.to_string()).unwrap_or_default(),
    );
    push(
        IDENTIFICATION,
        "Vehicle Type",
        d.vehicle_type.unwrap_or_default(),
    );
    if let Some(c) = d.check_digit {
        let state = if d.vin.as_bytes().get(8) == Some(&(c as u8)) {
            "valid"
        } else {
            "invalid"
        };
        push(IDENTIFICATION, "Check Digit", &format!("{c} ({state})"));
    }
    let source = match d.source {
        Source::Vpic => format!("NHTSA vPIC {}", index.meta.vpic_snapshot),
        Source::VagModelCode => "VAG model code (VIN positions 7-8)".to_owned(),
        Source::Wmi => "WMI only".to_owned(),
        Source::None => String::new(),
    };
    push(IDENTIFICATION, "Decoded From", &source);
    if let Some(m) = d.vag_model {
        push(IDENTIFICATION, "Model Code", &d.vin[6..8]);
        push(
            VEHICLE,
            "Production Years",
            &format!("{}-{}", m.years.0, m.years.1),
        );
    }
    for v in &d.values {
        if v.element != 28 {
            push(tab_of(v.element), v.name, &v.value);
        }
    }
    push(
        MANUFACTURER,
        "Manufacturer Name",
        d.manufacturer.unwrap_or_default(),
    );
    push(MANUFACTURER, "Country", d.country.unwrap_or_default());
    push(MANUFACTURER, "Region", d.region.unwrap_or_default());

    let tabs: Vec<(&str, Vec<[String; 2]>)> = tabs
        .into_iter()
        .filter(|(_, rows)| !rows.is_empty())
        .collect();
    Report {
        make: d.make.map(str::to_owned),
        model: d.model.map(str::to_owned),
        body_type: d.body_type.map(str::to_owned),
        year: d.year.map(|y| y.to_string()),
        tab_names: tabs.iter().map(|(t, _)| (*t).to_owned()).collect(),
        tabs: tabs
            .into_iter()
            .enumerate()
            .map(|(i, (t, data))| {
                (
                    i.to_string(),
                    Tab {
                        tab_name: t.to_owned(),
                        data,
                    },
                )
            })
            .collect(),
    }
}
