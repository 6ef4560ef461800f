//! Login sessions and their rotating refresh tokens.
//!
//! A session is the unit of revocation: logout, password reset and change, and refresh
//! token reuse revoke sessions, and every authenticated request checks its session. Request
//! authentication uses [`active_cached`] (the instance's short-lived
//! [`SessionCache`](super::session_cache::SessionCache));
//! every revocation here clears the cache's entries once committed.

use sqlx::Row;

use super::{AccountError, Role, secrets};
use crate::db::Db;

/// What kind of login created a session (one per API family).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Users,
    AuthV1,
    Hmac,
    Team,
    Web3,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Users => "users",
            Kind::AuthV1 => "auth_v1",
            Kind::Hmac => "hmac",
            Kind::Team => "team",
            Kind::Web3 => "web3",
        }
    }
}

/// An active session with its account's essentials (one query per request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSession {
    pub session_id: String,
    pub user_id: String,
    pub role: Role,
    pub name: String,
    pub email: Option<String>,
    pub team_id: Option<String>,
    pub expires_at: i64,
}

/// Opens a session ending `max_age` seconds from `now` at the latest.
pub async fn create(
    db: &Db,
    user_id: &str,
    kind: Kind,
    team_id: Option<&str>,
    now: i64,
    max_age: i64,
) -> Result<String, AccountError> {
    let id = secrets::random_id("ses");
    sqlx::query(
        "INSERT INTO sessions (id, user_id, kind, team_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(kind.as_str())
    .bind(team_id)
    .bind(now)
    .bind(now + max_age)
    .execute(&db.pool)
    .await?;
    Ok(id)
}

/// The session if it exists, is not revoked and has not expired.
pub async fn active(
    db: &Db,
    session_id: &str,
    now: i64,
) -> Result<Option<ActiveSession>, AccountError> {
    let row = sqlx::query(
        "SELECT s.id, s.user_id, s.team_id, s.expires_at, u.role, u.name, u.email \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2",
    )
    .bind(session_id)
    .bind(now)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(ActiveSession {
        session_id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        role: Role::parse(&row.try_get::<String, _>("role")?),
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        team_id: row.try_get("team_id")?,
        expires_at: row.try_get("expires_at")?,
    }))
}

/// [`active`], answered from the instance's session cache while its entry is fresh
/// (see [`SessionCache`](super::session_cache::SessionCache) for the revocation delay across
/// instances).
pub async fn active_cached(
    db: &Db,
    session_id: &str,
    now: i64,
) -> Result<Option<ActiveSession>, AccountError> {
    if let Some(session) = db.session_cache.get(session_id, now) {
        return Ok(Some(session));
    }
    let ticket = db.session_cache.ticket();
    let found = active(db, session_id, now).await?;
    if let Some(session) = &found {
        db.session_cache.put(ticket, session);
    }
    Ok(found)
}

pub async fn revoke(db: &Db, session_id: &str, now: i64) -> Result<(), AccountError> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(session_id)
        .execute(&db.pool)
        .await?;
    db.session_cache.forget(session_id);
    Ok(())
}

/// Revokes every session of a user (password reset and change).
pub async fn revoke_all(db: &Db, user_id: &str, now: i64) -> Result<u64, AccountError> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .execute(&db.pool)
    .await?;
    db.session_cache.forget_user(user_id, None);
    Ok(done.rows_affected())
}

/// Adds a fresh refresh token to a session's family and returns it (shown once).
pub async fn issue_refresh(db: &Db, session_id: &str, now: i64) -> Result<String, AccountError> {
    let token = format!("rt_{}", secrets::random_token());
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)",
    )
    .bind(secrets::sha256_hex(&token))
    .bind(session_id)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(token)
}

/// Spends a refresh token: answers its active session, or revokes the whole session when
/// the token had already been spent (reuse means it was stolen or replayed).
pub async fn spend_refresh(db: &Db, token: &str, now: i64) -> Result<ActiveSession, AccountError> {
    let hash = secrets::sha256_hex(token);
    let spent = sqlx::query(
        "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
    )
    .bind(now)
    .bind(&hash)
    .execute(&db.pool)
    .await?;
    let session_id: Option<String> =
        sqlx::query("SELECT session_id FROM refresh_tokens WHERE token_hash = $1")
            .bind(&hash)
            .fetch_optional(&db.pool)
            .await?
            .map(|row| row.try_get("session_id"))
            .transpose()?;
    let Some(session_id) = session_id else {
        return Err(AccountError::InvalidToken);
    };
    if spent.rows_affected() == 0 {
        revoke(db, &session_id, now).await?;
        tracing::warn!(session = %session_id, "refresh token reuse: session revoked");
        return Err(AccountError::TokenReuse);
    }
    active(db, &session_id, now)
        .await?
        .ok_or(AccountError::InvalidToken)
}

/// Revokes every session of a user but one (password change keeps the caller signed in).
pub async fn revoke_all_except(
    db: &Db,
    user_id: &str,
    keep: &str,
    now: i64,
) -> Result<u64, AccountError> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .bind(keep)
    .execute(&db.pool)
    .await?;
    db.session_cache.forget_user(user_id, Some(keep));
    Ok(done.rows_affected())
}
