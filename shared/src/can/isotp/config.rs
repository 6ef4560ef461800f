//! ISO-TP timing parameters: STmin encoding, block size, N_Bs/N_Cr timeouts, wait-frame limit.

use std::time::Duration;

/// Minimum separation time between consecutive frames, as carried in a flow-control frame.
///
/// `0x00..=0x7F` are milliseconds, `0xF1..=0xF9` are 100–900 µs. Every other value is
/// reserved; ISO 15765-2 tells a sender to treat it as the longest time, 127 ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StMin(u8);

impl StMin {
    /// No separation time.
    pub const ZERO: Self = Self(0);

    /// The value as received on the wire (reserved values are kept as they are, so that a
    /// decoded frame re-encodes to the same bytes).
    pub fn from_byte(byte: u8) -> Self {
        Self(byte)
    }

    /// The wire byte.
    pub fn to_byte(self) -> u8 {
        self.0
    }

    /// The nearest encodable value not shorter than `d` (capped at 127 ms).
    pub fn from_duration(d: Duration) -> Self {
        let micros = d.as_micros();
        if micros == 0 {
            Self(0)
        } else if micros <= 900 {
            // Round up to the next 100 µs step: 1..=900 µs → 0xF1..=0xF9.
            // Invariant: micros <= 900 so the step is 1..=9.
            Self(0xF0 + micros.div_ceil(100) as u8)
        } else {
            // Invariant: the value is capped at 127 before the cast.
            Self(micros.div_ceil(1000).min(127) as u8)
        }
    }

    /// The separation time this value asks for.
    pub fn duration(self) -> Duration {
        match self.0 {
            ms @ 0x00..=0x7F => Duration::from_millis(ms.into()),
            us @ 0xF1..=0xF9 => Duration::from_micros(u64::from(us - 0xF0) * 100),
            _ => Duration::from_millis(127),
        }
    }
}

/// Settings of one ISO-TP endpoint (both its sending and its receiving half).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Block size announced in our flow-control frames (0 = send everything without waiting).
    pub block_size: u8,
    /// STmin announced in our flow-control frames.
    pub st_min: StMin,
    /// N_Bs: how long the sender waits for a flow-control frame.
    pub n_bs: Duration,
    /// N_Cr: how long the receiver waits for the next consecutive frame.
    pub n_cr: Duration,
    /// N_WFTmax: how many flow-control WAIT frames in a row the sender accepts.
    pub max_wait_frames: u8,
    /// Byte used to pad sent frames to 8 bytes; `None` sends frames of minimal length.
    pub padding: Option<u8>,
    /// Largest message the receiver accepts (at most 4095); longer first frames get an
    /// overflow flow-control frame.
    pub max_payload: usize,
    /// Flow-control WAIT frames the receiver sends before each CONTINUE (0 in normal use; the
    /// simulator raises it to play a busy ECU and exercise the sender's wait limit).
    pub fc_waits: u8,
}

impl Default for Config {
    /// The values OBD-II testers use: BS 0, STmin 0, 1 s for N_Bs and N_Cr, up to 10 waits,
    /// 0xCC padding.
    fn default() -> Self {
        Self {
            block_size: 0,
            st_min: StMin::ZERO,
            n_bs: Duration::from_millis(1000),
            n_cr: Duration::from_millis(1000),
            max_wait_frames: 10,
            padding: Some(0xCC),
            max_payload: super::MAX_PAYLOAD,
            fc_waits: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(byte: u8, expected: Duration) {
        assert_eq!(
            StMin::from_byte(byte).duration(),
            expected,
            "STmin {byte:#04X}"
        );
    }

    #[test]
    fn stmin_byte_meanings() {
        check(0x00, Duration::ZERO);
        check(0x01, Duration::from_millis(1));
        check(0x7F, Duration::from_millis(127));
        check(0xF1, Duration::from_micros(100));
        check(0xF5, Duration::from_micros(500));
        check(0xF9, Duration::from_micros(900));
        // Reserved values mean "as slow as possible".
        check(0x80, Duration::from_millis(127));
        check(0xF0, Duration::from_millis(127));
        check(0xFA, Duration::from_millis(127));
        check(0xFF, Duration::from_millis(127));
    }

    #[test]
    fn stmin_from_duration_rounds_up() {
        let cases = [
            (Duration::ZERO, 0x00),
            (Duration::from_micros(1), 0xF1),
            (Duration::from_micros(100), 0xF1),
            (Duration::from_micros(101), 0xF2),
            (Duration::from_micros(900), 0xF9),
            (Duration::from_micros(901), 0x01),
            (Duration::from_millis(20), 20),
            (Duration::from_secs(2), 0x7F),
        ];
        for (d, byte) in cases {
            assert_eq!(StMin::from_duration(d).to_byte(), byte, "{d:?}");
        }
    }
}
