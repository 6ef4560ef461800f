//! ISO-TP (ISO 15765-2) on classic CAN as sans-IO state machines.
//!
//! No clock and no I/O: the driver owns the bus and the timer, in the style of `quinn-proto`.
//! Time is passed in as [`std::time::Instant`]; tests build a virtual clock by adding
//! [`Duration`](std::time::Duration)s to one `Instant` taken at the start, so they never sleep.
//!
//! Driving a machine ([`Sender`], [`Receiver`], or the combined [`Endpoint`]):
//!
//! 1. `send(payload)` queues a message (sender side).
//! 2. Every frame read from the bus goes to `handle_frame(now, &frame)`; frames on other ids are
//!    ignored, so one frame can be offered to many machines.
//! 3. After every input, drain `poll_transmit(now)` and write the frames to the bus. While
//!    STmin paces consecutive frames, `poll_transmit` returns `None` until the time has come.
//! 4. Sleep until `poll_timeout()` (or the next frame); when it passes call
//!    `handle_timeout(now)` and go back to step 3.
//! 5. Drain `poll_event()`: [`Event::Received`] carries a reassembled message,
//!    [`Event::Sent`] / [`Event::SendFailed`] / [`Event::ReceiveFailed`] report the rest.
//!
//! Received frames may carry any padding (or none); sent frames are padded with 0xCC unless
//! [`Config::padding`] says otherwise. Flow control for an OBD response goes to the responding
//! ECU's physical id ([`Addressing::tester_for_response`]), never to the functional id.

mod addressing;
mod config;
mod endpoint;
mod error;
mod pci;
mod receiver;
mod sender;

pub use addressing::{Addressing, FUNCTIONAL_11, FUNCTIONAL_29, TESTER_ADDRESS, is_functional};
pub use config::{Config, StMin};
pub use endpoint::Endpoint;
pub use error::IsoTpError;
pub use pci::{FlowStatus, MAX_PAYLOAD, Pci, PciError};
pub use receiver::Receiver;
pub use sender::Sender;

use super::{CanFrame, CanId};

/// What a machine reports through `poll_event`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A whole message arrived.
    Received(Vec<u8>),
    /// The last frame of the queued message was handed out by `poll_transmit`.
    Sent,
    /// Sending the queued message failed; the sender is idle again.
    SendFailed(IsoTpError),
    /// A reception failed or a bad frame arrived; the receiver is idle again.
    ReceiveFailed(IsoTpError),
}

/// Builds a frame from a PCI, padding it to 8 bytes when `padding` is set.
pub(crate) fn build_frame(id: CanId, pci: &Pci<'_>, padding: Option<u8>) -> CanFrame {
    let mut buf = [padding.unwrap_or(0); 8];
    let n = pci.encode(&mut buf);
    let len = if padding.is_some() { 8 } else { n };
    // Invariant: `buf` has 8 bytes and `len <= 8`, so this cannot fail.
    CanFrame::new(id, &buf[..len]).unwrap_or_else(|_| unreachable!("ISO-TP frames are 8 bytes"))
}
