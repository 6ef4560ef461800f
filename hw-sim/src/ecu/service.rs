//! OBD-II (SAE J1979) and the bit of UDS (ISO 14229 ReadDataByIdentifier F190) an ECU answers:
//! a pure function from request bytes to response bytes.
//!
//! Unsupported requests: on a physical request the ECU answers with a negative response
//! (`7F sid 11` unknown service, `7F sid 12` unsupported PID, `7F sid 13` wrong length,
//! `7F 22 31` unknown data identifier); on a functional request it stays silent, as
//! ISO 15765-4 / ISO 14229 require, so one tester broadcast does not get a flood of refusals.

use std::time::Duration;

use pitlane_shared::obd::{
    DID_VIN, DtcKind, EcuName, INFO_ECU_NAME, INFO_VIN, Nrc, ObdError, Request,
};

use super::Ecu;
use super::live::{self, EcuContext};

/// What an ECU does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Stay silent.
    None,
    /// Answer with these bytes (a positive response, or `7F sid nrc`).
    Send(Vec<u8>),
}

fn negative(sid: u8, code: Nrc, functional: bool) -> Reply {
    if functional {
        Reply::None
    } else {
        Reply::Send(vec![0x7F, sid, code.0])
    }
}

impl Ecu {
    /// Handles one reassembled request received `elapsed` after the car started.
    pub fn handle_request(&mut self, request: &[u8], functional: bool, elapsed: Duration) -> Reply {
        let Some(&sid) = request.first() else {
            return Reply::None;
        };
        let parsed = match Request::parse(request) {
            Ok(r) => r,
            Err(ObdError::BadRequest { .. }) => {
                return negative(sid, Nrc::INCORRECT_LENGTH, functional);
            }
            Err(_) => return negative(sid, Nrc::SERVICE_NOT_SUPPORTED, functional),
        };
        match parsed {
            Request::CurrentData(pids) => self.service_01(&pids, functional, elapsed),
            Request::Dtcs(kind) => Reply::Send(self.dtc_list(kind)),
            Request::ClearDtcs => {
                self.clear_codes(elapsed);
                Reply::Send(vec![0x44])
            }
            Request::VehicleInfo(pid) => self.service_09(pid, functional),
            Request::ReadDataByIdentifier(did) => self.read_data_by_identifier(did, functional),
        }
    }

    fn service_01(&self, pids: &[u8], functional: bool, elapsed: Duration) -> Reply {
        let snapshot = live::snapshot(&self.live, elapsed);
        let ctx = EcuContext {
            stored_codes: self.stored.len(),
            since_clear_km: self.since_clear_km(elapsed),
        };
        let mut out = vec![0x41];
        for &pid in pids {
            if pid % 0x20 == 0 {
                let bits = live::bitmap(&self.config.pids, pid);
                // PID 00 is always answered; the others only when the previous map chains on.
                let chained = pid == 0 || live::bitmap(&self.config.pids, pid - 0x20) & 1 == 1;
                if chained {
                    out.push(pid);
                    out.extend_from_slice(&bits.to_be_bytes());
                }
            } else if self.config.pids.contains(&pid)
                && let Some(data) = live::encode(pid, &snapshot, &ctx)
            {
                out.push(pid);
                out.extend(data);
            }
        }
        if out.len() == 1 {
            negative(0x01, Nrc::SUBFUNCTION_NOT_SUPPORTED, functional)
        } else {
            Reply::Send(out)
        }
    }

    fn dtc_list(&self, kind: DtcKind) -> Vec<u8> {
        let codes = match kind {
            DtcKind::Stored => &self.stored,
            DtcKind::Pending => &self.pending,
            DtcKind::Permanent => &self.permanent,
        };
        // On CAN the response carries the number of codes, then two bytes per code.
        let count = codes.len().min(0xFF);
        // Invariant: min(0xFF) keeps the count in a byte.
        let mut out = vec![kind.service() + 0x40, count as u8];
        for code in &codes[..count] {
            out.extend_from_slice(&code.to_bytes());
        }
        out
    }

    /// Whether the `ignore_vin_requests` fault swallows this VIN request (and counts it).
    fn vin_request_ignored(&mut self) -> bool {
        if self.vin_requests_ignored < self.config.faults.ignore_vin_requests {
            self.vin_requests_ignored += 1;
            true
        } else {
            false
        }
    }

    fn service_09(&mut self, pid: u8, functional: bool) -> Reply {
        match pid {
            0x00 => {
                let mut bits: u32 = 1 << (32 - u32::from(INFO_ECU_NAME));
                if self.config.reports_vin {
                    bits |= 1 << (32 - u32::from(INFO_VIN));
                }
                let mut out = vec![0x49, 0x00];
                out.extend_from_slice(&bits.to_be_bytes());
                Reply::Send(out)
            }
            INFO_VIN if self.config.reports_vin => {
                if self.vin_request_ignored() {
                    return Reply::None;
                }
                // The VIN goes out as the scenario spells it (even an invalid one), so the
                // count byte and bytes are written here rather than from a validated `Vin`.
                let mut out = vec![0x49, INFO_VIN, 0x01];
                out.extend_from_slice(self.vin.as_bytes());
                Reply::Send(out)
            }
            INFO_ECU_NAME => {
                let (acronym, name) = self
                    .config
                    .name
                    .split_once('-')
                    .unwrap_or(("", &self.config.name));
                let name = EcuName {
                    acronym: acronym.to_owned(),
                    name: name.to_owned(),
                };
                let mut out = vec![0x49, INFO_ECU_NAME];
                out.extend(name.encode());
                Reply::Send(out)
            }
            _ => negative(0x09, Nrc::SUBFUNCTION_NOT_SUPPORTED, functional),
        }
    }

    fn read_data_by_identifier(&mut self, did: u16, functional: bool) -> Reply {
        if did == DID_VIN && self.config.reports_vin {
            if self.vin_request_ignored() {
                return Reply::None;
            }
            let mut out = vec![0x62, 0xF1, 0x90];
            out.extend_from_slice(self.vin.as_bytes());
            Reply::Send(out)
        } else {
            negative(0x22, Nrc::REQUEST_OUT_OF_RANGE, functional)
        }
    }
}
