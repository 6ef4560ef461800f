//! DCN (DIMO Canonical Name) nodes in the ledger: a name such as `mycar.dimo` registered to
//! an owner address until an expiration time, optionally resolving to a vehicle. Its node id
//! is the EIP-137 namehash of the name, written as `0x` + 64 hex digits (the API also takes
//! the same number in decimal, as the contracts' `uint256`).

use pitlane_shared::eip712::U256;
use pitlane_shared::identity::{Address, B256, keccak256};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::vehicles::vehicle_by_token;
use super::{RegistryError, db_id, stored_address, token_id};
use crate::accounts::now;
use crate::db::{Db, is_unique_violation};

/// Longest accepted name.
pub const MAX_NAME: usize = 253;

/// A registered name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcnNode {
    pub node: B256,
    pub name: String,
    pub owner: Address,
    pub vehicle_token_id: Option<u64>,
    pub expires_at: i64,
    pub created_at: i64,
}

/// Lower-cases and checks a name: dot-separated labels of `a-z 0-9 -`, each 1–63
/// characters, not starting or ending with `-`, at least two labels.
pub fn normalize_name(name: &str) -> Result<String, RegistryError> {
    let name = name.trim().to_ascii_lowercase();
    let bad = |why: &str| RegistryError::BadInput(format!("name: {why}"));
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(bad(&format!("must be 1 to {MAX_NAME} characters")));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err(bad("must have at least two labels, like mycar.dimo"));
    }
    for label in labels {
        if label.is_empty() || label.len() > 63 {
            return Err(bad("each label must be 1 to 63 characters"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            || label.starts_with('-')
            || label.ends_with('-')
        {
            return Err(bad("labels hold only letters, digits and inner hyphens"));
        }
    }
    Ok(name)
}

/// EIP-137 namehash of a normalized name.
pub fn namehash(name: &str) -> B256 {
    let mut node = B256::ZERO;
    if name.is_empty() {
        return node;
    }
    for label in name.rsplit('.') {
        let mut buf = [0u8; 64];
        buf[..32].copy_from_slice(node.as_slice());
        buf[32..].copy_from_slice(keccak256(label.as_bytes()).as_slice());
        node = keccak256(buf);
    }
    node
}

/// Parses a node id: `0x` + 64 hex digits, or a decimal number below 2^256.
pub fn parse_node_id(text: &str) -> Option<B256> {
    if let Some(digits) = text.strip_prefix("0x") {
        if digits.len() != 64 {
            return None;
        }
        let bytes: [u8; 32] = hex::decode(digits).ok()?.try_into().ok()?;
        return Some(B256::from(bytes));
    }
    if text.is_empty() || text.len() > 78 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = U256::from_str_radix(text, 10).ok()?;
    Some(B256::from(n.to_be_bytes::<32>()))
}

fn from_row(row: &AnyRow) -> Result<DcnNode, RegistryError> {
    let node: String = row.try_get("node")?;
    let owner: String = row.try_get("owner_address")?;
    let vehicle: Option<i64> = row.try_get("vehicle_token_id")?;
    Ok(DcnNode {
        node: parse_node_id(&node)
            .ok_or_else(|| RegistryError::Corrupt(format!("DCN node {node:?}")))?,
        name: row.try_get("name")?,
        owner: stored_address(&owner)?,
        vehicle_token_id: vehicle.map(token_id).transpose()?,
        expires_at: row.try_get("expires_at")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Registers `name` to `owner` until `expires_at`, optionally resolving to a vehicle.
pub async fn register(
    db: &Db,
    name: &str,
    owner: &Address,
    vehicle_token_id: Option<u64>,
    expires_at: i64,
) -> Result<DcnNode, RegistryError> {
    let name = normalize_name(name)?;
    let ts = now();
    if expires_at <= ts {
        return Err(RegistryError::BadInput(
            "expiresAt: must be in the future".into(),
        ));
    }
    if let Some(token) = vehicle_token_id
        && vehicle_by_token(db, token).await?.is_none()
    {
        return Err(RegistryError::NotFound("vehicle"));
    }
    let node = namehash(&name);
    let inserted = sqlx::query(
        "INSERT INTO dcn_nodes (node, name, owner_address, vehicle_token_id, expires_at, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(format!("{node:#x}"))
    .bind(&name)
    .bind(owner.to_lowercase_hex())
    .bind(vehicle_token_id.and_then(db_id))
    .bind(expires_at)
    .bind(ts)
    .execute(&db.pool)
    .await;
    match inserted {
        Ok(_) => Ok(DcnNode {
            node,
            name,
            owner: *owner,
            vehicle_token_id,
            expires_at,
            created_at: ts,
        }),
        Err(e) if is_unique_violation(&e) => Err(RegistryError::Conflict(format!(
            "name: {name} is already registered"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// The node with this id.
pub async fn by_node(db: &Db, node: &B256) -> Result<Option<DcnNode>, RegistryError> {
    let row = sqlx::query(
        "SELECT node, name, owner_address, vehicle_token_id, expires_at, created_at \
         FROM dcn_nodes WHERE node = $1",
    )
    .bind(format!("{node:#x}"))
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(from_row).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namehash_matches_eip137() {
        // The vectors of EIP-137.
        assert_eq!(namehash(""), B256::ZERO);
        assert_eq!(
            format!("{:#x}", namehash("eth")),
            "0x93cdeb708b7545dc668eb9280176169d1c33cfd8ed6f04690a0bcc88a93fc4ae"
        );
        assert_eq!(
            format!("{:#x}", namehash("foo.eth")),
            "0xde9b09fd7c5f901e23a3f19fecc54828e9c848539801e86591bd9801b019f84f"
        );
    }

    fn check(name: &str, expected: Option<&str>) {
        assert_eq!(normalize_name(name).ok().as_deref(), expected, "{name:?}");
    }

    #[test]
    fn names_are_normalized_and_checked() {
        check("MyCar.dimo", Some("mycar.dimo"));
        check("a-b.c1", Some("a-b.c1"));
        check("dimo", None);
        check("-a.dimo", None);
        check("a..dimo", None);
        check("a_b.dimo", None);
        check(&format!("{}.dimo", "a".repeat(64)), None);
    }

    #[test]
    fn node_ids_in_hex_or_decimal() {
        let node = namehash("foo.eth");
        assert_eq!(parse_node_id(&format!("{node:#x}")), Some(node));
        let decimal = U256::from_be_bytes(node.0).to_string();
        assert_eq!(parse_node_id(&decimal), Some(node));
        assert_eq!(parse_node_id("0x12"), None);
        assert_eq!(parse_node_id("-1"), None);
        assert_eq!(parse_node_id(""), None);
        assert_eq!(parse_node_id(&"9".repeat(79)), None);
    }
}
