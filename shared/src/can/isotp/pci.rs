//! ISO-TP protocol control information: the first byte(s) of every frame, decoded and encoded.

use super::StMin;

/// The largest payload classic-CAN ISO-TP carries with a 12-bit first-frame length.
pub const MAX_PAYLOAD: usize = 4095;

/// A decoded ISO-TP frame (normal addressing: the PCI starts at data byte 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pci<'a> {
    /// A whole message of 1–7 bytes; padding is already cut off.
    Single { data: &'a [u8] },
    /// The start of a segmented message of `len` bytes; `data` is the first 6 bytes.
    First { len: u16, data: &'a [u8] },
    /// Sequence number (0–15) and up to 7 bytes; padding is not cut off (the receiver knows
    /// how many bytes are still missing).
    Consecutive { sn: u8, data: &'a [u8] },
    /// The receiver's answer to a first frame or to the end of a block.
    FlowControl {
        status: FlowStatus,
        block_size: u8,
        st_min: StMin,
    },
}

/// Flow status of a flow-control frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowStatus {
    /// Continue to send (0).
    ContinueToSend,
    /// Wait for another flow-control frame (1).
    Wait,
    /// The receiver's buffer cannot hold the message (2).
    Overflow,
}

impl FlowStatus {
    fn nibble(self) -> u8 {
        match self {
            Self::ContinueToSend => 0,
            Self::Wait => 1,
            Self::Overflow => 2,
        }
    }
}

/// Why a CAN frame is not a valid ISO-TP frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PciError {
    #[error("empty CAN frame carries no ISO-TP PCI")]
    Empty,
    #[error("single frame announces {len} bytes but the CAN frame carries only {available}")]
    SingleLength { len: usize, available: usize },
    #[error("single frame with length 0 (CAN FD escape) is not supported on classic CAN")]
    SingleEscape,
    #[error("first frame is {available} bytes long; it needs 8")]
    FirstTooShort { available: usize },
    #[error("first frame announces {len} bytes; a segmented message carries 8 to 4095")]
    FirstLength { len: u32 },
    #[error("flow-control frame is {available} bytes long; it needs 3")]
    FlowControlTooShort { available: usize },
    #[error("flow-control frame has reserved flow status {0}")]
    FlowStatus(u8),
    #[error("reserved PCI type {0:#X}")]
    Type(u8),
}

impl<'a> Pci<'a> {
    /// Decodes the PCI of a frame's data bytes.
    pub fn decode(data: &'a [u8]) -> Result<Self, PciError> {
        let first = *data.first().ok_or(PciError::Empty)?;
        match first >> 4 {
            0 => {
                let len = usize::from(first & 0x0F);
                if len == 0 {
                    return Err(PciError::SingleEscape);
                }
                let available = data.len() - 1;
                if len > available || len > 7 {
                    return Err(PciError::SingleLength { len, available });
                }
                Ok(Self::Single {
                    data: &data[1..=len],
                })
            }
            1 => {
                if data.len() < 8 {
                    return Err(PciError::FirstTooShort {
                        available: data.len(),
                    });
                }
                let len = (u16::from(first & 0x0F) << 8) | u16::from(data[1]);
                if len == 0 {
                    // Escape to a 32-bit length: only for messages above 4095 bytes.
                    let long = u32::from_be_bytes([data[2], data[3], data[4], data[5]]);
                    return Err(PciError::FirstLength { len: long });
                }
                if len < 8 {
                    return Err(PciError::FirstLength { len: len.into() });
                }
                Ok(Self::First {
                    len,
                    data: &data[2..8],
                })
            }
            2 => Ok(Self::Consecutive {
                sn: first & 0x0F,
                data: &data[1..],
            }),
            3 => {
                if data.len() < 3 {
                    return Err(PciError::FlowControlTooShort {
                        available: data.len(),
                    });
                }
                let status = match first & 0x0F {
                    0 => FlowStatus::ContinueToSend,
                    1 => FlowStatus::Wait,
                    2 => FlowStatus::Overflow,
                    other => return Err(PciError::FlowStatus(other)),
                };
                Ok(Self::FlowControl {
                    status,
                    block_size: data[1],
                    st_min: StMin::from_byte(data[2]),
                })
            }
            other => Err(PciError::Type(other)),
        }
    }

    /// Encodes into an 8-byte buffer and returns how many bytes are meaningful; the caller pads.
    ///
    /// Lengths beyond what the frame type carries are truncated (the machines never build such
    /// frames; `debug_assert!` catches a slip in tests).
    pub fn encode(&self, out: &mut [u8; 8]) -> usize {
        match *self {
            Self::Single { data } => {
                debug_assert!((1..=7).contains(&data.len()));
                let n = data.len().min(7);
                // Invariant: n <= 7 fits in the low nibble.
                out[0] = n as u8;
                out[1..=n].copy_from_slice(&data[..n]);
                n + 1
            }
            Self::First { len, data } => {
                debug_assert!(data.len() == 6 && (8..=0x0FFF).contains(&len));
                let len = len & 0x0FFF;
                out[0] = 0x10 | (len >> 8) as u8;
                out[1] = (len & 0xFF) as u8;
                let n = data.len().min(6);
                out[2..2 + n].copy_from_slice(&data[..n]);
                2 + n
            }
            Self::Consecutive { sn, data } => {
                let n = data.len().min(7);
                out[0] = 0x20 | (sn & 0x0F);
                out[1..=n].copy_from_slice(&data[..n]);
                n + 1
            }
            Self::FlowControl {
                status,
                block_size,
                st_min,
            } => {
                out[0] = 0x30 | status.nibble();
                out[1] = block_size;
                out[2] = st_min.to_byte();
                3
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn check(data: &[u8], expected: Result<Pci<'_>, PciError>) {
        assert_eq!(Pci::decode(data), expected, "decoding {data:02X?}");
    }

    #[test]
    fn decodes_every_frame_type() {
        check(
            &[0x02, 0x01, 0x00, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC],
            Ok(Pci::Single { data: &[1, 0] }),
        );
        check(&[0x02, 0x01, 0x00], Ok(Pci::Single { data: &[1, 0] }));
        check(
            &[0x10, 0x14, 0x49, 0x02, 0x01, 0x31, 0x44, 0x34],
            Ok(Pci::First {
                len: 20,
                data: &[0x49, 0x02, 0x01, 0x31, 0x44, 0x34],
            }),
        );
        check(
            &[0x21, 1, 2, 3, 4, 5, 6, 7],
            Ok(Pci::Consecutive {
                sn: 1,
                data: &[1, 2, 3, 4, 5, 6, 7],
            }),
        );
        check(
            &[0x30, 0x08, 0xF3, 0xAA, 0xAA],
            Ok(Pci::FlowControl {
                status: FlowStatus::ContinueToSend,
                block_size: 8,
                st_min: StMin::from_duration(Duration::from_micros(300)),
            }),
        );
        check(
            &[0x31, 0, 0],
            Ok(Pci::FlowControl {
                status: FlowStatus::Wait,
                block_size: 0,
                st_min: StMin::ZERO,
            }),
        );
    }

    #[test]
    fn rejects_malformed_frames() {
        check(&[], Err(PciError::Empty));
        check(&[0x00, 1, 2], Err(PciError::SingleEscape));
        check(
            &[0x05, 1, 2],
            Err(PciError::SingleLength {
                len: 5,
                available: 2,
            }),
        );
        check(
            &[0x08, 1, 2, 3, 4, 5, 6, 7],
            Err(PciError::SingleLength {
                len: 8,
                available: 7,
            }),
        );
        check(
            &[0x10, 0x14, 1, 2],
            Err(PciError::FirstTooShort { available: 4 }),
        );
        check(
            &[0x10, 0x07, 1, 2, 3, 4, 5, 6],
            Err(PciError::FirstLength { len: 7 }),
        );
        check(
            &[0x10, 0x00, 0, 0, 0x10, 0, 5, 6],
            Err(PciError::FirstLength { len: 4096 }),
        );
        check(
            &[0x30, 0],
            Err(PciError::FlowControlTooShort { available: 2 }),
        );
        check(&[0x33, 0, 0], Err(PciError::FlowStatus(3)));
        check(&[0x40, 0, 0], Err(PciError::Type(4)));
        check(&[0xFF], Err(PciError::Type(0xF)));
    }

    #[test]
    fn encode_decode_round_trip() {
        let frames = [
            Pci::Single {
                data: &[0x09, 0x02],
            },
            Pci::First {
                len: 4095,
                data: &[1, 2, 3, 4, 5, 6],
            },
            Pci::Consecutive {
                sn: 15,
                data: &[9; 7],
            },
            Pci::FlowControl {
                status: FlowStatus::Overflow,
                block_size: 3,
                st_min: StMin::from_byte(0x7F),
            },
        ];
        for pci in frames {
            let mut buf = [0u8; 8];
            let n = pci.encode(&mut buf);
            assert_eq!(Pci::decode(&buf[..n]), Ok(pci));
        }
    }
}
