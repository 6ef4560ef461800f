//! Accounts: users, credentials, sessions and tokens behind every auth API family.
//!
//! This layer knows nothing about HTTP: each family's handlers in `crate::http` call it and
//! map [`AccountError`] to their own documented error body.

pub mod api_keys;
pub mod email_tokens;
pub mod jwt;
pub mod password;
pub mod secrets;
pub mod session_cache;
pub mod sessions;
pub mod teams;
pub mod users;
pub mod web3;

use crate::db::DbError;

/// Failures of account operations, independent of any API family's wording.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Wrong password, unknown account or unknown API key: deliberately indistinct.
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("not found")]
    NotFound,
    #[error("password rejected: {0}")]
    WeakPassword(&'static str),
    #[error("already exists")]
    Conflict,
    /// Missing, malformed, expired, revoked or foreign token.
    #[error("invalid or expired token")]
    InvalidToken,
    /// A used refresh token was presented again; its session has been revoked.
    #[error("refresh token reuse detected")]
    TokenReuse,
    #[error("invalid input: {0}")]
    BadInput(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for AccountError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(DbError::Sqlx(e))
    }
}

/// Roles: clients see their own resources, admins everyone's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Client,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Role {
        // Anything unexpected in the database gets the least privilege.
        if s == "admin" {
            Role::Admin
        } else {
            Role::Client
        }
    }
}

/// Current time as Unix seconds.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Unix seconds as RFC 3339 with milliseconds and `Z` (`2026-02-17T12:25:20.611Z`).
pub fn rfc3339(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Unix seconds as RFC 3339 without fractions (`2023-10-27T10:00:00Z`).
pub fn rfc3339_secs(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
