//! Storage of decode results and bulk decode tasks (tables in `migrations/*/0100_vin_decode.sql`).
//!
//! Every query that takes a bulk or task id also takes the owner's user id, so another user's
//! rows read as "not found".

use sqlx::Row;

use super::{Decoder, Report, report};
use crate::accounts::now;
use crate::accounts::secrets::random_id;
use crate::db::{Backend, Db};

/// Storage failures of the VIN layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("stored report is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("not found")]
    NotFound,
}

/// A stored decode result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub id: String,
    pub vin: String,
    pub report: Report,
}

/// Decodes a VIN for a user, answering the cached result unless `force`; stores the result.
pub async fn decode_cached(
    db: &Db,
    decoder: &Decoder,
    user_id: &str,
    vin: &str,
    force: bool,
) -> Result<Lookup, StoreError> {
    if !force {
        if let Some(found) = lookup_by_vin(db, user_id, vin).await? {
            return Ok(found);
        }
    }
    let r = report(&decoder.decode(vin), decoder.index());
    save_lookup(db, user_id, vin, &r).await
}

async fn lookup_by_vin(db: &Db, user_id: &str, vin: &str) -> Result<Option<Lookup>, StoreError> {
    let row =
        sqlx::query("SELECT id, vin, report FROM vin_lookups WHERE user_id = $1 AND vin = $2")
            .bind(user_id)
            .bind(vin)
            .fetch_optional(&db.pool)
            .await?;
    row.map(|r| to_lookup(&r)).transpose()
}

/// A user's stored lookup by id (the VAG Map API's `report_id`).
pub async fn lookup_by_id(db: &Db, user_id: &str, id: &str) -> Result<Lookup, StoreError> {
    let row = sqlx::query("SELECT id, vin, report FROM vin_lookups WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| to_lookup(&r))
        .transpose()?
        .ok_or(StoreError::NotFound)
}

fn to_lookup(row: &sqlx::any::AnyRow) -> Result<Lookup, StoreError> {
    let report: String = row.try_get("report")?;
    Ok(Lookup {
        id: row.try_get("id")?,
        vin: row.try_get("vin")?,
        report: serde_json::from_str(&report)?,
    })
}

async fn save_lookup(db: &Db, user_id: &str, vin: &str, r: &Report) -> Result<Lookup, StoreError> {
    let ts = now();
    let json = serde_json::to_string(r)?;
    let id = random_id("lkp");
    sqlx::query(
        "INSERT INTO vin_lookups (id, user_id, vin, report, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
         ON CONFLICT (user_id, vin) DO UPDATE SET report = excluded.report, updated_at = excluded.updated_at",
    )
    .bind(&id)
    .bind(user_id)
    .bind(vin)
    .bind(&json)
    .bind(ts)
    .execute(&db.pool)
    .await?;
    lookup_by_vin(db, user_id, vin)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Adds VINs to a bulk (a new one unless `bulk_id` names one of the user's), answering the
/// bulk id and one task id per VIN.
pub async fn create_bulk(
    db: &Db,
    user_id: &str,
    vins: &[String],
    file_name: Option<&str>,
    bulk_id: Option<&str>,
) -> Result<(String, Vec<String>), StoreError> {
    let ts = now();
    let mut tx = db.pool.begin().await?;
    let bulk = match bulk_id {
        Some(id) => {
            let found = sqlx::query("SELECT id FROM vin_bulks WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
            found.ok_or(StoreError::NotFound)?;
            id.to_owned()
        }
        None => {
            let id = random_id("blk");
            sqlx::query("INSERT INTO vin_bulks (id, user_id, file_name, created_at) VALUES ($1, $2, $3, $4)")
                .bind(&id)
                .bind(user_id)
                .bind(file_name)
                .bind(ts)
                .execute(&mut *tx)
                .await?;
            id
        }
    };
    let mut ids = Vec::with_capacity(vins.len());
    for (seq, vin) in vins.iter().enumerate() {
        let id = random_id("task");
        sqlx::query(
            "INSERT INTO vin_tasks (id, bulk_id, user_id, vin, seq, state, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6)",
        )
        .bind(&id)
        .bind(&bulk)
        .bind(user_id)
        .bind(vin.trim().to_uppercase())
        .bind(i64::try_from(seq).unwrap_or(i64::MAX))
        .bind(ts)
        .execute(&mut *tx)
        .await?;
        ids.push(id);
    }
    tx.commit().await?;
    Ok((bulk, ids))
}

/// Pauses (pending → paused) or resumes (paused → pending) a user's bulk; answers how many
/// tasks changed. Tasks already running finish.
pub async fn set_paused(
    db: &Db,
    user_id: &str,
    bulk_id: &str,
    paused: bool,
) -> Result<u64, StoreError> {
    let exists = sqlx::query("SELECT id FROM vin_bulks WHERE id = $1 AND user_id = $2")
        .bind(bulk_id)
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?;
    exists.ok_or(StoreError::NotFound)?;
    let (from, to) = if paused {
        ("pending", "paused")
    } else {
        ("paused", "pending")
    };
    let done = sqlx::query("UPDATE vin_tasks SET state = $1, updated_at = $2 WHERE bulk_id = $3 AND user_id = $4 AND state = $5")
        .bind(to)
        .bind(now())
        .bind(bulk_id)
        .bind(user_id)
        .bind(from)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected())
}

/// A task as the tasks endpoint reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskView {
    pub id: String,
    pub bulk_id: String,
    pub vin: String,
    pub state: String,
    pub result: Option<serde_json::Value>,
    /// Tasks of the bulk that are completed or failed, and all of them.
    pub bulk_done: i64,
    pub bulk_total: i64,
}

/// A user's task with its bulk's progress.
pub async fn task(db: &Db, user_id: &str, task_id: &str) -> Result<TaskView, StoreError> {
    let row = sqlx::query(
        "SELECT id, bulk_id, vin, state, result FROM vin_tasks WHERE id = $1 AND user_id = $2",
    )
    .bind(task_id)
    .bind(user_id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or(StoreError::NotFound)?;
    let bulk_id: String = row.try_get("bulk_id")?;
    let result: Option<String> = row.try_get("result")?;
    let counts = sqlx::query(
        "SELECT COUNT(*) AS total, SUM(CASE WHEN state IN ('completed', 'failed') THEN 1 ELSE 0 END) AS done \
         FROM vin_tasks WHERE bulk_id = $1",
    )
    .bind(&bulk_id)
    .fetch_one(&db.pool)
    .await?;
    Ok(TaskView {
        id: row.try_get("id")?,
        vin: row.try_get("vin")?,
        state: row.try_get("state")?,
        result: result.map(|r| serde_json::from_str(&r)).transpose()?,
        bulk_total: counts.try_get("total")?,
        bulk_done: counts.try_get::<Option<i64>, _>("done")?.unwrap_or(0),
        bulk_id,
    })
}

/// A claimed task.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    pub user_id: String,
    pub vin: String,
}

/// Claims up to `limit` pending tasks for `worker`. On PostgreSQL concurrent instances skip
/// each other's locked rows; SQLite serialises writers, so the single statement is atomic.
pub async fn claim(db: &Db, worker: &str, limit: i64) -> Result<Vec<Claimed>, StoreError> {
    let lock = match db.backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE vin_tasks SET state = 'running', claimed_by = $1, claimed_at = $2, updated_at = $2 \
         WHERE id IN (SELECT id FROM vin_tasks WHERE state = 'pending' ORDER BY created_at, seq, id LIMIT $3{lock}) \
         RETURNING id, user_id, vin"
    );
    let rows = sqlx::query(&sql)
        .bind(worker)
        .bind(now())
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Claimed {
                id: r.try_get("id")?,
                user_id: r.try_get("user_id")?,
                vin: r.try_get("vin")?,
            })
        })
        .collect()
}

/// Returns tasks claimed more than `stale_secs` ago (their instance stopped) to 'pending'.
pub async fn release_stale(db: &Db, stale_secs: i64) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE vin_tasks SET state = 'pending', claimed_by = NULL, claimed_at = NULL, updated_at = $1 \
         WHERE state = 'running' AND claimed_at < $2",
    )
    .bind(now())
    .bind(now() - stale_secs)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected())
}

/// Decodes a claimed task, caches the result as the user's lookup and completes the task.
pub async fn complete(db: &Db, decoder: &Decoder, task: &Claimed) -> Result<(), StoreError> {
    let lookup = decode_cached(db, decoder, &task.user_id, &task.vin, true).await?;
    let json = serde_json::to_string(&lookup.report)?;
    sqlx::query("UPDATE vin_tasks SET state = 'completed', result = $1, updated_at = $2 WHERE id = $3 AND state = 'running'")
        .bind(json)
        .bind(now())
        .bind(&task.id)
        .execute(&db.pool)
        .await?;
    Ok(())
}
