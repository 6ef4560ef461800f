//! vPIC pattern keys: SQL `LIKE` patterns over VIN positions 4–8 and 10–17, compiled once into
//! per-position character masks.
//!
//! vPIC matches `keys LIKE replace(Pattern.Keys, '*', '_') + '%'` where `keys` is VIN positions
//! 4–8, a `|`, then positions 10–17 (14 characters). So `*` and `_` match any one character,
//! `[…]` is a character class (ranges, `^` negation), `%` matches the rest, and a pattern that
//! ends early leaves the remaining positions free. Keys with `#` are "formula" patterns: `#`
//! stands for a digit and the decoded value is the VIN text under the `#`s.

/// Number of characters vPIC's pattern keys are matched against.
pub const KEY_LEN: usize = 14;
const ANY: u64 = u64::MAX;
const DIGITS: u64 = (1 << 10) - 1;
/// Code of characters outside the VIN alphabet; no class contains it.
const OTHER: u8 = 63;

/// Maps a character to its bit position in a mask: digits 0–9, letters 10–35, `|` 36.
fn code(ch: u8) -> u8 {
    match ch {
        b'0'..=b'9' => ch - b'0',
        b'A'..=b'Z' => ch - b'A' + 10,
        b'a'..=b'z' => ch - b'a' + 10,
        b'|' => 36,
        _ => OTHER,
    }
}

/// The 14 key characters of a 17-character VIN, as mask codes.
pub fn vin_codes(vin: &[u8; 17]) -> [u8; KEY_LEN] {
    let mut out = [OTHER; KEY_LEN];
    for (i, slot) in out.iter_mut().enumerate() {
        // Key position 5 is the `|` standing in for the check digit (VIN position 9).
        *slot = if i == 5 { code(b'|') } else { code(vin[3 + i]) };
    }
    out
}

/// A compiled pattern key.
#[derive(Debug, Clone)]
pub struct Key {
    masks: [u64; KEY_LEN],
    /// For formula keys, the key positions (inclusive) whose VIN text is the value.
    pub formula: Option<(u8, u8)>,
}

impl Key {
    /// Compiles a vPIC pattern key.
    pub fn compile(pattern: &str) -> Result<Key, &'static str> {
        let mut masks = [ANY; KEY_LEN];
        let mut slot = 0usize;
        let mut formula: Option<(u8, u8)> = None;
        let bytes = pattern.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let mask = match bytes[i] {
                b'%' => break,
                b'*' | b'_' => ANY,
                b'#' => {
                    // Slots are < KEY_LEN (checked below before use), so they fit in a u8.
                    let s = slot.min(KEY_LEN) as u8;
                    formula = Some(formula.map_or((s, s), |(a, _)| (a, s)));
                    DIGITS
                }
                b'[' => {
                    let close = bytes[i..]
                        .iter()
                        .position(|&b| b == b']')
                        .ok_or("unterminated [")?;
                    let class = &bytes[i + 1..i + close];
                    i += close;
                    class_mask(class)
                }
                b']' => return Err("unmatched ]"),
                ch => match code(ch) {
                    OTHER => 0,
                    c => 1 << c,
                },
            };
            if slot >= KEY_LEN {
                // Longer than the 14 key characters: `LIKE` can never match.
                return Ok(Key {
                    masks: [0; KEY_LEN],
                    formula: None,
                });
            }
            masks[slot] = mask;
            slot += 1;
            i += 1;
        }
        Ok(Key { masks, formula })
    }

    /// Does the key match a VIN's key codes?
    #[inline]
    pub fn matches(&self, codes: &[u8; KEY_LEN]) -> bool {
        self.masks
            .iter()
            .zip(codes)
            .all(|(m, &c)| (m >> c) & 1 == 1)
    }
}

fn class_mask(class: &[u8]) -> u64 {
    let (negate, class) = match class.split_first() {
        Some((b'^', rest)) => (true, rest),
        _ => (false, class),
    };
    let mut mask = 0u64;
    let mut j = 0;
    while j < class.len() {
        if j + 2 < class.len() && class[j + 1] == b'-' {
            for ch in class[j]..=class[j + 2] {
                mask |= bit(ch);
            }
            j += 3;
        } else {
            mask |= bit(class[j]);
            j += 1;
        }
    }
    if negate { !mask & !(1 << OTHER) } else { mask }
}

fn bit(ch: u8) -> u64 {
    match code(ch) {
        OTHER => 0,
        c => 1 << c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pattern: &str, vin: &str, expected: bool) {
        let bytes: [u8; 17] = vin.as_bytes().try_into().expect("17 characters");
        let key = Key::compile(pattern).expect("compiles");
        assert_eq!(
            key.matches(&vin_codes(&bytes)),
            expected,
            "{pattern} against {vin}"
        );
    }

    #[test]
    fn like_semantics() {
        check("CM826", "1HGCM82633A004352", true);
        check("CM82*", "1HGCM82633A004352", true);
        check("CM827", "1HGCM82633A004352", false);
        check("C", "1HGCM82633A004352", true);
        check("*****|3", "1HGCM82633A004352", true);
        check("*****|4", "1HGCM82633A004352", false);
        check("*****|*A", "1HGCM82633A004352", true);
        check("[A-D]M8[0-3]6", "1HGCM82633A004352", true);
        check("[^C]M826", "1HGCM82633A004352", false);
        check("*B[CFJM_______]", "1FTXBC261FEA00001", true);
        check("*B[CFJM_______]", "1FTXBD261FEA00001", false);
        check("CM826%", "1HGCM82633A004352", true);
        check("CM826|3A00435299", "1HGCM82633A004352", false);
        check("*****|**#", "1HGCM82633A004352", true);
        check("*****|**#", "1HGCM82633AX04352", false);
    }

    #[test]
    fn formula_span_and_errors() {
        assert_eq!(Key::compile("**#").expect("compiles").formula, Some((2, 2)));
        assert_eq!(
            Key::compile("*****|**##").expect("compiles").formula,
            Some((8, 9))
        );
        assert!(Key::compile("[AB").is_err());
        assert!(Key::compile("AB]").is_err());
    }
}
