//! The HTTP layer: one module per API family, each mapping domain errors to its own
//! documented error body at the edge.

pub mod admin_devices;
pub mod aftermarket;
pub mod auth_v1;
pub mod bearer;
pub mod client;
pub mod dcn;
pub mod decode;
pub mod device_status;
pub mod docs;
pub mod error_codes;
pub mod failure;
pub mod geofences;
pub mod health;
pub mod hmac_auth;
pub mod mint;
pub mod pairing;
pub mod privilege;
pub mod registry_api;
pub mod signed_request;
pub mod smartcar;
pub mod team_auth;
pub mod tokens;
pub mod user_devices;
pub mod users;
pub mod users_auth;
pub mod vag_map;
pub mod vehicle_commands;
pub mod web3;
