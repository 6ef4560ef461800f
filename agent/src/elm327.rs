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

use pitlane_shared::wire::elm327::Elm327Error;

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
    #[error("ELM327 `{request}`: no header for {target}")]
    NoHeader { request: String, target: String },
    #[error("ELM327 `{request}`: {source}")]
    Reply {
        request: String,
        #[source]
        source: Elm327Error,
    },
    #[error("ELM327 init: `{request}` was answered {answer:?}, not OK")]
    Init {
        request: String,
        answer: Vec<String>,
    },
    #[error("ELM327: cannot connect to {target}: {detail}")]
    Connect { target: String, detail: String },
}

impl ElmError {
    /// Whether the connection is lost (so reconnecting may help).
    pub fn is_disconnect(&self) -> bool {
        matches!(self, Self::Io { .. } | Self::Gone { .. })
    }

    /// The adapter's own error report (`NO DATA`, `CAN ERROR`, `?`, ...), if this is one.
    pub fn adapter_error(&self) -> Option<&pitlane_shared::wire::elm327::AdapterError> {
        match self {
            Self::Reply {
                source: Elm327Error::Adapter { error, .. },
                ..
            } => Some(error),
            _ => None,
        }
    }
}
