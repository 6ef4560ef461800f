//! Error-code queries: a set of trouble codes reported for a vehicle at one time, later
//! marked cleared. Codes are stored as validated SAE J2012 text (`P0301`); descriptions are
//! looked up when read (`pitlane_shared::obd::describe`, using the vehicle's make), so the
//! stored history improves with the tables. `source` says who reported them: the user through
//! the API, or (once MQTT sync exists) the vehicle's own agent.

use pitlane_shared::obd::{Dtc, describe};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::DevicesError;
use super::vehicles::UserDevice;
use crate::accounts::now;
use crate::db::Db;

/// Most codes one query may carry.
pub const MAX_CODES: usize = 100;

/// Who reported a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Submitted through the API.
    User,
    /// Reported by the vehicle's agent.
    Device,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::User => "user",
            Source::Device => "device",
        }
    }
}

/// One code with the text shown beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    pub code: Dtc,
    pub description: String,
    /// SAE J2012 leaves the meaning to the manufacturer (P1xxx, B1/B2, …).
    pub manufacturer_specific: bool,
}

/// One stored query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub codes: Vec<Described>,
    pub requested_at: i64,
    pub cleared_at: Option<i64>,
    pub source: Source,
}

/// Validates submitted codes: 1 to [`MAX_CODES`], each a trouble code (named on failure);
/// duplicates are dropped, order kept.
pub fn parse_codes(codes: &[String]) -> Result<Vec<Dtc>, DevicesError> {
    if codes.is_empty() {
        return Err(DevicesError::BadInput(
            "errorCodes: at least one code is required".into(),
        ));
    }
    if codes.len() > MAX_CODES {
        return Err(DevicesError::BadInput(format!(
            "errorCodes: at most {MAX_CODES} codes per request, got {}",
            codes.len()
        )));
    }
    let mut out: Vec<Dtc> = Vec::with_capacity(codes.len());
    for (i, text) in codes.iter().enumerate() {
        let dtc: Dtc = text
            .trim()
            .parse()
            .map_err(|e| DevicesError::BadInput(format!("errorCodes[{i}]: {e}")))?;
        if !out.contains(&dtc) {
            out.push(dtc);
        }
    }
    Ok(out)
}

fn describe_all(codes: &str, make: &str) -> Vec<Described> {
    codes
        .split(',')
        // Stored codes were validated on the way in; a row edited by hand is skipped.
        .filter_map(|c| c.parse::<Dtc>().ok())
        .map(|code| {
            let d = describe(code, Some(make));
            Described {
                code,
                description: d.text(),
                manufacturer_specific: d.manufacturer_specific,
            }
        })
        .collect()
}

fn from_row(row: &AnyRow, make: &str) -> Result<Query, sqlx::Error> {
    let source: String = row.try_get("source")?;
    Ok(Query {
        codes: describe_all(&row.try_get::<String, _>("codes")?, make),
        requested_at: row.try_get("requested_at")?,
        cleared_at: row.try_get("cleared_at")?,
        source: if source == "device" {
            Source::Device
        } else {
            Source::User
        },
    })
}

/// Stores a query for `vehicle` (already owner-checked) and returns it described.
pub async fn submit(
    db: &Db,
    vehicle: &UserDevice,
    codes: &[Dtc],
    source: Source,
) -> Result<Query, DevicesError> {
    let text = codes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let ts = now();
    sqlx::query(
        "INSERT INTO error_code_queries (user_device_id, source, codes, requested_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(&vehicle.id)
    .bind(source.as_str())
    .bind(&text)
    .bind(ts)
    .execute(&db.pool)
    .await?;
    Ok(Query {
        codes: describe_all(&text, &vehicle.definition.make),
        requested_at: ts,
        cleared_at: None,
        source,
    })
}

/// The vehicle's queries, newest first.
pub async fn list(db: &Db, vehicle: &UserDevice) -> Result<Vec<Query>, DevicesError> {
    let rows = sqlx::query(
        "SELECT source, codes, requested_at, cleared_at FROM error_code_queries \
         WHERE user_device_id = $1 ORDER BY id DESC",
    )
    .bind(&vehicle.id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| from_row(r, &vehicle.definition.make))
        .collect::<Result<_, _>>()?)
}

/// Marks the most recent query cleared and returns it. Refused when there is none or it is
/// already cleared.
pub async fn clear_latest(db: &Db, vehicle: &UserDevice) -> Result<Query, DevicesError> {
    let row = sqlx::query(
        "SELECT id, source, codes, requested_at, cleared_at FROM error_code_queries \
         WHERE user_device_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(&vehicle.id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or_else(|| DevicesError::State("no error codes were submitted for this vehicle".into()))?;
    let mut query = from_row(&row, &vehicle.definition.make)?;
    if query.cleared_at.is_some() {
        return Err(DevicesError::State(
            "the most recent error codes are already cleared".into(),
        ));
    }
    let id: i64 = row.try_get("id")?;
    let ts = now();
    // `cleared_at IS NULL` keeps two concurrent clears from both succeeding.
    let done = sqlx::query(
        "UPDATE error_code_queries SET cleared_at = $1 WHERE id = $2 AND cleared_at IS NULL",
    )
    .bind(ts)
    .bind(id)
    .execute(&db.pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(DevicesError::State(
            "the most recent error codes are already cleared".into(),
        ));
    }
    query.cleared_at = Some(ts);
    Ok(query)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &[&str], expected: Result<&str, &str>) {
        let codes: Vec<String> = input.iter().map(|s| (*s).to_owned()).collect();
        let got = parse_codes(&codes).map(|v| {
            v.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        });
        match (got, expected) {
            (Ok(g), Ok(e)) => assert_eq!(g, e),
            (Err(g), Err(e)) => assert!(g.to_string().contains(e), "{g}"),
            (g, e) => panic!("{input:?}: got {g:?}, expected {e:?}"),
        }
    }

    #[test]
    fn validates_and_deduplicates_codes() {
        check(&["P0106", "p0279"], Ok("P0106,P0279"));
        check(&["P0106", " P0106 "], Ok("P0106"));
        check(&["U0100", "B1234", "C0035"], Ok("U0100,B1234,C0035"));
        check(&[], Err("at least one"));
        check(&["P0106", "X0106"], Err("errorCodes[1]: \"X0106\""));
        check(&["P4000"], Err("errorCodes[0]: \"P4000\""));
        check(&["P01"], Err("errorCodes[0]"));
        let many: Vec<String> = (0..101).map(|i| format!("P{i:04}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        check(&refs, Err("at most 100"));
        check(&refs[..100], Ok(&many[..100].join(",")));
    }

    #[test]
    fn descriptions_come_from_the_tables_and_mark_manufacturer_codes() {
        let d = describe_all("P0301,P1270", "Ford");
        assert_eq!(d[0].description, "Cylinder 1 Misfire Detected");
        assert!(!d[0].manufacturer_specific);
        assert_eq!(d[1].description, "Engine RPM Or Speed Limiter Reached");
        assert!(d[1].manufacturer_specific);
    }
}
