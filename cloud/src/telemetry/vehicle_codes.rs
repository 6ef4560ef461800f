//! A device's trouble-code report as a vehicle's history: one `error_code_queries` row with
//! source `device`, its codes shaped by [`history_codes`]. The ingest calls [`record`] for
//! reports of paired devices, and pairing calls [`copy_latest_on_pair`], so codes the device
//! reported before its owner paired it reach the vehicle at once; both write through one
//! insert.

use std::collections::HashSet;

use pitlane_shared::obd::Dtc;
use pitlane_shared::topics::DtcReport;
use sqlx::{AnyConnection, Row};

use crate::devices::error_codes::{MAX_CODES, parse_codes};

/// Every distinct code of a report (stored, pending, permanent), in a stable order.
fn distinct_codes(r: &DtcReport) -> Vec<String> {
    let mut seen = HashSet::new();
    [&r.stored, &r.pending, &r.permanent]
        .into_iter()
        .flat_map(|m| m.values().flatten())
        .filter(|c| seen.insert(c.as_str()))
        .cloned()
        .collect()
}

/// The codes of `report` a vehicle's history keeps, as stored (`P0301,P0420`): its distinct
/// codes (stored, pending, permanent), the first [`MAX_CODES`] of them, less those that are
/// not valid trouble codes (the raw report in `device_dtc_reports` keeps those), in report
/// order. None when no valid code is left.
pub fn history_codes(report: &DtcReport) -> Option<String> {
    let mut valid: Vec<Dtc> = Vec::new();
    for text in distinct_codes(report).iter().take(MAX_CODES) {
        // Codes a device sends are validated like a user's, one by one, so one bad code
        // does not cost the others.
        for dtc in parse_codes(std::slice::from_ref(text)).unwrap_or_default() {
            // `P0301` and ` p0301` are distinct texts but one code.
            if !valid.contains(&dtc) {
                valid.push(dtc);
            }
        }
    }
    (!valid.is_empty()).then(|| {
        valid
            .iter()
            .map(Dtc::to_string)
            .collect::<Vec<_>>()
            .join(",")
    })
}

/// Adds `report`, taken at `reported_ms` (Unix milliseconds), to the history of the vehicle
/// `user_device_id`; answers false, writing nothing, when it has no valid code.
pub async fn record(
    conn: &mut AnyConnection,
    user_device_id: &str,
    report: &DtcReport,
    reported_ms: i64,
) -> Result<bool, sqlx::Error> {
    let Some(codes) = history_codes(report) else {
        return Ok(false);
    };
    insert(conn, user_device_id, &codes, reported_ms / 1000).await?;
    Ok(true)
}

/// The history row itself: `codes` as [`history_codes`] shapes them, `requested_at` in Unix
/// seconds.
async fn insert(
    conn: &mut AnyConnection,
    user_device_id: &str,
    codes: &str,
    requested_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO error_code_queries (user_device_id, source, codes, requested_at) \
         VALUES ($1, 'device', $2, $3)",
    )
    .bind(user_device_id)
    .bind(codes)
    .bind(requested_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What [`copy_latest_on_pair`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copied {
    /// The report is now in the vehicle's history.
    Copied,
    /// The device never reported trouble codes.
    NoReport,
    /// The report holds no valid code.
    NoValidCode,
    /// The vehicle's history already holds this report: the device was paired to this
    /// vehicle before (when it reported, or when an earlier pairing copied it).
    AlreadyInHistory,
    /// The VIN the device read last before the report is not the vehicle's: the report is
    /// of another car.
    OtherCar,
    /// The stored report is not a readable report (logged; the pairing goes on).
    Unreadable,
}

/// Copies the latest trouble-code report of the aftermarket device `device_token_id`
/// (`device_state.dtcs`, taken at `dtcs_ms`) into the history of the vehicle
/// `vehicle_token_id` it is being paired to, shaped as [`record`] shapes every report. Runs
/// inside the pairing's transaction.
///
/// **Decisions.** The report is copied whatever its age: it is the device's latest knowledge
/// of the car, it is stored at the time it was taken (`requested_at = dtcs_ms / 1000`), so
/// the history never shows old codes as new, and the device's next periodic read supersedes
/// it. What age cannot tell is whether the report is of *this* car (a device moved from one
/// car to another and paired before it read the new one): so when the device reported a VIN
/// at or before the report and it is not the vehicle's VIN, nothing is copied — the next
/// periodic read fills the history minutes later, while another car's codes would stay in it
/// (and reach another owner). A device that never read a VIN, or a vehicle without one,
/// gets the copy. Pairing the same device to the same vehicle again (possible after an
/// unpair, with a fresh signature) copies nothing twice: a `device` row with the same time
/// and codes already there means this report is in the history.
pub async fn copy_latest_on_pair(
    conn: &mut AnyConnection,
    device_token_id: i64,
    vehicle_token_id: i64,
) -> Result<Copied, sqlx::Error> {
    let row = sqlx::query(
        "SELECT s.device_address, s.dtcs, s.dtcs_ms, t.user_device_id, u.vin \
         FROM aftermarket_devices d \
         JOIN device_state s ON s.device_address = d.address \
         JOIN vehicle_tokens t ON t.token_id = $2 \
         JOIN user_devices u ON u.id = t.user_device_id \
         WHERE d.token_id = $1",
    )
    .bind(device_token_id)
    .bind(vehicle_token_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(Copied::NoReport);
    };
    let address: String = row.try_get("device_address")?;
    let (Some(json), Some(reported_ms)) = (
        row.try_get::<Option<String>, _>("dtcs")?,
        row.try_get::<Option<i64>, _>("dtcs_ms")?,
    ) else {
        return Ok(Copied::NoReport);
    };
    let report: DtcReport = match serde_json::from_str(&json) {
        Ok(r) => r,
        Err(e) => {
            // Written by the ingest from a parsed report, so only a hand-edited or corrupt
            // row gets here; the owner's pairing must not fail for a convenience copy.
            tracing::warn!(device = %address, error = %e, "unreadable stored trouble-code report");
            return Ok(Copied::Unreadable);
        }
    };
    let Some(codes) = history_codes(&report) else {
        return Ok(Copied::NoValidCode);
    };
    let user_device_id: String = row.try_get("user_device_id")?;
    let vehicle_vin: Option<String> = row.try_get("vin")?;
    let device_vin: Option<String> = sqlx::query(
        "SELECT vin FROM device_vin_reports WHERE device_address = $1 AND reported_ms <= $2 \
         ORDER BY reported_ms DESC, id DESC LIMIT 1",
    )
    .bind(&address)
    .bind(reported_ms)
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| r.try_get("vin"))
    .transpose()?;
    if let (Some(read), Some(vehicle)) = (&device_vin, &vehicle_vin)
        && !read.trim().eq_ignore_ascii_case(vehicle.trim())
    {
        return Ok(Copied::OtherCar);
    }
    let requested_at = reported_ms / 1000;
    let present = sqlx::query(
        "SELECT id FROM error_code_queries WHERE user_device_id = $1 AND source = 'device' \
         AND requested_at = $2 AND codes = $3",
    )
    .bind(&user_device_id)
    .bind(requested_at)
    .bind(&codes)
    .fetch_optional(&mut *conn)
    .await?;
    if present.is_some() {
        return Ok(Copied::AlreadyInHistory);
    }
    insert(conn, &user_device_id, &codes, requested_at).await?;
    Ok(Copied::Copied)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report with `stored` codes from ECU 7E8 and `pending` ones from 7E9.
    fn report(stored: &[&str], pending: &[&str]) -> DtcReport {
        let mut r = DtcReport::default();
        let own = |v: &[&str]| v.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
        if !stored.is_empty() {
            r.stored.insert("7E8".into(), own(stored));
        }
        if !pending.is_empty() {
            r.pending.insert("7E9".into(), own(pending));
        }
        r
    }

    fn check(r: DtcReport, expected: Option<&str>) {
        assert_eq!(history_codes(&r).as_deref(), expected, "{r:?}");
    }

    #[test]
    fn distinct_codes_keep_first_order() {
        let mut r = DtcReport::default();
        r.stored
            .insert("7E8".into(), vec!["P0301".into(), "P0420".into()]);
        r.pending.insert("7E8".into(), vec!["P0171".into()]);
        r.permanent.insert("7E8".into(), vec!["P0420".into()]);
        assert_eq!(distinct_codes(&r), vec!["P0301", "P0420", "P0171"]);
    }

    #[test]
    fn history_keeps_distinct_valid_codes_in_order() {
        check(report(&[], &[]), None);
        check(report(&["P0301"], &[]), Some("P0301"));
        check(
            report(&["P0301", "P0420"], &["P0171", "P0301"]),
            Some("P0301,P0420,P0171"),
        );
        check(report(&["XYZ", "", "P03"], &["Q0301"]), None);
        check(
            report(&["XYZ", "U0100", "P99999"], &["b1234"]),
            Some("U0100,B1234"),
        );
        // Distinct texts, one code.
        check(report(&["P0301", " p0301"], &[]), Some("P0301"));
    }

    #[test]
    fn history_takes_the_first_hundred_distinct_codes() {
        // 100 distinct invalid texts first: the valid code after them is left out.
        let mut many: Vec<String> = (0..100).map(|i| format!("bad{i}")).collect();
        many.push("P0301".into());
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        check(report(&refs, &[]), None);
        // 120 valid codes: the first 100 are kept.
        let codes: Vec<String> = (0..120).map(|i| format!("P{:04}", 100 + i)).collect();
        let refs: Vec<&str> = codes.iter().map(String::as_str).collect();
        check(report(&refs, &[]), Some(&codes[..100].join(",")));
    }
}
