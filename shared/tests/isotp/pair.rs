//! Two ISO-TP endpoints on one virtual bus, driven in virtual time (no sleeping, no runtime).

use std::time::{Duration, Instant};

use pitlane_shared::can::CanFrame;
use pitlane_shared::can::isotp::{Endpoint, Event};

/// Which endpoint put a frame on the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Tester,
    Ecu,
}

/// A frame as it went over the virtual bus.
#[derive(Debug, Clone)]
pub struct Logged {
    pub at: Duration,
    pub from: Side,
    pub frame: CanFrame,
    pub delivered: bool,
}

/// Decides whether a frame sent by one side reaches the other.
pub type Wire = Box<dyn FnMut(Side, &CanFrame) -> bool>;

pub struct Pair {
    pub tester: Endpoint,
    pub ecu: Endpoint,
    pub start: Instant,
    pub now: Instant,
    pub log: Vec<Logged>,
    pub tester_events: Vec<Event>,
    pub ecu_events: Vec<Event>,
    /// When each event in `tester_events` / `ecu_events` came out, since `start`.
    pub tester_event_times: Vec<Duration>,
    pub ecu_event_times: Vec<Duration>,
    /// Returns false to drop a frame on the wire.
    pub deliver: Wire,
}

impl Pair {
    pub fn new(tester: Endpoint, ecu: Endpoint) -> Self {
        let start = Instant::now();
        Self {
            tester,
            ecu,
            start,
            now: start,
            log: Vec::new(),
            tester_events: Vec::new(),
            ecu_events: Vec::new(),
            tester_event_times: Vec::new(),
            ecu_event_times: Vec::new(),
            deliver: Box::new(|_, _| true),
        }
    }

    /// Runs until neither side has anything to send or wait for.
    pub fn drive(&mut self) {
        for _ in 0..100_000 {
            let moved = self.step(Side::Tester) | self.step(Side::Ecu);
            self.collect_events();
            if moved {
                continue;
            }
            let next = match (self.tester.poll_timeout(), self.ecu.poll_timeout()) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => return,
            };
            self.now = self.now.max(next);
            self.tester.handle_timeout(self.now);
            self.ecu.handle_timeout(self.now);
            self.collect_events();
        }
        panic!("pair did not settle");
    }

    fn step(&mut self, from: Side) -> bool {
        let (src, dst) = match from {
            Side::Tester => (&mut self.tester, &mut self.ecu),
            Side::Ecu => (&mut self.ecu, &mut self.tester),
        };
        let Some(frame) = src.poll_transmit(self.now) else {
            return false;
        };
        let delivered = (self.deliver)(from, &frame);
        if delivered {
            dst.handle_frame(self.now, &frame);
        }
        self.log.push(Logged {
            at: self.now - self.start,
            from,
            frame,
            delivered,
        });
        true
    }

    fn collect_events(&mut self) {
        let at = self.now - self.start;
        while let Some(e) = self.tester.poll_event() {
            self.tester_events.push(e);
            self.tester_event_times.push(at);
        }
        while let Some(e) = self.ecu.poll_event() {
            self.ecu_events.push(e);
            self.ecu_event_times.push(at);
        }
    }

    /// The frames one side sent, as candump-style strings.
    pub fn sent_by(&self, side: Side) -> Vec<String> {
        self.log
            .iter()
            .filter(|l| l.from == side)
            .map(|l| l.frame.to_string())
            .collect()
    }

    /// Times at which one side sent consecutive frames.
    pub fn consecutive_times(&self, side: Side) -> Vec<Duration> {
        self.log
            .iter()
            .filter(|l| l.from == side && l.frame.data().first().map(|b| b >> 4) == Some(2))
            .map(|l| l.at)
            .collect()
    }
}
