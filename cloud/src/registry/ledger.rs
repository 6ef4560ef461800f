//! The ledger of signed registry calls and the [`Registry`] trait that executes them.
//!
//! Each call (claim, pair, unpair, mint, mint_synthetic) is recorded with its payload, signing hash and
//! signatures, and moves through `unsubmitted → submitted → mined → confirmed` (or
//! `failed`). [`LedgerRegistry`], the default, applies the call's effect to the database
//! and confirms it at once, all in one transaction; an Ethereum JSON-RPC backend would
//! submit the transaction instead and confirm from chain events, behind the same trait.
//! Every signature is accepted once: `registry_signatures` makes a replay fail the whole
//! transaction, so nothing is recorded for it.

use std::future::Future;
use std::pin::Pin;

use pitlane_shared::identity::{B256, Signature};
use serde_json::Value;
use sqlx::{Any, Row, Transaction};

use super::{RegistryError, db_id, token_id};
use crate::accounts::now;
use crate::db::{Db, is_unique_violation};
use crate::telemetry::vehicle_codes;

/// What a call changes once confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// The device gets an owner.
    Claim { device: u64, owner_user_id: String },
    /// The device is paired to the vehicle.
    Pair { device: u64, vehicle: u64 },
    /// The pairing ends.
    Unpair { device: u64, vehicle: u64 },
    /// The user device becomes a vehicle token.
    Mint {
        user_device_id: String,
        owner_user_id: String,
        manufacturer_node: u64,
        image_data: Option<String>,
        image_data_transparent: Option<String>,
    },
    /// A synthetic device (a software connection's token) is bound to the vehicle.
    MintSynthetic {
        vehicle: u64,
        integration: String,
        /// Lowercase 0x address of the synthetic device.
        address: String,
    },
}

impl Effect {
    /// The ledger's `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Effect::Claim { .. } => "claim",
            Effect::Pair { .. } => "pair",
            Effect::Unpair { .. } => "unpair",
            Effect::Mint { .. } => "mint",
            Effect::MintSynthetic { .. } => "mint_synthetic",
        }
    }
}

/// A verified call, ready to record.
#[derive(Debug, Clone)]
pub struct SignedCall {
    /// Who asked.
    pub user_id: String,
    /// The `eth_signTypedData_v4` payload that was signed.
    pub payload: Value,
    /// Its EIP-712 signing hash.
    pub payload_hash: B256,
    /// Each signature with its role (`user`, `aftermarketDevice`).
    pub signatures: Vec<(&'static str, Signature)>,
    pub effect: Effect,
}

/// Where a call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStatus {
    Unsubmitted,
    Submitted,
    Mined,
    Confirmed,
    Failed,
}

impl CallStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Unsubmitted => "unsubmitted",
            CallStatus::Submitted => "submitted",
            CallStatus::Mined => "mined",
            CallStatus::Confirmed => "confirmed",
            CallStatus::Failed => "failed",
        }
    }
}

/// The result of submitting a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallOutcome {
    /// The ledger row.
    pub call_id: i64,
    pub status: CallStatus,
    /// The vehicle (mint) or synthetic device (mint_synthetic) token the call created.
    pub minted_token_id: Option<u64>,
}

/// Executes verified registry calls.
pub trait Registry: Send + Sync + std::fmt::Debug {
    /// Records `call` and carries it out (or queues it, for a chain backend).
    fn submit<'a>(
        &'a self,
        db: &'a Db,
        call: SignedCall,
    ) -> Pin<Box<dyn Future<Output = Result<CallOutcome, RegistryError>> + Send + 'a>>;
}

/// The default registry: the database is the chain, and every call confirms at once.
#[derive(Debug, Clone, Copy, Default)]
pub struct LedgerRegistry;

impl Registry for LedgerRegistry {
    fn submit<'a>(
        &'a self,
        db: &'a Db,
        call: SignedCall,
    ) -> Pin<Box<dyn Future<Output = Result<CallOutcome, RegistryError>> + Send + 'a>> {
        Box::pin(async move {
            let mut tx = db.pool.begin().await?;
            let outcome = record_and_apply(&mut tx, &call).await?;
            tx.commit().await?;
            Ok(outcome)
        })
    }
}

/// Whether a signature was already used by a recorded call (checked early for a clear
/// error; the unique key in [`LedgerRegistry::submit`] settles races).
pub async fn signature_used(db: &Db, signature: &Signature) -> Result<bool, RegistryError> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT call_id FROM registry_signatures WHERE signature = $1")
            .bind(signature.to_hex())
            .fetch_optional(&db.pool)
            .await?;
    Ok(found.is_some())
}

/// Why a replayed signature is refused.
pub const REPLAYED: &str =
    "replayed signature: it was already used for a registry call; sign a new payload";

/// The replay error.
pub fn replayed() -> RegistryError {
    RegistryError::BadSignature(REPLAYED.into())
}

async fn record_and_apply(
    tx: &mut Transaction<'static, Any>,
    call: &SignedCall,
) -> Result<CallOutcome, RegistryError> {
    let ts = now();
    let signatures: serde_json::Map<String, Value> = call
        .signatures
        .iter()
        .map(|(role, s)| ((*role).to_owned(), Value::String(s.to_hex())))
        .collect();
    let row = sqlx::query(
        "INSERT INTO registry_calls (kind, user_id, payload, payload_hash, signatures, status, \
         created_at) VALUES ($1, $2, $3, $4, $5, 'unsubmitted', $6) RETURNING id",
    )
    .bind(call.effect.kind())
    .bind(&call.user_id)
    .bind(call.payload.to_string())
    .bind(format!("{:#x}", call.payload_hash))
    .bind(Value::Object(signatures).to_string())
    .bind(ts)
    .fetch_one(&mut **tx)
    .await?;
    let call_id: i64 = row.try_get("id")?;
    for (_, signature) in &call.signatures {
        let inserted =
            sqlx::query("INSERT INTO registry_signatures (signature, call_id) VALUES ($1, $2)")
                .bind(signature.to_hex())
                .bind(call_id)
                .execute(&mut **tx)
                .await;
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Err(replayed()),
            Err(e) => return Err(e.into()),
        }
    }
    let minted_token_id = apply(tx, &call.effect, ts).await?;
    // The ledger is its own chain: submitted, mined and confirmed in the same instant.
    sqlx::query(
        "UPDATE registry_calls SET status = 'confirmed', submitted_at = $1, mined_at = $1, \
         confirmed_at = $1 WHERE id = $2",
    )
    .bind(ts)
    .bind(call_id)
    .execute(&mut **tx)
    .await?;
    Ok(CallOutcome {
        call_id,
        status: CallStatus::Confirmed,
        minted_token_id,
    })
}

fn id(token: u64) -> Result<i64, RegistryError> {
    db_id(token).ok_or(RegistryError::NotFound("token"))
}

/// The statement's result, or `conflict` when a unique key refused the row.
fn unique<T>(done: Result<T, sqlx::Error>, conflict: &str) -> Result<T, RegistryError> {
    match done {
        Err(e) if is_unique_violation(&e) => Err(RegistryError::Conflict(conflict.into())),
        done => Ok(done?),
    }
}

async fn apply(
    tx: &mut Transaction<'static, Any>,
    effect: &Effect,
    ts: i64,
) -> Result<Option<u64>, RegistryError> {
    match effect {
        Effect::Claim {
            device,
            owner_user_id,
        } => {
            let done = sqlx::query(
                "UPDATE aftermarket_devices SET owner_user_id = $1, claimed_at = $2 \
                 WHERE token_id = $3 AND owner_user_id IS NULL",
            )
            .bind(owner_user_id)
            .bind(ts)
            .bind(id(*device)?)
            .execute(&mut **tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(RegistryError::Conflict(
                    "the device is already claimed".into(),
                ));
            }
            Ok(None)
        }
        Effect::Pair { device, vehicle } => {
            let done = sqlx::query(
                "INSERT INTO pairings (vehicle_token_id, aftermarket_token_id, paired_at) \
                 VALUES ($1, $2, $3)",
            )
            .bind(id(*vehicle)?)
            .bind(id(*device)?)
            .bind(ts)
            .execute(&mut **tx)
            .await;
            unique(done, "the vehicle or the device is already paired")?;
            // The first report usually arrives before the owner pairs the device; without
            // this the vehicle would show no codes until the next periodic read.
            let copied =
                vehicle_codes::copy_latest_on_pair(tx, id(*device)?, id(*vehicle)?).await?;
            tracing::debug!(device, vehicle, ?copied, "trouble codes on pairing");
            Ok(None)
        }
        Effect::Unpair { device, vehicle } => {
            let done = sqlx::query(
                "DELETE FROM pairings WHERE vehicle_token_id = $1 AND aftermarket_token_id = $2",
            )
            .bind(id(*vehicle)?)
            .bind(id(*device)?)
            .execute(&mut **tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(RegistryError::Conflict(
                    "the device is not paired to this vehicle".into(),
                ));
            }
            Ok(None)
        }
        Effect::Mint {
            user_device_id,
            owner_user_id,
            manufacturer_node,
            image_data,
            image_data_transparent,
        } => {
            let row = sqlx::query(
                "INSERT INTO vehicle_tokens (user_device_id, owner_user_id, manufacturer_node, \
                 image_data, image_data_transparent, minted_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 RETURNING token_id",
            )
            .bind(user_device_id)
            .bind(owner_user_id)
            .bind(id(*manufacturer_node)?)
            .bind(image_data)
            .bind(image_data_transparent)
            .bind(ts)
            .fetch_one(&mut **tx)
            .await;
            let row = unique(row, "the vehicle is already minted")?;
            Ok(Some(token_id(row.try_get("token_id")?)?))
        }
        Effect::MintSynthetic {
            vehicle,
            integration,
            address,
        } => {
            let row = sqlx::query(
                "INSERT INTO synthetic_devices (vehicle_token_id, integration, address, \
                 minted_at) VALUES ($1, $2, $3, $4) RETURNING token_id",
            )
            .bind(id(*vehicle)?)
            .bind(integration)
            .bind(address)
            .bind(ts)
            .fetch_one(&mut **tx)
            .await;
            let row = unique(
                row,
                "the vehicle or the address already has a synthetic device",
            )?;
            Ok(Some(token_id(row.try_get("token_id")?)?))
        }
    }
}

/// One recorded call, for inspection (tests, the admin view).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedCall {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub payload_hash: String,
    pub signatures: Value,
    pub tx_hash: Option<String>,
    pub failure_reason: Option<String>,
    pub created_at: i64,
    pub confirmed_at: Option<i64>,
}

/// The most recent calls, newest first.
pub async fn recent_calls(db: &Db, limit: u32) -> Result<Vec<RecordedCall>, RegistryError> {
    let rows = sqlx::query(
        "SELECT id, kind, status, payload_hash, signatures, tx_hash, failure_reason, \
         created_at, confirmed_at FROM registry_calls ORDER BY id DESC LIMIT $1",
    )
    .bind(i64::from(limit))
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            let signatures: String = row.try_get("signatures")?;
            Ok(RecordedCall {
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                status: row.try_get("status")?,
                payload_hash: row.try_get("payload_hash")?,
                signatures: serde_json::from_str(&signatures)
                    .map_err(|e| RegistryError::Corrupt(format!("signatures: {e}")))?,
                tx_hash: row.try_get("tx_hash")?,
                failure_reason: row.try_get("failure_reason")?,
                created_at: row.try_get("created_at")?,
                confirmed_at: row.try_get("confirmed_at")?,
            })
        })
        .collect()
}
