//! OBD-II (SAE J1979) and the bit of UDS (ISO 14229 ReadDataByIdentifier F190) an ECU answers:
//! a pure function from request bytes to response bytes.
//!
//! Unsupported requests: on a physical request the ECU answers with a negative response
//! (`7F sid 11` unknown service, `7F sid 12` unsupported PID, `7F sid 13` wrong length,
//! `7F 22 31` unknown data identifier); on a functional request it stays silent, as
//! ISO 15765-4 / ISO 14229 require, so one tester broadcast does not get a flood of refusals.

use std::time::Duration;

use super::live::{self, EcuContext};
use super::{Ecu, dtc};

/// Negative response codes used by the simulator.
pub mod nrc {
    pub const SERVICE_NOT_SUPPORTED: u8 = 0x11;
    pub const SUB_FUNCTION_NOT_SUPPORTED: u8 = 0x12;
    pub const INCORRECT_LENGTH: u8 = 0x13;
    pub const REQUEST_OUT_OF_RANGE: u8 = 0x31;
    pub const RESPONSE_PENDING: u8 = 0x78;
}

/// What an ECU does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Stay silent.
    None,
    /// Answer with these bytes (a positive response, or `7F sid nrc`).
    Send(Vec<u8>),
}

fn negative(sid: u8, code: u8, functional: bool) -> Reply {
    if functional {
        Reply::None
    } else {
        Reply::Send(vec![0x7F, sid, code])
    }
}

impl Ecu {
    /// Handles one reassembled request received `elapsed` after the car started.
    pub fn handle_request(&mut self, request: &[u8], functional: bool, elapsed: Duration) -> Reply {
        let Some((&sid, args)) = request.split_first() else {
            return Reply::None;
        };
        match sid {
            0x01 => self.service_01(args, functional, elapsed),
            0x03 => self.dtc_list(sid, args, functional, Which::Stored),
            0x07 => self.dtc_list(sid, args, functional, Which::Pending),
            0x0A => self.dtc_list(sid, args, functional, Which::Permanent),
            0x04 if args.is_empty() => {
                self.clear_codes(elapsed);
                Reply::Send(vec![0x44])
            }
            0x04 => negative(sid, nrc::INCORRECT_LENGTH, functional),
            0x09 => self.service_09(args, functional),
            0x22 => self.read_data_by_identifier(args, functional),
            _ => negative(sid, nrc::SERVICE_NOT_SUPPORTED, functional),
        }
    }

    fn service_01(&self, pids: &[u8], functional: bool, elapsed: Duration) -> Reply {
        if pids.is_empty() || pids.len() > 6 {
            return negative(0x01, nrc::INCORRECT_LENGTH, functional);
        }
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
            negative(0x01, nrc::SUB_FUNCTION_NOT_SUPPORTED, functional)
        } else {
            Reply::Send(out)
        }
    }

    fn dtc_list(&self, sid: u8, args: &[u8], functional: bool, which: Which) -> Reply {
        if !args.is_empty() {
            return negative(sid, nrc::INCORRECT_LENGTH, functional);
        }
        let codes = match which {
            Which::Stored => &self.stored,
            Which::Pending => &self.pending,
            Which::Permanent => &self.permanent,
        };
        // On CAN the response carries the number of codes, then two bytes per code.
        let mut out = vec![sid + 0x40, codes.len().min(0xFF) as u8];
        for code in codes.iter().take(0xFF) {
            out.extend_from_slice(&dtc::to_bytes(*code));
        }
        Reply::Send(out)
    }

    fn service_09(&self, args: &[u8], functional: bool) -> Reply {
        let [pid] = args else {
            return negative(0x09, nrc::INCORRECT_LENGTH, functional);
        };
        let name = self.config.name.as_bytes();
        match *pid {
            0x00 => {
                let mut bits: u32 = 1 << (32 - 0x0A);
                if self.config.reports_vin {
                    bits |= 1 << (32 - 0x02);
                }
                let mut out = vec![0x49, 0x00];
                out.extend_from_slice(&bits.to_be_bytes());
                Reply::Send(out)
            }
            0x02 if self.config.reports_vin => {
                let mut out = vec![0x49, 0x02, 0x01];
                out.extend_from_slice(self.vin.as_bytes());
                Reply::Send(out)
            }
            0x0A => {
                let mut out = vec![0x49, 0x0A, 0x01];
                out.extend_from_slice(name);
                out.resize(3 + 20, 0);
                Reply::Send(out)
            }
            _ => negative(0x09, nrc::SUB_FUNCTION_NOT_SUPPORTED, functional),
        }
    }

    fn read_data_by_identifier(&self, args: &[u8], functional: bool) -> Reply {
        match args {
            [0xF1, 0x90] if self.config.reports_vin => {
                let mut out = vec![0x62, 0xF1, 0x90];
                out.extend_from_slice(self.vin.as_bytes());
                Reply::Send(out)
            }
            [_, _] => negative(0x22, nrc::REQUEST_OUT_OF_RANGE, functional),
            _ => negative(0x22, nrc::INCORRECT_LENGTH, functional),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Which {
    Stored,
    Pending,
    Permanent,
}
