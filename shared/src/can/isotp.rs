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
//!
//! A tester asking every ECU for the VIN: a [`Sender`] on the functional id sends the single
//! frame; each ECU that answers gets its own [`Receiver`], keyed by its response id.
//!
//! ```
//! use std::time::Instant;
//! use pitlane_shared::can::{CanFrame, CanId};
//! use pitlane_shared::can::isotp::{Addressing, Config, Event, FUNCTIONAL_11, Receiver, Sender};
//!
//! let now = Instant::now();
//! let functional = Addressing { tx: FUNCTIONAL_11, rx: CanId::Standard(0x7E8) };
//! let mut request = Sender::new(Config::default(), functional);
//! request.send(&[0x09, 0x02])?;
//! assert_eq!(request.poll_transmit(now).unwrap().to_string(), "7DF#020902CCCCCCCCCC");
//!
//! // The engine ECU answers with a first frame on 7E8 ...
//! let first = CanFrame::new(CanId::Standard(0x7E8), &[0x10, 0x14, 0x49, 0x02, 0x01, 0x31, 0x44, 0x34])?;
//! let addr = Addressing::tester_for_response(first.id()).expect("an OBD response id");
//! let mut rx = Receiver::new(Config::default(), addr);
//! rx.handle_frame(now, &first);
//! // ... and the flow control goes to its physical id 7E0.
//! assert_eq!(rx.poll_transmit(now).unwrap().to_string(), "7E0#300000CCCCCCCCCC");
//! for data in [&b"\x21GP00R55"[..], b"\x22B123456"] {
//!     rx.handle_frame(now, &CanFrame::new(CanId::Standard(0x7E8), data)?);
//! }
//! assert_eq!(rx.poll_event(), Some(Event::Received(b"\x49\x02\x011D4GP00R55B123456".to_vec())));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

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
