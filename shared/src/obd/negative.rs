//! Negative responses (`7F SID NRC`) and their ISO 14229 / ISO 15031 response codes.

use std::fmt;

use serde::Serialize;

/// A negative response code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Nrc(pub u8);

impl Nrc {
    pub const GENERAL_REJECT: Self = Self(0x10);
    pub const SERVICE_NOT_SUPPORTED: Self = Self(0x11);
    pub const SUBFUNCTION_NOT_SUPPORTED: Self = Self(0x12);
    pub const INCORRECT_LENGTH: Self = Self(0x13);
    pub const RESPONSE_TOO_LONG: Self = Self(0x14);
    pub const BUSY_REPEAT_REQUEST: Self = Self(0x21);
    pub const CONDITIONS_NOT_CORRECT: Self = Self(0x22);
    pub const REQUEST_SEQUENCE_ERROR: Self = Self(0x24);
    pub const REQUEST_OUT_OF_RANGE: Self = Self(0x31);
    pub const SECURITY_ACCESS_DENIED: Self = Self(0x33);
    /// "Request correctly received, response pending": the ECU needs more time (P2*).
    pub const RESPONSE_PENDING: Self = Self(0x78);
    pub const SERVICE_NOT_SUPPORTED_IN_SESSION: Self = Self(0x7F);

    /// What the code means.
    pub fn meaning(self) -> &'static str {
        match self.0 {
            0x10 => "general reject",
            0x11 => "service not supported",
            0x12 => "sub-function not supported",
            0x13 => "incorrect message length or format",
            0x14 => "response too long",
            0x21 => "busy, repeat request",
            0x22 => "conditions not correct",
            0x24 => "request sequence error",
            0x31 => "request out of range",
            0x33 => "security access denied",
            0x78 => "response pending",
            0x7E => "sub-function not supported in active session",
            0x7F => "service not supported in active session",
            _ => "unknown response code",
        }
    }
}

impl fmt::Display for Nrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#04X} ({})", self.0, self.meaning())
    }
}

/// `7F SID NRC`: the ECU refused (or postponed, for 0x78) a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct NegativeResponse {
    /// The service of the request it answers.
    pub service: u8,
    pub code: Nrc,
}

impl NegativeResponse {
    /// Whether the ECU will answer later (0x78): keep waiting, do not resend.
    pub fn is_pending(self) -> bool {
        self.code == Nrc::RESPONSE_PENDING
    }

    /// `[0x7F, service, code]`.
    pub fn encode(self) -> [u8; 3] {
        [0x7F, self.service, self.code.0]
    }
}

impl fmt::Display for NegativeResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "negative response to service {:#04X}: {}",
            self.service, self.code
        )
    }
}
