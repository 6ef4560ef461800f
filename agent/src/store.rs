//! The device store: one SQLite file (WAL) holding the outbox of unsent messages, the command
//! ledger (request ids and `seq` processed), and last known vehicle facts.
//!
//! **Outbox bound.** The outbox is bounded by the total size of its payloads. When a push
//! goes over the bound, the oldest [`Priority::Telemetry`] rows go first, then the oldest
//! [`Priority::Droppable`] ones (status, events); [`Priority::Kept`] rows (command results,
//! trouble codes, VINs) are never dropped, so the outbox may exceed its bound with them alone.
//!
//! **At most once.** [`Store::begin_command`] records a request id and its `seq` durably
//! *before* the action touches the car; [`Store::finish_command`] marks it done and queues the
//! result in one transaction. A crash in between leaves a `started` row: the id is never run
//! again, and on start-up [`Store::interrupted_commands`] lets the agent answer `failed`.

use std::path::Path;

use pitlane_shared::command::SeenCommands;
use rusqlite::{Connection, OptionalExtension, params};

/// How precious a queued message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// Live values: dropped first.
    Telemetry = 0,
    /// Status and events: dropped after telemetry.
    Droppable = 1,
    /// Command results, trouble codes, VINs: never dropped.
    Kept = 2,
}

/// One queued message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
}

/// Store errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// The open store.
pub struct Store {
    conn: Connection,
    max_outbox_bytes: u64,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    retain INTEGER NOT NULL,
    priority INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_priority ON outbox (priority, id);
CREATE TABLE IF NOT EXISTS commands (
    request_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    action TEXT NOT NULL,
    state TEXT NOT NULL          -- 'started' | 'done'
);
CREATE TABLE IF NOT EXISTS facts (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

impl Store {
    /// Opens (creating) the store at `path`.
    pub fn open(path: &Path, max_outbox_bytes: u64) -> Result<Self, StoreError> {
        Self::init(Connection::open(path)?, max_outbox_bytes)
    }

    /// A store in memory (tests).
    pub fn in_memory(max_outbox_bytes: u64) -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?, max_outbox_bytes)
    }

    fn init(conn: Connection, max_outbox_bytes: u64) -> Result<Self, StoreError> {
        // WAL: readers (`pitlane-agent status`) never block the agent; synchronous=FULL so a
        // committed outbox row or command record survives power loss.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Store {
            conn,
            max_outbox_bytes,
        })
    }

    /// Queues a message, then enforces the bound (see the module docs). Returns how many
    /// rows were dropped to make room.
    pub fn push(
        &mut self,
        topic: &str,
        payload: &[u8],
        retain: bool,
        priority: Priority,
    ) -> Result<usize, StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO outbox (topic, payload, retain, priority) VALUES (?1, ?2, ?3, ?4)",
            params![topic, payload, retain, priority as i64],
        )?;
        let dropped = enforce_bound(&tx, self.max_outbox_bytes)?;
        tx.commit()?;
        Ok(dropped)
    }

    /// Up to `limit` queued messages with ids above `after`, oldest first.
    pub fn pending(&self, after: i64, limit: usize) -> Result<Vec<OutboxRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, topic, payload, retain FROM outbox WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit as i64], |r| {
            Ok(OutboxRow {
                id: r.get(0)?,
                topic: r.get(1)?,
                payload: r.get(2)?,
                retain: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Removes a message the broker acknowledged.
    pub fn acknowledge(&self, id: i64) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM outbox WHERE id = ?1")?
            .execute([id])?;
        Ok(())
    }

    /// (rows, payload bytes) in the outbox.
    pub fn outbox_depth(&self) -> Result<(u64, u64), StoreError> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM outbox",
            [],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
        )?)
    }

    /// Records that `request_id` is about to run. `false`: it was recorded before (never run
    /// it again).
    pub fn begin_command(
        &self,
        request_id: &str,
        seq: u64,
        action: &str,
    ) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "INSERT OR IGNORE INTO commands (request_id, seq, action, state) \
             VALUES (?1, ?2, ?3, 'started')",
            params![request_id, seq as i64, action],
        )?;
        Ok(n == 1)
    }

    /// Marks `request_id` done and queues its result, atomically.
    pub fn finish_command(
        &self,
        request_id: &str,
        topic: &str,
        result: &[u8],
    ) -> Result<(), StoreError> {
        // `&self`: the connection is not shared across threads (`Store` is not `Sync`), so no
        // other transaction can be open on it here.
        let tx = self.conn.unchecked_transaction()?;
        tx.execute(
            "UPDATE commands SET state = 'done' WHERE request_id = ?1",
            [request_id],
        )?;
        tx.execute(
            "INSERT INTO outbox (topic, payload, retain, priority) VALUES (?1, ?2, 0, ?3)",
            params![topic, result, Priority::Kept as i64],
        )?;
        enforce_bound(&tx, self.max_outbox_bytes)?;
        tx.commit()?;
        Ok(())
    }

    /// Commands recorded as started but never finished (the agent stopped mid-action):
    /// (request_id, seq, action).
    pub fn interrupted_commands(&self) -> Result<Vec<(String, u64, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT request_id, seq, action FROM commands WHERE state = 'started'")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A remembered vehicle fact (`vin`, `vin_query`, …).
    pub fn fact(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM facts WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Remembers a vehicle fact.
    pub fn set_fact(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO facts (key, value) VALUES (?1, ?2) \
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }
}

fn enforce_bound(tx: &rusqlite::Transaction<'_>, max: u64) -> Result<usize, StoreError> {
    let mut dropped = 0;
    loop {
        let total: i64 = tx.query_row(
            "SELECT COALESCE(SUM(LENGTH(payload)), 0) FROM outbox",
            [],
            |r| r.get(0),
        )?;
        if total as u64 <= max {
            return Ok(dropped);
        }
        let victim: Option<i64> = tx
            .query_row(
                "SELECT id FROM outbox WHERE priority < ?1 ORDER BY priority, id LIMIT 1",
                [Priority::Kept as i64],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = victim else {
            return Ok(dropped);
        };
        tx.execute("DELETE FROM outbox WHERE id = ?1", [id])?;
        dropped += 1;
    }
}

impl SeenCommands for Store {
    fn seen(&self, request_id: &str) -> bool {
        // A read error counts as "seen": refusing a command is the safe side.
        self.conn
            .query_row(
                "SELECT 1 FROM commands WHERE request_id = ?1",
                [request_id],
                |_| Ok(()),
            )
            .optional()
            .map_or(true, |row| row.is_some())
    }

    fn highest_seq(&self) -> Option<u64> {
        // A read error counts as the largest seq: nothing runs until the store works again.
        self.conn
            .query_row("SELECT MAX(seq) FROM commands", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .map_or(Some(u64::MAX), |seq| seq.map(|s| s as u64))
    }
}

#[cfg(test)]
mod tests;
