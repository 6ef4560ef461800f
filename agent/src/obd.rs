//! The OBD-II (SAE J1979) client: one transport-agnostic interface ("send an OBD request, get
//! each ECU's answer") with a CAN implementation (ISO-TP over any [`CanBus`]) and an ELM327
//! one, and on top of it ECU discovery, PIDs, trouble codes, VIN and the probe report.

mod client;
pub mod probe;
mod transport;

pub use client::{ObdClient, ObdError, VinQuery};
pub use transport::{Answers, CanObd, ObdTransport, Transport, TransportError};

pub use crate::bus::CanBus;
