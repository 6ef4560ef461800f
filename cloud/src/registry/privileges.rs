//! Vehicle privileges: who may act on a vehicle, and the short-lived privilege tokens the
//! token exchange issues and the vehicle routes require.
//!
//! Privilege ids are DIMO's: 1 all-time non-location data, 2 commands, 3 current location,
//! 4 all-time location, 5 VIN credential. The owner holds them all; the owner can share some
//! with another account until a given time.
//!
//! Tokens are HS256 JWTs under a key derived from the service's JWT key for this purpose
//! only, with their own audience (`pitlane:privilege`) and type (`privilege+jwt`), naming the
//! caller's session (`sid`) so that logging out revokes them too.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use pitlane_shared::identity::Address;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::vehicles::{VehicleToken, vehicle_by_token};
use super::{Chain, RegistryError, db_id};
use crate::accounts::secrets::{hmac_sha256_hex, random_id};
use crate::accounts::users;
use crate::db::Db;

/// The privilege ids DIMO defines.
pub const PRIVILEGES: [(u32, &str); 5] = [
    (1, "all-time non-location data"),
    (2, "commands"),
    (3, "current location"),
    (4, "all-time location"),
    (5, "VIN credential"),
];
/// Sending commands to the vehicle.
pub const COMMANDS: u32 = 2;

const ISSUER: &str = "pitlane";
const AUDIENCE: &str = "pitlane:privilege";
const TYP: &str = "privilege+jwt";
const LEEWAY: u64 = 5;

/// The claims of a privilege token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivilegeClaims {
    pub iss: String,
    pub aud: String,
    /// The user id the token was issued to.
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// The session the token came from.
    pub sid: String,
    /// The vehicle NFT contract (lowercase 0x).
    pub contract: String,
    pub token_id: u64,
    pub privilege_ids: Vec<u32>,
}

/// Signing and verification keys of privilege tokens.
#[derive(Clone)]
pub struct PrivilegeKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for PrivilegeKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivilegeKeys(HS256)")
    }
}

impl PrivilegeKeys {
    /// Keys derived from the service's JWT key (`DerivedKeys::jwt`).
    pub fn derive(jwt_key: &[u8]) -> Self {
        let key = hex::decode(hmac_sha256_hex(jwt_key, b"pitlane/privilege-token/v1"))
            .unwrap_or_default();
        PrivilegeKeys {
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
        }
    }

    /// Signs a token.
    pub fn issue(&self, claims: &PrivilegeClaims) -> Result<String, RegistryError> {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(TYP.into());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| RegistryError::Corrupt(format!("signing a privilege token: {e}")))
    }

    /// Verifies signature, issuer, audience, type, `exp` and `iat`; `None` when it fails.
    pub fn verify(&self, token: &str, now: i64) -> Option<PrivilegeClaims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub"]);
        validation.leeway = LEEWAY;
        // Expiry is checked below against the caller's clock, not the system's.
        validation.validate_exp = false;
        let data =
            jsonwebtoken::decode::<PrivilegeClaims>(token, &self.decoding, &validation).ok()?;
        if data.header.typ.as_deref() != Some(TYP) {
            return None;
        }
        let claims = data.claims;
        let leeway = LEEWAY as i64;
        (claims.exp > now - leeway && claims.iat <= now + leeway && claims.iat <= claims.exp)
            .then_some(claims)
    }
}

/// Checks requested privilege ids: 1 to 5 distinct known ids, returned sorted.
pub fn parse_privileges(ids: &[i64]) -> Result<Vec<u32>, RegistryError> {
    if ids.is_empty() {
        return Err(RegistryError::BadInput(
            "privileges: name at least one".into(),
        ));
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let known = u32::try_from(*id)
            .ok()
            .filter(|id| PRIVILEGES.iter().any(|(p, _)| p == id));
        let Some(id) = known else {
            return Err(RegistryError::BadInput(format!(
                "privileges: {id} is not a privilege id (1 to 5)"
            )));
        };
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// The privileges `user_id` holds on `vehicle` at `now`: all for the owner, else the
/// unexpired grants.
pub async fn held(
    db: &Db,
    vehicle: &VehicleToken,
    user_id: &str,
    now: i64,
) -> Result<Vec<u32>, RegistryError> {
    if vehicle.owner_user_id == user_id {
        return Ok(PRIVILEGES.iter().map(|(p, _)| *p).collect());
    }
    let rows = sqlx::query(
        "SELECT privilege_id FROM vehicle_privileges WHERE vehicle_token_id = $1 \
         AND grantee_user_id = $2 AND expires_at > $3 ORDER BY privilege_id",
    )
    .bind(db_id(vehicle.token_id).unwrap_or(i64::MAX))
    .bind(user_id)
    .bind(now)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let id: i64 = r.try_get("privilege_id")?;
            u32::try_from(id).map_err(|_| RegistryError::Corrupt(format!("privilege id {id}")))
        })
        .collect()
}

/// What a token exchange asks for.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub contract: Address,
    pub token_id: u64,
    pub privileges: Vec<u32>,
}

/// Issues a privilege token when the caller holds every requested privilege.
pub async fn exchange(
    db: &Db,
    chain: &Chain,
    keys: &PrivilegeKeys,
    session: (&str, &str),
    request: &Exchange,
    now: i64,
    ttl_secs: i64,
) -> Result<String, RegistryError> {
    let (user_id, session_id) = session;
    if request.contract != chain.vehicle_nft {
        return Err(RegistryError::BadInput(format!(
            "nftContractAddress: only the vehicle contract {} is supported",
            chain.vehicle_nft
        )));
    }
    let vehicle = vehicle_by_token(db, request.token_id)
        .await?
        .ok_or(RegistryError::NotFound("vehicle"))?;
    let held = held(db, &vehicle, user_id, now).await?;
    let missing: Vec<String> = request
        .privileges
        .iter()
        .filter(|p| !held.contains(p))
        .map(u32::to_string)
        .collect();
    if !missing.is_empty() {
        return Err(RegistryError::Forbidden(format!(
            "you do not hold privilege(s) {} on vehicle {}",
            missing.join(", "),
            vehicle.token_id
        )));
    }
    keys.issue(&PrivilegeClaims {
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        sub: user_id.to_owned(),
        iat: now,
        exp: now + ttl_secs,
        jti: random_id("prv"),
        sid: session_id.to_owned(),
        contract: chain.vehicle_nft.to_lowercase_hex(),
        token_id: vehicle.token_id,
        privilege_ids: request.privileges.clone(),
    })
}

/// One shared privilege.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub grantee_user_id: String,
    pub grantee_wallet: Option<String>,
    pub privilege_id: u32,
    pub expires_at: i64,
}

/// The vehicle `token` if `user_id` owns it (another user's vehicle is not found).
pub async fn owned_vehicle_token(
    db: &Db,
    user_id: &str,
    token: u64,
) -> Result<VehicleToken, RegistryError> {
    vehicle_by_token(db, token)
        .await?
        .filter(|v| v.owner_user_id == user_id)
        .ok_or(RegistryError::NotFound("vehicle"))
}

/// Shares `privileges` on the owner's vehicle with the account holding `grantee` (a
/// wallet), until `expires_at`; granting again extends or shortens the time.
pub async fn grant(
    db: &Db,
    owner_user_id: &str,
    vehicle_token_id: u64,
    grantee: &Address,
    privileges: &[u32],
    expires_at: i64,
    now: i64,
) -> Result<(), RegistryError> {
    let vehicle = owned_vehicle_token(db, owner_user_id, vehicle_token_id).await?;
    if expires_at <= now {
        return Err(RegistryError::BadInput(
            "expiresAt: must be in the future".into(),
        ));
    }
    let grantee = users::by_wallet(db, &grantee.to_lowercase_hex())
        .await
        .map_err(|e| RegistryError::Corrupt(e.to_string()))?
        .ok_or(RegistryError::NotFound("account with that wallet"))?;
    if grantee.id == owner_user_id {
        return Err(RegistryError::BadInput(
            "grantee: the owner already holds every privilege".into(),
        ));
    }
    let mut tx = db.pool.begin().await?;
    for privilege in privileges {
        sqlx::query(
            "INSERT INTO vehicle_privileges (vehicle_token_id, grantee_user_id, privilege_id, \
             expires_at, granted_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (vehicle_token_id, grantee_user_id, privilege_id) \
             DO UPDATE SET expires_at = excluded.expires_at, granted_at = excluded.granted_at",
        )
        .bind(db_id(vehicle.token_id).unwrap_or(i64::MAX))
        .bind(&grantee.id)
        .bind(i64::from(*privilege))
        .bind(expires_at)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Withdraws every privilege the account holding `grantee` has on the owner's vehicle.
pub async fn revoke(
    db: &Db,
    owner_user_id: &str,
    vehicle_token_id: u64,
    grantee: &Address,
) -> Result<u64, RegistryError> {
    let vehicle = owned_vehicle_token(db, owner_user_id, vehicle_token_id).await?;
    let done = sqlx::query(
        "DELETE FROM vehicle_privileges WHERE vehicle_token_id = $1 AND grantee_user_id IN \
         (SELECT id FROM users WHERE wallet_address = $2)",
    )
    .bind(db_id(vehicle.token_id).unwrap_or(i64::MAX))
    .bind(grantee.to_lowercase_hex())
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected())
}

/// The unexpired grants on the owner's vehicle.
pub async fn grants(
    db: &Db,
    owner_user_id: &str,
    vehicle_token_id: u64,
    now: i64,
) -> Result<Vec<Grant>, RegistryError> {
    let vehicle = owned_vehicle_token(db, owner_user_id, vehicle_token_id).await?;
    let rows = sqlx::query(
        "SELECT p.grantee_user_id, u.wallet_address, p.privilege_id, p.expires_at \
         FROM vehicle_privileges p JOIN users u ON u.id = p.grantee_user_id \
         WHERE p.vehicle_token_id = $1 AND p.expires_at > $2 \
         ORDER BY u.wallet_address, p.privilege_id",
    )
    .bind(db_id(vehicle.token_id).unwrap_or(i64::MAX))
    .bind(now)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let id: i64 = r.try_get("privilege_id")?;
            Ok(Grant {
                grantee_user_id: r.try_get("grantee_user_id")?,
                grantee_wallet: r.try_get("wallet_address")?,
                privilege_id: u32::try_from(id)
                    .map_err(|_| RegistryError::Corrupt(format!("privilege id {id}")))?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(ids: &[i64], expected: Option<&[u32]>) {
        assert_eq!(parse_privileges(ids).ok().as_deref(), expected, "{ids:?}");
    }

    #[test]
    fn privilege_ids_are_dimos_five() {
        check(&[2], Some(&[2]));
        check(&[5, 1, 5], Some(&[1, 5]));
        check(&[], None);
        check(&[0], None);
        check(&[6], None);
        check(&[-1], None);
        check(&[i64::MAX], None);
    }

    #[test]
    fn tokens_round_trip_and_refuse_tampering() {
        let keys = PrivilegeKeys::derive(b"0123456789abcdef0123456789abcdef");
        let claims = PrivilegeClaims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: "usr_1".into(),
            iat: 1000,
            exp: 1600,
            jti: "prv_1".into(),
            sid: "ses_1".into(),
            contract: "0x0000000000000000000000000000000000001001".into(),
            token_id: 7,
            privilege_ids: vec![2],
        };
        let token = keys.issue(&claims).expect("issue");
        assert_eq!(keys.verify(&token, 1100), Some(claims.clone()));
        assert_eq!(keys.verify(&token, 1700), None, "expired");
        let other = PrivilegeKeys::derive(b"another-key-another-key-another-k");
        assert_eq!(other.verify(&token, 1100), None, "foreign key");
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = serde_json::to_vec(&PrivilegeClaims {
            token_id: 8,
            ..claims
        })
        .expect("json");
        let forged =
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, forged);
        parts[1] = &forged;
        assert_eq!(keys.verify(&parts.join("."), 1100), None, "tampered claims");
    }
}
