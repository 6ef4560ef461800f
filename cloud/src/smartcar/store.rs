//! Storage of Smartcar authorizations (`smartcar_grants`) and connected vehicles
//! (`smartcar_connections`). Tokens and synthetic device keys are sealed with the
//! [`TokenCipher`] before they reach a query and opened only where they are used.

use pitlane_shared::identity::{Address, DeviceKey};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::client::Tokens;
use super::{SmartcarError, TokenCipher};
use crate::config::Secret;
use crate::db::{Backend, Db};

/// A connected vehicle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub user_device_id: String,
    pub user_id: String,
    pub grant_id: String,
    pub smartcar_vehicle_id: String,
    /// The synthetic device's address (its key is generated at connection).
    pub address: Address,
    pub connected_at: i64,
    pub refreshed_at: Option<i64>,
}

/// An authorization's tokens, opened.
#[derive(Debug, Clone)]
pub struct GrantTokens {
    pub access_token: Secret,
    pub refresh_token: Secret,
    pub access_expires_at: i64,
}

fn access_context(grant_id: &str) -> String {
    format!("smartcar_grants.access_token:{grant_id}")
}

fn refresh_context(grant_id: &str) -> String {
    format!("smartcar_grants.refresh_token:{grant_id}")
}

fn key_context(user_device_id: &str) -> String {
    format!("smartcar_connections.device_key:{user_device_id}")
}

/// Records a new authorization; answers its id.
pub async fn insert_grant(
    conn: &mut AnyConnection,
    cipher: &TokenCipher,
    user_id: &str,
    tokens: &Tokens,
    now: i64,
) -> Result<String, SmartcarError> {
    let id = crate::devices::new_id();
    sqlx::query(
        "INSERT INTO smartcar_grants (id, user_id, access_token, refresh_token, \
         access_expires_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(cipher.seal(&access_context(&id), tokens.access_token.expose())?)
    .bind(cipher.seal(&refresh_context(&id), tokens.refresh_token.expose())?)
    .bind(now.saturating_add(i64::try_from(tokens.expires_in).unwrap_or(i64::MAX)))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// Connects `user_device_id` through `grant_id`. A vehicle connected before keeps its
/// synthetic device key and address and moves to the new authorization.
pub async fn upsert_connection(
    conn: &mut AnyConnection,
    cipher: &TokenCipher,
    user_device_id: &str,
    grant_id: &str,
    smartcar_vehicle_id: &str,
    now: i64,
) -> Result<(), SmartcarError> {
    let moved = sqlx::query(
        "UPDATE smartcar_connections SET grant_id = $1, smartcar_vehicle_id = $2, \
         connected_at = $3 WHERE user_device_id = $4",
    )
    .bind(grant_id)
    .bind(smartcar_vehicle_id)
    .bind(now)
    .bind(user_device_id)
    .execute(&mut *conn)
    .await?;
    if moved.rows_affected() > 0 {
        return Ok(());
    }
    let key = DeviceKey::generate();
    sqlx::query(
        "INSERT INTO smartcar_connections (user_device_id, grant_id, smartcar_vehicle_id, \
         address, device_key, connected_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(user_device_id)
    .bind(grant_id)
    .bind(smartcar_vehicle_id)
    .bind(key.address().to_lowercase_hex())
    .bind(cipher.seal(&key_context(user_device_id), key.to_hex().as_str())?)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Deletes the user's authorizations no vehicle uses any more (after a reconnect).
pub async fn delete_unused_grants(
    conn: &mut AnyConnection,
    user_id: &str,
) -> Result<u64, SmartcarError> {
    let done = sqlx::query(
        "DELETE FROM smartcar_grants WHERE user_id = $1 AND NOT EXISTS \
         (SELECT 1 FROM smartcar_connections c WHERE c.grant_id = smartcar_grants.id)",
    )
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

const SELECT: &str = "SELECT c.user_device_id, g.user_id, c.grant_id, c.smartcar_vehicle_id, \
    c.address, c.connected_at, c.refreshed_at FROM smartcar_connections c \
    JOIN smartcar_grants g ON g.id = c.grant_id";

fn from_row(row: &AnyRow) -> Result<Connection, SmartcarError> {
    let address: String = row.try_get("address")?;
    Ok(Connection {
        user_device_id: row.try_get("user_device_id")?,
        user_id: row.try_get("user_id")?,
        grant_id: row.try_get("grant_id")?,
        smartcar_vehicle_id: row.try_get("smartcar_vehicle_id")?,
        address: address.parse().map_err(|e| {
            crate::registry::RegistryError::Corrupt(format!("smartcar address {address:?}: {e}"))
        })?,
        connected_at: row.try_get("connected_at")?,
        refreshed_at: row.try_get("refreshed_at")?,
    })
}

/// The Smartcar connection of a vehicle, if any.
pub async fn connection(
    db: &Db,
    user_device_id: &str,
) -> Result<Option<Connection>, SmartcarError> {
    let row = sqlx::query(&format!("{SELECT} WHERE c.user_device_id = $1"))
        .bind(user_device_id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Connected vehicles that are minted but have no synthetic device yet (at most `limit`).
pub async fn minted_without_synthetic(db: &Db, limit: i64) -> Result<Vec<String>, SmartcarError> {
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT c.user_device_id FROM smartcar_connections c \
         JOIN vehicle_tokens v ON v.user_device_id = c.user_device_id \
         WHERE NOT EXISTS (SELECT 1 FROM synthetic_devices s WHERE s.vehicle_token_id = v.token_id) \
         ORDER BY v.token_id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows)
}

/// The synthetic device key of a connected vehicle, opened.
pub async fn device_key(
    db: &Db,
    cipher: &TokenCipher,
    user_device_id: &str,
) -> Result<DeviceKey, SmartcarError> {
    let sealed: Option<String> =
        sqlx::query_scalar("SELECT device_key FROM smartcar_connections WHERE user_device_id = $1")
            .bind(user_device_id)
            .fetch_optional(&db.pool)
            .await?;
    let sealed = sealed.ok_or(SmartcarError::NotFound("Smartcar connection"))?;
    let hex = cipher.open(&key_context(user_device_id), &sealed)?;
    DeviceKey::from_hex(&hex).map_err(|e| {
        crate::registry::RegistryError::Corrupt(format!("synthetic device key: {e}")).into()
    })
}

/// The tokens of a grant. Inside a PostgreSQL transaction the row stays locked until it
/// ends, so instances never refresh the same (rotating) refresh token twice.
pub async fn lock_grant(
    conn: &mut AnyConnection,
    backend: Backend,
    cipher: &TokenCipher,
    grant_id: &str,
) -> Result<GrantTokens, SmartcarError> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let row = sqlx::query(&format!(
        "SELECT access_token, refresh_token, access_expires_at FROM smartcar_grants \
         WHERE id = $1{lock}"
    ))
    .bind(grant_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(SmartcarError::NotFound("Smartcar authorization"))?;
    let access: String = row.try_get("access_token")?;
    let refresh: String = row.try_get("refresh_token")?;
    Ok(GrantTokens {
        access_token: Secret::new(cipher.open(&access_context(grant_id), &access)?),
        refresh_token: Secret::new(cipher.open(&refresh_context(grant_id), &refresh)?),
        access_expires_at: row.try_get("access_expires_at")?,
    })
}

/// Stores refreshed tokens of a grant.
pub async fn update_tokens(
    conn: &mut AnyConnection,
    cipher: &TokenCipher,
    grant_id: &str,
    tokens: &Tokens,
    now: i64,
) -> Result<(), SmartcarError> {
    sqlx::query(
        "UPDATE smartcar_grants SET access_token = $1, refresh_token = $2, \
         access_expires_at = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(cipher.seal(&access_context(grant_id), tokens.access_token.expose())?)
    .bind(cipher.seal(&refresh_context(grant_id), tokens.refresh_token.expose())?)
    .bind(now.saturating_add(i64::try_from(tokens.expires_in).unwrap_or(i64::MAX)))
    .bind(now)
    .bind(grant_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records a successful read of the vehicle.
pub async fn mark_refreshed(db: &Db, user_device_id: &str, now: i64) -> Result<(), SmartcarError> {
    sqlx::query("UPDATE smartcar_connections SET refreshed_at = $1 WHERE user_device_id = $2")
        .bind(now)
        .bind(user_device_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}
