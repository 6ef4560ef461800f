//! One ISO-TP endpoint: a [`Sender`] and a [`Receiver`] on the same pair of ids.

use std::time::Instant;

use super::{Addressing, Config, Event, IsoTpError, Receiver, Sender};
use crate::can::{CanFrame, CanId};

/// Both halves of an ISO-TP channel: requests go out and answers come back on the same ids.
///
/// The tester uses `Endpoint::new(config, Addressing::tester_11(0x7E0)?)`; the simulated ECU
/// uses `Endpoint::new(config, Addressing::ecu_for_request(id)?).with_functional(FUNCTIONAL_11)`.
#[derive(Debug)]
pub struct Endpoint {
    sender: Sender,
    receiver: Receiver,
}

impl Endpoint {
    /// An idle endpoint sending on `addressing.tx` and listening on `addressing.rx`.
    pub fn new(config: Config, addressing: Addressing) -> Self {
        Self {
            sender: Sender::new(config.clone(), addressing),
            receiver: Receiver::new(config, addressing),
        }
    }

    /// Also accepts single-frame requests on the functional id `id`.
    pub fn with_functional(mut self, id: CanId) -> Self {
        self.receiver = self.receiver.with_functional(id);
        self
    }

    /// The ids of this endpoint.
    pub fn addressing(&self) -> Addressing {
        self.sender.addressing()
    }

    /// Queues a message; see [`Sender::send`].
    pub fn send(&mut self, payload: &[u8]) -> Result<(), IsoTpError> {
        self.sender.send(payload)
    }

    /// Whether a message is being sent.
    pub fn is_sending(&self) -> bool {
        self.sender.is_busy()
    }

    /// Whether a segmented message is being received.
    pub fn is_receiving(&self) -> bool {
        self.receiver.is_receiving()
    }

    /// Gives both halves a frame from the bus; each takes what is addressed to it.
    pub fn handle_frame(&mut self, now: Instant, frame: &CanFrame) {
        self.sender.handle_frame(now, frame);
        self.receiver.handle_frame(now, frame);
    }

    /// The next frame to send: pending flow control first, then data.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<CanFrame> {
        self.receiver
            .poll_transmit(now)
            .or_else(|| self.sender.poll_transmit(now))
    }

    /// The earliest deadline of either half.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.sender.poll_timeout(), self.receiver.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Checks both halves' timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.sender.handle_timeout(now);
        self.receiver.handle_timeout(now);
    }

    /// The next event of either half.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.receiver
            .poll_event()
            .or_else(|| self.sender.poll_event())
    }
}
