//! Adapter-to-host SLCAN messages: acknowledgements, errors and received frames.

use super::{BEL, SlcanError, frame_text};
use crate::can::CanFrame;
use crate::wire::hex::push_hex;

/// A message an SLCAN adapter sends to the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `\r`: the last command succeeded.
    Ok,
    /// BEL: the last command failed.
    Error,
    /// `z\r` / `Z\r`: a transmit command was accepted (standard / extended frame).
    Transmitted { extended: bool },
    /// A frame seen on the bus, with the adapter's millisecond timestamp when enabled.
    Frame {
        frame: CanFrame,
        timestamp: Option<u16>,
    },
    /// `Vxxxx`: version.
    Version(String),
    /// `Nxxxx`: serial number.
    SerialNumber(String),
    /// `Fxx`: status flags.
    Status(u8),
}

impl Response {
    /// Parses one message (with or without its terminator).
    pub fn parse(msg: &[u8]) -> Result<Self, SlcanError> {
        if msg == [BEL] {
            return Ok(Self::Error);
        }
        let line = msg.strip_suffix(b"\r").unwrap_or(msg);
        let text = |rest: &[u8]| -> Result<String, SlcanError> {
            if rest.iter().all(u8::is_ascii_alphanumeric) {
                Ok(String::from_utf8_lossy(rest).into_owned())
            } else {
                Err(SlcanError::malformed(line, "not alphanumeric"))
            }
        };
        match line {
            b"" => Ok(Self::Ok),
            b"z" => Ok(Self::Transmitted { extended: false }),
            b"Z" => Ok(Self::Transmitted { extended: true }),
            [b'V', rest @ ..] => Ok(Self::Version(text(rest)?)),
            [b'N', rest @ ..] => Ok(Self::SerialNumber(text(rest)?)),
            [b'F', rest @ ..] => crate::wire::hex::parse_bytes(rest)
                .and_then(|b| (b.len() == 1).then(|| b[0]))
                .map(Self::Status)
                .ok_or_else(|| SlcanError::malformed(line, "status must be two hex digits")),
            _ => {
                let (frame, timestamp) = frame_text::parse(line)?;
                Ok(Self::Frame { frame, timestamp })
            }
        }
    }

    /// Appends the message and its terminator.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Ok => {}
            Self::Error => {
                out.push(BEL);
                return;
            }
            Self::Transmitted { extended } => out.push(if *extended { b'Z' } else { b'z' }),
            Self::Frame { frame, timestamp } => {
                frame_text::encode(frame, out);
                if let Some(ts) = timestamp {
                    push_hex(out, (*ts).into(), 4);
                }
            }
            Self::Version(v) => {
                out.push(b'V');
                out.extend_from_slice(v.as_bytes());
            }
            Self::SerialNumber(n) => {
                out.push(b'N');
                out.extend_from_slice(n.as_bytes());
            }
            Self::Status(flags) => {
                out.push(b'F');
                push_hex(out, (*flags).into(), 2);
            }
        }
        out.push(b'\r');
    }

    /// The encoded message.
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

    fn check(msg: &[u8], expected: Result<Response, &str>) {
        let got = Response::parse(msg);
        match expected {
            Ok(resp) => {
                assert_eq!(got, Ok(resp.clone()), "{msg:?}");
                assert_eq!(resp.to_bytes(), msg, "re-encoding {msg:?}");
            }
            Err(fragment) => {
                let err = got.expect_err("must fail").to_string();
                assert!(err.contains(fragment), "{msg:?}: {err}");
            }
        }
    }

    fn frame(id: CanId, data: &[u8]) -> CanFrame {
        CanFrame::new(id, data).expect("valid frame")
    }

    #[test]
    fn parses_and_encodes_responses() {
        check(b"\r", Ok(Response::Ok));
        check(b"\x07", Ok(Response::Error));
        check(b"z\r", Ok(Response::Transmitted { extended: false }));
        check(b"Z\r", Ok(Response::Transmitted { extended: true }));
        check(b"V1013\r", Ok(Response::Version("1013".into())));
        check(b"NA123\r", Ok(Response::SerialNumber("A123".into())));
        check(b"F0C\r", Ok(Response::Status(0x0C)));
        check(
            b"t7E8806410098180013AA\r",
            Ok(Response::Frame {
                frame: frame(
                    CanId::Standard(0x7E8),
                    &[0x06, 0x41, 0x00, 0x98, 0x18, 0x00, 0x13, 0xAA],
                ),
                timestamp: None,
            }),
        );
        check(
            b"T18DAF110803410D32CCCCCCCC1A2B\r",
            Ok(Response::Frame {
                frame: frame(
                    CanId::Extended(0x18DA_F110),
                    &[0x03, 0x41, 0x0D, 0x32, 0xCC, 0xCC, 0xCC, 0xCC],
                ),
                timestamp: Some(0x1A2B),
            }),
        );
    }

    #[test]
    fn rejects_bad_responses() {
        check(b"F1\r", Err("status must be two hex digits"));
        check(b"V1.0\r", Err("not alphanumeric"));
        check(b"Q\r", Err("unknown SLCAN message"));
        check(b"t7E81AA12\r", Err("trailing characters"));
        check(b"\xff\xfe\r", Err("unknown SLCAN message \"\\xff\\xfe\""));
    }
}
