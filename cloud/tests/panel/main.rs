//! The web panel over real HTTP (no browser): account flows, CSRF refusal, cookie flags,
//! cross-user refusal and the pages' forms. The browser-driven tests are in the root
//! package's `tests/panel.rs`.

mod accounts;
mod bulk_pause;
mod device;
mod dtc_clear;
mod geofence_edit;
mod pages;
mod security;
mod support;
mod vehicles;
mod wallet_password;
