//! Errors decoding OBD-II requests and responses; each carries the offending bytes.

use super::{NegativeResponse, VinError};

/// Why an OBD-II message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObdError {
    #[error("empty OBD message")]
    Empty,
    #[error("expected a response to service {expected:#04X}, got [{payload}]")]
    UnexpectedService { expected: u8, payload: String },
    #[error("{0}")]
    Negative(NegativeResponse),
    #[error("response to service {service:#04X} is cut short: [{payload}]")]
    Truncated { service: u8, payload: String },
    #[error("response answers PID {got:#04X}, the request asked for {expected:#04X}: [{payload}]")]
    PidMismatch {
        expected: u8,
        got: u8,
        payload: String,
    },
    #[error("PID {pid:#04X} carries {got} data bytes; {expected} expected")]
    PidLength {
        pid: u8,
        expected: usize,
        got: usize,
    },
    #[error("PID {pid:#04X} has no known scaling")]
    UnknownPid { pid: u8 },
    #[error("PID {pid:#04X} is not a supported-PIDs bitmap PID")]
    NotABitmapPid { pid: u8 },
    #[error("response announces {announced} trouble codes but carries {available}: [{payload}]")]
    DtcCount {
        announced: usize,
        available: usize,
        payload: String,
    },
    #[error("VIN bytes [{payload}] are not a VIN: {source}")]
    Vin {
        payload: String,
        #[source]
        source: VinError,
    },
    #[error("unsupported OBD request [{payload}]")]
    UnsupportedRequest { payload: String },
    #[error("malformed OBD request [{payload}]: {reason}")]
    BadRequest {
        payload: String,
        reason: &'static str,
    },
}

/// Space-separated upper-case hex for error messages (at most 64 bytes shown).
pub(crate) fn hex_bytes(bytes: &[u8]) -> String {
    let mut s = bytes
        .iter()
        .take(64)
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ");
    if bytes.len() > 64 {
        s.push_str(" …");
    }
    s
}
