//! Plain `Authorization: Bearer <jwt>` authentication shared by the auth-v1, apikey-hmac,
//! team-auth and Web3 families (the Users API adds client binding, see `users_auth`).

use axum::http::header;
use axum::http::request::Parts;

use super::failure::Failure;
use crate::accounts::jwt::{Audience, Binding, Claims, NewToken};
use crate::accounts::sessions::{self, ActiveSession, Kind};
use crate::accounts::{AccountError, Role, now};
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

impl BearerError {
    /// This failure as a family's error: storage failures as the family maps them, anything
    /// else 401 with the family's `message`.
    pub fn into_family<E: From<AccountError> + From<Failure>>(self, message: &str) -> E {
        match self {
            BearerError::Account(e) => e.into(),
            BearerError::Missing | BearerError::Invalid => {
                Failure::Unauthorized(message.into()).into()
            }
        }
    }
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

/// [`authenticate`] for a family's extractor: the active session, or the family's error
/// ([`BearerError::into_family`]).
pub async fn session<E: From<AccountError> + From<Failure>>(
    parts: &Parts,
    state: &AppState,
    aud: Audience,
    message: &str,
) -> Result<ActiveSession, E> {
    authenticate(parts, state, aud)
        .await
        .map(|(_, session)| session)
        .map_err(|e| e.into_family(message))
}

/// What [`open_session`] opens: a session of `kind` lasting `ttl_secs`, and one access token
/// for `audience` living as long.
pub struct NewSession<'a> {
    pub user_id: &'a str,
    pub role: Role,
    pub kind: Kind,
    pub audience: Audience,
    pub ttl_secs: i64,
    pub binding: Option<Binding>,
}

/// A session [`open_session`] opened.
pub struct Opened {
    pub session_id: String,
    pub access_token: String,
    /// When session and token expire (Unix seconds).
    pub expires_at: i64,
}

/// Opens a login session and issues its access token.
pub async fn open_session(state: &AppState, new: NewSession<'_>) -> Result<Opened, AccountError> {
    let ts = now();
    let sid = sessions::create(&state.db, new.user_id, new.kind, None, ts, new.ttl_secs).await?;
    let access_token = state
        .tokens
        .issue(
            new.audience,
            NewToken {
                user_id: new.user_id,
                session_id: &sid,
                role: new.role.as_str(),
                now: ts,
                ttl_secs: new.ttl_secs,
                binding: new.binding,
                team: None,
            },
        )
        .map_err(|e| AccountError::Internal(e.to_string()))?;
    Ok(Opened {
        session_id: sid,
        access_token,
        expires_at: ts + new.ttl_secs,
    })
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
