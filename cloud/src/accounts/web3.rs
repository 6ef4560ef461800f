//! Web3 challenge login: a sign-in message with a single-use nonce, signed by the wallet
//! (EIP-191 `personal_sign`), recovered and matched to the address; no password needed.

use pitlane_shared::identity::{Address, Signature, personal_message_hash};
use sqlx::Row;

use super::users::{self, NewUser, User};
use super::{AccountError, now, rfc3339_secs, secrets};
use crate::db::Db;

/// A challenge to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub state: String,
    pub message: String,
}

/// Creates a challenge for `address` (EIP-4361 wording), valid for `ttl` seconds.
pub async fn generate(
    db: &Db,
    address: &str,
    domain: &str,
    uri: &str,
    ttl: i64,
) -> Result<Challenge, AccountError> {
    let address: Address = address
        .trim()
        .parse()
        .map_err(|_| AccountError::BadInput("address must be a 0x-hex Ethereum address"))?;
    let ts = now();
    let nonce = secrets::random_token();
    let message = format!(
        "{domain} wants you to sign in with your Ethereum account:\n{}\n\nSign in to Pitlane.\n\nURI: {uri}\nVersion: 1\nNonce: {nonce}\nIssued At: {}\nExpiration Time: {}",
        address.to_checksum(),
        rfc3339_secs(ts),
        rfc3339_secs(ts + ttl),
    );
    let state = secrets::random_token();
    sqlx::query(
        "INSERT INTO web3_challenges (state, address, message, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&state)
    .bind(address.to_lowercase_hex())
    .bind(&message)
    .bind(ts)
    .bind(ts + ttl)
    .execute(&db.pool)
    .await?;
    Ok(Challenge { state, message })
}

/// Spends the challenge and checks the signature; answers the wallet that signed it. The
/// challenge is spent whether or not the signature is good.
pub async fn spend(db: &Db, state: &str, signature_hex: &str) -> Result<Address, AccountError> {
    let ts = now();
    let spent = sqlx::query(
        "UPDATE web3_challenges SET used_at = $1 WHERE state = $2 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(ts)
    .bind(state)
    .execute(&db.pool)
    .await?;
    if spent.rows_affected() != 1 {
        return Err(AccountError::InvalidToken);
    }
    let row = sqlx::query("SELECT address, message FROM web3_challenges WHERE state = $1")
        .bind(state)
        .fetch_one(&db.pool)
        .await?;
    let address: String = row.try_get("address")?;
    let message: String = row.try_get("message")?;
    let signature: Signature = signature_hex
        .trim()
        .parse()
        .map_err(|_| AccountError::InvalidCredentials)?;
    let signer = signature
        .recover(&personal_message_hash(message.as_bytes()))
        .map_err(|_| AccountError::InvalidCredentials)?;
    if signer.to_lowercase_hex() != address {
        return Err(AccountError::InvalidCredentials);
    }
    Ok(signer)
}

/// Spends the challenge and checks the signature; answers the wallet's account (created
/// on first login).
pub async fn submit(db: &Db, state: &str, signature_hex: &str) -> Result<User, AccountError> {
    let address = spend(db, state, signature_hex).await?.to_lowercase_hex();
    if let Some(user) = users::by_wallet(db, &address).await? {
        return Ok(user);
    }
    let created = users::create(
        db,
        NewUser {
            name: address.clone(),
            wallet_address: Some(address.clone()),
            ..NewUser::default()
        },
    )
    .await;
    match created {
        Ok(user) => Ok(user),
        // Two first logins raced: the other one created the account.
        Err(AccountError::Conflict) => users::by_wallet(db, &address)
            .await?
            .ok_or(AccountError::NotFound),
        Err(e) => Err(e),
    }
}
