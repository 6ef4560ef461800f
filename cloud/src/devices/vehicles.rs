//! Users' vehicles ("user devices"): creation from a device definition or a decoded VIN,
//! listing, and VIN updates. Every query is scoped to the owner's user id.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::definitions::{self, DeviceDefinition, Mmy};
use super::{DevicesError, new_id};
use crate::accounts::now;
use crate::db::{Db, is_unique_violation};
use crate::vin::{Decoded, Decoder};

/// One user's vehicle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDevice {
    pub id: String,
    pub definition: DeviceDefinition,
    /// ISO 3166-1 alpha-3.
    pub country_code: String,
    pub vin: Option<String>,
    /// Whether the paired device has confirmed the VIN (signed keccak256 of it).
    pub vin_confirmed: bool,
    pub can_protocol: Option<String>,
    pub created_at: i64,
}

/// What a new vehicle is made of (already validated).
#[derive(Debug, Clone)]
pub struct NewVehicle {
    pub definition_id: String,
    pub country_code: String,
    pub vin: Option<String>,
    pub can_protocol: Option<String>,
}

/// A VIN the decoder accepted, with what it decoded.
#[derive(Debug, Clone)]
pub struct ValidVin(pub Decoded);

/// Decodes `input`, refusing VINs with errors (length, alphabet, mandatory check digit…).
pub fn validate_vin(input: &str) -> Result<ValidVin, DevicesError> {
    let decoded = Decoder::new()?.decode(input);
    let errors: Vec<String> = decoded.errors().map(ToString::to_string).collect();
    if errors.is_empty() {
        Ok(ValidVin(decoded))
    } else {
        Err(DevicesError::BadInput(format!(
            "vin: invalid VIN: {}",
            errors.join("; ")
        )))
    }
}

impl ValidVin {
    /// The make/model/year the VIN decodes to, when the decoder knows all three.
    pub fn mmy(&self) -> Result<Mmy, DevicesError> {
        let d = &self.0;
        match (d.make, d.model, d.year) {
            (Some(make), Some(model), Some(year)) => Mmy::new(
                make,
                model,
                i64::from(year),
                crate::vin::year::current_year(),
            ),
            _ => Err(DevicesError::BadInput(format!(
                "vin: could not decode make, model and year from {} (decoded make {:?}, model {:?}, year {:?})",
                d.vin, d.make, d.model, d.year
            ))),
        }
    }
}

/// Validates a `canProtocol`: an ELM327/OBD protocol number, `1`-`9` or `A`-`C`
/// (`6` = ISO 15765-4 CAN 11-bit 500 kbit/s, as DIMO's devices report it).
pub fn parse_can_protocol(input: &str) -> Result<String, DevicesError> {
    let p = input.trim().to_ascii_uppercase();
    match p.as_str() {
        "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9" | "A" | "B" | "C" => Ok(p),
        _ => Err(DevicesError::BadInput(format!(
            "canProtocol: \"{}\" is not an OBD protocol number (1-9 or A-C)",
            input.chars().take(16).collect::<String>()
        ))),
    }
}

const SELECT: &str = "SELECT v.id, v.country_code, v.vin, v.vin_confirmed, v.can_protocol, \
    v.created_at, d.id AS def_id, d.make, d.model, d.year \
    FROM user_devices v JOIN device_definitions d ON d.id = v.device_definition_id";

fn from_row(row: &AnyRow) -> Result<UserDevice, sqlx::Error> {
    let year: i64 = row.try_get("year")?;
    Ok(UserDevice {
        id: row.try_get("id")?,
        definition: DeviceDefinition {
            id: row.try_get("def_id")?,
            make: row.try_get("make")?,
            model: row.try_get("model")?,
            // Invariant: only validated years (u16) are ever stored.
            year: u16::try_from(year).unwrap_or_default(),
        },
        country_code: row.try_get("country_code")?,
        vin: row.try_get("vin")?,
        vin_confirmed: row.try_get::<i64, _>("vin_confirmed")? != 0,
        can_protocol: row.try_get("can_protocol")?,
        created_at: row.try_get("created_at")?,
    })
}

fn vin_conflict() -> DevicesError {
    DevicesError::Conflict("vin: this VIN is already registered to one of your vehicles".into())
}

/// Creates a vehicle for `user_id`. The definition must exist.
pub async fn create(db: &Db, user_id: &str, new: NewVehicle) -> Result<UserDevice, DevicesError> {
    let definition = definitions::by_id(db, &new.definition_id).await?;
    let id = new_id();
    let ts = now();
    let inserted = sqlx::query(
        "INSERT INTO user_devices (id, user_id, device_definition_id, country_code, vin, \
         vin_confirmed, can_protocol, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $7)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(&definition.id)
    .bind(&new.country_code)
    .bind(&new.vin)
    .bind(&new.can_protocol)
    .bind(ts)
    .execute(&db.pool)
    .await;
    match inserted {
        Ok(_) => Ok(UserDevice {
            id,
            definition,
            country_code: new.country_code,
            vin: new.vin,
            vin_confirmed: false,
            can_protocol: new.can_protocol,
            created_at: ts,
        }),
        Err(e) if is_unique_violation(&e) => Err(vin_conflict()),
        Err(e) => Err(e.into()),
    }
}

/// The user's vehicles, oldest first.
pub async fn list(db: &Db, user_id: &str) -> Result<Vec<UserDevice>, DevicesError> {
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE v.user_id = $1 ORDER BY v.created_at, v.id"
    ))
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

/// The user's vehicle `id`; another user's vehicle is [`DevicesError::NotFound`].
pub async fn owned(db: &Db, user_id: &str, id: &str) -> Result<UserDevice, DevicesError> {
    let row = sqlx::query(&format!("{SELECT} WHERE v.id = $1 AND v.user_id = $2"))
        .bind(id)
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref()
        .map(from_row)
        .transpose()?
        .ok_or(DevicesError::NotFound("user device"))
}

/// Replaces the VIN of the user's vehicle (unconfirmed until a paired device confirms it).
pub async fn set_vin(db: &Db, user_id: &str, id: &str, vin: &str) -> Result<(), DevicesError> {
    let updated = sqlx::query(
        "UPDATE user_devices SET vin = $1, vin_confirmed = 0, updated_at = $2 \
         WHERE id = $3 AND user_id = $4",
    )
    .bind(vin)
    .bind(now())
    .bind(id)
    .bind(user_id)
    .execute(&db.pool)
    .await;
    vin_updated(updated)
}

/// Replaces the VIN of vehicle `id` with one its paired device signed (the caller has
/// checked the signature): the VIN is then confirmed.
pub async fn set_confirmed_vin(db: &Db, id: &str, vin: &str) -> Result<(), DevicesError> {
    let updated = sqlx::query(
        "UPDATE user_devices SET vin = $1, vin_confirmed = 1, updated_at = $2 WHERE id = $3",
    )
    .bind(vin)
    .bind(now())
    .bind(id)
    .execute(&db.pool)
    .await;
    vin_updated(updated)
}

fn vin_updated(
    updated: Result<sqlx::any::AnyQueryResult, sqlx::Error>,
) -> Result<(), DevicesError> {
    match updated {
        Ok(r) if r.rows_affected() == 0 => Err(DevicesError::NotFound("user device")),
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(vin_conflict()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<&str>) {
        assert_eq!(
            parse_can_protocol(input).ok().as_deref(),
            expected,
            "{input}"
        );
    }

    #[test]
    fn can_protocols_are_obd_protocol_numbers() {
        check("6", Some("6"));
        check(" a ", Some("A"));
        check("C", Some("C"));
        check("0", None);
        check("D", None);
        check("66", None);
        check("", None);
    }
}
