//! VIN validation: length, alphabet, the NHTSA check digit (49 CFR 565.15) and position rules,
//! with every problem tied to the position that causes it and what would be allowed there.

use serde::Serialize;

/// Length of a VIN.
pub const VIN_LEN: usize = 17;
const ALPHABET: &str = "digits 0-9 and letters A-Z except I, O and Q";
const CHECK_DIGITS: &str = "a check digit 0-9 or X";
const YEAR_CODES: &str = "a model-year code: A-H, J-N, P, R-T, V-Y or 1-9";
const SERIAL: &str = "digits 0-9 (numeric serial number)";
/// Position weights of the check-digit sum.
const WEIGHTS: [u32; VIN_LEN] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

/// How much a problem matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The VIN is not valid.
    Error,
    /// Worth knowing, but the VIN may still be valid (e.g. no check digit outside North America).
    Warning,
}

/// One problem found in a VIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VinIssue {
    #[error("the VIN has {actual} characters; a VIN has exactly 17")]
    Length { actual: usize },
    #[error("position {position}: '{found}' is not allowed; allowed: {allowed}")]
    Character {
        position: usize,
        found: char,
        allowed: &'static str,
    },
    #[error("position 9: check digit is '{found}' but positions 1-8 and 10-17 give '{expected}'")]
    CheckDigit {
        found: char,
        expected: char,
        mandatory: bool,
    },
    #[error("position 10: '{found}' is not a model-year code; allowed: {YEAR_CODES}")]
    ModelYearCode { found: char, mandatory: bool },
    #[error("positions 1-3: WMI {wmi} is not a known manufacturer code")]
    UnknownWmi { wmi: String },
    #[error(
        "position 10: model year is {chosen} or {other}; position 7 does not decide it for this vehicle type"
    )]
    AmbiguousYear { chosen: u16, other: u16 },
}

impl VinIssue {
    /// Whether the issue makes the VIN invalid.
    pub fn severity(&self) -> Severity {
        match self {
            VinIssue::Length { .. } | VinIssue::Character { .. } => Severity::Error,
            VinIssue::CheckDigit { mandatory, .. } | VinIssue::ModelYearCode { mandatory, .. } => {
                if *mandatory {
                    Severity::Error
                } else {
                    Severity::Warning
                }
            }
            VinIssue::UnknownWmi { .. } | VinIssue::AmbiguousYear { .. } => Severity::Warning,
        }
    }

    /// The 1-based VIN positions the issue is about (empty for the whole VIN).
    pub fn positions(&self) -> Vec<usize> {
        match self {
            VinIssue::Length { .. } => vec![],
            VinIssue::Character { position, .. } => vec![*position],
            VinIssue::CheckDigit { .. } => vec![9],
            VinIssue::ModelYearCode { .. } | VinIssue::AmbiguousYear { .. } => vec![10],
            VinIssue::UnknownWmi { .. } => vec![1, 2, 3],
        }
    }
}

/// A 17-character VIN over the VIN alphabet (check digit and position rules aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vin([u8; VIN_LEN]);

impl Vin {
    /// Normalises (trim, upper-case) and checks length and alphabet. On failure, every
    /// offending position is reported.
    pub fn parse(input: &str) -> Result<Vin, Vec<VinIssue>> {
        let text = input.trim();
        let mut issues = Vec::new();
        let chars: Vec<char> = text.chars().map(|c| c.to_ascii_uppercase()).collect();
        if chars.len() != VIN_LEN {
            issues.push(VinIssue::Length {
                actual: chars.len(),
            });
        }
        for (i, &c) in chars.iter().enumerate() {
            if !is_vin_char(c) {
                issues.push(VinIssue::Character {
                    position: i + 1,
                    found: c,
                    allowed: ALPHABET,
                });
            }
        }
        if !issues.is_empty() {
            return Err(issues);
        }
        let mut bytes = [0u8; VIN_LEN];
        for (b, c) in bytes.iter_mut().zip(&chars) {
            // Every character passed `is_vin_char`, so it is ASCII.
            *b = *c as u8;
        }
        Ok(Vin(bytes))
    }

    /// The VIN as text.
    pub fn as_str(&self) -> &str {
        // The bytes are ASCII (checked in `parse`).
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The VIN's bytes.
    pub fn bytes(&self) -> &[u8; VIN_LEN] {
        &self.0
    }

    /// The character at a 1-based position.
    pub fn at(&self, position: usize) -> char {
        char::from(self.0[position - 1])
    }

    /// The WMI: positions 1–3, or 1–3 plus 12–14 when position 3 is '9' (small manufacturers).
    pub fn wmi(&self) -> String {
        let mut wmi = String::with_capacity(6);
        wmi.push_str(&self.as_str()[..3]);
        if self.0[2] == b'9' {
            wmi.push_str(&self.as_str()[11..14]);
        }
        wmi
    }

    /// Is the VIN from North America (WMI starting 1–5), where the check digit is mandatory?
    pub fn is_north_american(&self) -> bool {
        matches!(self.0[0], b'1'..=b'5')
    }

    /// The check digit positions 1–8 and 10–17 compute to.
    pub fn expected_check_digit(&self) -> char {
        let sum: u32 = self
            .0
            .iter()
            .zip(WEIGHTS)
            .map(|(&b, w)| transliterate(b) * w)
            .sum();
        match sum % 11 {
            10 => 'X',
            // `sum % 11` is below 10 here, so this is a single decimal digit.
            d => char::from(b'0' + d as u8),
        }
    }

    /// Check digit and position rules that need no manufacturer data. `serial_from` is the
    /// first position that must be numeric (vPIC: 13 for cars, MPVs and light trucks, 14
    /// otherwise, 15 for small manufacturers), only enforced on North American VINs.
    pub fn rule_issues(&self, serial_from: Option<usize>) -> Vec<VinIssue> {
        let mandatory = self.is_north_american();
        let mut issues = Vec::new();
        let found = self.at(9);
        let expected = self.expected_check_digit();
        if mandatory && !(found.is_ascii_digit() || found == 'X') {
            issues.push(VinIssue::Character {
                position: 9,
                found,
                allowed: CHECK_DIGITS,
            });
        } else if found != expected {
            issues.push(VinIssue::CheckDigit {
                found,
                expected,
                mandatory,
            });
        }
        let year = self.at(10);
        if matches!(year, 'U' | 'Z' | '0') {
            issues.push(VinIssue::ModelYearCode {
                found: year,
                mandatory,
            });
        }
        if let (true, Some(from)) = (mandatory, serial_from) {
            for position in from..=VIN_LEN {
                let c = self.at(position);
                if !c.is_ascii_digit() {
                    issues.push(VinIssue::Character {
                        position,
                        found: c,
                        allowed: SERIAL,
                    });
                }
            }
        }
        issues
    }
}

impl std::fmt::Display for Vin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn is_vin_char(c: char) -> bool {
    (c.is_ascii_digit() || c.is_ascii_uppercase()) && !matches!(c, 'I' | 'O' | 'Q')
}

/// NHTSA's transliteration of VIN characters to numbers for the check digit.
fn transliterate(b: u8) -> u32 {
    match b {
        b'0'..=b'9' => u32::from(b - b'0'),
        b'A' | b'J' => 1,
        b'B' | b'K' | b'S' => 2,
        b'C' | b'L' | b'T' => 3,
        b'D' | b'M' | b'U' => 4,
        b'E' | b'N' | b'V' => 5,
        b'F' | b'W' => 6,
        b'G' | b'P' | b'X' => 7,
        b'H' | b'Y' => 8,
        b'R' | b'Z' => 9,
        _ => 0,
    }
}
