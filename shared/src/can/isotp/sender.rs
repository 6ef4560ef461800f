//! The sending half of ISO-TP: segments a message and paces consecutive frames by flow control.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::addressing::is_functional;
use super::{Addressing, Config, Event, FlowStatus, IsoTpError, MAX_PAYLOAD, Pci, build_frame};
use crate::can::CanFrame;

/// Segments one message at a time into single, first and consecutive frames.
///
/// Sends on `addressing.tx`, accepts flow control on `addressing.rx`.
#[derive(Debug)]
pub struct Sender {
    config: Config,
    addressing: Addressing,
    state: State,
    events: VecDeque<Event>,
}

#[derive(Debug)]
enum State {
    Idle,
    /// A single frame is queued.
    Single(CanFrame),
    /// The first frame is queued.
    First(Transfer),
    WaitFlowControl {
        transfer: Transfer,
        deadline: Instant,
        waits: u8,
    },
    Sending {
        transfer: Transfer,
        /// Consecutive frames left in this block; `None` = no limit (BS 0).
        block_left: Option<u8>,
        st_min: Duration,
        next_at: Option<Instant>,
    },
}

#[derive(Debug)]
struct Transfer {
    payload: Vec<u8>,
    offset: usize,
    sn: u8,
}

impl Sender {
    /// An idle sender.
    pub fn new(config: Config, addressing: Addressing) -> Self {
        Self {
            config,
            addressing,
            state: State::Idle,
            events: VecDeque::new(),
        }
    }

    /// The ids this sender uses.
    pub fn addressing(&self) -> Addressing {
        self.addressing
    }

    /// Whether a message is still being sent.
    pub fn is_busy(&self) -> bool {
        !matches!(self.state, State::Idle)
    }

    /// Queues `payload` (1–4095 bytes; at most 7 on a functional id). Frames come out of
    /// [`poll_transmit`](Self::poll_transmit); [`Event::Sent`] reports completion.
    pub fn send(&mut self, payload: &[u8]) -> Result<(), IsoTpError> {
        let id = self.addressing.tx;
        if self.is_busy() {
            return Err(IsoTpError::Busy { id });
        }
        if payload.is_empty() {
            return Err(IsoTpError::Empty);
        }
        if payload.len() > MAX_PAYLOAD {
            return Err(IsoTpError::TooLong {
                len: payload.len(),
                max: MAX_PAYLOAD,
            });
        }
        if payload.len() <= 7 {
            let pci = Pci::Single { data: payload };
            self.state = State::Single(build_frame(id, &pci, self.config.padding));
            return Ok(());
        }
        if is_functional(id) {
            return Err(IsoTpError::FunctionalTooLong {
                id,
                len: payload.len(),
            });
        }
        self.state = State::First(Transfer {
            payload: payload.to_vec(),
            offset: 0,
            sn: 1,
        });
        Ok(())
    }

    /// Gives the sender a received frame; frames not on `addressing.rx` or not flow control
    /// are ignored.
    pub fn handle_frame(&mut self, now: Instant, frame: &CanFrame) {
        if frame.id() != self.addressing.rx || frame.data().first().map(|b| b >> 4) != Some(3) {
            return;
        }
        let State::WaitFlowControl { waits, .. } = self.state else {
            // ISO 15765-2: an unexpected flow control is ignored.
            return;
        };
        let id = self.addressing.rx;
        match Pci::decode(frame.data()) {
            Ok(Pci::FlowControl {
                status: FlowStatus::ContinueToSend,
                block_size,
                st_min,
            }) => {
                let State::WaitFlowControl { transfer, .. } =
                    std::mem::replace(&mut self.state, State::Idle)
                else {
                    return;
                };
                self.state = State::Sending {
                    transfer,
                    block_left: (block_size != 0).then_some(block_size),
                    st_min: st_min.duration(),
                    next_at: None,
                };
            }
            Ok(Pci::FlowControl {
                status: FlowStatus::Wait,
                ..
            }) => {
                if waits >= self.config.max_wait_frames {
                    self.fail(IsoTpError::TooManyWaits {
                        id,
                        limit: self.config.max_wait_frames,
                    });
                } else if let State::WaitFlowControl {
                    deadline, waits, ..
                } = &mut self.state
                {
                    *waits += 1;
                    *deadline = now + self.config.n_bs;
                }
            }
            Ok(Pci::FlowControl {
                status: FlowStatus::Overflow,
                ..
            }) => {
                let len = self.transfer_len();
                self.fail(IsoTpError::Overflow { id, len });
            }
            Ok(_) => {}
            Err(source) => self.fail(IsoTpError::Malformed {
                frame: *frame,
                source,
            }),
        }
    }

    /// The next frame to put on the bus, if one is due at `now`.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<CanFrame> {
        let id = self.addressing.tx;
        let padding = self.config.padding;
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Idle => None,
            State::Single(frame) => {
                self.events.push_back(Event::Sent);
                Some(frame)
            }
            State::First(mut transfer) => {
                // Invariant: send() only queues 8..=4095-byte payloads here.
                let len = transfer.payload.len() as u16;
                let frame = build_frame(
                    id,
                    &Pci::First {
                        len,
                        data: &transfer.payload[..6],
                    },
                    padding,
                );
                transfer.offset = 6;
                self.state = State::WaitFlowControl {
                    transfer,
                    deadline: now + self.config.n_bs,
                    waits: 0,
                };
                Some(frame)
            }
            State::Sending {
                mut transfer,
                block_left,
                st_min,
                next_at,
            } => {
                if next_at.is_some_and(|at| now < at) {
                    self.state = State::Sending {
                        transfer,
                        block_left,
                        st_min,
                        next_at,
                    };
                    return None;
                }
                let end = (transfer.offset + 7).min(transfer.payload.len());
                let frame = build_frame(
                    id,
                    &Pci::Consecutive {
                        sn: transfer.sn,
                        data: &transfer.payload[transfer.offset..end],
                    },
                    padding,
                );
                transfer.offset = end;
                transfer.sn = (transfer.sn + 1) & 0x0F;
                let block_left = block_left.map(|n| n - 1);
                if transfer.offset == transfer.payload.len() {
                    self.events.push_back(Event::Sent);
                } else if block_left == Some(0) {
                    self.state = State::WaitFlowControl {
                        transfer,
                        deadline: now + self.config.n_bs,
                        waits: 0,
                    };
                } else {
                    self.state = State::Sending {
                        transfer,
                        block_left,
                        st_min,
                        next_at: Some(now + st_min),
                    };
                }
                Some(frame)
            }
            other => {
                self.state = other;
                None
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) (or, while pacing by STmin,
    /// [`poll_transmit`](Self::poll_transmit)) must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            State::WaitFlowControl { deadline, .. } => Some(*deadline),
            State::Sending { next_at, .. } => *next_at,
            _ => None,
        }
    }

    /// Checks the N_Bs timer against `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let State::WaitFlowControl { deadline, .. } = self.state
            && now >= deadline
        {
            self.fail(IsoTpError::FlowControlTimeout {
                id: self.addressing.rx,
                timeout: self.config.n_bs,
            });
        }
    }

    /// The next event ([`Event::Sent`] or [`Event::SendFailed`]).
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Abandons the message being sent, without an event.
    pub fn abort(&mut self) {
        self.state = State::Idle;
    }

    fn transfer_len(&self) -> usize {
        match &self.state {
            State::First(t) | State::WaitFlowControl { transfer: t, .. } => t.payload.len(),
            State::Sending { transfer, .. } => transfer.payload.len(),
            State::Single(f) => f.data().len(),
            State::Idle => 0,
        }
    }

    fn fail(&mut self, error: IsoTpError) {
        self.state = State::Idle;
        self.events.push_back(Event::SendFailed(error));
    }
}
