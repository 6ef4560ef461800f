//! The ELM327 client, over a serial port (USB, Bluetooth SPP, a pty) or TCP (Wi-Fi adapters).
//!
//! `conn` writes a command and reads its answer up to the `>` prompt; `init` brings a genuine
//! adapter or a slow clone into a known state; `client` maps OBD requests to AT headers and
//! answers to per-ECU payloads (with `pitlane_shared::wire::elm327`), reconnecting when the
//! adapter goes away. It implements the same [`crate::obd::ObdTransport`] as the CAN path.

mod client;
mod conn;
mod init;

use std::time::Duration;

pub use client::{Connector, Elm327Client, ElmConfig};
pub use conn::{ElmConn, ElmStream};
pub use init::{AdapterInfo, init};

/// What went wrong talking to an ELM327.
#[derive(Debug, thiserror::Error)]
pub enum ElmError {
    #[error("ELM327 `{request}`: {source}")]
    Io {
        request: String,
        #[source]
        source: std::io::Error,
    },
    #[error("ELM327 `{request}`: the adapter went away ({detail})")]
    Gone { request: String, detail: String },
    #[error("ELM327 `{request}`: no `>` prompt within {timeout:?}")]
    Timeout { request: String, timeout: Duration },
    #[error("ELM327 `{request}`: garbled answer: {detail}")]
    Garbled { request: String, detail: String },
    #[error("ELM327 `{request}`: the adapter answered `{answer}` ({kind})")]
    Adapter {
        request: String,
        kind: AdapterErrorKind,
        answer: String,
    },
    #[error("ELM327 init: `{request}` was answered {answer:?}, not OK")]
    Init {
        request: String,
        answer: Vec<String>,
    },
    #[error("ELM327: cannot connect to {target}: {detail}")]
    Connect { target: String, detail: String },
}

/// The error strings an ELM327 prints instead of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdapterErrorKind {
    /// `UNABLE TO CONNECT`: no protocol found (ignition off, no car).
    UnableToConnect,
    /// `CAN ERROR`: bus errors (wrong bit rate, wiring).
    CanError,
    /// `BUFFER FULL`: the adapter's RX buffer overflowed (serial line too slow).
    BufferFull,
    /// `STOPPED`: a character arrived while it was busy.
    Stopped,
    /// `BUS INIT: ...ERROR`: the slow-init protocols failed.
    BusInit,
    /// `?`: the adapter does not know the command.
    Unknown,
    /// `BUS BUSY`, `FB ERROR`, `DATA ERROR`, `<RX ERROR`, `ERRnn`, `LV RESET`, ...
    Other,
}

impl std::fmt::Display for AdapterErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::UnableToConnect => "no vehicle protocol found",
            Self::CanError => "CAN bus error",
            Self::BufferFull => "adapter buffer overflow",
            Self::Stopped => "command interrupted",
            Self::BusInit => "bus initialisation failed",
            Self::Unknown => "command not understood",
            Self::Other => "adapter error",
        })
    }
}

impl ElmError {
    /// Whether the connection is lost (so reconnecting may help).
    pub fn is_disconnect(&self) -> bool {
        matches!(self, Self::Io { .. } | Self::Gone { .. })
    }
}
