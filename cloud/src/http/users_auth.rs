//! Bearer authentication of the Users API family, shared by every route under
//! `/api/v1/users`, `/api/v1/decode` and `/api/v1/vag-map`.
//!
//! Tokens have the documented form `ipHash.uaHash.<jwt>`: `ipHash` and `uaHash` are keyed
//! hashes (HMAC-SHA256 under a key derived from the service secret, 16 hex characters) of
//! the client address and User-Agent the token was issued to. The JWT carries the same
//! pair in its `cnf` claim, so neither half can be swapped; a token presented from another
//! address or User-Agent is refused with 401. The JWT's session must still be active, as this
//! instance's session cache knows it (`accounts::session_cache`: revocations made here count
//! at once, those made by another instance within `session_cache_ttl_ms`).
//!
//! # Ownership
//!
//! Every route with a `{user_id}` path segment takes [`UsersAuth`] and calls
//! [`UsersAuth::ensure_access`] before touching data:
//!
//! ```ignore
//! async fn handler(auth: UsersAuth, Path(user_id): Path<String>) -> Result<_, UsersError> {
//!     auth.ensure_access(&user_id)?; // 403 unless it is the caller's own id or the caller is admin
//!     /* read or write only rows whose owner is `user_id` */
//! }
//! ```
//!
//! Rows keyed by something else (a task id, a bulk id) must also be checked against
//! `user_id` in the query (`WHERE id = $1 AND user_id = $2`), answering 404 when they
//! belong to someone else. Routes with an optional bearer take `Option<UsersAuth>`: no
//! `Authorization` header gives `None`, a bad one still gives 401.

use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::bearer::{self, NewSession};
use super::client::ClientInfo;
use super::failure::Failure;
use crate::accounts::jwt::{Audience, Binding};
use crate::accounts::secrets::{ct_eq, hmac_sha256_hex};
use crate::accounts::sessions::{self, ActiveSession, Kind};
use crate::accounts::{AccountError, Role, now};
use crate::app::AppState;

/// The Users API error body: `{"success": false, "message": "..."}`, matching the
/// family's response envelope.
#[derive(Debug)]
pub struct UsersError(pub Failure);

/// The documented error body, for the OpenAPI document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UsersErrorBody {
    pub success: bool,
    pub message: String,
}

impl IntoResponse for UsersError {
    fn into_response(self) -> Response {
        let message = self.0.message();
        self.0
            .respond(serde_json::json!({ "success": false, "message": message }))
    }
}

super::failure::family_error_from!(UsersError);

/// JSON body extractor whose rejections use the Users API error body.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(UsersError))]
pub struct UsersJson<T>(pub T);

/// An authenticated Users API caller.
#[derive(Debug, Clone)]
pub struct UsersAuth {
    pub user_id: String,
    pub role: Role,
    pub session: ActiveSession,
}

impl UsersAuth {
    /// 403 unless `user_id` is the caller's own id or the caller is an admin.
    pub fn ensure_access(&self, user_id: &str) -> Result<(), UsersError> {
        if self.user_id == user_id || self.role == Role::Admin {
            Ok(())
        } else {
            Err(UsersError(Failure::Forbidden(
                "Not allowed to access this user's resources".into(),
            )))
        }
    }
}

fn unauthorized() -> UsersError {
    UsersError(Failure::Unauthorized(
        "Invalid or missing bearer token".into(),
    ))
}

/// The keyed hashes a token is bound to.
pub fn binding(state: &AppState, client: &ClientInfo) -> Binding {
    let hash = |label: &str, value: &str| {
        let mut h = hmac_sha256_hex(&state.keys.binding, format!("{label}\0{value}").as_bytes());
        h.truncate(16);
        h
    };
    Binding {
        ip: hash("ip", &client.ip),
        ua: hash("ua", &client.user_agent),
    }
}

/// Opens a Users API session for `user_id` and answers `(token, expires_in)`.
pub async fn issue_token(
    state: &AppState,
    user_id: &str,
    role: Role,
    client: &ClientInfo,
) -> Result<(String, i64), AccountError> {
    let ttl = i64::try_from(state.config.access_token_ttl_secs).unwrap_or(3600);
    let bound = binding(state, client);
    let opened = bearer::open_session(
        state,
        NewSession {
            user_id,
            role,
            kind: Kind::Users,
            audience: Audience::Users,
            ttl_secs: ttl,
            binding: Some(bound.clone()),
        },
    )
    .await?;
    let jwt = opened.access_token;
    Ok((format!("{}.{}.{jwt}", bound.ip, bound.ua), ttl))
}

impl FromRequestParts<AppState> for UsersAuth {
    type Rejection = UsersError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(unauthorized)?
            .to_owned();
        authenticate(parts, state, &header).await
    }
}

impl OptionalFromRequestParts<AppState> for UsersAuth {
    type Rejection = UsersError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        match parts.headers.get(header::AUTHORIZATION) {
            None => Ok(None),
            Some(v) => {
                let header = v.to_str().map_err(|_| unauthorized())?.to_owned();
                authenticate(parts, state, &header).await.map(Some)
            }
        }
    }
}

async fn authenticate(
    parts: &mut Parts,
    state: &AppState,
    header: &str,
) -> Result<UsersAuth, UsersError> {
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .ok_or_else(unauthorized)?
        .trim();
    let mut pieces = token.splitn(3, '.');
    let (Some(ip_hash), Some(ua_hash), Some(jwt)) = (pieces.next(), pieces.next(), pieces.next())
    else {
        return Err(unauthorized());
    };
    let Ok(client) = ClientInfo::from_request_parts(parts, state).await;
    let expected = binding(state, &client);
    if !(ct_eq(ip_hash, &expected.ip) & ct_eq(ua_hash, &expected.ua)) {
        return Err(unauthorized());
    }
    let ts = now();
    let claims = state
        .tokens
        .verify(jwt, Audience::Users, ts)
        .map_err(|_| unauthorized())?;
    if claims.cnf.as_ref() != Some(&expected) {
        return Err(unauthorized());
    }
    let session = sessions::active_cached(&state.db, &claims.sid, ts)
        .await
        .map_err(UsersError::from)?
        .filter(|s| s.user_id == claims.sub)
        .ok_or_else(unauthorized)?;
    Ok(UsersAuth {
        user_id: session.user_id.clone(),
        role: session.role,
        session,
    })
}
