//! The adapters a tester plugs into: each is a thin task between the virtual bus and a pty or
//! TCP socket, with the protocol logic in a sans-IO part beside it.

pub mod elm327;
pub mod slcan;
pub mod socketcan;
pub mod socketcand;

use pitlane_shared::can::CanId;

use crate::scenario::AdapterFaults;

/// Whether `id` is an ECU's diagnostic response id (`7E8`..`7EF` or `18DAF1xx`).
pub fn is_diagnostic_response(id: CanId) -> bool {
    match id {
        CanId::Standard(id) => (0x7E8..=0x7EF).contains(&id),
        CanId::Extended(id) => id & 0xFFFF_FF00 == 0x18DA_F100,
    }
}

/// How long a vanishing adapter lingers after its last bytes, so a tester reads them before
/// the hang-up (a closed pty master discards unread output).
pub const VANISH_LINGER: std::time::Duration = std::time::Duration::from_millis(200);

/// What the adapter faults say to do with one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerFate {
    /// Deliver it.
    Deliver,
    /// Write half of it, then drop the connection (the adapter vanishes).
    Vanish,
}

/// Adapter fault state that lives as long as the adapter (across reconnections).
#[derive(Debug, Clone)]
pub struct FaultState {
    faults: AdapterFaults,
    answers: u32,
    noise: u32,
}

impl FaultState {
    /// Fault state for `faults`, before the first answer.
    pub fn new(faults: AdapterFaults) -> Self {
        Self {
            faults,
            answers: 0,
            noise: 0,
        }
    }

    /// Counts one answer and says what to do with it. The vanish fault fires once.
    pub fn next_answer(&mut self) -> AnswerFate {
        self.answers = self.answers.saturating_add(1);
        if self.faults.vanish_mid_answer == Some(self.answers) {
            AnswerFate::Vanish
        } else {
            AnswerFate::Deliver
        }
    }

    /// Line noise to write before an answer on a serial line, when that fault is on: a few
    /// bytes that belong to no protocol, ended by `\r` so the line resynchronises.
    pub fn serial_noise(&mut self) -> Option<Vec<u8>> {
        if !self.faults.garbage_on_serial {
            return None;
        }
        self.noise = self.noise.wrapping_add(1);
        const NOISE: [&[u8]; 4] = [
            b"\x00\xFF~#",
            b"\xFE\x80%",
            b"\x00\x00\x11\xAB^",
            b"\xC3\x28!",
        ];
        let mut out = NOISE[(self.noise % 4) as usize].to_vec();
        out.push(b'\r');
        Some(out)
    }
}

/// Half of `bytes` (at least one byte when there are any): what gets out before a vanish.
pub fn first_half(bytes: &[u8]) -> &[u8] {
    &bytes[..bytes.len().div_ceil(2)]
}
