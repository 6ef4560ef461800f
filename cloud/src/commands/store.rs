//! Command rows: creation with the device's next `seq` (allocated in the same transaction, so
//! strictly increasing and never reused), results from devices, expiry, and reads.
//!
//! # How a status changes
//!
//! `pending` becomes final through a genuine result from the device (`executed`, `failed`,
//! `rejected`, `expired`), or `expired` through the sweeper when `expires_at` passes with no
//! result (`swept`). A device's result may still replace a swept `expired`: the device never
//! starts a command at or after its expiry, so a late `executed` means the car did act and
//! the result was only delayed on the way, and the status must say what the car did. A final
//! status set by a device's result never changes again. Results coded `foreign_signer`,
//! `wrong_subject` or `malformed` answer envelopes that may be forged and `replayed` answers
//! a copy of a request already handled: none of them changes any status.

use pitlane_shared::command::{CommandResult, RejectCode, ResultStatus};
use pitlane_shared::identity::Address;
use serde_json::Value;
use sqlx::Row;

use crate::db::Db;

/// Storage failures of commands.
#[derive(Debug, thiserror::Error)]
pub enum CommandStoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("stored JSON is unreadable: {0}")]
    Json(#[from] serde_json::Error),
}

/// What a new command row needs.
#[derive(Debug, Clone)]
pub struct NewCommand<'a> {
    pub request_id: &'a str,
    pub device: Address,
    pub action: &'a str,
    pub params: &'a Value,
    pub vehicle_token_id: Option<u64>,
    pub user_id: Option<&'a str>,
    pub issued_ms: i64,
    pub expires_ms: i64,
}

/// A stored command.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandRow {
    pub request_id: String,
    pub device: String,
    pub seq: i64,
    pub action: String,
    pub vehicle_token_id: Option<i64>,
    pub user_id: Option<String>,
    pub status: String,
    pub code: Option<String>,
    pub reason: Option<String>,
    pub state: Option<Value>,
    pub output: Option<Value>,
    pub issued_ms: i64,
    pub expires_ms: i64,
    pub completed_ms: Option<i64>,
}

/// Inserts the command with the device's next `seq` and returns that `seq`.
pub async fn create(db: &Db, new: &NewCommand<'_>) -> Result<u64, CommandStoreError> {
    let address = new.device.to_lowercase_hex();
    let mut tx = db.pool.begin().await?;
    let seq: i64 = sqlx::query(
        "INSERT INTO device_command_seq (device_address, last_seq) VALUES ($1, 1) \
         ON CONFLICT (device_address) DO UPDATE SET last_seq = device_command_seq.last_seq + 1 \
         RETURNING last_seq",
    )
    .bind(&address)
    .fetch_one(&mut *tx)
    .await?
    .try_get("last_seq")?;
    sqlx::query(
        "INSERT INTO device_commands (request_id, device_address, seq, action, params, \
         vehicle_token_id, user_id, status, issued_ms, expires_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9)",
    )
    .bind(new.request_id)
    .bind(&address)
    .bind(seq)
    .bind(new.action)
    .bind(new.params.to_string())
    .bind(new.vehicle_token_id.and_then(|t| i64::try_from(t).ok()))
    .bind(new.user_id.map(str::to_owned))
    .bind(new.issued_ms)
    .bind(new.expires_ms)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    metrics::counter!("pitlane_commands_total", "status" => "pending").increment(1);
    // The sequence starts at 1 and only grows, so it is never negative.
    Ok(u64::try_from(seq).unwrap_or(0))
}

fn status_str(s: ResultStatus) -> &'static str {
    match s {
        ResultStatus::Executed => "executed",
        ResultStatus::Failed => "failed",
        ResultStatus::Rejected => "rejected",
        ResultStatus::Expired => "expired",
    }
}

/// Whether a result with this code may change a status at all (see the module docs).
pub fn result_counts(result: &CommandResult) -> bool {
    !matches!(
        result.code,
        Some(
            RejectCode::ForeignSigner
                | RejectCode::WrongSubject
                | RejectCode::Malformed
                | RejectCode::Replayed
        )
    )
}

/// Applies a verified result from `device`; returns the new status when it changed one.
pub async fn apply_result(
    tx: &mut sqlx::AnyConnection,
    device: &Address,
    result: &CommandResult,
    now_ms: i64,
) -> Result<Option<&'static str>, CommandStoreError> {
    if !result_counts(result) || result.request_id.is_empty() {
        return Ok(None);
    }
    let status = status_str(result.status);
    let code = result
        .code
        .map(|c| serde_json::to_value(c).map(|v| v.as_str().unwrap_or_default().to_owned()))
        .transpose()?;
    let state = serde_json::to_string(&result.state)?;
    let done = sqlx::query(
        "UPDATE device_commands SET status = $1, swept = 0, code = $2, reason = $3, state = $4, \
         output = $5, completed_ms = $6 WHERE request_id = $7 AND device_address = $8 \
         AND (status = 'pending' OR (status = 'expired' AND swept = 1))",
    )
    .bind(status)
    .bind(code)
    .bind(result.reason.clone())
    .bind(state)
    .bind(result.output.to_string())
    .bind(now_ms)
    .bind(&result.request_id)
    .bind(device.to_lowercase_hex())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    metrics::counter!("pitlane_commands_total", "status" => status).increment(1);
    Ok(Some(status))
}

/// Marks pending commands whose expiry has passed as expired; returns how many.
pub async fn sweep(db: &Db, now_ms: i64) -> Result<u64, CommandStoreError> {
    let n = sqlx::query(
        "UPDATE device_commands SET status = 'expired', swept = 1, completed_ms = $1, \
         reason = 'no result from the device before the command expired' \
         WHERE status = 'pending' AND expires_ms <= $1",
    )
    .bind(now_ms)
    .execute(&db.pool)
    .await?
    .rows_affected();
    if n > 0 {
        metrics::counter!("pitlane_commands_total", "status" => "expired").increment(n);
    }
    Ok(n)
}

fn json_column(row: &sqlx::any::AnyRow, name: &str) -> Result<Option<Value>, CommandStoreError> {
    let text: Option<String> = row.try_get(name)?;
    Ok(text.map(|t| serde_json::from_str(&t)).transpose()?)
}

/// A command by request id.
pub async fn get(db: &Db, request_id: &str) -> Result<Option<CommandRow>, CommandStoreError> {
    let row = sqlx::query(
        "SELECT request_id, device_address, seq, action, vehicle_token_id, user_id, status, \
         code, reason, state, output, issued_ms, expires_ms, completed_ms \
         FROM device_commands WHERE request_id = $1",
    )
    .bind(request_id)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(CommandRow {
        request_id: row.try_get("request_id")?,
        device: row.try_get("device_address")?,
        seq: row.try_get("seq")?,
        action: row.try_get("action")?,
        vehicle_token_id: row.try_get("vehicle_token_id")?,
        user_id: row.try_get("user_id")?,
        status: row.try_get("status")?,
        code: row.try_get("code")?,
        reason: row.try_get("reason")?,
        state: json_column(&row, "state")?,
        output: json_column(&row, "output")?,
        issued_ms: row.try_get("issued_ms")?,
        expires_ms: row.try_get("expires_ms")?,
        completed_ms: row.try_get("completed_ms")?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(status: ResultStatus, code: Option<RejectCode>, counts: bool) {
        let r = CommandResult {
            request_id: "r".into(),
            action: "doors.lock".into(),
            status,
            code,
            reason: None,
            state: Default::default(),
            output: Value::Null,
            seq: None,
        };
        assert_eq!(result_counts(&r), counts, "{status:?} {code:?}");
    }

    #[test]
    fn results_answering_possibly_forged_envelopes_change_nothing() {
        use RejectCode as C;
        use ResultStatus as S;
        check(S::Executed, None, true);
        check(S::Failed, None, true);
        check(S::Failed, Some(C::Unsupported), true);
        check(S::Expired, Some(C::Expired), true);
        check(S::Rejected, Some(C::StaleSeq), true);
        check(S::Rejected, Some(C::UnknownAction), true);
        check(S::Rejected, Some(C::Policy), true);
        check(S::Rejected, Some(C::ForeignSigner), false);
        check(S::Rejected, Some(C::WrongSubject), false);
        check(S::Rejected, Some(C::Malformed), false);
        check(S::Rejected, Some(C::Replayed), false);
    }
}
