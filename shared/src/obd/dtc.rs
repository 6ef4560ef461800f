//! SAE J2012 diagnostic trouble codes: `P0301` ↔ two bytes on the wire.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The vehicle system a code belongs to (its first letter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum System {
    /// `P`
    Powertrain,
    /// `C`
    Chassis,
    /// `B`
    Body,
    /// `U`
    Network,
}

impl System {
    /// The letter that starts codes of this system.
    pub fn letter(self) -> char {
        match self {
            Self::Powertrain => 'P',
            Self::Chassis => 'C',
            Self::Body => 'B',
            Self::Network => 'U',
        }
    }

    /// The lower-case English name (`powertrain`, `chassis`, `body`, `network`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Powertrain => "powertrain",
            Self::Chassis => "chassis",
            Self::Body => "body",
            Self::Network => "network",
        }
    }
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A trouble code such as `P0301`, stored as its two wire bytes.
///
/// Wire layout (SAE J2012 / J1979): bits 15–14 the system (P, C, B, U), bits 13–12 the first
/// digit (0–3), then three hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dtc(u16);

/// Why a string is not a trouble code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{text}\" is not a trouble code: {reason}")]
pub struct DtcParseError {
    text: String,
    reason: &'static str,
}

impl Dtc {
    /// The code carried by two response bytes.
    pub fn from_bytes(bytes: [u8; 2]) -> Self {
        Self(u16::from_be_bytes(bytes))
    }

    /// The two bytes that carry this code.
    pub fn to_bytes(self) -> [u8; 2] {
        self.0.to_be_bytes()
    }

    /// The raw 16-bit value.
    pub fn raw(self) -> u16 {
        self.0
    }

    /// The system (first letter).
    pub fn system(self) -> System {
        match self.0 >> 14 {
            0 => System::Powertrain,
            1 => System::Chassis,
            2 => System::Body,
            _ => System::Network,
        }
    }

    /// Whether SAE J2012 leaves this code's meaning to the manufacturer: P1xxx, P30xx–P33xx,
    /// and the B1/B2, C1/C2, U1/U2 ranges.
    pub fn is_manufacturer_specific(self) -> bool {
        let first = (self.0 >> 12) & 0x3;
        match (self.system(), first) {
            (System::Powertrain, 1) => true,
            (System::Powertrain, 3) => (self.0 >> 8) & 0xF <= 3,
            (System::Powertrain, _) => false,
            (_, d) => d == 1 || d == 2,
        }
    }
}

impl fmt::Display for Dtc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:04X}", self.system().letter(), self.0 & 0x3FFF)
    }
}

impl FromStr for Dtc {
    type Err = DtcParseError;

    /// Accepts `P0301` (any case); the first digit must be 0–3, the rest hex.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason| DtcParseError {
            text: s.chars().take(32).collect(),
            reason,
        };
        let b = s.as_bytes();
        if b.len() != 5 {
            return Err(bad("expected a letter and four hex digits"));
        }
        let system: u16 = match b[0].to_ascii_uppercase() {
            b'P' => 0,
            b'C' => 1,
            b'B' => 2,
            b'U' => 3,
            _ => return Err(bad("the first letter must be P, C, B or U")),
        };
        let digits = std::str::from_utf8(&b[1..])
            .ok()
            .filter(|d| d.bytes().all(|c| c.is_ascii_hexdigit()))
            .and_then(|d| u16::from_str_radix(d, 16).ok())
            .ok_or_else(|| bad("expected four hex digits after the letter"))?;
        if digits > 0x3FFF {
            return Err(bad("the first digit must be 0-3"));
        }
        Ok(Self((system << 14) | digits))
    }
}

impl Serialize for Dtc {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Dtc {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(bytes: [u8; 2], text: &str, system: System, manufacturer: bool) {
        let dtc = Dtc::from_bytes(bytes);
        assert_eq!(dtc.to_string(), text);
        assert_eq!(text.parse::<Dtc>(), Ok(dtc));
        assert_eq!(dtc.to_bytes(), bytes);
        assert_eq!(dtc.system(), system, "{text}");
        assert_eq!(dtc.is_manufacturer_specific(), manufacturer, "{text}");
    }

    #[test]
    fn codes_map_between_bytes_and_text() {
        check([0x03, 0x01], "P0301", System::Powertrain, false);
        check([0x01, 0x33], "P0133", System::Powertrain, false);
        check([0x11, 0x23], "P1123", System::Powertrain, true);
        check([0x24, 0x63], "P2463", System::Powertrain, false);
        check([0x30, 0x00], "P3000", System::Powertrain, true);
        check([0x34, 0x00], "P3400", System::Powertrain, false);
        check([0x40, 0x35], "C0035", System::Chassis, false);
        check([0x51, 0x00], "C1100", System::Chassis, true);
        check([0x81, 0x00], "B0100", System::Body, false);
        check([0xA0, 0x01], "B2001", System::Body, true);
        check([0xC1, 0x00], "U0100", System::Network, false);
        check([0xFF, 0xFF], "U3FFF", System::Network, false);
        check([0x00, 0x00], "P0000", System::Powertrain, false);
    }

    #[test]
    fn parsing_rejects_non_codes() {
        for text in [
            "", "P030", "P03011", "X0301", "P4301", "P03G1", "P+301", "Pé01",
        ] {
            assert!(text.parse::<Dtc>().is_err(), "{text:?}");
        }
        assert_eq!(
            "p0a1b".parse::<Dtc>().map(|d| d.to_string()),
            Ok("P0A1B".into())
        );
        let err = "P4301".parse::<Dtc>().expect_err("first digit 4");
        assert_eq!(
            err.to_string(),
            "\"P4301\" is not a trouble code: the first digit must be 0-3"
        );
    }

    #[test]
    fn serializes_as_text() {
        let dtc: Dtc = "U0100".parse().expect("valid");
        assert_eq!(serde_json::to_string(&dtc).expect("json"), "\"U0100\"");
        assert_eq!(serde_json::from_str::<Dtc>("\"U0100\"").expect("json"), dtc);
        assert!(serde_json::from_str::<Dtc>("\"Q0100\"").is_err());
    }
}
