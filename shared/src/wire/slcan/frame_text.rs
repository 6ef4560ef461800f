//! The `tIIILDD…` / `TIIIIIIIILDD…` frame text both SLCAN directions use.

use super::SlcanError;
use crate::can::{CanFrame, CanId};
use crate::wire::hex::{nibble, parse_bytes, parse_u32, push_hex};

/// Parses a frame line (terminator removed) and an optional 4-digit millisecond timestamp.
pub(crate) fn parse(line: &[u8]) -> Result<(CanFrame, Option<u16>), SlcanError> {
    let (id_len, extended) = match line.first() {
        Some(b't') => (3, false),
        Some(b'T') => (8, true),
        Some(b'r' | b'R') => {
            return Err(SlcanError::malformed(
                line,
                "remote frames are not supported",
            ));
        }
        _ => return Err(SlcanError::unknown(line)),
    };
    let bad = |reason| SlcanError::malformed(line, reason);
    let id_digits = line
        .get(1..=id_len)
        .ok_or_else(|| bad("identifier cut short"))?;
    let raw = parse_u32(id_digits).ok_or_else(|| bad("identifier is not hex"))?;
    let id = if extended {
        CanId::extended(raw)
    } else {
        // Invariant: three hex digits are at most 0xFFF, which fits u16.
        CanId::standard(raw as u16)
    }
    .map_err(|_| bad("identifier out of range"))?;
    let dlc = line
        .get(id_len + 1)
        .copied()
        .and_then(nibble)
        .ok_or_else(|| bad("missing data length"))?;
    if dlc > 8 {
        return Err(bad("data length above 8"));
    }
    let data_start = id_len + 2;
    let data_end = data_start + 2 * usize::from(dlc);
    let data_digits = line
        .get(data_start..data_end)
        .ok_or_else(|| bad("data cut short"))?;
    let data = parse_bytes(data_digits).ok_or_else(|| bad("data is not hex"))?;
    let timestamp = match &line[data_end..] {
        [] => None,
        ts @ [_, _, _, _] => {
            // Invariant: four hex digits fit u16.
            Some(parse_u32(ts).ok_or_else(|| bad("timestamp is not hex"))? as u16)
        }
        _ => return Err(bad("trailing characters after the data")),
    };
    let frame = CanFrame::new(id, &data).map_err(|_| bad("data length above 8"))?;
    Ok((frame, timestamp))
}

/// Appends a frame line without terminator.
pub(crate) fn encode(frame: &CanFrame, out: &mut Vec<u8>) {
    match frame.id() {
        CanId::Standard(id) => {
            out.push(b't');
            push_hex(out, id.into(), 3);
        }
        CanId::Extended(id) => {
            out.push(b'T');
            push_hex(out, id, 8);
        }
    }
    push_hex(out, frame.dlc().into(), 1);
    for &b in frame.data() {
        push_hex(out, b.into(), 2);
    }
}
