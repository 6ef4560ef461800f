//! Aftermarket devices: provisioning (serial, address, manufacturer, a one-time MQTT
//! password), look-ups, and the broker's login check.

use pitlane_shared::identity::Address;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{RegistryError, db_id, stored_address, token_id};
use crate::accounts::now;
use crate::accounts::secrets::{ct_eq, random_token, sha256_hex};
use crate::db::{Db, is_unique_violation};

/// Longest accepted serial number.
pub const MAX_SERIAL: usize = 64;
/// Longest accepted manufacturer name.
pub const MAX_MANUFACTURER: usize = 100;
/// The manufacturer recorded when none is given.
pub const DEFAULT_MANUFACTURER: &str = "Pitlane";

/// A provisioned aftermarket device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AftermarketDevice {
    pub token_id: u64,
    pub serial: String,
    pub address: Address,
    pub manufacturer: String,
    /// Set by a confirmed claim.
    pub owner_user_id: Option<String>,
    pub created_at: i64,
    pub claimed_at: Option<i64>,
}

/// What provisioning records.
#[derive(Debug, Clone)]
pub struct NewDevice {
    pub serial: String,
    pub address: Address,
    pub manufacturer: String,
}

/// A newly registered device and its MQTT password (shown once; stored only as a digest).
#[derive(Debug, Clone)]
pub struct Registered {
    pub device: AftermarketDevice,
    pub mqtt_password: String,
}

/// Checks a serial number: 1–64 characters of `A-Z a-z 0-9 - _ . :`.
pub fn validate_serial(serial: &str) -> Result<(), RegistryError> {
    if serial.is_empty() || serial.len() > MAX_SERIAL {
        return Err(RegistryError::BadInput(format!(
            "serial: must be 1 to {MAX_SERIAL} characters"
        )));
    }
    if !serial
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    {
        return Err(RegistryError::BadInput(
            "serial: only letters, digits and - _ . : are allowed".into(),
        ));
    }
    Ok(())
}

/// Checks and trims a manufacturer name: 1–100 characters, no control characters.
pub fn validate_manufacturer(name: &str) -> Result<String, RegistryError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_MANUFACTURER {
        return Err(RegistryError::BadInput(format!(
            "manufacturer: must be 1 to {MAX_MANUFACTURER} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(RegistryError::BadInput(
            "manufacturer: control characters are not allowed".into(),
        ));
    }
    Ok(name.to_owned())
}

const SELECT: &str = "SELECT token_id, serial, address, manufacturer, owner_user_id, created_at, \
    claimed_at FROM aftermarket_devices";

fn from_row(row: &AnyRow) -> Result<AftermarketDevice, RegistryError> {
    let address: String = row.try_get("address")?;
    Ok(AftermarketDevice {
        token_id: token_id(row.try_get("token_id")?)?,
        serial: row.try_get("serial")?,
        address: stored_address(&address)?,
        manufacturer: row.try_get("manufacturer")?,
        owner_user_id: row.try_get("owner_user_id")?,
        created_at: row.try_get("created_at")?,
        claimed_at: row.try_get("claimed_at")?,
    })
}

/// Registers a device and creates its MQTT password. The serial and the address must be new.
pub async fn register_device(db: &Db, new: NewDevice) -> Result<Registered, RegistryError> {
    validate_serial(&new.serial)?;
    let manufacturer = validate_manufacturer(&new.manufacturer)?;
    let password = random_token();
    let ts = now();
    let inserted = sqlx::query(
        "INSERT INTO aftermarket_devices (serial, address, manufacturer, mqtt_password_hash, \
         created_at) VALUES ($1, $2, $3, $4, $5) RETURNING token_id",
    )
    .bind(&new.serial)
    .bind(new.address.to_lowercase_hex())
    .bind(&manufacturer)
    .bind(sha256_hex(&password))
    .bind(ts)
    .fetch_one(&db.pool)
    .await;
    let row = match inserted {
        Ok(row) => row,
        Err(e) if is_unique_violation(&e) => {
            let which = if device_by_serial(db, &new.serial).await?.is_some() {
                format!("serial: {} is already registered", new.serial)
            } else {
                format!("address: {} is already registered", new.address)
            };
            return Err(RegistryError::Conflict(which));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Registered {
        device: AftermarketDevice {
            token_id: token_id(row.try_get("token_id")?)?,
            serial: new.serial,
            address: new.address,
            manufacturer,
            owner_user_id: None,
            created_at: ts,
            claimed_at: None,
        },
        mqtt_password: password,
    })
}

async fn one(
    db: &Db,
    clause: &str,
    value: &str,
) -> Result<Option<AftermarketDevice>, RegistryError> {
    let row = sqlx::query(&format!("{SELECT} WHERE {clause}"))
        .bind(value)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The device with this address.
pub async fn device_by_address(
    db: &Db,
    address: &Address,
) -> Result<Option<AftermarketDevice>, RegistryError> {
    one(db, "address = $1", &address.to_lowercase_hex()).await
}

/// The device with this serial number.
pub async fn device_by_serial(
    db: &Db,
    serial: &str,
) -> Result<Option<AftermarketDevice>, RegistryError> {
    one(db, "serial = $1", serial).await
}

/// The device with this token id.
pub async fn device_by_token(
    db: &Db,
    token: u64,
) -> Result<Option<AftermarketDevice>, RegistryError> {
    let Some(id) = db_id(token) else {
        return Ok(None);
    };
    let row = sqlx::query(&format!("{SELECT} WHERE token_id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Up to `limit` devices with token ids above `after`, in token id order (admin listing).
pub async fn list_devices(
    db: &Db,
    after: u64,
    limit: u32,
) -> Result<Vec<AftermarketDevice>, RegistryError> {
    let after = db_id(after).unwrap_or(i64::MAX);
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE token_id > $1 ORDER BY token_id LIMIT $2"
    ))
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Whether `username` (a device address, lowercase 0x) and `password` are a registered
/// device's MQTT credentials. Unknown devices cost the same digest as known ones, and the
/// digests are compared in constant time.
pub async fn check_mqtt_login(
    db: &Db,
    username: &str,
    password: &str,
) -> Result<bool, RegistryError> {
    let presented = sha256_hex(password);
    let Ok(address) = username.parse::<Address>() else {
        return Ok(false);
    };
    if address.to_lowercase_hex() != username {
        return Ok(false);
    }
    let stored: Option<String> =
        sqlx::query_scalar("SELECT mqtt_password_hash FROM aftermarket_devices WHERE address = $1")
            .bind(username)
            .fetch_optional(&db.pool)
            .await?;
    Ok(stored.is_some_and(|stored| ct_eq(&stored, &presented)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(serial: &str, ok: bool) {
        assert_eq!(validate_serial(serial).is_ok(), ok, "{serial:?}");
    }

    #[test]
    fn serials_are_short_and_plain() {
        check("PL-0001", true);
        check("a.b:c_d", true);
        check(&"9".repeat(MAX_SERIAL), true);
        check(&"9".repeat(MAX_SERIAL + 1), false);
        check("", false);
        check("with space", false);
        check("../etc", false);
        check("ünï", false);
    }

    #[test]
    fn manufacturers_are_trimmed_and_bounded() {
        assert_eq!(
            validate_manufacturer("  Acme ").ok().as_deref(),
            Some("Acme")
        );
        assert!(validate_manufacturer("   ").is_err());
        assert!(validate_manufacturer("a\u{7}b").is_err());
        assert!(validate_manufacturer(&"x".repeat(MAX_MANUFACTURER + 1)).is_err());
    }
}
