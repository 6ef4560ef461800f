//! The body control module: door locks, trunk and frunk, driven by command frames and
//! broadcasting its state (the body-module protocol agreed with the agent).
//!
//! [`Bcm`] is sans-IO (frames and time in, frames out); [`run`] drives it on the virtual bus.

use std::time::Duration;

use pitlane_shared::can::{CanFrame, CanId};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::bus::{BusPort, PortError};
use crate::scenario::BodyConfig;

/// Command action codes (byte 0 of a command frame).
pub mod action {
    pub const DOORS_LOCK: u8 = 0x01;
    pub const DOORS_UNLOCK: u8 = 0x02;
    pub const TRUNK_OPEN: u8 = 0x03;
    pub const FRUNK_OPEN: u8 = 0x04;
}

/// The state of the body, as the status frame reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BodyState {
    pub doors_locked: bool,
    pub trunk_open: bool,
    pub frunk_open: bool,
    /// Commands with an unknown action code, ignored.
    pub unknown_commands: u64,
    /// Commands ignored because of the `ignore_commands` fault.
    pub ignored_commands: u64,
}

impl BodyState {
    /// Byte 0 of the status frame.
    pub fn status_bits(&self) -> u8 {
        u8::from(self.doors_locked)
            | u8::from(self.trunk_open) << 1
            | u8::from(self.frunk_open) << 2
    }
}

/// The body control module's logic.
#[derive(Debug)]
pub struct Bcm {
    config: BodyConfig,
    state: BodyState,
    counter: u8,
    next_status: Instant,
    trunk_closes: Option<Instant>,
    frunk_closes: Option<Instant>,
}

impl Bcm {
    /// A BCM in its default state; its first status frame is due at `now`.
    pub fn new(config: BodyConfig, now: Instant) -> Self {
        Self {
            state: BodyState {
                doors_locked: config.doors_locked,
                ..BodyState::default()
            },
            config,
            counter: 0,
            next_status: now,
            trunk_closes: None,
            frunk_closes: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> BodyState {
        self.state
    }

    /// Gives the BCM a frame from the bus; frames other than commands are ignored.
    pub fn handle_frame(&mut self, now: Instant, frame: &CanFrame) {
        if frame.id() != CanId::Standard(self.config.command_id) {
            return;
        }
        let Some(&code) = frame.data().first() else {
            self.state.unknown_commands += 1;
            return;
        };
        if self.config.ignore_commands {
            self.state.ignored_commands += 1;
            return;
        }
        let closes = now + Duration::from_secs_f64(self.config.closes_after_s);
        let before = self.state.status_bits();
        match code {
            action::DOORS_LOCK => self.state.doors_locked = true,
            action::DOORS_UNLOCK => self.state.doors_locked = false,
            action::TRUNK_OPEN => {
                self.state.trunk_open = true;
                self.trunk_closes = Some(closes);
            }
            action::FRUNK_OPEN => {
                self.state.frunk_open = true;
                self.frunk_closes = Some(closes);
            }
            _ => {
                self.state.unknown_commands += 1;
                return;
            }
        }
        if self.state.status_bits() != before {
            self.next_status = now;
        }
    }

    /// Closes the trunk or frunk whose time has come.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.trunk_closes.is_some_and(|at| at <= now) {
            self.trunk_closes = None;
            self.state.trunk_open = false;
            self.next_status = now;
        }
        if self.frunk_closes.is_some_and(|at| at <= now) {
            self.frunk_closes = None;
            self.state.frunk_open = false;
            self.next_status = now;
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) or [`poll_transmit`](Self::poll_transmit)
    /// must be called next.
    pub fn poll_timeout(&self) -> Instant {
        [Some(self.next_status), self.trunk_closes, self.frunk_closes]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(self.next_status)
    }

    /// The status frame, when one is due.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<CanFrame> {
        if now < self.next_status {
            return None;
        }
        self.next_status = now + Duration::from_millis(self.config.status_period_ms);
        let data = [self.state.status_bits(), self.counter, 0, 0, 0, 0, 0, 0];
        self.counter = self.counter.wrapping_add(1);
        // Invariant: scenario validation keeps the status id within 11 bits and data is 8 bytes.
        CanFrame::new(CanId::Standard(self.config.status_id), &data).ok()
    }
}

/// Runs the BCM on `port` until `shutdown`, publishing its state on `state`.
pub(crate) async fn run(
    mut bcm: Bcm,
    mut port: BusPort,
    state: watch::Sender<BodyState>,
    shutdown: CancellationToken,
) {
    loop {
        let now = Instant::now();
        bcm.handle_timeout(now);
        // Publish the state before the status frame that reports it, so whoever reacts to the
        // frame (an agent confirming a command) never reads an older state from the handle.
        state.send_if_modified(|s| {
            let changed = *s != bcm.state();
            *s = bcm.state();
            changed
        });
        if let Some(frame) = bcm.poll_transmit(now) {
            port.send(frame);
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            frame = port.recv() => match frame {
                Ok(frame) => bcm.handle_frame(Instant::now(), &frame),
                Err(PortError::Closed) => return,
                Err(e @ PortError::Overrun(_)) => tracing::warn!("body module: {e}"),
            },
            () = tokio::time::sleep_until(bcm.poll_timeout()) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(code: u8) -> CanFrame {
        CanFrame::new(CanId::Standard(0x2F0), &[code, 0, 0, 0, 0, 0, 0, 0]).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn commands_change_state_and_status_follows_at_once() {
        let t0 = Instant::now();
        let mut bcm = Bcm::new(BodyConfig::default(), t0);
        let first = bcm.poll_transmit(t0).unwrap();
        assert_eq!(first.data(), &[0x01, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(bcm.poll_transmit(t0), None);
        assert_eq!(bcm.poll_timeout(), t0 + Duration::from_millis(100));

        let t1 = t0 + Duration::from_millis(30);
        bcm.handle_frame(t1, &command(action::DOORS_UNLOCK));
        assert_eq!(bcm.poll_timeout(), t1);
        assert_eq!(bcm.poll_transmit(t1).unwrap().data()[..2], [0x00, 1]);

        bcm.handle_frame(t1, &command(action::TRUNK_OPEN));
        bcm.handle_frame(t1, &command(action::FRUNK_OPEN));
        assert_eq!(bcm.poll_transmit(t1).unwrap().data()[..2], [0x06, 2]);
        bcm.handle_frame(t1, &command(0x7E));
        assert_eq!(bcm.state().unknown_commands, 1);

        // Someone shuts the trunk and frunk after 10 s.
        let t2 = t1 + Duration::from_secs(10);
        bcm.handle_timeout(t2);
        assert!(!bcm.state().trunk_open && !bcm.state().frunk_open);
        assert_eq!(bcm.poll_transmit(t2).unwrap().data()[0], 0x00);
        bcm.handle_frame(t2, &command(action::DOORS_LOCK));
        assert_eq!(bcm.poll_transmit(t2).unwrap().data()[0], 0x01);
    }

    #[tokio::test(start_paused = true)]
    async fn the_ignore_fault_leaves_the_state_alone() {
        let t0 = Instant::now();
        let config = BodyConfig {
            ignore_commands: true,
            ..BodyConfig::default()
        };
        let mut bcm = Bcm::new(config, t0);
        bcm.handle_frame(t0, &command(action::DOORS_UNLOCK));
        assert!(bcm.state().doors_locked);
        assert_eq!(bcm.state().ignored_commands, 1);
        // Other ids are not commands.
        let other = CanFrame::new(CanId::Standard(0x2F1), &[2]).unwrap();
        bcm.handle_frame(t0, &other);
        assert_eq!(bcm.state().ignored_commands, 1);
    }
}
