//! SLCAN (Lawicel) serial-line CAN: commands from the host, answers and frames from the adapter.
//!
//! The protocol is ASCII lines ended by `\r`. The host sends [`Command`]s (`C`, `S6`, `O`,
//! `t7DF80201000000000000`); the adapter answers `\r` (OK), BEL `\x07` (error), `z\r`/`Z\r`
//! (frame queued) and reports bus traffic as `t…`/`T…` lines ([`Response`]).
//!
//! Both directions are encoded and decoded here so the agent (host side) and the simulator
//! (adapter side) share one codec. Framing is split as in mini-redis: [`check`] says whether a
//! whole message is buffered and how long it is; [`Command::parse`] / [`Response::parse`] turn
//! one message into a value. [`Decoder`] combines the two over a byte buffer:
//!
//! ```
//! use pitlane_shared::wire::slcan::{Decoder, Response};
//! let mut dec = Decoder::default();
//! dec.push(b"z\rt7E8803410C1AF8AAAAAA\r\x07");
//! assert_eq!(dec.next_response(), Some(Ok(Response::Transmitted { extended: false })));
//! assert!(matches!(dec.next_response(), Some(Ok(Response::Frame { .. }))));
//! assert_eq!(dec.next_response(), Some(Ok(Response::Error)));
//! assert_eq!(dec.next_response(), None);
//! ```

mod command;
mod frame_text;
mod response;

pub use command::{Bitrate, Command};
pub use response::Response;

use super::hex::escape;

/// Longest line a valid SLCAN message needs (`T` + 8 id + 1 dlc + 16 data + 4 timestamp + `\r`),
/// with room for vendor extensions. A longer run without a terminator is garbage.
pub const MAX_LINE: usize = 64;

const BEL: u8 = 0x07;

/// Why SLCAN input could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlcanError {
    #[error("{len} bytes without a line terminator on the SLCAN line: \"{text}\"")]
    LineTooLong { len: usize, text: String },
    #[error("unknown SLCAN message \"{text}\"")]
    Unknown { text: String },
    #[error("malformed SLCAN message \"{text}\": {reason}")]
    Malformed { text: String, reason: &'static str },
}

impl SlcanError {
    pub(crate) fn malformed(line: &[u8], reason: &'static str) -> Self {
        Self::Malformed {
            text: escape(line),
            reason,
        }
    }

    pub(crate) fn unknown(line: &[u8]) -> Self {
        Self::Unknown { text: escape(line) }
    }
}

/// Whether `buf` starts with a whole message: `Ok(Some(n))` when the first `n` bytes are one
/// (terminator included), `Ok(None)` when more bytes are needed, and an error when
/// [`MAX_LINE`] bytes went by without a terminator.
///
/// A BEL is a message of its own; `\r` ends every other one.
pub fn check(buf: &[u8]) -> Result<Option<usize>, SlcanError> {
    match buf.iter().position(|&b| b == b'\r' || b == BEL) {
        Some(i) => Ok(Some(i + 1)),
        None if buf.len() > MAX_LINE => Err(SlcanError::LineTooLong {
            len: buf.len(),
            text: escape(buf),
        }),
        None => Ok(None),
    }
}

/// A byte buffer that yields whole SLCAN messages as they arrive.
///
/// Consumed bytes are only dropped on the next [`push`](Self::push), so decoding a large read
/// costs linear time.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    /// Start of the undecoded bytes in `buf`.
    pos: usize,
}

impl Decoder {
    /// Appends bytes read from the serial line.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.drain(..self.pos);
        self.pos = 0;
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered but not yet decoded.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next adapter message (host side). `None` when no whole message is buffered.
    pub fn next_response(&mut self) -> Option<Result<Response, SlcanError>> {
        self.next_with(Response::parse, false)
    }

    /// The next host command (adapter side). Empty lines, which hosts send to flush the
    /// adapter's input, are skipped.
    pub fn next_command(&mut self) -> Option<Result<Command, SlcanError>> {
        self.next_with(Command::parse, true)
    }

    fn next_with<T>(
        &mut self,
        parse: fn(&[u8]) -> Result<T, SlcanError>,
        skip_empty: bool,
    ) -> Option<Result<T, SlcanError>> {
        loop {
            // A stray `\n` (from `\r\n` line ends) is never part of a message.
            let rest = &self.buf[self.pos..];
            let newlines = rest.iter().take_while(|&&b| b == b'\n').count();
            self.pos += newlines;
            let rest = &self.buf[self.pos..];
            let n = match check(rest) {
                Ok(Some(n)) => n,
                Ok(None) => return None,
                Err(e) => {
                    self.buf.clear();
                    self.pos = 0;
                    return Some(Err(e));
                }
            };
            let msg = &rest[..n];
            self.pos += n;
            if skip_empty && msg == b"\r" {
                continue;
            }
            return Some(parse(msg));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_finds_message_boundaries() {
        let cases: [(&[u8], Option<usize>); 6] = [
            (b"", None),
            (b"t12", None),
            (b"\r", Some(1)),
            (b"\x07z\r", Some(1)),
            (b"z\rt", Some(2)),
            (b"O\rC\r", Some(2)),
        ];
        for (buf, expected) in cases {
            assert_eq!(check(buf), Ok(expected), "{buf:?}");
        }
        assert!(matches!(
            check(&[b'A'; MAX_LINE + 1]),
            Err(SlcanError::LineTooLong { len: 65, .. })
        ));
    }

    #[test]
    fn decoder_recovers_after_garbage() {
        let mut dec = Decoder::default();
        dec.push(&[b'x'; 100]);
        assert!(matches!(
            dec.next_response(),
            Some(Err(SlcanError::LineTooLong { .. }))
        ));
        dec.push(b"\r\n\nz\r");
        assert_eq!(dec.next_response(), Some(Ok(Response::Ok)));
        assert_eq!(
            dec.next_response(),
            Some(Ok(Response::Transmitted { extended: false }))
        );
        assert_eq!(dec.buffered(), 0);
    }

    #[test]
    fn decoder_yields_messages_split_across_reads() {
        let mut dec = Decoder::default();
        for chunk in [&b"\r\rS"[..], b"6\rO", b"\rt7DF", b"2010", b"0\r"] {
            dec.push(chunk);
        }
        let got: Vec<_> = std::iter::from_fn(|| dec.next_command()).collect();
        let frame = crate::can::CanFrame::new(crate::can::CanId::Standard(0x7DF), &[0x01, 0x00])
            .expect("valid frame");
        assert_eq!(
            got,
            vec![
                Ok(Command::SetBitrate(Bitrate::K500)),
                Ok(Command::Open),
                Ok(Command::Transmit(frame)),
            ]
        );
    }
}
