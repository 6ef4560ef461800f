//! The Pitlane hardware simulator: a virtual car (ECUs, body module) on a virtual CAN bus,
//! exposed as SLCAN and ELM327 adapters on pseudo-terminals, ELM327 over TCP, a socketcand
//! server, and in-process.
