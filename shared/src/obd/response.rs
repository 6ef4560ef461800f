//! OBD-II responses: parsed against the request they answer (agent side) and encoded from
//! values (simulator side).

use super::error::hex_bytes;
use super::pid::{Reading, data_len, decode_pid};
use super::{Dtc, DtcKind, NegativeResponse, Nrc, ObdError, Request};

/// One PID's data bytes from a service 01 response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PidData {
    pub pid: u8,
    pub data: Vec<u8>,
}

impl PidData {
    /// The decoded value, for PIDs with a known scaling.
    pub fn reading(&self) -> Result<Reading, ObdError> {
        decode_pid(self.pid, &self.data)
    }
}

/// A decoded response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `41 PID DATA [PID DATA]…`
    CurrentData(Vec<PidData>),
    /// `43/47/4A [COUNT] CODES…`; `P0000` padding is dropped.
    Dtcs { kind: DtcKind, codes: Vec<Dtc> },
    /// `44`
    Cleared,
    /// `49 PID DATA…`; `data` starts with the number-of-data-items byte on CAN.
    VehicleInfo { pid: u8, data: Vec<u8> },
    /// `62 DID DATA…`
    DataByIdentifier { did: u16, data: Vec<u8> },
    /// `7F SID NRC`, including 0x78 response-pending.
    Negative(NegativeResponse),
}

impl Response {
    /// Decodes `payload` as the answer to `request`.
    ///
    /// A negative response to the request's service is `Ok(Response::Negative)`; the caller
    /// decides whether to wait (0x78) or give up.
    pub fn parse(request: &Request, payload: &[u8]) -> Result<Self, ObdError> {
        let service = request.service();
        let hex = || hex_bytes(payload);
        let unexpected = || ObdError::UnexpectedService {
            expected: service,
            payload: hex(),
        };
        let truncated = || ObdError::Truncated {
            service,
            payload: hex(),
        };
        let (&sid, body) = payload.split_first().ok_or(ObdError::Empty)?;
        if sid == 0x7F {
            return match body {
                [s, code, ..] if *s == service => Ok(Self::Negative(NegativeResponse {
                    service,
                    code: Nrc(*code),
                })),
                [_, _, ..] => Err(unexpected()),
                _ => Err(truncated()),
            };
        }
        if sid != service + 0x40 {
            return Err(unexpected());
        }
        match request {
            Request::CurrentData(pids) => parse_current(pids, body, payload).map(Self::CurrentData),
            Request::Dtcs(kind) => Ok(Self::Dtcs {
                kind: *kind,
                codes: parse_dtcs(body, payload)?,
            }),
            Request::ClearDtcs => Ok(Self::Cleared),
            Request::VehicleInfo(pid) => match body {
                [got, data @ ..] if got == pid => Ok(Self::VehicleInfo {
                    pid: *pid,
                    data: data.to_vec(),
                }),
                [got, ..] => Err(ObdError::PidMismatch {
                    expected: *pid,
                    got: *got,
                    payload: hex(),
                }),
                [] => Err(truncated()),
            },
            Request::ReadDataByIdentifier(did) => match body {
                [hi, lo, data @ ..] if u16::from_be_bytes([*hi, *lo]) == *did => {
                    Ok(Self::DataByIdentifier {
                        did: *did,
                        data: data.to_vec(),
                    })
                }
                [hi, _, ..] => Err(ObdError::PidMismatch {
                    expected: did.to_be_bytes()[0],
                    got: *hi,
                    payload: hex(),
                }),
                _ => Err(truncated()),
            },
        }
    }

    /// The response bytes (the ISO-TP payload). DTC lists carry the CAN count byte.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::CurrentData(items) => {
                let mut out = vec![0x41];
                for item in items {
                    out.push(item.pid);
                    out.extend_from_slice(&item.data);
                }
                out
            }
            Self::Dtcs { kind, codes } => {
                let count = u8::try_from(codes.len()).unwrap_or(u8::MAX);
                let mut out = vec![kind.service() + 0x40, count];
                for code in codes.iter().take(usize::from(count)) {
                    out.extend_from_slice(&code.to_bytes());
                }
                out
            }
            Self::Cleared => vec![0x44],
            Self::VehicleInfo { pid, data } => [&[0x49, *pid][..], data].concat(),
            Self::DataByIdentifier { did, data } => {
                [&[0x62][..], &did.to_be_bytes(), data].concat()
            }
            Self::Negative(n) => n.encode().to_vec(),
        }
    }
}

fn parse_current(pids: &[u8], mut body: &[u8], payload: &[u8]) -> Result<Vec<PidData>, ObdError> {
    let mut items = Vec::new();
    while let Some((&pid, rest)) = body.split_first() {
        if !pids.contains(&pid) {
            return Err(ObdError::PidMismatch {
                expected: pids.first().copied().unwrap_or(0),
                got: pid,
                payload: hex_bytes(payload),
            });
        }
        // A PID of unknown length can only be split off when it is the last one.
        let len = match data_len(pid) {
            Some(len) => len,
            None if pids.len() == 1 => rest.len(),
            None => return Err(ObdError::UnknownPid { pid }),
        };
        if rest.len() < len {
            return Err(ObdError::PidLength {
                pid,
                expected: len,
                got: rest.len(),
            });
        }
        items.push(PidData {
            pid,
            data: rest[..len].to_vec(),
        });
        body = &rest[len..];
    }
    if items.is_empty() {
        return Err(ObdError::Truncated {
            service: 0x01,
            payload: hex_bytes(payload),
        });
    }
    Ok(items)
}

/// CAN responses carry a count byte before the codes (odd body length); older protocols do
/// not (even length) and pad with `00 00`.
fn parse_dtcs(body: &[u8], payload: &[u8]) -> Result<Vec<Dtc>, ObdError> {
    let codes = if body.len() % 2 == 1 {
        let announced = usize::from(body[0]);
        let available = (body.len() - 1) / 2;
        if announced > available {
            return Err(ObdError::DtcCount {
                announced,
                available,
                payload: hex_bytes(payload),
            });
        }
        &body[1..1 + 2 * announced]
    } else {
        body
    };
    Ok(codes
        .chunks_exact(2)
        .map(|c| Dtc::from_bytes([c[0], c[1]]))
        .filter(|d| d.raw() != 0)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dtcs(codes: &[&str]) -> Vec<Dtc> {
        codes
            .iter()
            .map(|c| c.parse().expect("valid code"))
            .collect()
    }

    fn check(request: Request, payload: &[u8], expected: Result<Response, &str>) {
        match (Response::parse(&request, payload), expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{payload:02X?}"),
            (Err(e), Err(fragment)) => {
                assert!(e.to_string().contains(fragment), "{payload:02X?}: {e}")
            }
            (got, want) => panic!("{payload:02X?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn parses_current_data() {
        let one = |pid, data: &[u8]| PidData {
            pid,
            data: data.to_vec(),
        };
        check(
            Request::CurrentData(vec![0x00]),
            &[0x41, 0x00, 0xBE, 0x3F, 0xA8, 0x13],
            Ok(Response::CurrentData(vec![one(
                0x00,
                &[0xBE, 0x3F, 0xA8, 0x13],
            )])),
        );
        check(
            Request::CurrentData(vec![0x0C, 0x0D, 0x05]),
            &[0x41, 0x0C, 0x1A, 0xF8, 0x0D, 0x32, 0x05, 0x7B],
            Ok(Response::CurrentData(vec![
                one(0x0C, &[0x1A, 0xF8]),
                one(0x0D, &[0x32]),
                one(0x05, &[0x7B]),
            ])),
        );
        check(
            Request::CurrentData(vec![0x02]),
            &[0x41, 0x02, 0x01, 0x03],
            Ok(Response::CurrentData(vec![one(0x02, &[0x01, 0x03])])),
        );
        check(
            Request::CurrentData(vec![0x0C]),
            &[0x41, 0x0C, 0x1A],
            Err("carries 1 data bytes; 2 expected"),
        );
        check(
            Request::CurrentData(vec![0x0C]),
            &[0x41, 0x0D, 0x32],
            Err("answers PID 0x0D"),
        );
        check(Request::CurrentData(vec![0x0C]), &[0x41], Err("cut short"));
        let reading = PidData {
            pid: 0x0C,
            data: vec![0x1A, 0xF8],
        }
        .reading()
        .expect("known");
        assert_eq!(reading.to_string(), "engine_rpm = 1726 rpm");
    }

    #[test]
    fn parses_trouble_codes() {
        let stored = Request::Dtcs(DtcKind::Stored);
        check(
            stored.clone(),
            &[0x43, 0x02, 0x03, 0x01, 0x01, 0x33],
            Ok(Response::Dtcs {
                kind: DtcKind::Stored,
                codes: dtcs(&["P0301", "P0133"]),
            }),
        );
        check(
            stored.clone(),
            &[0x43, 0x00],
            Ok(Response::Dtcs {
                kind: DtcKind::Stored,
                codes: vec![],
            }),
        );
        // Legacy (non-CAN) layout: no count byte, 00 00 padding.
        check(
            stored.clone(),
            &[0x43, 0x01, 0x33, 0x00, 0x00, 0x00, 0x00],
            Ok(Response::Dtcs {
                kind: DtcKind::Stored,
                codes: dtcs(&["P0133"]),
            }),
        );
        check(
            Request::Dtcs(DtcKind::Permanent),
            &[0x4A, 0x01, 0xC1, 0x00],
            Ok(Response::Dtcs {
                kind: DtcKind::Permanent,
                codes: dtcs(&["U0100"]),
            }),
        );
        check(
            stored.clone(),
            &[0x43, 0x03, 0x03, 0x01],
            Err("announces 3 trouble codes but carries 1"),
        );
        check(
            stored,
            &[0x47, 0x00],
            Err("expected a response to service 0x03, got [47 00]"),
        );
        check(Request::ClearDtcs, &[0x44], Ok(Response::Cleared));
    }

    #[test]
    fn parses_negative_responses() {
        let pending = NegativeResponse {
            service: 0x09,
            code: Nrc::RESPONSE_PENDING,
        };
        check(
            Request::VehicleInfo(0x02),
            &[0x7F, 0x09, 0x78],
            Ok(Response::Negative(pending)),
        );
        assert!(pending.is_pending());
        assert_eq!(
            pending.to_string(),
            "negative response to service 0x09: 0x78 (response pending)"
        );
        check(
            Request::ReadDataByIdentifier(0xF190),
            &[0x7F, 0x22, 0x31],
            Ok(Response::Negative(NegativeResponse {
                service: 0x22,
                code: Nrc::REQUEST_OUT_OF_RANGE,
            })),
        );
        check(
            Request::VehicleInfo(0x02),
            &[0x7F, 0x01, 0x11],
            Err("got [7F 01 11]"),
        );
        check(Request::VehicleInfo(0x02), &[0x7F, 0x09], Err("cut short"));
        check(Request::VehicleInfo(0x02), &[], Err("empty"));
    }

    #[test]
    fn parses_vehicle_info_and_identifiers() {
        check(
            Request::VehicleInfo(0x02),
            b"\x49\x02\x011D4GP00R55B123456",
            Ok(Response::VehicleInfo {
                pid: 0x02,
                data: b"\x011D4GP00R55B123456".to_vec(),
            }),
        );
        check(
            Request::VehicleInfo(0x02),
            &[0x49, 0x0A, 0x01],
            Err("answers PID 0x0A"),
        );
        check(
            Request::ReadDataByIdentifier(0xF190),
            b"\x62\xF1\x901D4GP00R55B123456",
            Ok(Response::DataByIdentifier {
                did: 0xF190,
                data: b"1D4GP00R55B123456".to_vec(),
            }),
        );
        check(
            Request::ReadDataByIdentifier(0xF190),
            &[0x62, 0xF1],
            Err("cut short"),
        );
    }

    #[test]
    fn encoded_responses_parse_back() {
        let cases = [
            (
                Request::CurrentData(vec![0x0C, 0x0D]),
                Response::CurrentData(vec![
                    PidData {
                        pid: 0x0C,
                        data: vec![0x0C, 0x80],
                    },
                    PidData {
                        pid: 0x0D,
                        data: vec![0x00],
                    },
                ]),
            ),
            (
                Request::Dtcs(DtcKind::Pending),
                Response::Dtcs {
                    kind: DtcKind::Pending,
                    codes: dtcs(&["P0420", "B1234", "C0035"]),
                },
            ),
            (
                Request::Dtcs(DtcKind::Stored),
                Response::Dtcs {
                    kind: DtcKind::Stored,
                    codes: vec![],
                },
            ),
            (Request::ClearDtcs, Response::Cleared),
            (
                Request::VehicleInfo(0x0A),
                Response::VehicleInfo {
                    pid: 0x0A,
                    data: b"\x01ECM\0-EngineControl\0\0".to_vec(),
                },
            ),
            (
                Request::ReadDataByIdentifier(0xF190),
                Response::DataByIdentifier {
                    did: 0xF190,
                    data: b"1D4GP00R55B123456".to_vec(),
                },
            ),
            (
                Request::Dtcs(DtcKind::Stored),
                Response::Negative(NegativeResponse {
                    service: 0x03,
                    code: Nrc::CONDITIONS_NOT_CORRECT,
                }),
            ),
        ];
        for (request, response) in cases {
            assert_eq!(Response::parse(&request, &response.encode()), Ok(response));
        }
    }
}
