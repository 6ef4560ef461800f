//! Messages a socketcand client sends to the server.

use super::{SocketcandError, parse_data, parse_id, words};
use crate::can::{CanFrame, CanId};
use crate::wire::hex::push_hex;

/// A client request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientMessage {
    /// `< open BUS >`: attach to a bus (at most 16 characters).
    Open(String),
    /// `< rawmode >`: receive every frame on the bus.
    RawMode,
    /// `< bcmmode >`: back to broadcast-manager mode.
    BcmMode,
    /// `< send ID DLC BYTES… >`: transmit one frame.
    Send(CanFrame),
    /// `< echo >`: liveness check, answered with `< echo >`.
    Echo,
}

impl ClientMessage {
    /// Parses one message as found by [`check`](super::check).
    pub fn parse(msg: &[u8]) -> Result<Self, SocketcandError> {
        let words = words(msg);
        let bad = |reason| SocketcandError::malformed(&words, reason);
        match words.as_slice() {
            [b"open", bus] => {
                if bus.len() > 16 || !bus.iter().all(|b| b.is_ascii_graphic()) {
                    return Err(bad("bus name must be 1-16 printable characters"));
                }
                Ok(Self::Open(String::from_utf8_lossy(bus).into_owned()))
            }
            [b"rawmode"] => Ok(Self::RawMode),
            [b"bcmmode"] => Ok(Self::BcmMode),
            [b"echo"] => Ok(Self::Echo),
            [b"send", id, dlc, data @ ..] => {
                let id = parse_id(id).ok_or_else(|| bad("bad CAN id"))?;
                let dlc = std::str::from_utf8(dlc)
                    .ok()
                    .and_then(|s| s.parse::<usize>().ok())
                    .filter(|&d| d <= 8)
                    .ok_or_else(|| bad("DLC must be 0-8"))?;
                if data.len() != dlc {
                    return Err(bad("number of data bytes differs from the DLC"));
                }
                let bytes = parse_data(data).ok_or_else(|| bad("data bytes are not hex"))?;
                let frame = CanFrame::new(id, &bytes).map_err(|_| bad("more than 8 bytes"))?;
                Ok(Self::Send(frame))
            }
            _ => Err(SocketcandError::unknown(&words)),
        }
    }

    /// Appends the encoded message.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"< ");
        match self {
            Self::Open(bus) => {
                out.extend_from_slice(b"open ");
                out.extend_from_slice(bus.as_bytes());
            }
            Self::RawMode => out.extend_from_slice(b"rawmode"),
            Self::BcmMode => out.extend_from_slice(b"bcmmode"),
            Self::Echo => out.extend_from_slice(b"echo"),
            Self::Send(frame) => {
                out.extend_from_slice(b"send ");
                push_id(out, frame.id());
                out.push(b' ');
                out.push(b'0' + frame.dlc());
                for &b in frame.data() {
                    out.push(b' ');
                    push_hex(out, b.into(), 2);
                }
            }
        }
        out.extend_from_slice(b" >");
    }

    /// The encoded message.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48);
        self.encode(&mut out);
        out
    }
}

/// Writes an id the way socketcand does: `%03X` for 11-bit, `%08X` for 29-bit.
pub(crate) fn push_id(out: &mut Vec<u8>, id: CanId) {
    match id {
        CanId::Standard(id) => push_hex(out, id.into(), 3),
        CanId::Extended(id) => push_hex(out, id, 8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Result<ClientMessage, &str>) {
        let got = ClientMessage::parse(text.as_bytes());
        match expected {
            Ok(msg) => {
                assert_eq!(got, Ok(msg.clone()), "{text:?}");
                let again = ClientMessage::parse(&msg.to_bytes());
                assert_eq!(again, Ok(msg), "round trip of {text:?}");
            }
            Err(fragment) => {
                let err = got.expect_err(text).to_string();
                assert!(err.contains(fragment), "{text:?}: {err}");
            }
        }
    }

    fn frame(id: CanId, data: &[u8]) -> CanFrame {
        CanFrame::new(id, data).expect("valid frame")
    }

    #[test]
    fn parses_client_messages() {
        check("< open can0 >", Ok(ClientMessage::Open("can0".into())));
        check("<open vcan0>", Ok(ClientMessage::Open("vcan0".into())));
        check("< rawmode >", Ok(ClientMessage::RawMode));
        check("< bcmmode >", Ok(ClientMessage::BcmMode));
        check("< echo >", Ok(ClientMessage::Echo));
        check(
            "< send 123 0 >",
            Ok(ClientMessage::Send(frame(CanId::Standard(0x123), &[]))),
        );
        check(
            "< send 1AAAAAAA 2 1 F1 >",
            Ok(ClientMessage::Send(frame(
                CanId::Extended(0x1AAA_AAAA),
                &[0x01, 0xF1],
            ))),
        );
        check(
            "< send 7DF 8 02 01 00 CC CC CC CC CC >",
            Ok(ClientMessage::Send(frame(
                CanId::Standard(0x7DF),
                &[2, 1, 0, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC],
            ))),
        );
    }

    #[test]
    fn encodes_like_socketcand() {
        let send = ClientMessage::Send(frame(CanId::Standard(0x7DF), &[0x02, 0x09, 0x02]));
        assert_eq!(send.to_bytes(), b"< send 7DF 3 02 09 02 >");
        let ext = ClientMessage::Send(frame(CanId::Extended(0x18DB_33F1), &[]));
        assert_eq!(ext.to_bytes(), b"< send 18DB33F1 0 >");
        assert_eq!(
            ClientMessage::Open("can0".into()).to_bytes(),
            b"< open can0 >"
        );
    }

    #[test]
    fn rejects_bad_client_messages() {
        check("< send 7DF 9 >", Err("DLC must be 0-8"));
        check("< send 7DF 2 01 >", Err("differs from the DLC"));
        check("< send 7DF 1 XY >", Err("not hex"));
        check("< send 800 0 >", Err("bad CAN id"));
        check("< open abcdefghijklmnopq >", Err("1-16 printable"));
        check("< fly >", Err("unknown socketcand message \"fly\""));
        check("< >", Err("unknown socketcand message"));
    }
}
