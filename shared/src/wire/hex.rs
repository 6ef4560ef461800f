//! ASCII-hex helpers shared by the line-based adapter codecs.

/// The value of one ASCII hex digit.
pub(crate) fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Parses 1–8 ASCII hex digits as a number.
pub(crate) fn parse_u32(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    digits
        .iter()
        .try_fold(0u32, |acc, &c| Some((acc << 4) | u32::from(nibble(c)?)))
}

/// Parses pairs of hex digits into bytes (`"0A1B"` → `[0x0A, 0x1B]`).
pub(crate) fn parse_bytes(digits: &[u8]) -> Option<Vec<u8>> {
    if digits.len() % 2 != 0 {
        return None;
    }
    digits
        .chunks_exact(2)
        .map(|p| Some((nibble(p[0])? << 4) | nibble(p[1])?))
        .collect()
}

const DIGITS: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `value` as exactly `width` upper-case hex digits.
pub(crate) fn push_hex(out: &mut Vec<u8>, value: u32, width: usize) {
    for i in (0..width).rev() {
        out.push(DIGITS[((value >> (4 * i)) & 0xF) as usize]);
    }
}

/// A short printable rendering of untrusted bytes for error messages.
pub(crate) fn escape(bytes: &[u8]) -> String {
    const MAX: usize = 64;
    let mut s: String = bytes
        .iter()
        .take(MAX)
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect();
    if bytes.len() > MAX {
        s.push('…');
    }
    s
}
