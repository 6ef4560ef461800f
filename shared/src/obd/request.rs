//! OBD-II requests (SAE J1979 services 01, 03, 04, 07, 09, 0A and UDS 22), both directions.

use serde::Serialize;

use super::ObdError;
use super::error::hex_bytes;

/// Which trouble-code list a DTC service reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DtcKind {
    /// Service 03: confirmed (stored) codes.
    Stored,
    /// Service 07: pending codes (current or last drive cycle).
    Pending,
    /// Service 0A: permanent codes (not clearable by service 04).
    Permanent,
}

impl DtcKind {
    /// The request service id.
    pub fn service(self) -> u8 {
        match self {
            Self::Stored => 0x03,
            Self::Pending => 0x07,
            Self::Permanent => 0x0A,
        }
    }
}

/// The UDS data identifier of the VIN.
pub const DID_VIN: u16 = 0xF190;
/// Service 09 PID of the VIN.
pub const INFO_VIN: u8 = 0x02;
/// Service 09 PID of the ECU name.
pub const INFO_ECU_NAME: u8 = 0x0A;

/// A diagnostic request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Request {
    /// Service 01 with 1–6 PIDs.
    CurrentData(Vec<u8>),
    /// Services 03 / 07 / 0A.
    Dtcs(DtcKind),
    /// Service 04.
    ClearDtcs,
    /// Service 09 with one info type (02 VIN, 0A ECU name, …).
    VehicleInfo(u8),
    /// UDS service 22 with one data identifier (F190 VIN).
    ReadDataByIdentifier(u16),
}

impl Request {
    /// The service id (first byte).
    pub fn service(&self) -> u8 {
        match self {
            Self::CurrentData(_) => 0x01,
            Self::Dtcs(kind) => kind.service(),
            Self::ClearDtcs => 0x04,
            Self::VehicleInfo(_) => 0x09,
            Self::ReadDataByIdentifier(_) => 0x22,
        }
    }

    /// The request bytes (the ISO-TP payload).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.service()];
        match self {
            Self::CurrentData(pids) => out.extend_from_slice(pids),
            Self::VehicleInfo(pid) => out.push(*pid),
            Self::ReadDataByIdentifier(did) => out.extend_from_slice(&did.to_be_bytes()),
            Self::Dtcs(_) | Self::ClearDtcs => {}
        }
        out
    }

    /// Parses request bytes (the simulated ECU's side).
    pub fn parse(payload: &[u8]) -> Result<Self, ObdError> {
        let bad = |reason| ObdError::BadRequest {
            payload: hex_bytes(payload),
            reason,
        };
        let (&service, args) = payload.split_first().ok_or(ObdError::Empty)?;
        match (service, args) {
            (0x01, pids) if (1..=6).contains(&pids.len()) => Ok(Self::CurrentData(pids.to_vec())),
            (0x01, _) => Err(bad("service 01 takes 1 to 6 PIDs")),
            (0x03, []) => Ok(Self::Dtcs(DtcKind::Stored)),
            (0x07, []) => Ok(Self::Dtcs(DtcKind::Pending)),
            (0x0A, []) => Ok(Self::Dtcs(DtcKind::Permanent)),
            (0x04, []) => Ok(Self::ClearDtcs),
            (0x03 | 0x04 | 0x07 | 0x0A, _) => Err(bad("service takes no parameters")),
            (0x09, [pid]) => Ok(Self::VehicleInfo(*pid)),
            (0x09, _) => Err(bad("service 09 takes one info type")),
            (0x22, [hi, lo]) => Ok(Self::ReadDataByIdentifier(u16::from_be_bytes([*hi, *lo]))),
            (0x22, _) => Err(bad("service 22 takes one 2-byte identifier")),
            _ => Err(ObdError::UnsupportedRequest {
                payload: hex_bytes(payload),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(bytes: &[u8], expected: Result<Request, &str>) {
        match (Request::parse(bytes), expected) {
            (Ok(got), Ok(want)) => {
                assert_eq!(got, want);
                assert_eq!(want.encode(), bytes);
            }
            (Err(e), Err(fragment)) => assert!(e.to_string().contains(fragment), "{e}"),
            (got, want) => panic!("{bytes:02X?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn requests_round_trip() {
        check(&[0x01, 0x00], Ok(Request::CurrentData(vec![0x00])));
        check(
            &[0x01, 0x0C, 0x0D, 0x05],
            Ok(Request::CurrentData(vec![0x0C, 0x0D, 0x05])),
        );
        check(&[0x03], Ok(Request::Dtcs(DtcKind::Stored)));
        check(&[0x07], Ok(Request::Dtcs(DtcKind::Pending)));
        check(&[0x0A], Ok(Request::Dtcs(DtcKind::Permanent)));
        check(&[0x04], Ok(Request::ClearDtcs));
        check(&[0x09, 0x02], Ok(Request::VehicleInfo(INFO_VIN)));
        check(
            &[0x22, 0xF1, 0x90],
            Ok(Request::ReadDataByIdentifier(DID_VIN)),
        );
    }

    #[test]
    fn bad_requests_are_typed_errors() {
        check(&[], Err("empty OBD message"));
        check(&[0x01], Err("1 to 6 PIDs"));
        check(&[0x01, 1, 2, 3, 4, 5, 6, 7], Err("1 to 6 PIDs"));
        check(&[0x03, 0x00], Err("no parameters"));
        check(&[0x09], Err("one info type"));
        check(&[0x22, 0xF1], Err("2-byte identifier"));
        check(&[0x10, 0x03], Err("unsupported OBD request [10 03]"));
    }
}
