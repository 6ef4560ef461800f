//! ELM327 replies: framing to the `>` prompt, line clean-up, error strings, and OBD answers
//! with or without headers and spaces, single- and multi-frame.
//!
//! Sans-IO like the other codecs: the agent writes a command (see [`format_obd_request`]),
//! feeds whatever it reads into a [`Decoder`], and when [`Decoder::next_reply`] yields the
//! bytes up to a prompt it calls [`parse_obd_reply`] (OBD requests) or [`reply_lines`]
//! (AT commands). The simulator formats its ELM327 output itself.
//!
//! ```
//! use pitlane_shared::wire::elm327::{Decoder, parse_obd_reply};
//! let mut dec = Decoder::default();
//! dec.push(b"0902\r7E8 10 14 49 02 01 31 44 34\r7E8 21 47 50 30 30 52 35 35\r");
//! assert!(dec.next_reply().is_none());
//! dec.push(b"7E8 22 42 31 32 33 34 35 36\r\r>");
//! let reply = dec.next_reply().expect("prompt seen")?;
//! let answers = parse_obd_reply("0902", &reply, true)?;
//! assert_eq!(&answers[0].payload[3..], b"1D4GP00R55B123456");
//! # Ok::<(), pitlane_shared::wire::elm327::Elm327Error>(())
//! ```

mod error;
mod frames;
mod lines;

pub use error::{AdapterError, Elm327Error, Sender};
pub use frames::{EcuMessage, parse_obd_lines};
pub use lines::reply_lines;

use super::hex::{escape, push_hex};

/// Longest reply accepted without a prompt: a 4095-byte answer printed with headers and
/// spaces needs about 18 KiB.
pub const MAX_REPLY: usize = 64 * 1024;

/// Decodes the reply to an OBD request: clean lines, adapter errors, reassembly.
/// `headers` says whether `ATH1` is in effect.
pub fn parse_obd_reply(
    command: &str,
    reply: &[u8],
    headers: bool,
) -> Result<Vec<EcuMessage>, Elm327Error> {
    let lines = reply_lines(command, reply)?;
    parse_obd_lines(command, &lines, headers)
}

/// The command line for an OBD request: hex bytes without spaces, an optional response-count
/// digit (1–F: the adapter stops waiting after that many answers), and `\r`.
pub fn format_obd_request(payload: &[u8], responses: Option<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() * 2 + 2);
    for &b in payload {
        push_hex(&mut out, b.into(), 2);
    }
    if let Some(n) = responses.filter(|n| (1..=15).contains(n)) {
        push_hex(&mut out, n.into(), 1);
    }
    out.push(b'\r');
    out
}

/// Whether `buf` holds a whole reply: `Some(n)` when the first `n` bytes end with the `>`
/// prompt.
pub fn check(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == b'>').map(|i| i + 1)
}

/// A byte buffer that yields whole replies (the bytes before each `>` prompt).
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    /// Appends bytes read from the adapter.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered but not yet part of a reply.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Drops buffered bytes (before sending a new command after a timeout).
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// The next reply, without its prompt; an error (and an emptied buffer) when more than
    /// [`MAX_REPLY`] bytes arrived without one.
    pub fn next_reply(&mut self) -> Option<Result<Vec<u8>, Elm327Error>> {
        match check(&self.buf) {
            Some(n) => {
                let mut reply: Vec<u8> = self.buf.drain(..n).collect();
                reply.pop();
                Some(Ok(reply))
            }
            None if self.buf.len() > MAX_REPLY => {
                let err = Elm327Error::TooLong {
                    len: self.buf.len(),
                    text: escape(&self.buf),
                };
                self.buf.clear();
                Some(Err(err))
            }
            None => None,
        }
    }
}

#[cfg(test)]
mod tests;
