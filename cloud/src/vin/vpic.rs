//! vPIC pattern decoding, following NHTSA's `spVinDecode_Core`: every pattern of the WMI's
//! schemas valid for the model year is matched against VIN positions 4–8 and 10–17; per
//! element the candidate with the highest priority (the schema link's first year) wins, then
//! the most recently changed pattern, then the one with fewest fixed characters, then the
//! lowest id. A decoded engine model adds its engine-model attributes; the model's make (or the
//! WMI's only make) becomes the make.

use std::borrow::Cow;

use super::index::{Index, Wmi};
use super::pattern::{KEY_LEN, Key};
use super::validate::Vin;

/// vPIC element ids the decoder reads directly.
pub mod element {
    pub const BODY_CLASS: u16 = 5;
    pub const ENGINE_MODEL: u16 = 18;
    pub const MODEL: u16 = 28;
    pub const SERIES: u16 = 34;
    pub const TRIM: u16 = 38;
}
/// vPIC's priority of formula patterns (schema links use their first year, so formulas only
/// fill elements nothing else decodes). Engine-model patterns rank lower still (50).
const FORMULA_PRIORITY: u16 = 100;
/// vPIC's weights of the elements every pass decodes from the WMI (make, model year, type).
const MAKE_WEIGHT: u32 = 99;

/// One decoded vPIC element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// vPIC element id.
    pub element: u16,
    /// vPIC element name.
    pub name: &'static str,
    pub value: Cow<'static, str>,
}

/// The outcome of decoding a VIN for one model year.
#[derive(Debug, Clone)]
pub struct Pass {
    pub year: u16,
    pub values: Vec<Value>,
    pub make: Option<&'static str>,
    /// vPIC's score of a pass: the summed weights of the decoded elements.
    weight: u32,
    /// Number of decoded elements that came from patterns.
    patterns: u32,
}

impl Pass {
    /// The value of an element, if decoded.
    pub fn get(&self, element: u16) -> Option<&str> {
        self.values
            .iter()
            .find(|v| v.element == element)
            .map(|v| v.value.as_ref())
    }

    /// The order of passes: one that decodes a model first (vPIC's error value penalises a
    /// pass whose VIN characters fit no pattern of that year's schemas; a decoded model is the
    /// part of that check that decides in practice), then vPIC's own order: more decoded
    /// weight, more patterns, the later year.
    pub fn score(&self) -> (bool, u32, u32, u16) {
        (
            self.get(element::MODEL).is_some(),
            self.weight,
            self.patterns,
            self.year,
        )
    }
}

#[derive(Debug, Clone, Copy)]
struct Candidate {
    priority: u16,
    ord: u32,
    attr: u32,
    formula: Option<(u8, u8)>,
}

impl Candidate {
    fn beats(&self, other: &Candidate) -> bool {
        self.priority > other.priority || (self.priority == other.priority && self.ord < other.ord)
    }
}

/// Decodes a VIN's patterns for one model year. `codes` are the VIN's key codes.
pub fn decode_pass(
    index: &'static Index,
    wmi: &Wmi,
    vin: &Vin,
    codes: &[u8; KEY_LEN],
    year: u16,
) -> Pass {
    let mut best: Vec<Option<Candidate>> = vec![None; index.elements.len()];
    for link in index.links(wmi) {
        if year < link.year_from || year > link.year_to {
            continue;
        }
        for p in index.schema_patterns(link.schema) {
            let elem = usize::from(index.pattern_elem[p]);
            let key: &Key = &index.keys[index.pattern_key[p] as usize];
            let candidate = Candidate {
                priority: if key.formula.is_some() {
                    FORMULA_PRIORITY
                } else {
                    link.year_from
                },
                ord: index.pattern_ord[p],
                attr: index.pattern_attr[p],
                formula: key.formula,
            };
            if best[elem].is_some_and(|b| !candidate.beats(&b)) {
                continue;
            }
            if key.matches(codes) {
                best[elem] = Some(candidate);
            }
        }
    }

    let mut values = Vec::new();
    let mut make = None;
    let mut weight = 0;
    let mut patterns = 0;
    for (i, cand) in best.iter().enumerate() {
        let Some(c) = cand else { continue };
        let element = index.elements[i];
        let attr = index.attrs[c.attr as usize];
        let value = match c.formula {
            Some((a, b)) => Cow::Owned(formula_text(vin, a, b)),
            None => Cow::Borrowed(attr.value),
        };
        if element.id == element::MODEL {
            make = attr.make;
        }
        weight += u32::from(element.weight);
        patterns += u32::from(!value.is_empty() && value != "Not Applicable");
        values.push(Value {
            element: element.id,
            name: element.name,
            value,
        });
    }
    if let Some(engine) = values
        .iter()
        .find(|v| v.element == element::ENGINE_MODEL)
        .map(|v| v.value.clone())
    {
        for ep in index.engine_patterns(&engine) {
            let element = index.elements[usize::from(ep.element)];
            if !values.iter().any(|v| v.element == element.id) {
                weight += u32::from(element.weight);
                patterns += 1;
                values.push(Value {
                    element: element.id,
                    name: element.name,
                    value: Cow::Borrowed(ep.value),
                });
            }
        }
    }
    let make = make.or(wmi.single_make);
    if make.is_some() {
        weight += MAKE_WEIGHT;
    }
    values.sort_by_key(|v| v.element);
    Pass {
        year,
        values,
        make,
        weight,
        patterns,
    }
}

/// The VIN text under a formula key's `#` positions (key positions map to VIN positions 4–8,
/// then 10–17).
fn formula_text(vin: &Vin, from: u8, to: u8) -> String {
    (from..=to)
        .filter(|&k| k != 5)
        .map(|k| vin.bytes()[3 + usize::from(k)] as char)
        .collect()
}
