//! Single-use emailed tokens (password reset, email verification), stored as digests.

use sqlx::Row;

use super::{AccountError, now, secrets};
use crate::db::Db;

/// What an emailed token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Reset,
    Verify,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Reset => "reset",
            Purpose::Verify => "verify",
        }
    }
}

/// Creates a token for `subject` (a user id, or a pending registration id) valid for
/// `ttl` seconds; answers the secret to put in the link.
pub async fn create(
    db: &Db,
    purpose: Purpose,
    subject: &str,
    ttl: i64,
) -> Result<String, AccountError> {
    let token = secrets::random_token();
    let ts = now();
    sqlx::query(
        "INSERT INTO email_tokens (token_hash, purpose, subject, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(secrets::sha256_hex(&token))
    .bind(purpose.as_str())
    .bind(subject)
    .bind(ts)
    .bind(ts + ttl)
    .execute(&db.pool)
    .await?;
    Ok(token)
}

/// Spends a token: answers its subject if it exists, has this purpose, is unused and
/// unexpired. A token can be spent once.
pub async fn consume(db: &Db, purpose: Purpose, token: &str) -> Result<String, AccountError> {
    let hash = secrets::sha256_hex(token.trim());
    let ts = now();
    let done = sqlx::query(
        "UPDATE email_tokens SET used_at = $1 \
         WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(ts)
    .bind(&hash)
    .bind(purpose.as_str())
    .execute(&db.pool)
    .await?;
    if done.rows_affected() != 1 {
        return Err(AccountError::InvalidToken);
    }
    let row = sqlx::query("SELECT subject FROM email_tokens WHERE token_hash = $1")
        .bind(&hash)
        .fetch_one(&db.pool)
        .await?;
    Ok(row.try_get::<String, _>("subject")?)
}
