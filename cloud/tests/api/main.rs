//! API tests over real HTTP: one binary, one module per API family. Each test runs on a
//! fresh SQLite database, and again on PostgreSQL when `PITLANE_TEST_DATABASE_URL` is set.

mod auth_v1;
mod decode;
mod foundation;
mod helpers;
mod hmac_auth;
mod team_auth;
mod users;
mod web3;
