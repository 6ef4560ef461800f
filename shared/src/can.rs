//! CAN frames and ISO-TP (ISO 15765-2) segmentation and reassembly.

mod frame;
pub mod isotp;

pub use frame::{CanFrame, CanId, FrameError};
