//! Pitlane on one machine: `pitlane up` (the cloud, simulated cars with real agents, a demo
//! account) and the journey client that `pitlane up`, the end-to-end tests and `pitlane bench`
//! drive the cloud with.

pub mod bench;
pub mod client;
pub mod demo;
pub mod fleet;
pub mod journey;
pub mod up;
