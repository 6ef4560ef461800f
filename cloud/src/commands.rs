//! Remote vehicle commands: the cloud's command key, command rows (request id, per-device
//! `seq`, status, expiry) and the signed `pitlane.command.v1` envelopes sent to devices.

pub mod envelope;
pub mod key;
pub mod store;
