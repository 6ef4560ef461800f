//! Errors of the ISO-TP machines; each names the CAN id involved so a failed exchange can be
//! traced to the ECU that caused it.

use std::time::Duration;

use super::PciError;
use crate::can::{CanFrame, CanId};

/// Why an ISO-TP transfer failed or a message could not be queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IsoTpError {
    #[error("cannot send an empty ISO-TP message")]
    Empty,
    #[error("message of {len} bytes exceeds the ISO-TP limit of {max} bytes")]
    TooLong { len: usize, max: usize },
    #[error("message of {len} bytes on functional id {id} does not fit a single frame")]
    FunctionalTooLong { id: CanId, len: usize },
    #[error("a transfer on {id} is still in progress")]
    Busy { id: CanId },
    #[error("no flow control on {id} within N_Bs ({timeout:?})")]
    FlowControlTimeout { id: CanId, timeout: Duration },
    #[error("more than {limit} flow-control WAIT frames in a row on {id}")]
    TooManyWaits { id: CanId, limit: u8 },
    #[error("receiver on {id} answered flow control OVERFLOW for a {len}-byte message")]
    Overflow { id: CanId, len: usize },
    #[error(
        "no consecutive frame on {id} within N_Cr ({timeout:?}); {received} of {len} bytes received"
    )]
    ConsecutiveTimeout {
        id: CanId,
        timeout: Duration,
        received: usize,
        len: usize,
    },
    #[error("consecutive frame on {id} has sequence number {got}, expected {expected}")]
    WrongSequence { id: CanId, expected: u8, got: u8 },
    #[error(
        "consecutive frame {frame} carries {available} data bytes; {needed} were still expected"
    )]
    ShortConsecutive {
        frame: CanFrame,
        needed: usize,
        available: usize,
    },
    #[error("new {kind} frame on {id} interrupted a reception after {received} of {len} bytes")]
    Interrupted {
        id: CanId,
        kind: &'static str,
        received: usize,
        len: usize,
    },
    #[error("first frame on {id} announces {len} bytes; this receiver accepts at most {max}")]
    ReceiveTooLong { id: CanId, len: usize, max: usize },
    #[error("malformed ISO-TP frame {frame}: {source}")]
    Malformed {
        frame: CanFrame,
        #[source]
        source: PciError,
    },
}
