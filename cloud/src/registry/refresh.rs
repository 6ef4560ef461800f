//! The refresh queue (`refresh_requests`): claiming queued requests for a worker and
//! recording how each ended. Requests are queued by `POST …/commands/refresh`
//! ([`super::vehicles::queue_refresh`]).
//!
//! A claim sets `claimed_by`/`claimed_at` and leaves the row `queued`; on PostgreSQL
//! concurrent instances skip each other's locked rows (`FOR UPDATE SKIP LOCKED`), SQLite
//! serialises writers so the single statement is atomic. A claim older than
//! [`STALE_CLAIM_SECS`] belongs to a stopped instance and may be claimed again.

use sqlx::Row;

use super::RegistryError;
use crate::db::{Backend, Db};

/// A claim older than this (seconds) is taken over.
pub const STALE_CLAIM_SECS: i64 = 120;
/// Longest failure reason stored.
pub const MAX_REASON: usize = 500;

/// A claimed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub id: i64,
    pub user_device_id: String,
    pub requested_at: i64,
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Failed(String),
}

/// A request as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshStatus {
    pub status: String,
    pub reason: Option<String>,
    pub requested_at: i64,
    pub finished_at: Option<i64>,
}

/// Claims up to `limit` queued requests, oldest first.
pub async fn claim(
    db: &Db,
    worker: &str,
    limit: i64,
    now: i64,
) -> Result<Vec<Claimed>, RegistryError> {
    // A read first: an idle queue costs no write lock (SQLite has one for the whole file).
    let any: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM refresh_requests WHERE status = 'queued' \
         AND (claimed_at IS NULL OR claimed_at < $1) LIMIT 1",
    )
    .bind(now - STALE_CLAIM_SECS)
    .fetch_optional(&db.pool)
    .await?;
    if any.is_none() {
        return Ok(Vec::new());
    }
    let lock = match db.backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE refresh_requests SET claimed_by = $1, claimed_at = $2 \
         WHERE id IN (SELECT id FROM refresh_requests WHERE status = 'queued' \
         AND (claimed_at IS NULL OR claimed_at < $3) ORDER BY id LIMIT $4{lock}) \
         RETURNING id, user_device_id, requested_at"
    );
    let rows = sqlx::query(&sql)
        .bind(worker)
        .bind(now)
        .bind(now - STALE_CLAIM_SECS)
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Claimed {
                id: r.try_get("id")?,
                user_device_id: r.try_get("user_device_id")?,
                requested_at: r.try_get("requested_at")?,
            })
        })
        .collect()
}

/// Records the outcome of a request this worker claimed (a request taken over by another
/// worker in the meantime is left to it).
pub async fn finish(
    db: &Db,
    id: i64,
    worker: &str,
    outcome: &Outcome,
    now: i64,
) -> Result<bool, RegistryError> {
    let (status, reason) = match outcome {
        Outcome::Done => ("done", None),
        Outcome::Failed(why) => (
            "failed",
            Some(why.chars().take(MAX_REASON).collect::<String>()),
        ),
    };
    let done = sqlx::query(
        "UPDATE refresh_requests SET status = $1, reason = $2, finished_at = $3 \
         WHERE id = $4 AND claimed_by = $5 AND status = 'queued'",
    )
    .bind(status)
    .bind(reason)
    .bind(now)
    .bind(id)
    .bind(worker)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The newest refresh request of a vehicle.
pub async fn latest(db: &Db, user_device_id: &str) -> Result<Option<RefreshStatus>, RegistryError> {
    let row = sqlx::query(
        "SELECT status, reason, requested_at, finished_at FROM refresh_requests \
         WHERE user_device_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(user_device_id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok(RefreshStatus {
            status: r.try_get("status")?,
            reason: r.try_get("reason")?,
            requested_at: r.try_get("requested_at")?,
            finished_at: r.try_get("finished_at")?,
        })
    })
    .transpose()
}
