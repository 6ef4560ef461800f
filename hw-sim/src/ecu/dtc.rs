//! Trouble codes as the simulator stores them: the two J2012 bytes of service 03/07/0A.

/// A trouble code as its two wire bytes.
pub type Code = [u8; 2];

/// Parses `P0301`-style text into the two bytes sent on the wire.
pub fn parse(text: &str) -> Result<Code, String> {
    let bytes = text.as_bytes();
    let system = match bytes.first() {
        Some(b'P') => 0u8,
        Some(b'C') => 1,
        Some(b'B') => 2,
        Some(b'U') => 3,
        _ => return Err(format!("{text:?} does not start with P, C, B or U")),
    };
    if bytes.len() != 5 || !bytes[1..].iter().all(u8::is_ascii_hexdigit) || bytes[1] > b'3' {
        return Err(format!(
            "{text:?} is not a J2012 code (a letter, a digit 0-3, three hex digits)"
        ));
    }
    let hex = u16::from_str_radix(&text[1..], 16).map_err(|e| format!("{text:?}: {e}"))?;
    let [hi, lo] = hex.to_be_bytes();
    Ok([(system << 6) | hi, lo])
}

/// The two wire bytes of `code`.
pub fn to_bytes(code: Code) -> [u8; 2] {
    code
}

/// `P0301`-style text of `code`.
pub fn to_text(code: Code) -> String {
    let letter = ['P', 'C', 'B', 'U'][usize::from(code[0] >> 6)];
    format!(
        "{letter}{:01X}{:03X}",
        (code[0] >> 4) & 0x3,
        u16::from_be_bytes([code[0] & 0x0F, code[1]])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, bytes: [u8; 2]) {
        assert_eq!(parse(text), Ok(bytes), "{text}");
        assert_eq!(to_text(bytes), text);
    }

    #[test]
    fn codes_round_trip() {
        check("P0301", [0x03, 0x01]);
        check("P0420", [0x04, 0x20]);
        check("C0035", [0x40, 0x35]);
        check("B1234", [0x92, 0x34]);
        check("U0100", [0xC1, 0x00]);
        check("P3FFF", [0x3F, 0xFF]);
        assert!(parse("P4000").is_err());
        assert!(parse("X0301").is_err());
        assert!(parse("P03").is_err());
        assert!(parse("").is_err());
    }
}
