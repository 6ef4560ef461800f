//! socketcand's ASCII protocol (raw mode) over TCP, both client and server side.
//!
//! Every message is `< word args… >`. A raw-mode session is:
//!
//! ```text
//! server: < hi >
//! client: < open can0 >      server: < ok >
//! client: < rawmode >        server: < ok >
//! client: < send 7DF 8 02 01 00 CC CC CC CC CC >
//! server: < frame 7E8 1700000000.123456 064100BE3FA813 >
//! ```
//!
//! [`check`] finds the extent of the next whole message (mini-redis style); [`ClientMessage`]
//! and [`ServerMessage`] parse and encode one message; [`Decoder`] combines both over a byte
//! buffer. socketcand prints frame data as one run of hex digits, its documentation shows
//! space-separated bytes: both are accepted. An 8-digit id is a 29-bit id, as in socketcand.

mod client;
mod server;

pub use client::ClientMessage;
pub use server::{ServerMessage, Timestamp};

use super::hex::{escape, parse_bytes, parse_u32};
use crate::can::CanId;

/// Longest message accepted; a `< frame >` line needs about 60 bytes, an error text a few more.
pub const MAX_MESSAGE: usize = 512;

/// Why socketcand input could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SocketcandError {
    #[error("bytes outside a `< … >` message: \"{text}\"")]
    Garbage { text: String },
    #[error("{len} bytes without a closing `>`: \"{text}\"")]
    TooLong { len: usize, text: String },
    #[error("unknown socketcand message \"{text}\"")]
    Unknown { text: String },
    #[error("malformed socketcand message \"{text}\": {reason}")]
    Malformed { text: String, reason: &'static str },
}

impl SocketcandError {
    pub(crate) fn malformed(words: &[&[u8]], reason: &'static str) -> Self {
        Self::Malformed {
            text: escape(&words.join(&b' ')),
            reason,
        }
    }

    pub(crate) fn unknown(words: &[&[u8]]) -> Self {
        Self::Unknown {
            text: escape(&words.join(&b' ')),
        }
    }
}

/// Whether `buf` starts with a whole message: `Ok(Some(n))` when the first `n` bytes hold one
/// (leading whitespace and the closing `>` included), `Ok(None)` when more bytes are needed.
/// Errors for bytes before a `<` and for a message longer than [`MAX_MESSAGE`].
pub fn check(buf: &[u8]) -> Result<Option<usize>, SocketcandError> {
    let start = buf
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(buf.len());
    let rest = &buf[start..];
    match rest.first() {
        None => return Ok(None),
        Some(b'<') => {}
        Some(_) => {
            let end = rest.iter().position(|&b| b == b'<').unwrap_or(rest.len());
            return Err(SocketcandError::Garbage {
                text: escape(&rest[..end]),
            });
        }
    }
    match rest.iter().position(|&b| b == b'>') {
        Some(i) => Ok(Some(start + i + 1)),
        None if rest.len() > MAX_MESSAGE => Err(SocketcandError::TooLong {
            len: rest.len(),
            text: escape(rest),
        }),
        None => Ok(None),
    }
}

/// The words between `<` and `>` of one message found by [`check`].
fn words(msg: &[u8]) -> Vec<&[u8]> {
    let inner = msg
        .iter()
        .position(|&b| b == b'<')
        .map_or(msg, |i| &msg[i + 1..]);
    let inner = inner.strip_suffix(b">").unwrap_or(inner);
    inner
        .split(u8::is_ascii_whitespace)
        .filter(|w| !w.is_empty())
        .collect()
}

/// A CAN id as socketcand writes it: 8 hex digits for 29-bit ids, fewer for 11-bit ids.
fn parse_id(word: &[u8]) -> Option<CanId> {
    let raw = parse_u32(word)?;
    if word.len() == 8 {
        CanId::extended(raw).ok()
    } else {
        CanId::standard(u16::try_from(raw).ok()?).ok()
    }
}

/// Data bytes: either one run of hex digit pairs, or one word of 1–2 digits per byte.
fn parse_data(words: &[&[u8]]) -> Option<Vec<u8>> {
    match words {
        [] => Some(Vec::new()),
        [one] if one.len() != 1 => parse_bytes(one),
        many => many
            .iter()
            .map(|w| match w.len() {
                // Invariant: at most two hex digits, so the value fits u8.
                1 | 2 => parse_u32(w).map(|v| v as u8),
                _ => None,
            })
            .collect(),
    }
}

/// A byte buffer that yields whole socketcand messages as they arrive.
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
    /// Appends bytes read from the TCP stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.drain(..self.pos);
        self.pos = 0;
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered but not yet decoded.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next message from the server (client side).
    pub fn next_server(&mut self) -> Option<Result<ServerMessage, SocketcandError>> {
        self.next_with(ServerMessage::parse)
    }

    /// The next message from a client (server side).
    pub fn next_client(&mut self) -> Option<Result<ClientMessage, SocketcandError>> {
        self.next_with(ClientMessage::parse)
    }

    fn next_with<T>(
        &mut self,
        parse: fn(&[u8]) -> Result<T, SocketcandError>,
    ) -> Option<Result<T, SocketcandError>> {
        let rest = &self.buf[self.pos..];
        match check(rest) {
            Ok(Some(n)) => {
                let result = parse(&rest[..n]);
                self.pos += n;
                Some(result)
            }
            Ok(None) => {
                if rest.iter().all(u8::is_ascii_whitespace) {
                    self.buf.clear();
                    self.pos = 0;
                }
                None
            }
            Err(e) => {
                // Drop everything up to the next `<` (or all of it) so decoding can resume.
                let skip = match e {
                    SocketcandError::Garbage { .. } => {
                        let first = rest
                            .iter()
                            .position(|b| !b.is_ascii_whitespace())
                            .unwrap_or(0);
                        rest[first..]
                            .iter()
                            .position(|&b| b == b'<')
                            .map_or(rest.len(), |i| first + i)
                    }
                    _ => rest.len(),
                };
                self.pos += skip;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_finds_message_boundaries() {
        let cases: [(&[u8], Option<usize>); 5] = [
            (b"", None),
            (b"  \r\n", None),
            (b"< hi", None),
            (b"< hi >< ok >", Some(6)),
            (b"\n < ok >", Some(8)),
        ];
        for (buf, expected) in cases {
            assert_eq!(check(buf), Ok(expected), "{buf:?}");
        }
        assert!(
            matches!(check(b"junk< hi >"), Err(SocketcandError::Garbage { text }) if text == "junk")
        );
        let long = [b"<".as_slice(), &[b'a'; MAX_MESSAGE]].concat();
        assert!(matches!(check(&long), Err(SocketcandError::TooLong { .. })));
    }

    #[test]
    fn decoder_skips_garbage_and_resumes() {
        let mut dec = Decoder::default();
        dec.push(b"\x00\xffjunk < hi >< o");
        assert!(matches!(
            dec.next_server(),
            Some(Err(SocketcandError::Garbage { .. }))
        ));
        assert_eq!(dec.next_server(), Some(Ok(ServerMessage::Hi)));
        assert_eq!(dec.next_server(), None);
        dec.push(b"k >");
        assert_eq!(dec.next_server(), Some(Ok(ServerMessage::Ok)));
        assert_eq!(dec.next_server(), None);
        assert_eq!(dec.buffered(), 0);
    }

    #[test]
    fn ids_and_data_follow_socketcand_conventions() {
        assert_eq!(parse_id(b"7E8"), Some(CanId::Standard(0x7E8)));
        assert_eq!(parse_id(b"18DAF110"), Some(CanId::Extended(0x18DA_F110)));
        assert_eq!(parse_id(b"00000123"), Some(CanId::Extended(0x123)));
        assert_eq!(parse_id(b"800"), None);
        assert_eq!(parse_id(b"3FFFFFFF"), None);
        assert_eq!(parse_id(b"xyz"), None);
        assert_eq!(parse_data(&[b"0102FF"]), Some(vec![1, 2, 0xFF]));
        assert_eq!(parse_data(&[b"1", b"F1"]), Some(vec![1, 0xF1]));
        assert_eq!(parse_data(&[b"A"]), Some(vec![0x0A]));
        assert_eq!(parse_data(&[b"ABC"]), None);
        assert_eq!(parse_data(&[b"01", b"023"]), None);
    }
}
