//! The receiving half of ISO-TP: reassembles messages and answers first frames with flow control.

use std::collections::VecDeque;
use std::time::Instant;

use super::{Addressing, Config, Event, FlowStatus, IsoTpError, Pci, build_frame};
use crate::can::{CanFrame, CanId};

/// Reassembles messages arriving on `addressing.rx` (and, single frames only, on an optional
/// functional id) and sends flow control on `addressing.tx`.
#[derive(Debug)]
pub struct Receiver {
    config: Config,
    addressing: Addressing,
    functional: Option<CanId>,
    state: State,
    flow_control: VecDeque<CanFrame>,
    events: VecDeque<Event>,
}

#[derive(Debug)]
enum State {
    Idle,
    Receiving {
        buf: Vec<u8>,
        len: usize,
        sn: u8,
        /// Consecutive frames received in the current block.
        in_block: u8,
        deadline: Instant,
    },
}

impl Receiver {
    /// An idle receiver.
    pub fn new(config: Config, addressing: Addressing) -> Self {
        Self {
            config,
            addressing,
            functional: None,
            state: State::Idle,
            flow_control: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Also accepts single frames sent to the functional id `id` (the ECU side of OBD-II).
    pub fn with_functional(mut self, id: CanId) -> Self {
        self.functional = Some(id);
        self
    }

    /// The ids this receiver uses.
    pub fn addressing(&self) -> Addressing {
        self.addressing
    }

    /// Whether a segmented message is being reassembled.
    pub fn is_receiving(&self) -> bool {
        matches!(self.state, State::Receiving { .. })
    }

    /// Gives the receiver a frame from the bus. Frames on other ids, flow-control frames and
    /// consecutive frames nobody asked for are ignored.
    pub fn handle_frame(&mut self, now: Instant, frame: &CanFrame) {
        let functional = Some(frame.id()) == self.functional;
        if frame.id() != self.addressing.rx && !functional {
            return;
        }
        let pci = match Pci::decode(frame.data()) {
            Ok(Pci::FlowControl { .. }) => return,
            Ok(Pci::First { .. } | Pci::Consecutive { .. }) if functional => return,
            Ok(pci) => pci,
            Err(source) => {
                self.state = State::Idle;
                self.events
                    .push_back(Event::ReceiveFailed(IsoTpError::Malformed {
                        frame: *frame,
                        source,
                    }));
                return;
            }
        };
        match pci {
            Pci::Single { data } => {
                self.interrupt("single");
                self.events.push_back(Event::Received(data.to_vec()));
            }
            Pci::First { len, data } => self.first(now, len.into(), data),
            Pci::Consecutive { sn, data } => self.consecutive(now, frame, sn, data),
            Pci::FlowControl { .. } => {}
        }
    }

    fn interrupt(&mut self, kind: &'static str) {
        if let State::Receiving { buf, len, .. } = std::mem::replace(&mut self.state, State::Idle) {
            self.events
                .push_back(Event::ReceiveFailed(IsoTpError::Interrupted {
                    id: self.addressing.rx,
                    kind,
                    received: buf.len(),
                    len,
                }));
        }
    }

    fn first(&mut self, now: Instant, len: usize, data: &[u8]) {
        self.interrupt("first");
        let max = self.config.max_payload.min(super::MAX_PAYLOAD);
        if len > max {
            self.queue_flow_control(FlowStatus::Overflow);
            self.events
                .push_back(Event::ReceiveFailed(IsoTpError::ReceiveTooLong {
                    id: self.addressing.rx,
                    len,
                    max,
                }));
            return;
        }
        let mut buf = Vec::with_capacity(len);
        buf.extend_from_slice(data);
        self.state = State::Receiving {
            buf,
            len,
            sn: 1,
            in_block: 0,
            deadline: now + self.config.n_cr,
        };
        self.queue_flow_control(FlowStatus::ContinueToSend);
    }

    fn consecutive(&mut self, now: Instant, frame: &CanFrame, got: u8, data: &[u8]) {
        let id = self.addressing.rx;
        let State::Receiving {
            buf,
            len,
            sn,
            in_block,
            deadline,
        } = &mut self.state
        else {
            return;
        };
        if got != *sn {
            let expected = *sn;
            self.state = State::Idle;
            self.events
                .push_back(Event::ReceiveFailed(IsoTpError::WrongSequence {
                    id,
                    expected,
                    got,
                }));
            return;
        }
        let needed = (*len - buf.len()).min(7);
        if data.len() < needed {
            self.state = State::Idle;
            self.events
                .push_back(Event::ReceiveFailed(IsoTpError::ShortConsecutive {
                    frame: *frame,
                    needed,
                    available: data.len(),
                }));
            return;
        }
        // Anything beyond `needed` is padding, whatever its value.
        buf.extend_from_slice(&data[..needed]);
        *sn = (*sn + 1) & 0x0F;
        *deadline = now + self.config.n_cr;
        if buf.len() == *len {
            let buf = std::mem::take(buf);
            self.state = State::Idle;
            self.events.push_back(Event::Received(buf));
            return;
        }
        if self.config.block_size != 0 {
            *in_block += 1;
            if *in_block == self.config.block_size {
                *in_block = 0;
                self.queue_flow_control(FlowStatus::ContinueToSend);
            }
        }
    }

    fn queue_flow_control(&mut self, status: FlowStatus) {
        if status == FlowStatus::ContinueToSend {
            for _ in 0..self.config.fc_waits {
                let wait = Pci::FlowControl {
                    status: FlowStatus::Wait,
                    block_size: 0,
                    st_min: self.config.st_min,
                };
                self.flow_control.push_back(build_frame(
                    self.addressing.tx,
                    &wait,
                    self.config.padding,
                ));
            }
        }
        let pci = Pci::FlowControl {
            status,
            block_size: self.config.block_size,
            st_min: self.config.st_min,
        };
        self.flow_control
            .push_back(build_frame(self.addressing.tx, &pci, self.config.padding));
    }

    /// The next flow-control frame to send.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<CanFrame> {
        let frame = self.flow_control.pop_front()?;
        // N_Cr runs from the moment our flow control leaves, not from the first frame.
        if let State::Receiving { deadline, .. } = &mut self.state {
            *deadline = now + self.config.n_cr;
        }
        Some(frame)
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next (the N_Cr deadline).
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            State::Receiving { deadline, .. } => Some(*deadline),
            State::Idle => None,
        }
    }

    /// Checks the N_Cr timer against `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let State::Receiving {
            deadline, buf, len, ..
        } = &self.state
            && now >= *deadline
        {
            let error = IsoTpError::ConsecutiveTimeout {
                id: self.addressing.rx,
                timeout: self.config.n_cr,
                received: buf.len(),
                len: *len,
            };
            self.state = State::Idle;
            self.events.push_back(Event::ReceiveFailed(error));
        }
    }

    /// The next event ([`Event::Received`] or [`Event::ReceiveFailed`]).
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }
}
