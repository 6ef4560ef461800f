//! Adapter wire codecs shared by agent and simulator: SLCAN (Lawicel), socketcand, ELM327.
//!
//! Each codec is sans-IO: bytes in, typed messages out, and back. The async transports in
//! `pitlane-agent` and the adapter front ends in `pitlane-sim` read and write the bytes.

pub mod elm327;
mod hex;
pub mod slcan;
pub mod socketcand;
