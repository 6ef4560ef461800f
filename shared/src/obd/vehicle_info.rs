//! Service 09 / UDS 22 payloads: the VIN and ECU names.

use std::fmt;

use serde::Serialize;

use super::error::hex_bytes;
use super::{ObdError, Vin};

/// Extracts the VIN from a `49 02` data field (count byte first on CAN) or a `62 F1 90` data
/// field. Padding (`00`, spaces, `FF`) and the count byte are skipped: the VIN is the last 17
/// printable characters.
pub fn decode_vin(data: &[u8]) -> Result<Vin, ObdError> {
    let printable: String = data
        .iter()
        .filter(|b| b.is_ascii_graphic())
        .map(|&b| char::from(b))
        .collect();
    let start = printable.len().saturating_sub(17);
    Vin::parse(&printable[start..]).map_err(|source| ObdError::Vin {
        payload: hex_bytes(data),
        source,
    })
}

/// The `49 02` data field for `vin` on CAN: one data item, then the 17 characters.
pub fn encode_vin(vin: &Vin) -> Vec<u8> {
    let mut out = vec![0x01];
    out.extend_from_slice(vin.as_str().as_bytes());
    out
}

/// An ECU name from service 09 info type 0A: acronym and text, e.g. `ECM` / `EngineControl`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct EcuName {
    pub acronym: String,
    pub name: String,
}

impl EcuName {
    /// Decodes the `49 0A` data field: a count byte, then 20 bytes `ACRO\0-Name\0…`
    /// (4-byte acronym, `-`, 15-byte name, NUL padded). Looser layouts are tolerated.
    pub fn decode(data: &[u8]) -> Self {
        let body = match data {
            [count, rest @ ..] if *count < 0x20 => rest,
            _ => data,
        };
        let text: String = body
            .iter()
            .filter(|b| b.is_ascii_graphic() || **b == b' ')
            .map(|&b| char::from(b))
            .collect();
        match text.split_once('-') {
            Some((acronym, name)) => Self {
                acronym: acronym.trim().to_owned(),
                name: name.trim().to_owned(),
            },
            None => Self {
                acronym: String::new(),
                name: text.trim().to_owned(),
            },
        }
    }

    /// The `49 0A` data field (count byte 01, then 20 bytes).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![0x01];
        let mut acronym: Vec<u8> = self.acronym.bytes().take(4).collect();
        acronym.resize(4, 0);
        let mut name: Vec<u8> = self.name.bytes().take(15).collect();
        name.resize(15, 0);
        out.extend_from_slice(&acronym);
        out.push(b'-');
        out.extend_from_slice(&name);
        out
    }
}

impl fmt::Display for EcuName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.acronym.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{}-{}", self.acronym, self.name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(data: &[u8], expected: Result<&str, &str>) {
        match (decode_vin(data), expected) {
            (Ok(vin), Ok(want)) => assert_eq!(vin.as_str(), want),
            (Err(e), Err(fragment)) => assert!(e.to_string().contains(fragment), "{e}"),
            (got, want) => panic!("{data:02X?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn extracts_vins_from_every_layout() {
        check(b"\x011D4GP00R55B123456", Ok("1D4GP00R55B123456"));
        check(b"1D4GP00R55B123456", Ok("1D4GP00R55B123456"));
        check(
            b"\x01\x00\x00\x001D4GP00R55B123456",
            Ok("1D4GP00R55B123456"),
        );
        check(b"1D4GP00R55B123456\x00\x00", Ok("1D4GP00R55B123456"));
        check(b"\x01WVWZZZ1JZXW000001", Ok("WVWZZZ1JZXW000001"));
        check(b"\x011D4GP00R55B12345", Err("has 16"));
        check(
            b"\x01\xFF\xFF\xFF",
            Err("VIN bytes [01 FF FF FF] are not a VIN"),
        );
        check(b"\x011D4GP00R55B12345O", Err("'O' at position 17"));
        check(b"\x0100000000000000000", Err("placeholder"));
        check(&[0x01; 18], Err("has 0"));
        let vin = Vin::parse("1D4GP00R55B123456").expect("valid");
        assert_eq!(decode_vin(&encode_vin(&vin)), Ok(vin));
    }

    #[test]
    fn ecu_names() {
        let name = EcuName::decode(b"\x01ECM\0-EngineControl\0\0");
        assert_eq!(
            name,
            EcuName {
                acronym: "ECM".into(),
                name: "EngineControl".into()
            }
        );
        assert_eq!(name.to_string(), "ECM-EngineControl");
        assert_eq!(EcuName::decode(&name.encode()), name);
        assert_eq!(name.encode().len(), 21);
        let loose = EcuName::decode(b"TCM-TransmissionCtl");
        assert_eq!(loose.acronym, "TCM");
        assert_eq!(EcuName::decode(b"\x01\xFF\x00").to_string(), "");
    }
}
