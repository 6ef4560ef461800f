//! API keys: random secrets shown once, stored as SHA-256 digests.

use sqlx::Row;

use super::{AccountError, now, secrets};
use crate::db::Db;

/// A stored key (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// Creates a key whose secret starts with `prefix` (`key_live_`, `sk_live_`); answers the
/// stored key and the secret, which is never retrievable again.
pub async fn create(
    db: &Db,
    user_id: &str,
    name: &str,
    prefix: &str,
) -> Result<(ApiKey, String), AccountError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AccountError::BadInput("name must be 1 to 100 characters"));
    }
    let secret = format!("{prefix}{}", secrets::random_token());
    let key = ApiKey {
        id: secrets::random_id("key"),
        user_id: user_id.to_owned(),
        name: name.to_owned(),
        created_at: now(),
        last_used_at: None,
    };
    sqlx::query("INSERT INTO api_keys (id, user_id, name, key_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&key.id)
        .bind(&key.user_id)
        .bind(&key.name)
        .bind(secrets::sha256_hex(&secret))
        .bind(key.created_at)
        .execute(&db.pool)
        .await?;
    Ok((key, secret))
}

pub async fn list(db: &Db, user_id: &str) -> Result<Vec<ApiKey>, AccountError> {
    let rows = sqlx::query(
        "SELECT id, user_id, name, created_at, last_used_at FROM api_keys WHERE user_id = $1 \
         ORDER BY created_at DESC, id",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ApiKey {
                id: row.try_get("id")?,
                user_id: row.try_get("user_id")?,
                name: row.try_get("name")?,
                created_at: row.try_get("created_at")?,
                last_used_at: row.try_get("last_used_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// Deletes one of the user's keys; another user's key is "not found" as well.
pub async fn delete(db: &Db, user_id: &str, key_id: &str) -> Result<(), AccountError> {
    let done = sqlx::query("DELETE FROM api_keys WHERE id = $1 AND user_id = $2")
        .bind(key_id)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(AccountError::NotFound);
    }
    Ok(())
}

/// Finds the owner of a key secret and records the use.
pub async fn authenticate(db: &Db, secret: &str) -> Result<String, AccountError> {
    let hash = secrets::sha256_hex(secret.trim());
    let row = sqlx::query("SELECT id, user_id FROM api_keys WHERE key_hash = $1")
        .bind(&hash)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AccountError::InvalidCredentials)?;
    let id: String = row.try_get("id")?;
    sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
        .bind(now())
        .bind(&id)
        .execute(&db.pool)
        .await?;
    Ok(row.try_get("user_id")?)
}
