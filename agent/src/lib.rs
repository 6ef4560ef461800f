//! The Pitlane device agent: bus transports, ISO-TP and OBD-II clients, the ELM327 client,
//! body actuators, and (later) the MQTT sync service and command executor.
//!
//! **Architecture invariant:** only the transport adapters under `bus` and `elm327` touch
//! file descriptors; protocol logic lives in sans-IO machines (here or in `pitlane-shared`).

pub mod actuate;
pub mod bus;
pub mod cadence;
pub mod cli;
pub mod config;
pub mod elm327;
pub mod executor;
pub mod isotp;
pub mod notify;
pub mod obd;
pub mod service;
pub mod store;
pub mod sync;
