//! Geofences: named sets of H3 cells of one user, optionally attached to some of that user's
//! vehicles. Cells are validated with `h3o` and stored in canonical lower-case hex; names are
//! unique per user; attached vehicles must be the user's own.

use std::collections::BTreeSet;
use std::str::FromStr;

use h3o::CellIndex;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{DevicesError, is_id, new_id};
use crate::accounts::now;
use crate::db::{Db, is_unique_violation};

/// Most cells in one geofence.
pub const MAX_CELLS: usize = 2_000;
/// Most vehicles one geofence may be attached to.
pub const MAX_DEVICES: usize = 100;
/// Most geofences one user may have.
pub const MAX_PER_USER: i64 = 100;
/// Longest name, in characters.
pub const MAX_NAME: usize = 100;

/// What a geofence is for (the kinds DIMO's devices API used).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Locations inside are hidden from data consumers.
    PrivacyFence,
    /// Notify when a vehicle enters.
    TriggerEntry,
    /// Notify when a vehicle leaves.
    TriggerExit,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::PrivacyFence, Kind::TriggerEntry, Kind::TriggerExit];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::PrivacyFence => "PrivacyFence",
            Kind::TriggerEntry => "TriggerEntry",
            Kind::TriggerExit => "TriggerExit",
        }
    }

    pub fn parse(s: &str) -> Result<Kind, DevicesError> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                DevicesError::BadInput(format!(
                    "type: \"{}\" is not one of PrivacyFence, TriggerEntry, TriggerExit",
                    s.chars().take(32).collect::<String>()
                ))
            })
    }
}

/// A validated geofence body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeofenceInput {
    pub name: String,
    pub kind: Kind,
    /// Distinct, canonical hex, sorted.
    pub cells: Vec<String>,
    /// Distinct, sorted.
    pub device_ids: Vec<String>,
}

impl GeofenceInput {
    /// Validates the body's fields, naming the first bad one.
    pub fn parse(
        name: &str,
        kind: &str,
        h3_indexes: &[String],
        user_device_ids: &[String],
    ) -> Result<GeofenceInput, DevicesError> {
        let bad = |m: String| Err(DevicesError::BadInput(m));
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control)
        {
            return bad(format!("name must be 1-{MAX_NAME} printable characters"));
        }
        let kind = Kind::parse(kind)?;
        if h3_indexes.is_empty() || h3_indexes.len() > MAX_CELLS {
            return bad(format!("h3Indexes must hold 1-{MAX_CELLS} cells"));
        }
        let mut cells = BTreeSet::new();
        for (i, text) in h3_indexes.iter().enumerate() {
            let cell = CellIndex::from_str(text.trim()).map_err(|e| {
                DevicesError::BadInput(format!(
                    "h3Indexes[{i}]: \"{}\" is not an H3 cell index: {e}",
                    text.chars().take(32).collect::<String>()
                ))
            })?;
            cells.insert(cell.to_string());
        }
        if user_device_ids.len() > MAX_DEVICES {
            return bad(format!("userDeviceIds: at most {MAX_DEVICES} vehicles"));
        }
        let device_ids: BTreeSet<String> = user_device_ids.iter().cloned().collect();
        Ok(GeofenceInput {
            name: name.to_owned(),
            kind,
            cells: cells.into_iter().collect(),
            device_ids: device_ids.into_iter().collect(),
        })
    }
}

/// A stored geofence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geofence {
    pub id: String,
    pub name: String,
    pub kind: Kind,
    pub cells: Vec<String>,
    pub device_ids: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

fn from_row(row: &AnyRow) -> Result<Geofence, sqlx::Error> {
    let cells: String = row.try_get("h3_indexes")?;
    let kind: String = row.try_get("kind")?;
    Ok(Geofence {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        // Invariant: the column's CHECK constraint admits only the three kinds.
        kind: Kind::parse(&kind).unwrap_or(Kind::PrivacyFence),
        cells: cells.split(',').map(str::to_owned).collect(),
        device_ids: Vec::new(),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn name_taken(name: &str) -> DevicesError {
    DevicesError::Conflict(format!(
        "name: you already have a geofence named \"{name}\""
    ))
}

/// Refuses ids that are not the user's vehicles (another user's vehicle and a missing one
/// get the same answer).
async fn check_devices(db: &Db, user_id: &str, ids: &[String]) -> Result<(), DevicesError> {
    for id in ids {
        let found = is_id(id)
            && sqlx::query("SELECT 1 FROM user_devices WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user_id)
                .fetch_optional(&db.pool)
                .await?
                .is_some();
        if !found {
            return Err(DevicesError::BadInput(format!(
                "userDeviceIds: \"{}\" is not one of your vehicles",
                id.chars().take(32).collect::<String>()
            )));
        }
    }
    Ok(())
}

async fn attach(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
    device_ids: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM geofence_devices WHERE geofence_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for device in device_ids {
        sqlx::query("INSERT INTO geofence_devices (geofence_id, user_device_id) VALUES ($1, $2)")
            .bind(id)
            .bind(device)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Creates a geofence for the user and returns its id.
pub async fn create(db: &Db, user_id: &str, input: &GeofenceInput) -> Result<String, DevicesError> {
    check_devices(db, user_id, &input.device_ids).await?;
    let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM geofences WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&db.pool)
        .await?
        .try_get("n")?;
    if count >= MAX_PER_USER {
        return Err(DevicesError::State(format!(
            "you already have the maximum of {MAX_PER_USER} geofences"
        )));
    }
    let id = new_id();
    let ts = now();
    let mut tx = db.pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO geofences (id, user_id, name, kind, h3_indexes, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(&input.name)
    .bind(input.kind.as_str())
    .bind(input.cells.join(","))
    .bind(ts)
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Err(name_taken(&input.name)),
        Err(e) => return Err(e.into()),
    }
    attach(&mut tx, &id, &input.device_ids).await?;
    tx.commit().await?;
    Ok(id)
}

/// Replaces the user's geofence `id` with `input`.
pub async fn update(
    db: &Db,
    user_id: &str,
    id: &str,
    input: &GeofenceInput,
) -> Result<(), DevicesError> {
    check_devices(db, user_id, &input.device_ids).await?;
    let mut tx = db.pool.begin().await?;
    let updated = sqlx::query(
        "UPDATE geofences SET name = $1, kind = $2, h3_indexes = $3, updated_at = $4 \
         WHERE id = $5 AND user_id = $6",
    )
    .bind(&input.name)
    .bind(input.kind.as_str())
    .bind(input.cells.join(","))
    .bind(now())
    .bind(id)
    .bind(user_id)
    .execute(&mut *tx)
    .await;
    match updated {
        Ok(r) if r.rows_affected() == 0 => return Err(DevicesError::NotFound("geofence")),
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Err(name_taken(&input.name)),
        Err(e) => return Err(e.into()),
    }
    attach(&mut tx, id, &input.device_ids).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes the user's geofence `id`.
pub async fn delete(db: &Db, user_id: &str, id: &str) -> Result<(), DevicesError> {
    let done = sqlx::query("DELETE FROM geofences WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(DevicesError::NotFound("geofence"));
    }
    Ok(())
}

/// The user's geofences, oldest first, with their attached vehicles.
pub async fn list(db: &Db, user_id: &str) -> Result<Vec<Geofence>, DevicesError> {
    let rows = sqlx::query(
        "SELECT id, name, kind, h3_indexes, created_at, updated_at FROM geofences \
         WHERE user_id = $1 ORDER BY created_at, id",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?;
    let mut fences: Vec<Geofence> = rows.iter().map(from_row).collect::<Result<_, _>>()?;
    let links = sqlx::query(
        "SELECT l.geofence_id, l.user_device_id FROM geofence_devices l \
         JOIN geofences g ON g.id = l.geofence_id WHERE g.user_id = $1 \
         ORDER BY l.user_device_id",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?;
    for link in &links {
        let fence: String = link.try_get("geofence_id")?;
        if let Some(f) = fences.iter_mut().find(|f| f.id == fence) {
            f.device_ids.push(link.try_get("user_device_id")?);
        }
    }
    Ok(fences)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(cells: &[&str], kind: &str, expected: Result<&[&str], &str>) {
        let cells: Vec<String> = cells.iter().map(|s| (*s).to_owned()).collect();
        let got = GeofenceInput::parse("Home", kind, &cells, &[]);
        match (got, expected) {
            (Ok(g), Ok(e)) => assert_eq!(g.cells, e),
            (Err(g), Err(e)) => assert!(g.to_string().contains(e), "{g}"),
            (g, e) => panic!("{cells:?}: got {g:?}, expected {e:?}"),
        }
    }

    #[test]
    fn cells_must_be_valid_h3_and_kinds_from_the_set() {
        check(
            &["8928308280fffff"],
            "PrivacyFence",
            Ok(&["8928308280fffff"]),
        );
        check(
            &["8928308280FFFFF", "8928308280fffff", "89283082807ffff"],
            "TriggerEntry",
            Ok(&["89283082807ffff", "8928308280fffff"]),
        );
        check(&["8928308280fffff"], "privacyfence", Err("type:"));
        check(&["hello"], "TriggerExit", Err("h3Indexes[0]: \"hello\""));
        // A directed-edge index is valid H3 but not a cell.
        check(&["1628308280fffff0"], "TriggerExit", Err("h3Indexes[0]"));
        check(&["8928308280ffff0"], "TriggerExit", Err("h3Indexes[0]"));
        check(&[], "TriggerExit", Err("h3Indexes must hold"));
    }
}
