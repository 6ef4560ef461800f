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
mod tests;
