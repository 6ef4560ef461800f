//! Turning the data lines of an OBD reply into one payload per answering ECU.
//!
//! With headers on (`ATH1`) every line is `HEADER PCI DATA…`; an odd number of hex digits
//! means a 3-digit 11-bit id, an even number an 8-digit 29-bit id. Multi-frame answers are
//! reassembled per id with the ISO-TP PCI. With headers off the adapter strips single-frame
//! PCIs and prints multi-frame answers as a 3-digit length line (`014`) followed by indexed
//! lines (`0: 49 02 01 31 44 34`). Spaces (`ATS0`/`ATS1`) make no difference.

use std::collections::HashMap;

use super::{Elm327Error, Sender};
use crate::can::CanId;
use crate::can::isotp::Pci;
use crate::wire::hex::{parse_bytes, parse_u32};

/// One ECU's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcuMessage {
    /// The ECU's CAN id (headers on), or `None` (headers off).
    pub from: Option<CanId>,
    /// The reassembled payload, starting with the response service id.
    pub payload: Vec<u8>,
}

struct Partial {
    len: usize,
    buf: Vec<u8>,
    next_index: u8,
}

impl Partial {
    fn new(len: usize) -> Self {
        Self {
            len,
            buf: Vec::with_capacity(len.min(4095)),
            next_index: 0,
        }
    }
}

/// Decodes the data lines (as returned by [`reply_lines`](super::reply_lines)) of the reply to
/// `command`.
pub fn parse_obd_lines(
    command: &str,
    lines: &[String],
    headers: bool,
) -> Result<Vec<EcuMessage>, Elm327Error> {
    let mut parser = Parser {
        command,
        messages: Vec::new(),
        partial: HashMap::new(),
        order: Vec::new(),
    };
    for line in lines {
        if headers {
            parser.header_line(line)?;
        } else {
            parser.plain_line(line)?;
        }
    }
    parser.finish()
}

struct Parser<'a> {
    command: &'a str,
    messages: Vec<EcuMessage>,
    partial: HashMap<Option<CanId>, Partial>,
    /// Senders with an unfinished message, in order of appearance.
    order: Vec<Option<CanId>>,
}

impl Parser<'_> {
    fn malformed(&self, line: &str, reason: &'static str) -> Elm327Error {
        Elm327Error::Malformed {
            command: self.command.to_owned(),
            line: line.to_owned(),
            reason,
        }
    }

    fn broken(&self, from: Option<CanId>, reason: String) -> Elm327Error {
        Elm327Error::Reassembly {
            command: self.command.to_owned(),
            from: Sender(from),
            reason,
        }
    }

    fn header_line(&mut self, line: &str) -> Result<(), Elm327Error> {
        let digits: Vec<u8> = line.bytes().filter(|b| *b != b' ').collect();
        let id_len = if digits.len() % 2 == 1 { 3 } else { 8 };
        if digits.len() < id_len + 2 {
            return Err(self.malformed(line, "too short for a header and a PCI byte"));
        }
        let raw = parse_u32(&digits[..id_len])
            .ok_or_else(|| self.malformed(line, "header is not hex"))?;
        let id = if id_len == 3 {
            // Invariant: three hex digits fit u16.
            CanId::standard(raw as u16)
        } else {
            CanId::extended(raw)
        }
        .map_err(|_| self.malformed(line, "header out of range"))?;
        let data = parse_bytes(&digits[id_len..])
            .ok_or_else(|| self.malformed(line, "data is not hex"))?;
        let from = Some(id);
        match Pci::decode(&data) {
            Ok(Pci::Single { data }) => self.messages.push(EcuMessage {
                from,
                payload: data.to_vec(),
            }),
            Ok(Pci::First { len, data }) => {
                if self.partial.contains_key(&from) {
                    return Err(self.broken(from, "a new first frame arrived mid-message".into()));
                }
                let mut p = Partial::new(len.into());
                p.buf.extend_from_slice(data);
                p.next_index = 1;
                self.partial.insert(from, p);
                self.order.push(from);
            }
            Ok(Pci::Consecutive { sn, data }) => {
                let Some(p) = self.partial.get_mut(&from) else {
                    return Err(self.broken(
                        from,
                        format!("consecutive frame {sn:X} without a first frame"),
                    ));
                };
                if sn != p.next_index {
                    let reason = format!("consecutive frame {sn:X}, expected {:X}", p.next_index);
                    return Err(self.broken(from, reason));
                }
                let take = (p.len - p.buf.len()).min(data.len());
                p.buf.extend_from_slice(&data[..take]);
                p.next_index = (p.next_index + 1) & 0x0F;
                self.complete(from);
            }
            // The adapter's own flow control, echoed by some clones: not an answer.
            Ok(Pci::FlowControl { .. }) => {}
            Err(_) => return Err(self.malformed(line, "not an ISO-TP frame")),
        }
        Ok(())
    }

    fn plain_line(&mut self, line: &str) -> Result<(), Elm327Error> {
        let compact: Vec<u8> = line.bytes().filter(|b| *b != b' ').collect();
        if let Some(colon) = compact.iter().position(|b| *b == b':') {
            let index = parse_u32(&compact[..colon])
                .filter(|_| colon == 1)
                .ok_or_else(|| self.malformed(line, "bad frame index before ':'"))?;
            let data = parse_bytes(&compact[colon + 1..])
                .ok_or_else(|| self.malformed(line, "data is not hex"))?;
            let from = None;
            if !self.partial.contains_key(&from) {
                if index != 0 {
                    return Err(self.broken(from, format!("frame {index:X} without frame 0")));
                }
                self.order.push(from);
            }
            // Without a length line the message runs until the reply ends.
            let p = self
                .partial
                .entry(from)
                .or_insert_with(|| Partial::new(usize::MAX));
            if index != u32::from(p.next_index) {
                let reason = format!("frame {index:X}, expected {:X}", p.next_index);
                return Err(self.broken(from, reason));
            }
            let take = p.len.saturating_sub(p.buf.len()).min(data.len());
            p.buf.extend_from_slice(&data[..take]);
            p.next_index = (p.next_index + 1) & 0x0F;
            self.complete(from);
            return Ok(());
        }
        if compact.len() == 3 {
            let len = parse_u32(&compact)
                .ok_or_else(|| self.malformed(line, "length line is not hex"))?;
            if self.partial.contains_key(&None) {
                return Err(self.broken(None, "a new length line arrived mid-message".into()));
            }
            self.partial.insert(None, Partial::new(len as usize));
            self.order.push(None);
            return Ok(());
        }
        let payload =
            parse_bytes(&compact).ok_or_else(|| self.malformed(line, "not hex byte pairs"))?;
        if payload.is_empty() {
            return Err(self.malformed(line, "no data"));
        }
        self.messages.push(EcuMessage {
            from: None,
            payload,
        });
        Ok(())
    }

    fn complete(&mut self, from: Option<CanId>) {
        if let Some(p) = self.partial.get(&from)
            && p.buf.len() >= p.len
            && let Some(p) = self.partial.remove(&from)
        {
            self.order.retain(|f| *f != from);
            self.messages.push(EcuMessage {
                from,
                payload: p.buf,
            });
        }
    }

    fn finish(mut self) -> Result<Vec<EcuMessage>, Elm327Error> {
        for from in std::mem::take(&mut self.order) {
            let Some(p) = self.partial.remove(&from) else {
                continue;
            };
            if p.len != usize::MAX {
                let reason = format!("{} of {} bytes before the prompt", p.buf.len(), p.len);
                return Err(self.broken(from, reason));
            }
            self.messages.push(EcuMessage {
                from,
                payload: p.buf,
            });
        }
        Ok(self.messages)
    }
}
