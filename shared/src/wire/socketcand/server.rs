//! Messages a socketcand server sends to its client.

use std::fmt;

use super::{SocketcandError, client::push_id, parse_data, parse_id, words};
use crate::can::CanFrame;
use crate::wire::hex::push_hex;

/// A reception time as socketcand writes it: seconds and microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    pub secs: u64,
    /// 0–999 999.
    pub micros: u32,
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}", self.secs, self.micros)
    }
}

impl Timestamp {
    fn parse(word: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(word).ok()?;
        let (secs, frac) = text.split_once('.')?;
        if frac.is_empty() || frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // "23.5" means half a second: scale the fraction to microseconds.
        let micros = frac.parse::<u32>().ok()? * 10u32.pow(6 - frac.len() as u32);
        Some(Self {
            secs: secs.parse().ok()?,
            micros,
        })
    }
}

/// A server message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerMessage {
    /// `< hi >`: greeting after connecting.
    Hi,
    /// `< ok >`: the last command succeeded.
    Ok,
    /// `< echo >`: answer to an echo.
    Echo,
    /// `< frame ID SECS.USECS DATA >`: a frame seen on the bus (raw mode).
    Frame {
        frame: CanFrame,
        timestamp: Timestamp,
    },
    /// `< error … >`: a failed command, or a bus error report.
    Error(String),
}

impl ServerMessage {
    /// Parses one message as found by [`check`](super::check).
    pub fn parse(msg: &[u8]) -> Result<Self, SocketcandError> {
        let words = words(msg);
        let bad = |reason| SocketcandError::malformed(&words, reason);
        match words.as_slice() {
            [b"hi"] => Ok(Self::Hi),
            [b"ok"] => Ok(Self::Ok),
            [b"echo"] => Ok(Self::Echo),
            [b"error", rest @ ..] => Ok(Self::Error(
                String::from_utf8_lossy(&rest.join(&b' ')).into_owned(),
            )),
            [b"frame", id, time, data @ ..] => {
                let id = parse_id(id).ok_or_else(|| bad("bad CAN id"))?;
                let timestamp = Timestamp::parse(time).ok_or_else(|| bad("bad timestamp"))?;
                let bytes = parse_data(data).ok_or_else(|| bad("data is not hex"))?;
                let frame = CanFrame::new(id, &bytes).map_err(|_| bad("more than 8 data bytes"))?;
                Ok(Self::Frame { frame, timestamp })
            }
            _ => Err(SocketcandError::unknown(&words)),
        }
    }

    /// Appends the encoded message; frame data is one run of hex digits, as socketcand sends it.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"< ");
        match self {
            Self::Hi => out.extend_from_slice(b"hi"),
            Self::Ok => out.extend_from_slice(b"ok"),
            Self::Echo => out.extend_from_slice(b"echo"),
            Self::Error(text) => {
                out.extend_from_slice(b"error ");
                // `>` would end the message early.
                out.extend(text.bytes().map(|b| if b == b'>' { b')' } else { b }));
            }
            Self::Frame { frame, timestamp } => {
                out.extend_from_slice(b"frame ");
                push_id(out, frame.id());
                out.push(b' ');
                out.extend_from_slice(timestamp.to_string().as_bytes());
                out.push(b' ');
                for &b in frame.data() {
                    push_hex(out, b.into(), 2);
                }
            }
        }
        out.extend_from_slice(b" >");
    }

    /// The encoded message.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        self.encode(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::can::CanId;

    fn check(text: &str, expected: Result<ServerMessage, &str>) {
        let got = ServerMessage::parse(text.as_bytes());
        match expected {
            Ok(msg) => {
                assert_eq!(got, Ok(msg.clone()), "{text:?}");
                assert_eq!(ServerMessage::parse(&msg.to_bytes()), Ok(msg), "round trip");
            }
            Err(fragment) => {
                let err = got.expect_err(text).to_string();
                assert!(err.contains(fragment), "{text:?}: {err}");
            }
        }
    }

    fn frame_msg(id: CanId, data: &[u8], secs: u64, micros: u32) -> ServerMessage {
        ServerMessage::Frame {
            frame: CanFrame::new(id, data).expect("valid frame"),
            timestamp: Timestamp { secs, micros },
        }
    }

    #[test]
    fn parses_server_messages() {
        check("< hi >", Ok(ServerMessage::Hi));
        check("< ok >", Ok(ServerMessage::Ok));
        check("< echo >", Ok(ServerMessage::Echo));
        check(
            "< error could not open bus >",
            Ok(ServerMessage::Error("could not open bus".into())),
        );
        check(
            "< frame 123 23.424242 11 22 33 44 >",
            Ok(frame_msg(
                CanId::Standard(0x123),
                &[0x11, 0x22, 0x33, 0x44],
                23,
                424_242,
            )),
        );
        check(
            "< frame 7E8 1700000000.000001 0641000BE3FA813 >",
            Err("data is not hex"),
        );
        check(
            "< frame 7E8 1700000000.000001 064100BE3FA813 >",
            Ok(frame_msg(
                CanId::Standard(0x7E8),
                &[0x06, 0x41, 0x00, 0xBE, 0x3F, 0xA8, 0x13],
                1_700_000_000,
                1,
            )),
        );
        check(
            "< frame 18DAF110 5.5 >",
            Ok(frame_msg(CanId::Extended(0x18DA_F110), &[], 5, 500_000)),
        );
    }

    #[test]
    fn encodes_like_socketcand() {
        let msg = frame_msg(CanId::Standard(0x7E8), &[0x03, 0x41, 0x0D, 0x32], 12, 34);
        assert_eq!(msg.to_bytes(), b"< frame 7E8 12.000034 03410D32 >");
        assert_eq!(
            ServerMessage::Error("a > b".into()).to_bytes(),
            b"< error a ) b >"
        );
    }

    #[test]
    fn rejects_bad_server_messages() {
        check("< frame 7E8 12 0102 >", Err("bad timestamp"));
        check("< frame 7E8 12.1234567 0102 >", Err("bad timestamp"));
        check("< frame 7E8 12.x 0102 >", Err("bad timestamp"));
        check("< frame ZZZ 1.0 0102 >", Err("bad CAN id"));
        check("< frame 7E8 1.0 010203040506070809 >", Err("more than 8"));
        check("< stat 1 2 3 4 >", Err("unknown socketcand message"));
    }
}
