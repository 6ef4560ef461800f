//! Signatures on registry calls: how the API accepts them, who must have made them, and
//! asking the device for its own when the caller did not bring it.

use std::time::Duration;

use pitlane_shared::eip712::{DimoPayload, TypedData};
use pitlane_shared::identity::{Address, Signature};
use serde::Deserialize;

use super::ledger::{REPLAYED, Registry, replayed, signature_used};
use super::{Chain, DeviceSigner, RegistryError};
use crate::accounts::users;
use crate::db::Db;

/// What registry operations need from the running service.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub db: &'a Db,
    pub chain: &'a Chain,
    pub registry: &'a dyn Registry,
    /// Asks devices to sign (the MQTT layer); `None`: device signatures must be given.
    pub signer: Option<&'a dyn DeviceSigner>,
    pub sign_timeout: Duration,
}

/// A signature as a request carries it: `0x` + 130 hex digits, or an array of 65 byte
/// values (DIMO's pairing body).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum SignatureInput {
    Hex(String),
    Bytes(Vec<u8>),
}

impl SignatureInput {
    /// The checked signature (65 bytes, v = 27/28 or 0/1, low s); errors name `field`.
    pub fn parse(&self, field: &str) -> Result<Signature, RegistryError> {
        let parsed = match self {
            SignatureInput::Hex(text) => text.trim().parse::<Signature>(),
            SignatureInput::Bytes(bytes) => Signature::from_bytes(bytes),
        };
        parsed.map_err(|e| RegistryError::BadSignature(format!("{field}: {e}")))
    }
}

/// Parses an optional signature and refuses one that a recorded call already used.
pub async fn fresh(
    db: &Db,
    field: &str,
    input: Option<&SignatureInput>,
) -> Result<Option<Signature>, RegistryError> {
    let Some(input) = input else {
        return Ok(None);
    };
    let signature = input.parse(field)?;
    if signature_used(db, &signature).await? {
        return Err(RegistryError::BadSignature(format!("{field}: {REPLAYED}")));
    }
    Ok(Some(signature))
}

/// The request field of the device's signature.
pub const DEVICE_FIELD: &str = "aftermarketDeviceSignature";

/// The signatures a registry request brings, parsed and not used by a recorded call.
#[derive(Debug, Clone)]
pub struct Presented {
    /// The caller's (required).
    pub user: Signature,
    /// The device's ([`DEVICE_FIELD`]), when given.
    pub device: Option<Signature>,
}

/// The signatures a claim or pairing request carries, as given.
#[derive(Debug, Clone, Default)]
pub struct Given {
    /// The caller's wallet's.
    pub user: Option<SignatureInput>,
    /// The device's; may be omitted (see [`device_signature`]).
    pub device: Option<SignatureInput>,
}

impl Given {
    /// [`presented`] for these signatures.
    pub async fn presented(&self, db: &Db, user_field: &str) -> Result<Presented, RegistryError> {
        presented(db, user_field, self.user.as_ref(), self.device.as_ref()).await
    }
}

/// Parses the caller's signature (required; `user_field` names it in errors) and the
/// device's (optional), refusing malformed or replayed ones.
pub async fn presented(
    db: &Db,
    user_field: &str,
    user: Option<&SignatureInput>,
    device: Option<&SignatureInput>,
) -> Result<Presented, RegistryError> {
    let user = fresh(db, user_field, user)
        .await?
        .ok_or_else(|| RegistryError::BadSignature(format!("{user_field} is required")))?;
    let device = fresh(db, DEVICE_FIELD, device).await?;
    Ok(Presented { user, device })
}

/// `payload` as typed data on the configured chain, once `signature` (the request's
/// `field`) is checked to be the caller's `wallet`'s.
pub fn signed_by_wallet(
    ctx: &Ctx<'_>,
    field: &str,
    payload: &DimoPayload,
    signature: &Signature,
    wallet: &Address,
) -> Result<TypedData, RegistryError> {
    let typed = payload.typed_data(&ctx.chain.domain);
    expect_signer(field, &typed, signature, wallet, "your wallet")?;
    Ok(typed)
}

/// Checks that `signature` over `typed` was made by `expected` (`who` names the signer).
pub fn expect_signer(
    field: &str,
    typed: &TypedData,
    signature: &Signature,
    expected: &Address,
    who: &str,
) -> Result<(), RegistryError> {
    let recovered = typed
        .recover_signer(signature)
        .map_err(|e| RegistryError::BadSignature(format!("{field}: {e}")))?;
    if recovered != *expected {
        return Err(RegistryError::BadSignature(format!(
            "{field}: the signature recovers to {recovered}, not to {who} {expected} \
             (wrong key, or a different payload was signed)"
        )));
    }
    Ok(())
}

/// The wallet address of an account (set by Web3 login); needed to sign registry calls.
pub async fn user_wallet(db: &Db, user_id: &str) -> Result<Address, RegistryError> {
    let user = users::by_id(db, user_id)
        .await
        .map_err(|e| match e {
            crate::accounts::AccountError::Db(crate::db::DbError::Sqlx(e)) => RegistryError::Db(e),
            other => RegistryError::Corrupt(other.to_string()),
        })?
        .ok_or(RegistryError::NotFound("account"))?;
    let wallet = user.wallet_address.ok_or_else(|| {
        RegistryError::BadInput(
            "your account has no wallet: log in with a wallet (Web3 challenge) to sign registry calls"
                .into(),
        )
    })?;
    wallet
        .parse()
        .map_err(|e| RegistryError::Corrupt(format!("wallet {wallet:?}: {e}")))
}

/// The device's signature over `typed`: the one given (checked), or, when omitted and
/// `may_ask` allows, one requested from the device through the signer (checked as well:
/// the answer is never trusted).
pub async fn device_signature(
    ctx: &Ctx<'_>,
    field: &str,
    given: Option<Signature>,
    typed: &TypedData,
    device: &Address,
    may_ask: bool,
) -> Result<Signature, RegistryError> {
    let signature = match given {
        Some(signature) => signature,
        None => {
            let signer = ctx.signer.filter(|_| may_ask).ok_or_else(|| {
                RegistryError::BadSignature(format!(
                    "{field} is required: the device's signature over the payload"
                ))
            })?;
            let signature = signer
                .sign_typed_data(device, typed.to_json(), ctx.sign_timeout)
                .await?;
            if signature_used(ctx.db, &signature).await? {
                return Err(replayed());
            }
            signature
        }
    };
    expect_signer(field, typed, &signature, device, "the device")?;
    Ok(signature)
}
