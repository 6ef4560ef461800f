//! ELM327 error replies and parse errors.

use crate::can::CanId;

/// An error the adapter itself reports instead of data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdapterError {
    #[error("NO DATA: no ECU answered")]
    NoData,
    #[error("UNABLE TO CONNECT: the adapter found no supported protocol")]
    UnableToConnect,
    #[error("CAN ERROR: the adapter cannot send or receive on the CAN bus")]
    CanError,
    #[error("BUFFER FULL: the adapter's buffer overflowed")]
    BufferFull,
    #[error("STOPPED: the request was interrupted")]
    Stopped,
    #[error("BUS INIT: ERROR: the adapter failed to initialise the bus")]
    BusInit,
    #[error("BUS BUSY: the bus was too busy to send")]
    BusBusy,
    #[error("BUS ERROR: a bus fault was detected")]
    BusError,
    #[error("DATA ERROR: a reply had a bad checksum or format")]
    DataError,
    #[error("FB ERROR: feedback error on the bus lines")]
    FeedbackError,
    #[error("RX ERROR: a received message was garbled")]
    RxError,
    #[error("LV RESET: the adapter reset on low voltage")]
    LowVoltageReset,
    #[error("ACT ALERT: the adapter is about to sleep for lack of activity")]
    ActivityAlert,
    #[error("ERR{0}: internal adapter error")]
    Internal(String),
    #[error("?: the adapter did not understand the command")]
    UnknownCommand,
}

impl AdapterError {
    /// Recognises an error line (already trimmed, upper case). `BUS INIT: ...ERROR` may come
    /// with or without the dots.
    pub fn from_line(line: &str) -> Option<Self> {
        let squashed: String = line
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '.')
            .collect();
        Some(match squashed.as_str() {
            "NODATA" => Self::NoData,
            "UNABLETOCONNECT" => Self::UnableToConnect,
            "CANERROR" => Self::CanError,
            "BUFFERFULL" => Self::BufferFull,
            "STOPPED" => Self::Stopped,
            "BUSINIT:ERROR" | "BUSINITERROR" => Self::BusInit,
            "BUSBUSY" => Self::BusBusy,
            "BUSERROR" => Self::BusError,
            "DATAERROR" | "<DATAERROR" => Self::DataError,
            "FBERROR" => Self::FeedbackError,
            "<RXERROR" | "RXERROR" => Self::RxError,
            "LVRESET" => Self::LowVoltageReset,
            "ACTALERT" => Self::ActivityAlert,
            "?" => Self::UnknownCommand,
            s if s.starts_with("ERR")
                && s.len() == 5
                && s[3..].bytes().all(|b| b.is_ascii_digit()) =>
            {
                Self::Internal(s[3..].to_owned())
            }
            _ => return None,
        })
    }
}

/// Why an ELM327 reply could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Elm327Error {
    #[error("adapter error in reply to {command:?}: {error}")]
    Adapter {
        command: String,
        error: AdapterError,
    },
    #[error("malformed line {line:?} in reply to {command:?}: {reason}")]
    Malformed {
        command: String,
        line: String,
        reason: &'static str,
    },
    #[error("multi-frame answer {from} in reply to {command:?} is broken: {reason}")]
    Reassembly {
        command: String,
        /// The answering ECU's id, when headers are on.
        from: Sender,
        reason: String,
    },
    #[error("{len} bytes without a `>` prompt: {text:?}")]
    TooLong { len: usize, text: String },
}

/// Who sent a line: an ECU id when headers are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sender(pub Option<CanId>);

impl std::fmt::Display for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(id) => write!(f, "from {id}"),
            None => f.write_str("(no header)"),
        }
    }
}
