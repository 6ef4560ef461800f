//! Protocol types shared by the Pitlane agent, cloud and simulator.
//!
//! **Architecture invariant:** this crate depends on no tokio, rusqlite, sqlx or axum and
//! does no I/O beyond reading and writing key files. Every protocol machine here is sans-IO:
//! it is fed bytes, frames and the current time, and hands back what to send.

pub mod can;
pub mod canonical;
pub mod command;
pub mod eip712;
pub mod envelope;
pub mod identity;
pub mod logging;
pub mod obd;
#[cfg(feature = "tls")]
pub mod tls;
pub mod topics;
pub mod wire;
