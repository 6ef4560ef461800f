//! Applies a batch of verified device messages in one transaction: new envelope ids are
//! claimed in `mqtt_envelopes` (`ON CONFLICT DO NOTHING`, see [`claim_ids`] for how the new
//! ones are told apart), only those are applied, in arrival order. Messages of devices
//! missing from the registry are dropped (an external broker may let anyone publish).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use pitlane_shared::identity::Address;
use pitlane_shared::topics::{DtcReport, Presence, StatusReport};
use sqlx::{AnyConnection, Connection as _, Row};

use super::TelemetryError;
use super::rows_sql::{self, placeholders};
use crate::commands::store as commands;
use crate::config::IngestSync;
use crate::db::{Backend, Db};
use crate::mqtt::verify::{Body, Verified};

/// What became of one message of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Stored,
    Duplicate,
    UnknownDevice,
}

impl Outcome {
    /// The `outcome` label of `pitlane_mqtt_messages_total`.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Stored => "stored",
            Outcome::Duplicate => "duplicate",
            Outcome::UnknownDevice => "unknown_device",
        }
    }
}

/// The outcome of each message (same order as the batch) and the command requests whose
/// status a result changed.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub outcomes: Vec<Outcome>,
    pub finished_commands: Vec<(String, &'static str)>,
}

/// Stores batches; remembers which device addresses are registered.
#[derive(Debug, Default)]
pub struct IngestStore {
    known: Mutex<HashSet<Address>>,
    sync: IngestSync,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The set is only a cache: a panic elsewhere cannot leave it inconsistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl IngestStore {
    /// A store whose SQLite commits are as durable as `sync` says.
    pub fn new(sync: IngestSync) -> Self {
        IngestStore {
            known: Mutex::default(),
            sync,
        }
    }

    /// Which of `devices` are registered (cached once seen).
    async fn registered(
        &self,
        db: &Db,
        devices: &HashSet<Address>,
    ) -> Result<HashSet<Address>, TelemetryError> {
        let unknown: Vec<Address> = {
            let known = lock(&self.known);
            devices
                .iter()
                .filter(|d| !known.contains(d))
                .copied()
                .collect()
        };
        if !unknown.is_empty() {
            let sql = format!(
                "SELECT address FROM aftermarket_devices WHERE address IN ({})",
                (1..=unknown.len())
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let mut q = sqlx::query(&sql);
            for d in &unknown {
                q = q.bind(d.to_lowercase_hex());
            }
            let rows = q.fetch_all(&db.pool).await?;
            let mut known = lock(&self.known);
            for row in rows {
                let text: String = row.try_get("address")?;
                if let Ok(a) = text.parse() {
                    known.insert(a);
                }
            }
        }
        let known = lock(&self.known);
        Ok(devices
            .iter()
            .filter(|d| known.contains(d))
            .copied()
            .collect())
    }

    /// Applies `batch` (arrival order) in one transaction. On SQLite with
    /// [`IngestSync::Full`] (the default) the commit is made durable (`synchronous = FULL`
    /// for this transaction: one flush of the WAL per batch), because the caller
    /// acknowledges the messages to the broker once this returns.
    pub async fn store(
        &self,
        db: &Db,
        batch: &[Verified],
        now_ms: i64,
    ) -> Result<BatchOutcome, TelemetryError> {
        let devices: HashSet<Address> = batch.iter().map(|v| v.device).collect();
        let registered = self.registered(db, &devices).await?;
        let addresses: HashMap<Address, String> = registered
            .iter()
            .map(|d| (*d, d.to_lowercase_hex()))
            .collect();
        let mut outcomes = vec![Outcome::Duplicate; batch.len()];
        // First copy of each (device, id) in this batch; later copies are duplicates.
        let mut first: HashMap<(&str, &str), usize> = HashMap::new();
        for (i, v) in batch.iter().enumerate() {
            match addresses.get(&v.device) {
                None => outcomes[i] = Outcome::UnknownDevice,
                Some(address) => {
                    first
                        .entry((address.as_str(), v.envelope_id.as_str()))
                        .or_insert(i);
                }
            }
        }
        // Trouble-code reports of paired devices also become error-code queries; the pairing
        // is read before the transaction (a read, and rare).
        let mut vehicles: HashMap<Address, String> = HashMap::new();
        for v in batch {
            if matches!(v.body, Body::Dtc(_))
                && registered.contains(&v.device)
                && !vehicles.contains_key(&v.device)
                && let Some(p) = crate::registry::pairing_of_device(db, &v.device).await?
            {
                vehicles.insert(v.device, p.user_device_id);
            }
        }
        let mut candidates: Vec<((&str, &str), usize)> = first.into_iter().collect();
        candidates.sort_unstable_by_key(|(_, i)| *i);
        let mut conn = db.pool.acquire().await?;
        let durable = db.backend == Backend::Sqlite && self.sync == IngestSync::Full;
        if durable {
            // Not allowed inside a transaction, hence around it; NORMAL is restored below
            // (a connection left at FULL by an error is only slower, never less safe).
            sqlx::query("PRAGMA synchronous = FULL")
                .execute(&mut *conn)
                .await?;
        }
        let applied = async {
            let mut tx = conn.begin().await?;
            let new = claim_ids(&mut tx, db.backend, batch, &candidates, now_ms).await?;
            let applied = apply(
                &mut tx,
                db.backend,
                batch,
                &candidates,
                &new,
                &vehicles,
                now_ms,
            )
            .await?;
            tx.commit().await?;
            Ok::<_, TelemetryError>(applied)
        }
        .await;
        if durable
            && let Err(e) = sqlx::query("PRAGMA synchronous = NORMAL")
                .execute(&mut *conn)
                .await
        {
            // The batch's fate is already decided; this connection only stays slower.
            tracing::warn!(error = %e, "restoring synchronous = NORMAL");
        }
        let (stored, finished_commands) = applied?;
        for i in stored {
            outcomes[i] = Outcome::Stored;
        }
        Ok(BatchOutcome {
            outcomes,
            finished_commands,
        })
    }
}

type Finished = Vec<(String, &'static str)>;

/// Applies the messages at `candidates` whose ids are `new`, in order; returns their indexes
/// and the command requests whose status a result changed.
async fn apply(
    tx: &mut AnyConnection,
    backend: Backend,
    batch: &[Verified],
    candidates: &[((&str, &str), usize)],
    new: &HashSet<usize>,
    vehicles: &HashMap<Address, String>,
    now_ms: i64,
) -> Result<(Vec<usize>, Finished), TelemetryError> {
    let mut stored = Vec::with_capacity(new.len());
    let mut finished = Vec::new();
    let mut seen_devices: HashSet<&str> = HashSet::new();
    let mut telemetry_rows = Vec::new();
    for &((address, _), i) in candidates {
        if !new.contains(&i) {
            continue;
        }
        let v = &batch[i];
        // A device clock running ahead must not make its later reports look stale.
        let time_ms = v.time_ms.min(now_ms);
        stored.push(i);
        if seen_devices.insert(address) {
            touch(tx, address, now_ms).await?;
        }
        match &v.body {
            Body::Status(s) => apply_status(tx, address, s, time_ms).await?,
            Body::Vin(r) => {
                sqlx::query(
                    "INSERT INTO device_vin_reports (device_address, vin, query, \
                     check_digit_valid, reported_ms) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(address)
                .bind(&r.vin)
                .bind(&r.query)
                .bind(i64::from(r.check_digit_valid))
                .bind(time_ms)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE device_state SET vin = $1, vin_query = $2, vin_ms = $3 \
                     WHERE device_address = $4 AND (vin_ms IS NULL OR vin_ms <= $3)",
                )
                .bind(&r.vin)
                .bind(&r.query)
                .bind(time_ms)
                .bind(address)
                .execute(&mut *tx)
                .await?;
            }
            Body::Dtc(r) => apply_dtcs(tx, address, r, time_ms, vehicles.get(&v.device)).await?,
            Body::Telemetry(t) => {
                telemetry_rows.push((address, "telemetry", serde_json::to_string(t)?, time_ms))
            }
            Body::Event(e) => telemetry_rows.push((address, "event", e.to_string(), time_ms)),
            Body::Result(r) => {
                if let Some(status) = commands::apply_result(tx, &v.device, r, now_ms).await? {
                    finished.push((r.request_id.clone(), status));
                }
            }
        }
    }
    insert_telemetry(tx, backend, &telemetry_rows).await?;
    Ok((stored, finished))
}

/// Claims the envelope ids of `rows`; returns the indexes of the ones that were new.
///
/// Almost always every id is new, so that is tried first: plain inserts inside a savepoint,
/// which hold when the number of rows inserted is the number of rows. Only when some id was
/// already there (a redelivery, a replay after reconnect) is the savepoint rolled back and
/// the ids claimed again with `RETURNING`, which names the new ones. `RETURNING` is not the
/// first try because sqlx hands every returned row across from its SQLite thread on its own:
/// measured, that was most of the time a batch took to store.
async fn claim_ids(
    tx: &mut AnyConnection,
    backend: Backend,
    batch: &[Verified],
    rows: &[((&str, &str), usize)],
    now_ms: i64,
) -> Result<HashSet<usize>, TelemetryError> {
    sqlx::query("SAVEPOINT claim_ids").execute(&mut *tx).await?;
    let mut inserted = 0;
    for chunk in rows_sql::chunks(rows) {
        let sql = claim_sql(backend, chunk.len(), "");
        inserted += claim_query(&sql, batch, chunk, now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    if inserted == rows.len() as u64 {
        sqlx::query("RELEASE SAVEPOINT claim_ids")
            .execute(&mut *tx)
            .await?;
        return Ok(rows.iter().map(|&(_, i)| i).collect());
    }
    sqlx::query("ROLLBACK TO SAVEPOINT claim_ids")
        .execute(&mut *tx)
        .await?;
    sqlx::query("RELEASE SAVEPOINT claim_ids")
        .execute(&mut *tx)
        .await?;
    let index: HashMap<(&str, &str), usize> = rows.iter().copied().collect();
    let mut new = HashSet::with_capacity(rows.len());
    for chunk in rows_sql::chunks(rows) {
        let sql = claim_sql(
            backend,
            chunk.len(),
            " RETURNING device_address, envelope_id",
        );
        for row in claim_query(&sql, batch, chunk, now_ms)
            .fetch_all(&mut *tx)
            .await?
        {
            let address: &str = row.try_get("device_address")?;
            let id: &str = row.try_get("envelope_id")?;
            if let Some(&i) = index.get(&(address, id)) {
                new.insert(i);
            }
        }
    }
    Ok(new)
}

/// The insert claiming `rows` ids, ids already there skipped, followed by `tail`.
fn claim_sql(backend: Backend, rows: usize, tail: &str) -> String {
    format!(
        "INSERT INTO mqtt_envelopes (device_address, envelope_id, kind, received_ms) \
         VALUES {} ON CONFLICT DO NOTHING{tail}",
        placeholders(backend, rows, 4)
    )
}

/// [`claim_sql`] bound to `chunk`.
fn claim_query<'q>(
    sql: &'q str,
    batch: &'q [Verified],
    chunk: &[((&'q str, &'q str), usize)],
    now_ms: i64,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let mut q = sqlx::query(sql);
    for &((address, id), i) in chunk {
        q = q
            .bind(address)
            .bind(id)
            .bind(batch[i].body.kind().as_str())
            .bind(now_ms);
    }
    q
}

/// Creates the device's state row if needed and records that it was seen now.
async fn touch(tx: &mut AnyConnection, address: &str, now_ms: i64) -> Result<(), TelemetryError> {
    sqlx::query(
        "INSERT INTO device_state (device_address, last_seen_ms) VALUES ($1, $2) \
         ON CONFLICT (device_address) DO UPDATE SET last_seen_ms = excluded.last_seen_ms",
    )
    .bind(address)
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Presence follows arrival order, except that an `online` status older than the one
/// applied (an ignition change replayed from the outbox) is ignored; `offline` (the last
/// will, signed when the connection was made) always applies.
async fn apply_status(
    tx: &mut AnyConnection,
    address: &str,
    s: &StatusReport,
    time_ms: i64,
) -> Result<(), TelemetryError> {
    let ignition = serde_json::to_value(s.ignition)?;
    let query = match s.state {
        Presence::Online => sqlx::query(
            "UPDATE device_state SET online = 1, status_ms = $1, firmware = $2, bus = $3, \
             ignition = $4 WHERE device_address = $5 \
             AND (status_ms IS NULL OR status_ms <= $1)",
        )
        .bind(time_ms)
        .bind(&s.firmware)
        .bind(&s.bus)
        .bind(ignition.as_str().unwrap_or("unknown").to_owned())
        .bind(address),
        Presence::Offline => {
            sqlx::query("UPDATE device_state SET online = 0 WHERE device_address = $1")
                .bind(address)
        }
    };
    query.execute(&mut *tx).await?;
    Ok(())
}

async fn apply_dtcs(
    tx: &mut AnyConnection,
    address: &str,
    r: &DtcReport,
    time_ms: i64,
    vehicle: Option<&String>,
) -> Result<(), TelemetryError> {
    let json = serde_json::to_string(r)?;
    sqlx::query(
        "INSERT INTO device_dtc_reports (device_address, report, reported_ms) VALUES ($1, $2, $3)",
    )
    .bind(address)
    .bind(&json)
    .bind(time_ms)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE device_state SET dtcs = $1, dtcs_ms = $2 \
         WHERE device_address = $3 AND (dtcs_ms IS NULL OR dtcs_ms <= $2)",
    )
    .bind(&json)
    .bind(time_ms)
    .bind(address)
    .execute(&mut *tx)
    .await?;
    if let Some(user_device_id) = vehicle {
        super::vehicle_codes::record(tx, user_device_id, r, time_ms).await?;
    }
    Ok(())
}

/// Inserts telemetry and event rows, and moves each device's newest telemetry into its state.
async fn insert_telemetry(
    tx: &mut AnyConnection,
    backend: Backend,
    rows: &[(&str, &'static str, String, i64)],
) -> Result<(), TelemetryError> {
    for chunk in rows_sql::chunks(rows) {
        let sql = format!(
            "INSERT INTO device_telemetry (device_address, kind, data, recorded_ms) VALUES {}",
            placeholders(backend, chunk.len(), 4)
        );
        let mut q = sqlx::query(&sql);
        for (address, kind, data, time) in chunk {
            q = q.bind(*address).bind(*kind).bind(data).bind(*time);
        }
        q.execute(&mut *tx).await?;
    }
    let mut newest: HashMap<&str, (&str, i64)> = HashMap::new();
    for (address, kind, data, time) in rows {
        if *kind != "telemetry" {
            continue;
        }
        let slot = newest.entry(*address).or_insert((data, *time));
        if *time >= slot.1 {
            *slot = (data, *time);
        }
    }
    for (address, (data, time)) in newest {
        sqlx::query(
            "UPDATE device_state SET telemetry = $1, telemetry_ms = $2 \
             WHERE device_address = $3 AND (telemetry_ms IS NULL OR telemetry_ms <= $2)",
        )
        .bind(data)
        .bind(time)
        .bind(address)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Trims the telemetry history of every device seen since `seen_since_ms` (its
/// `device_state.last_seen_ms`) to its newest `keep` rows (`keep` ≥ 1), and forgets envelope
/// ids received before `dedup_before_ms` (a duplicate arriving later is stored again);
/// returns the telemetry rows removed.
///
/// Device by device through the `(device_address, id)` index, so the cost follows the rows
/// removed and the devices heard from, not the size of the table: a whole-table window
/// function (what this did before) sorted every row of every device every minute.
pub async fn prune(
    db: &Db,
    keep: i64,
    seen_since_ms: i64,
    dedup_before_ms: i64,
) -> Result<u64, TelemetryError> {
    let devices: Vec<String> =
        sqlx::query_scalar("SELECT device_address FROM device_state WHERE last_seen_ms >= $1")
            .bind(seen_since_ms)
            .fetch_all(&db.pool)
            .await?;
    let mut trimmed = 0;
    for device in &devices {
        // The id of the keep-th newest row; none (NULL, nothing removed) when it has fewer.
        trimmed += sqlx::query(
            "DELETE FROM device_telemetry WHERE device_address = $1 AND id < \
             (SELECT id FROM device_telemetry WHERE device_address = $1 \
             ORDER BY id DESC LIMIT 1 OFFSET $2)",
        )
        .bind(device)
        .bind(keep.max(1) - 1)
        .execute(&db.pool)
        .await?
        .rows_affected();
    }
    sqlx::query("DELETE FROM mqtt_envelopes WHERE received_ms < $1")
        .bind(dedup_before_ms)
        .execute(&db.pool)
        .await?;
    Ok(trimmed)
}
