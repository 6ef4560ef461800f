//! Service 01 "PIDs supported" bitmaps (PIDs 00, 20, 40, … E0).

use serde::Serialize;

use super::ObdError;

/// A set of service 01 PIDs, as an ECU announces them in 32-PID bitmaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SupportedPids([u64; 4]);

impl SupportedPids {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one PID.
    pub fn insert(&mut self, pid: u8) {
        self.0[usize::from(pid >> 6)] |= 1 << (pid & 63);
    }

    /// Whether `pid` is in the set.
    pub fn contains(&self, pid: u8) -> bool {
        self.0[usize::from(pid >> 6)] & (1 << (pid & 63)) != 0
    }

    /// The PIDs in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u8> + '_ {
        (0..=255u8).filter(|&p| self.contains(p))
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0 == [0; 4]
    }

    /// Adds the PIDs of the bitmap answered for range PID `base` (0x00, 0x20, …): bit 31 of the
    /// big-endian word is PID `base + 1`, bit 0 is `base + 0x20`.
    pub fn add_bitmap(&mut self, base: u8, bitmap: &[u8]) -> Result<(), ObdError> {
        let word = <[u8; 4]>::try_from(bitmap).map_err(|_| ObdError::PidLength {
            pid: base,
            expected: 4,
            got: bitmap.len(),
        })?;
        if base % 0x20 != 0 {
            return Err(ObdError::NotABitmapPid { pid: base });
        }
        let word = u32::from_be_bytes(word);
        for n in 1..=32u32 {
            if word & (1 << (32 - n)) != 0 {
                // Invariant: base <= 0xE0 and n <= 32, so the sum fits u8 except for the
                // E0 range's last bit (PID 0x100), which does not exist and is skipped.
                if let Ok(pid) = u8::try_from(u32::from(base) + n) {
                    self.insert(pid);
                }
            }
        }
        Ok(())
    }

    /// The bitmap an ECU answers for range PID `base`. The last bit (the next range PID) is
    /// set when that PID or any higher one is supported, so a tester walks on to it.
    pub fn bitmap(&self, base: u8) -> [u8; 4] {
        let mut word = 0u32;
        for n in 1..=32u32 {
            let Ok(pid) = u8::try_from(u32::from(base) + n) else {
                break;
            };
            let set = if n == 32 {
                self.iter().any(|p| p >= pid)
            } else {
                self.contains(pid)
            };
            if set {
                word |= 1 << (32 - n);
            }
        }
        word.to_be_bytes()
    }
}

impl FromIterator<u8> for SupportedPids {
    fn from_iter<I: IntoIterator<Item = u8>>(iter: I) -> Self {
        let mut set = Self::new();
        for pid in iter {
            set.insert(pid);
        }
        set
    }
}

impl Serialize for SupportedPids {
    /// As a list of two-digit hex strings (`["04", "0C"]`).
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter().map(|p| format!("{p:02X}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(base: u8, bitmap: [u8; 4], pids: &[u8]) {
        let mut set = SupportedPids::new();
        set.add_bitmap(base, &bitmap).expect("4 bytes");
        assert_eq!(set.iter().collect::<Vec<_>>(), pids, "bitmap {bitmap:02X?}");
    }

    #[test]
    fn decodes_bitmaps() {
        // A common real answer to 01 00: BE 3F A8 13.
        check(
            0x00,
            [0xBE, 0x3F, 0xA8, 0x13],
            &[
                0x01, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x13,
                0x15, 0x1C, 0x1F, 0x20,
            ],
        );
        check(0x20, [0x80, 0, 0, 1], &[0x21, 0x40]);
        check(0xE0, [0, 0, 0, 3], &[0xFF]);
        check(0x40, [0, 0, 0, 0], &[]);
    }

    #[test]
    fn encodes_bitmaps_with_range_markers() {
        let set: SupportedPids = [0x04, 0x05, 0x0C, 0x0D, 0x42, 0xA6].into_iter().collect();
        assert_eq!(set.bitmap(0x00), [0x18, 0x18, 0x00, 0x01]);
        assert_eq!(set.bitmap(0x20), [0x00, 0x00, 0x00, 0x01]);
        assert_eq!(set.bitmap(0x40), [0x40, 0x00, 0x00, 0x01]);
        assert_eq!(set.bitmap(0xA0), [0x04, 0x00, 0x00, 0x00]);
        let mut back = SupportedPids::new();
        for base in [0x00, 0x20, 0x40, 0x60, 0x80, 0xA0] {
            back.add_bitmap(base, &set.bitmap(base)).expect("4 bytes");
        }
        let expected: Vec<u8> = vec![
            0x04, 0x05, 0x0C, 0x0D, 0x20, 0x40, 0x42, 0x60, 0x80, 0xA0, 0xA6,
        ];
        assert_eq!(back.iter().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn rejects_bad_bitmaps() {
        let mut set = SupportedPids::new();
        assert!(set.add_bitmap(0x00, &[1, 2, 3]).is_err());
        assert_eq!(
            set.add_bitmap(0x10, &[1, 2, 3, 4]),
            Err(ObdError::NotABitmapPid { pid: 0x10 })
        );
        assert_eq!(
            serde_json::to_string(&[0x0Cu8, 0xA6].into_iter().collect::<SupportedPids>())
                .expect("json"),
            "[\"0C\",\"A6\"]"
        );
    }
}
