//! Device definitions: one row per make/model/year, shared by every user's vehicles. Looked
//! up case-insensitively; created on demand when a VIN decodes to a combination not yet known.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{DevicesError, new_id};
use crate::accounts::now;
use crate::db::{Db, is_unique_violation};

/// Earliest model year accepted (OBD-II era and a margin before it).
pub const MIN_YEAR: u16 = 1950;
/// Longest make or model name accepted.
pub const MAX_NAME: usize = 100;

/// A make/model/year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceDefinition {
    pub id: String,
    pub make: String,
    pub model: String,
    pub year: u16,
}

impl DeviceDefinition {
    /// `2020 Ford F-150`.
    pub fn name(&self) -> String {
        format!("{} {} {}", self.year, self.make, self.model)
    }
}

/// A validated make/model/year to look up or create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mmy {
    make: String,
    model: String,
    year: u16,
}

impl Mmy {
    /// Trims the names and checks lengths and the year (up to two years ahead of `this_year`).
    pub fn new(make: &str, model: &str, year: i64, this_year: u16) -> Result<Mmy, DevicesError> {
        let name = |field: &str, value: &str| {
            let v = value.trim();
            if v.is_empty() || v.chars().count() > MAX_NAME || v.chars().any(char::is_control) {
                Err(DevicesError::BadInput(format!(
                    "{field} must be 1-{MAX_NAME} printable characters"
                )))
            } else {
                Ok(v.to_owned())
            }
        };
        let max = this_year.saturating_add(2);
        let year = u16::try_from(year)
            .ok()
            .filter(|y| (MIN_YEAR..=max).contains(y))
            .ok_or_else(|| DevicesError::BadInput(format!("year must be {MIN_YEAR}-{max}")))?;
        Ok(Mmy {
            make: name("make", make)?,
            model: name("model", model)?,
            year,
        })
    }
}

fn from_row(row: &AnyRow) -> Result<DeviceDefinition, sqlx::Error> {
    let year: i64 = row.try_get("year")?;
    Ok(DeviceDefinition {
        id: row.try_get("id")?,
        make: row.try_get("make")?,
        model: row.try_get("model")?,
        // Invariant: only `Mmy`-validated years (u16) are ever stored.
        year: u16::try_from(year).unwrap_or_default(),
    })
}

/// The definition with `id`.
pub async fn by_id(db: &Db, id: &str) -> Result<DeviceDefinition, DevicesError> {
    let row = sqlx::query("SELECT id, make, model, year FROM device_definitions WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref()
        .map(from_row)
        .transpose()?
        .ok_or(DevicesError::NotFound("device definition"))
}

/// The definition for a make/model/year (case-insensitive), if known.
pub async fn by_mmy(db: &Db, mmy: &Mmy) -> Result<Option<DeviceDefinition>, DevicesError> {
    let row = sqlx::query(
        "SELECT id, make, model, year FROM device_definitions \
         WHERE make_key = $1 AND model_key = $2 AND year = $3",
    )
    .bind(mmy.make.to_lowercase())
    .bind(mmy.model.to_lowercase())
    .bind(i64::from(mmy.year))
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

/// The definition for a make/model/year, created when missing (safe under concurrent calls:
/// the loser of a race reads the winner's row).
pub async fn find_or_create(db: &Db, mmy: &Mmy) -> Result<DeviceDefinition, DevicesError> {
    if let Some(found) = by_mmy(db, mmy).await? {
        return Ok(found);
    }
    let id = new_id();
    let inserted = sqlx::query(
        "INSERT INTO device_definitions (id, make, model, year, make_key, model_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(&mmy.make)
    .bind(&mmy.model)
    .bind(i64::from(mmy.year))
    .bind(mmy.make.to_lowercase())
    .bind(mmy.model.to_lowercase())
    .bind(now())
    .execute(&db.pool)
    .await;
    match inserted {
        Ok(_) => Ok(DeviceDefinition {
            id,
            make: mmy.make.clone(),
            model: mmy.model.clone(),
            year: mmy.year,
        }),
        Err(e) if is_unique_violation(&e) => by_mmy(db, mmy)
            .await?
            .ok_or(DevicesError::NotFound("device definition")),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(make: &str, model: &str, year: i64, ok: bool) {
        assert_eq!(
            Mmy::new(make, model, year, 2026).is_ok(),
            ok,
            "{make} {model} {year}"
        );
    }

    #[test]
    fn validates_names_and_years() {
        check("Ford", "F-150", 2020, true);
        check(" Ford ", "F-150", 2028, true);
        check("Ford", "F-150", 2029, false);
        check("Ford", "F-150", 1949, false);
        check("Ford", "F-150", -1, false);
        check("", "F-150", 2020, false);
        check("Ford", "  ", 2020, false);
        check("Ford", "F\n150", 2020, false);
        check(&"x".repeat(101), "A", 2020, false);
        assert_eq!(
            Mmy::new(" Ford ", "F-150 ", 2020, 2026)
                .ok()
                .map(|m| m.make),
            Some("Ford".to_owned())
        );
    }
}
