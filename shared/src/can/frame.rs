//! Classic CAN 2.0 frames: an 11-bit standard or 29-bit extended identifier and 0–8 data bytes.

use std::fmt;

/// A CAN identifier: 11-bit standard or 29-bit extended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CanId {
    /// 11-bit identifier (0..=0x7FF).
    Standard(u16),
    /// 29-bit identifier (0..=0x1FFF_FFFF).
    Extended(u32),
}

impl CanId {
    /// A standard (11-bit) id, or an error when `id` does not fit.
    pub fn standard(id: u16) -> Result<Self, FrameError> {
        if id > 0x7FF {
            return Err(FrameError::IdOutOfRange {
                id: id.into(),
                extended: false,
            });
        }
        Ok(Self::Standard(id))
    }

    /// An extended (29-bit) id, or an error when `id` does not fit.
    pub fn extended(id: u32) -> Result<Self, FrameError> {
        if id > 0x1FFF_FFFF {
            return Err(FrameError::IdOutOfRange { id, extended: true });
        }
        Ok(Self::Extended(id))
    }

    /// The raw identifier value.
    pub fn raw(self) -> u32 {
        match self {
            Self::Standard(id) => id.into(),
            Self::Extended(id) => id,
        }
    }

    /// Whether this is a 29-bit identifier.
    pub fn is_extended(self) -> bool {
        matches!(self, Self::Extended(_))
    }
}

impl fmt::Display for CanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Standard(id) => write!(f, "{id:03X}"),
            Self::Extended(id) => write!(f, "{id:08X}"),
        }
    }
}

/// A classic CAN data frame (remote and error frames are not used by OBD-II).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CanFrame {
    id: CanId,
    len: u8,
    data: [u8; 8],
}

impl CanFrame {
    /// A frame with `data` (at most 8 bytes).
    pub fn new(id: CanId, data: &[u8]) -> Result<Self, FrameError> {
        if data.len() > 8 {
            return Err(FrameError::TooLong { len: data.len() });
        }
        let mut buf = [0u8; 8];
        buf[..data.len()].copy_from_slice(data);
        // Invariant: data.len() <= 8 was checked above, so it fits in a u8.
        Ok(Self {
            id,
            len: data.len() as u8,
            data: buf,
        })
    }

    /// The identifier.
    pub fn id(&self) -> CanId {
        self.id
    }

    /// The data length code (0–8).
    pub fn dlc(&self) -> u8 {
        self.len
    }

    /// The data bytes.
    pub fn data(&self) -> &[u8] {
        &self.data[..usize::from(self.len)]
    }
}

impl fmt::Debug for CanFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CanFrame({self})")
    }
}

impl fmt::Display for CanFrame {
    /// `7E8#0641000BE0` style, as candump prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#", self.id)?;
        for b in self.data() {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

/// Why a frame could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("CAN id 0x{id:X} does not fit in {} bits", if *extended { 29 } else { 11 })]
    IdOutOfRange { id: u32, extended: bool },
    #[error("CAN frame data is {len} bytes; classic CAN carries at most 8")]
    TooLong { len: usize },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_range_checked() {
        assert!(CanId::standard(0x7FF).is_ok());
        assert_eq!(
            CanId::standard(0x800),
            Err(FrameError::IdOutOfRange {
                id: 0x800,
                extended: false
            })
        );
        assert!(CanId::extended(0x1FFF_FFFF).is_ok());
        assert!(CanId::extended(0x2000_0000).is_err());
    }

    #[test]
    fn frames_hold_up_to_eight_bytes() {
        let id = CanId::standard(0x7E8).unwrap();
        let f = CanFrame::new(id, &[0x06, 0x41, 0x00, 0xBE]).unwrap();
        assert_eq!(f.dlc(), 4);
        assert_eq!(f.data(), &[0x06, 0x41, 0x00, 0xBE]);
        assert_eq!(f.to_string(), "7E8#064100BE");
        assert_eq!(
            CanFrame::new(id, &[0; 9]),
            Err(FrameError::TooLong { len: 9 })
        );
        let x = CanFrame::new(CanId::extended(0x18DAF110).unwrap(), &[]).unwrap();
        assert_eq!(x.to_string(), "18DAF110#");
    }
}
