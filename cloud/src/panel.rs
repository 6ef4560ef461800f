//! The web panel at `/panel/`: server-rendered pages (maud, compiled into the binary) for
//! fleet operators and integrators, with a little vanilla JavaScript for the live parts.
//!
//! **Architecture invariant:** the panel calls the domain modules (`accounts`, `vin`,
//! `devices`, `registry`, `commands`) directly, never the JSON APIs over HTTP, and every
//! query it makes takes the signed-in user's id, so another user's records read as missing.
//! Its session is an HttpOnly, SameSite=Strict cookie naming an ordinary session row (so
//! logout and password reset revoke it), and every state-changing request carries a CSRF
//! token bound to that session.

mod account;
mod assets;
mod bulk_control;
pub mod bulks;
mod chart;
mod commands;
mod decode;
mod dtc_clear;
mod error;
mod fleet;
mod form;
mod geofence_edit;
mod geofences;
mod keys;
mod layout;
mod login;
pub mod map;
mod password;
mod register;
mod session;
mod vehicles;
mod wallet;
mod wallet_password;

use axum::Router;
use axum::middleware;
use axum::response::Redirect;
use axum::routing::get;

pub use error::PanelError;

use crate::app::AppState;

/// Every panel route, under `/panel`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/panel", get(|| async { Redirect::permanent("/panel/") }))
        .merge(vehicles::router())
        .merge(commands::router())
        .merge(dtc_clear::router())
        .merge(assets::router())
        .merge(login::router())
        .merge(register::router())
        .merge(password::router())
        .merge(wallet::router())
        .merge(wallet_password::router())
        .merge(account::router())
        .merge(keys::router())
        .merge(decode::router())
        .merge(bulk_control::router())
        .merge(geofences::router())
        .merge(geofence_edit::router())
        .layer(middleware::from_fn(session::guard))
}
