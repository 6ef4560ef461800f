//! Adapter wire codecs shared by agent and simulator: SLCAN (Lawicel) and socketcand.
//!
//! Each codec is sans-IO: bytes in, typed messages out, and back. The async transports in
//! `pitlane-agent` and the adapter front ends in `pitlane-sim` read and write the bytes.

mod hex;
pub mod slcan;
pub mod socketcand;
