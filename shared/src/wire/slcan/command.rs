//! Host-to-adapter SLCAN commands.

use super::{SlcanError, frame_text};
use crate::can::CanFrame;

/// The standard SLCAN bitrates `S0`–`S8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bitrate {
    K10,
    K20,
    K50,
    K100,
    K125,
    K250,
    K500,
    K800,
    M1,
}

const BITRATES: [(Bitrate, u32); 9] = [
    (Bitrate::K10, 10_000),
    (Bitrate::K20, 20_000),
    (Bitrate::K50, 50_000),
    (Bitrate::K100, 100_000),
    (Bitrate::K125, 125_000),
    (Bitrate::K250, 250_000),
    (Bitrate::K500, 500_000),
    (Bitrate::K800, 800_000),
    (Bitrate::M1, 1_000_000),
];

impl Bitrate {
    /// The bitrate for `bits_per_second`, if SLCAN has a code for it.
    pub fn from_bps(bits_per_second: u32) -> Option<Self> {
        BITRATES
            .iter()
            .find(|(_, bps)| *bps == bits_per_second)
            .map(|(b, _)| *b)
    }

    /// Bits per second.
    pub fn bps(self) -> u32 {
        BITRATES[usize::from(self.code())].1
    }

    /// The digit after `S` (0–8).
    pub fn code(self) -> u8 {
        // Invariant: BITRATES lists every variant, so the position exists and is below 9.
        BITRATES.iter().position(|(b, _)| *b == self).unwrap_or(0) as u8
    }

    /// The bitrate for the digit after `S`.
    pub fn from_code(code: u8) -> Option<Self> {
        BITRATES.get(usize::from(code)).map(|(b, _)| *b)
    }
}

/// A command the host sends to an SLCAN adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `O`: open the channel (go on the bus).
    Open,
    /// `L`: open in listen-only mode.
    ListenOnly,
    /// `C`: close the channel.
    Close,
    /// `Sn`: set a standard bitrate (channel closed).
    SetBitrate(Bitrate),
    /// `tIIIL…` / `TIIIIIIIIL…`: transmit a frame.
    Transmit(CanFrame),
    /// `V`: ask for the hardware/firmware version.
    Version,
    /// `N`: ask for the serial number.
    SerialNumber,
    /// `F`: read the status flags.
    Status,
    /// `Z0` / `Z1`: millisecond timestamps on received frames off/on.
    Timestamps(bool),
}

impl Command {
    /// Parses one line (with or without its `\r`).
    pub fn parse(msg: &[u8]) -> Result<Self, SlcanError> {
        let line = msg.strip_suffix(b"\r").unwrap_or(msg);
        let bad = |reason| SlcanError::malformed(line, reason);
        match line {
            b"O" => Ok(Self::Open),
            b"L" => Ok(Self::ListenOnly),
            b"C" => Ok(Self::Close),
            b"V" => Ok(Self::Version),
            b"N" => Ok(Self::SerialNumber),
            b"F" => Ok(Self::Status),
            b"Z0" => Ok(Self::Timestamps(false)),
            b"Z1" => Ok(Self::Timestamps(true)),
            [b'S', d] => d
                .checked_sub(b'0')
                .and_then(Bitrate::from_code)
                .map(Self::SetBitrate)
                .ok_or_else(|| bad("bitrate code must be 0-8")),
            [b't' | b'T' | b'r' | b'R', ..] => {
                let (frame, timestamp) = frame_text::parse(line)?;
                if timestamp.is_some() {
                    return Err(bad("trailing characters after the data"));
                }
                Ok(Self::Transmit(frame))
            }
            _ => Err(SlcanError::unknown(line)),
        }
    }

    /// Appends the command and its `\r`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Open => out.push(b'O'),
            Self::ListenOnly => out.push(b'L'),
            Self::Close => out.push(b'C'),
            Self::SetBitrate(b) => out.extend_from_slice(&[b'S', b'0' + b.code()]),
            Self::Transmit(frame) => frame_text::encode(frame, out),
            Self::Version => out.push(b'V'),
            Self::SerialNumber => out.push(b'N'),
            Self::Status => out.push(b'F'),
            Self::Timestamps(on) => out.extend_from_slice(if *on { b"Z1" } else { b"Z0" }),
        }
        out.push(b'\r');
    }

    /// The encoded command.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32);
        self.encode(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::can::CanId;

    fn frame(id: CanId, data: &[u8]) -> CanFrame {
        CanFrame::new(id, data).expect("valid frame")
    }

    fn check(line: &str, expected: Result<Command, &str>) {
        let got = Command::parse(line.as_bytes());
        match expected {
            Ok(cmd) => {
                assert_eq!(got, Ok(cmd), "{line:?}");
                assert_eq!(cmd.to_bytes(), line.as_bytes(), "re-encoding {line:?}");
            }
            Err(fragment) => {
                let err = got.expect_err(line).to_string();
                assert!(err.contains(fragment), "{line:?}: {err}");
            }
        }
    }

    #[test]
    fn parses_and_encodes_commands() {
        check("O\r", Ok(Command::Open));
        check("C\r", Ok(Command::Close));
        check("L\r", Ok(Command::ListenOnly));
        check("S0\r", Ok(Command::SetBitrate(Bitrate::K10)));
        check("S6\r", Ok(Command::SetBitrate(Bitrate::K500)));
        check("S8\r", Ok(Command::SetBitrate(Bitrate::M1)));
        check("V\r", Ok(Command::Version));
        check("Z1\r", Ok(Command::Timestamps(true)));
        check(
            "t7DF80201000000000000\r",
            Ok(Command::Transmit(frame(
                CanId::Standard(0x7DF),
                &[2, 1, 0, 0, 0, 0, 0, 0],
            ))),
        );
        check(
            "T18DB33F1802010DCCCCCCCCCC\r",
            Ok(Command::Transmit(frame(
                CanId::Extended(0x18DB_33F1),
                &[2, 1, 0x0D, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC],
            ))),
        );
        check(
            "t1230\r",
            Ok(Command::Transmit(frame(CanId::Standard(0x123), &[]))),
        );
    }

    #[test]
    fn rejects_bad_commands() {
        check("S9\r", Err("bitrate code must be 0-8"));
        check("SX\r", Err("bitrate code must be 0-8"));
        check("X\r", Err("unknown SLCAN message \"X\""));
        check("t7D\r", Err("identifier cut short"));
        check("t7DG1AA\r", Err("identifier is not hex"));
        check("t7DF9\r", Err("data length above 8"));
        check("t7DF2AA\r", Err("data cut short"));
        check("t7DF1ZZ\r", Err("data is not hex"));
        check("t7DF1AA00\r", Err("trailing characters"));
        check("t7DF1AA1234\r", Err("trailing characters"));
        check("T2FFFFFFF0\r", Err("identifier out of range"));
        check("r1230\r", Err("remote frames are not supported"));
    }

    #[test]
    fn bitrates_map_both_ways() {
        for code in 0..=8 {
            let b = Bitrate::from_code(code).expect("valid code");
            assert_eq!(b.code(), code);
            assert_eq!(Bitrate::from_bps(b.bps()), Some(b));
        }
        assert_eq!(Bitrate::from_bps(500_000), Some(Bitrate::K500));
        assert_eq!(Bitrate::from_bps(83_333), None);
        assert_eq!(Bitrate::from_code(9), None);
    }
}
