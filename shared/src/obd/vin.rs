//! Vehicle identification numbers (ISO 3779): 17 characters, no I, O or Q, and a check digit.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A syntactically valid VIN (upper case). The check digit (position 9) is computed and
/// reported by [`Vin::check_digit`], not enforced: only North American VINs must carry one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vin(String);

/// Why text is not a VIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VinError {
    #[error("a VIN has 17 characters, \"{text}\" has {len}")]
    Length { text: String, len: usize },
    #[error(
        "VIN \"{text}\" has {found:?} at position {position}; only A-Z and 0-9 without I, O, Q are allowed"
    )]
    Character {
        text: String,
        found: char,
        position: usize,
    },
    #[error("\"{text}\" is a placeholder, not a VIN (one character repeated)")]
    Placeholder { text: String },
}

/// The check digit a VIN carries and the one its other characters call for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CheckDigit {
    pub found: char,
    pub expected: char,
}

impl CheckDigit {
    /// Whether the VIN carries the right check digit.
    pub fn is_valid(self) -> bool {
        self.found == self.expected
    }
}

const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

/// The ISO 3779 transliteration of one (already validated) character.
fn value(c: u8) -> u32 {
    match c {
        b'0'..=b'9' => u32::from(c - b'0'),
        b'A'..=b'H' => u32::from(c - b'A') + 1,
        b'J'..=b'N' => u32::from(c - b'J') + 1,
        b'P' => 7,
        b'R' => 9,
        b'S'..=b'Z' => u32::from(c - b'S') + 2,
        _ => 0,
    }
}

impl Vin {
    /// Validates `text` (surrounding whitespace ignored, lower case accepted).
    pub fn parse(text: &str) -> Result<Self, VinError> {
        let trimmed = text.trim();
        let shown: String = trimmed.chars().take(40).collect();
        let len = trimmed.chars().count();
        if len != 17 {
            return Err(VinError::Length { text: shown, len });
        }
        let upper = trimmed.to_ascii_uppercase();
        if let Some((i, c)) = upper
            .chars()
            .enumerate()
            .find(|(_, c)| !c.is_ascii_alphanumeric() || matches!(c, 'I' | 'O' | 'Q'))
        {
            return Err(VinError::Character {
                text: shown,
                found: c,
                position: i + 1,
            });
        }
        // ECUs without a programmed VIN answer with one repeated character (`000…`, `111…`).
        if upper.bytes().all(|b| b == upper.as_bytes()[0]) {
            return Err(VinError::Placeholder { text: shown });
        }
        Ok(Self(upper))
    }

    /// The VIN text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The world manufacturer identifier (positions 1–3).
    pub fn wmi(&self) -> &str {
        &self.0[..3]
    }

    /// The model-year character (position 10).
    pub fn year_code(&self) -> char {
        char::from(self.0.as_bytes()[9])
    }

    /// The carried and the computed check digit.
    pub fn check_digit(&self) -> CheckDigit {
        let sum: u32 = self.0.bytes().zip(WEIGHTS).map(|(c, w)| value(c) * w).sum();
        let expected = match sum % 11 {
            10 => 'X',
            // Invariant: the remainder is below 10, so it is one decimal digit.
            d => char::from(b'0' + d as u8),
        };
        CheckDigit {
            found: char::from(self.0.as_bytes()[8]),
            expected,
        }
    }
}

impl fmt::Display for Vin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Vin {
    type Err = VinError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for Vin {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for Vin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Vin {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Result<(char, char), &str>) {
        match (Vin::parse(text), expected) {
            (Ok(vin), Ok((found, want))) => {
                let cd = vin.check_digit();
                assert_eq!((cd.found, cd.expected), (found, want), "{text}");
                assert_eq!(cd.is_valid(), found == want);
            }
            (Err(e), Err(fragment)) => {
                assert!(e.to_string().contains(fragment), "{text}: {e}");
            }
            (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn validates_and_reports_the_check_digit() {
        check("1M8GDM9AXKP042788", Ok(('X', 'X')));
        check("1HGCM82633A004352", Ok(('3', '3')));
        check("JH4DC4340RS003205", Ok(('0', '0')));
        check("5N3ZA0NE1AN908084", Ok(('1', '1')));
        check("1hgcm82633a004352", Ok(('3', '3')));
        check("  1HGCM82633A004352\r\n", Ok(('3', '3')));
        // Same VIN with a wrong check digit: still a VIN, reported invalid.
        check("1HGCM82643A004352", Ok(('4', '3')));
        // European VINs often carry no check digit.
        check("WVWZZZ1JZXW000001", Ok(('Z', '0')));
        check("1HGCM82633A00435", Err("has 16"));
        check("1HGCM82633A0043521", Err("has 18"));
        check("", Err("has 0"));
        check("1HGCM82633A0O4352", Err("'O' at position 13"));
        check("IHGCM82633A004352", Err("'I' at position 1"));
        check("1HGCM82633A00435Q", Err("'Q' at position 17"));
        check("1HGCM82633A00435-", Err("'-' at position 17"));
        check("1HGCM82633A00435é", Err("'é' at position 17"));
        check("00000000000000000", Err("placeholder"));
        check("11111111111111111", Err("placeholder"));
    }

    #[test]
    fn parts_and_serde() {
        let vin = Vin::parse("1HGCM82633A004352").expect("valid");
        assert_eq!(vin.wmi(), "1HG");
        assert_eq!(vin.year_code(), '3');
        let json = serde_json::to_string(&vin).expect("json");
        assert_eq!(json, "\"1HGCM82633A004352\"");
        assert_eq!(serde_json::from_str::<Vin>(&json).expect("json"), vin);
        assert!(serde_json::from_str::<Vin>("\"short\"").is_err());
    }
}
