//! API tests over real HTTP: one binary, one module per API family. Each test runs on a
//! fresh SQLite database, and again on PostgreSQL when `PITLANE_TEST_DATABASE_URL` is set.

mod admin_devices;
mod auth_v1;
mod claim;
mod commands;
mod dcn;
mod decode;
mod device_status;
mod devices_error_codes;
mod devices_geofences;
mod devices_support;
mod devices_vehicles;
mod fake_smartcar;
mod foundation;
mod helpers;
mod hmac_auth;
mod ingest_store;
mod mint_pair;
mod mqtt_ingest;
mod mqtt_router;
mod mqtt_support;
mod mqtt_tls;
mod openapi;
mod pair_trouble_codes;
mod registry;
mod smartcar;
mod team_auth;
mod tokens;
mod users;
mod vehicle_steps;
mod web3;
