//! Plain `Authorization: Bearer <jwt>` authentication shared by the auth-v1, apikey-hmac,
//! team-auth and Web3 families (the Users API adds client binding, see `users_auth`).

use axum::http::header;
use axum::http::request::Parts;

use crate::accounts::jwt::{Audience, Claims};
use crate::accounts::sessions::{self, ActiveSession};
use crate::accounts::{AccountError, now};
use crate::app::AppState;

/// Why bearer authentication failed.
#[derive(Debug)]
pub enum BearerError {
    /// No usable `Authorization` header.
    Missing,
    /// Bad signature, type, audience, expiry, or a revoked/unknown session.
    Invalid,
    Account(AccountError),
}

/// The raw bearer token, if the header is present and well-formed.
pub fn token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?
        .trim();
    (!token.is_empty()).then_some(token)
}

/// Verifies a bearer token for `aud` and loads its active session.
pub async fn authenticate(
    parts: &Parts,
    state: &AppState,
    aud: Audience,
) -> Result<(Claims, ActiveSession), BearerError> {
    let token = token(parts).ok_or(BearerError::Missing)?;
    verify(state, token, aud).await
}

/// Verifies a token string for `aud` and loads its active session (through the instance's
/// session cache, see `accounts::session_cache`).
pub async fn verify(
    state: &AppState,
    token: &str,
    aud: Audience,
) -> Result<(Claims, ActiveSession), BearerError> {
    let ts = now();
    let claims = state
        .tokens
        .verify(token, aud, ts)
        .map_err(|_| BearerError::Invalid)?;
    let session = sessions::active_cached(&state.db, &claims.sid, ts)
        .await
        .map_err(BearerError::Account)?
        .filter(|s| s.user_id == claims.sub)
        .ok_or(BearerError::Invalid)?;
    Ok((claims, session))
}
