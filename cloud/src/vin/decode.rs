//! The decoder: validation, WMI, model year, vPIC patterns and VAG model codes, combined into
//! one [`Decoded`] result.

use std::borrow::Cow;

use super::index::{Index, Wmi};
use super::pattern::vin_codes;
use super::vag::{self, VagModel};
use super::validate::{Severity, Vin, VinIssue};
use super::vpic::{self, Pass, Value, element};
use super::{region, year};

/// The decoder's data could not be loaded (a build problem, never bad input).
#[derive(Debug, Clone, thiserror::Error)]
pub enum DecoderError {
    #[error("{0}")]
    Index(&'static str),
    #[error("{0}")]
    VagTable(&'static str),
}

/// Where the model information came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// NHTSA vPIC patterns.
    Vpic,
    /// The VAG model-code table (VIN positions 7–8).
    VagModelCode,
    /// Only the WMI was recognised.
    Wmi,
    /// Nothing was recognised (or the VIN is malformed).
    None,
}

/// Everything the decoder found out about one VIN.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The normalised input (trimmed, upper-case).
    pub vin: String,
    /// No issue of [`Severity::Error`].
    pub valid: bool,
    pub issues: Vec<VinIssue>,
    pub wmi: Option<String>,
    pub manufacturer: Option<&'static str>,
    pub make: Option<&'static str>,
    pub model: Option<&'static str>,
    pub year: Option<u16>,
    pub body_type: Option<&'static str>,
    pub series: Option<&'static str>,
    pub trim: Option<&'static str>,
    pub vehicle_type: Option<&'static str>,
    pub country: Option<&'static str>,
    pub region: Option<&'static str>,
    /// The check digit positions 1–8 and 10–17 compute to.
    pub check_digit: Option<char>,
    pub source: Source,
    /// Every vPIC element decoded, by element id.
    pub values: Vec<Value>,
    /// The VAG table row, for European-market VAG VINs.
    pub vag_model: Option<&'static VagModel>,
}

impl Decoded {
    fn empty(vin: String, issues: Vec<VinIssue>) -> Decoded {
        Decoded {
            vin,
            valid: false,
            issues,
            wmi: None,
            manufacturer: None,
            make: None,
            model: None,
            year: None,
            body_type: None,
            series: None,
            trim: None,
            vehicle_type: None,
            country: None,
            region: None,
            check_digit: None,
            source: Source::None,
            values: Vec::new(),
            vag_model: None,
        }
    }

    /// The issues that make the VIN invalid.
    pub fn errors(&self) -> impl Iterator<Item = &VinIssue> {
        self.issues
            .iter()
            .filter(|i| i.severity() == Severity::Error)
    }

    /// The issues worth knowing that do not make the VIN invalid.
    pub fn warnings(&self) -> impl Iterator<Item = &VinIssue> {
        self.issues
            .iter()
            .filter(|i| i.severity() == Severity::Warning)
    }
}

/// The offline VIN decoder. Cheap to copy; the data behind it is loaded once per process.
#[derive(Debug, Clone, Copy)]
pub struct Decoder {
    index: &'static Index,
    vag: &'static [VagModel],
    current_year: u16,
}

impl Decoder {
    /// The decoder over the data compiled into this binary (parsed on first use).
    pub fn new() -> Result<Decoder, DecoderError> {
        Ok(Decoder {
            index: Index::get().map_err(DecoderError::Index)?,
            vag: vag::table().map_err(DecoderError::VagTable)?,
            current_year: year::current_year(),
        })
    }

    /// Decodes as if the calendar year were `year` (model years more than two years ahead
    /// belong to the previous 30-year cycle).
    pub fn with_current_year(self, year: u16) -> Decoder {
        Decoder {
            current_year: year,
            ..self
        }
    }

    /// The vPIC index in use.
    pub fn index(&self) -> &'static Index {
        self.index
    }

    /// Decodes one VIN. Never fails: problems are reported in [`Decoded::issues`].
    pub fn decode(&self, input: &str) -> Decoded {
        let vin = match Vin::parse(input) {
            Ok(vin) => vin,
            Err(issues) => return Decoded::empty(input.trim().to_uppercase(), issues),
        };
        let wmi_code = vin.wmi();
        let wmi = self.index.wmi(&wmi_code);
        let b = vin.bytes();
        // European-market VINs fill positions 4–6 with 'Z' (VAG and others): vPIC's US patterns
        // do not apply to them, nor does the North American position-7 year rule.
        let european_filler = &b[3..6] == b"ZZZ";
        let car_lt = wmi.is_some_and(is_car_mpv_or_light_truck);
        let serial_from = if b[2] == b'9' {
            15
        } else if car_lt {
            13
        } else {
            14
        };
        let mut issues = vin.rule_issues(Some(serial_from));
        if wmi.is_none() {
            issues.push(VinIssue::UnknownWmi {
                wmi: wmi_code.clone(),
            });
        }
        let model_year = year::model_year(
            vin.at(10),
            vin.at(7),
            car_lt && !european_filler,
            self.current_year,
        );

        let mut out = Decoded::empty(vin.to_string(), Vec::new());
        out.wmi = Some(wmi_code);
        out.check_digit = Some(vin.expected_check_digit());
        out.region = region::region(b[0]);
        out.country = wmi
            .and_then(|w| w.country)
            .or_else(|| region::country(b[0], b[1]));
        out.year = model_year.map(|m| m.year);
        if let Some(w) = wmi {
            out.manufacturer = w.manufacturer;
            out.vehicle_type = w.vehicle_type;
            out.make = w.single_make;
            out.source = Source::Wmi;
        }

        if let (Some(w), Some(my), false) = (wmi, model_year, european_filler) {
            let pass = self.best_pass(w, &vin, my.year, my.alternate);
            if !pass.values.is_empty() {
                out.source = Source::Vpic;
            }
            out.year = Some(pass.year);
            out.make = pass.make.or(out.make);
            out.model = static_value(&pass, element::MODEL);
            out.body_type = static_value(&pass, element::BODY_CLASS);
            out.series = static_value(&pass, element::SERIES);
            out.trim = static_value(&pass, element::TRIM);
            if let Some(alt) = my.alternate {
                let other = if pass.year == my.year { alt } else { my.year };
                issues.push(VinIssue::AmbiguousYear {
                    chosen: pass.year,
                    other,
                });
            }
            out.values = pass.values;
        } else if let Some(my) = model_year.and_then(|m| m.alternate.map(|alt| (m.year, alt))) {
            issues.push(VinIssue::AmbiguousYear {
                chosen: my.0,
                other: my.1,
            });
        }

        if out.model.is_none() && vag::knows_wmi(self.vag, &vin.as_str()[..3]) {
            self.apply_vag(&mut out, &vin, model_year, &mut issues);
        }
        out.valid = !issues.iter().any(|i| i.severity() == Severity::Error);
        out.issues = issues;
        out
    }

    fn best_pass(&self, wmi: &Wmi, vin: &Vin, year: u16, alternate: Option<u16>) -> Pass {
        let codes = vin_codes(vin.bytes());
        let first = vpic::decode_pass(self.index, wmi, vin, &codes, year);
        match alternate {
            Some(alt) => {
                let second = vpic::decode_pass(self.index, wmi, vin, &codes, alt);
                if second.score() > first.score() {
                    second
                } else {
                    first
                }
            }
            None => first,
        }
    }

    fn apply_vag(
        &self,
        out: &mut Decoded,
        vin: &Vin,
        model_year: Option<year::ModelYear>,
        issues: &mut Vec<VinIssue>,
    ) {
        let years: Vec<u16> = model_year
            .map(|m| [Some(m.year), m.alternate])
            .into_iter()
            .flatten()
            .flatten()
            .collect();
        let code = &vin.as_str()[6..8];
        let Some((model, fitted)) =
            vag::lookup(self.vag, &vin.as_str()[..3], code, &years, out.make)
        else {
            return;
        };
        out.model = Some(model.model.as_str());
        out.make = out.make.or(Some(model.make.as_str()));
        out.vag_model = Some(model);
        out.source = Source::VagModelCode;
        if let Some(y) = fitted {
            out.year = Some(y);
            // The model's production years settle which 30-year cycle position 10 means.
            issues.retain(|i| !matches!(i, VinIssue::AmbiguousYear { .. }));
        }
    }
}

/// vPIC's "car, MPV or light truck": the vehicle types NHTSA's position-7 rule covers.
fn is_car_mpv_or_light_truck(w: &Wmi) -> bool {
    matches!(w.vehicle_type_id, 2 | 7) || (w.vehicle_type_id == 3 && w.truck_type_id == 1)
}

fn static_value(pass: &Pass, element: u16) -> Option<&'static str> {
    pass.values
        .iter()
        .find(|v| v.element == element)
        .and_then(|v| match v.value {
            Cow::Borrowed(s) => Some(s),
            Cow::Owned(_) => None,
        })
}
