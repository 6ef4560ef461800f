//! The Pitlane cloud service: the documented HTTP APIs, storage, MQTT ingest and command
//! dispatch, and VIN decoding.
//!
//! **Architecture invariant:** only the `http` layer knows about HTTP; domain modules take
//! and return domain types and errors, mapped to each API family's error shape at the edge.

pub mod accounts;
pub mod app;
pub mod captcha;
pub mod cli;
pub mod commands;
pub mod config;
pub mod db;
pub mod devices;
pub mod email;
pub mod http;
pub mod mqtt;
pub mod observability;
pub mod panel;
pub mod ratelimit;
pub mod registry;
pub mod smartcar;
pub mod telemetry;
pub mod vin;
