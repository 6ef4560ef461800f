//! Read-only queries over a user's bulk decodes (`vin_bulks`, `vin_tasks`) for the decode
//! pages: progress, results, recent bulks, and the CSV of results. Every query takes the
//! owner's user id, so another user's bulk reads as missing.

use sqlx::Row;

use crate::db::Db;
use crate::vin::Report;
use crate::vin::store::StoreError;

/// How far a bulk has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Progress {
    pub total: i64,
    pub completed: i64,
    pub failed: i64,
    pub paused: i64,
    /// Waiting for a worker (pausing stops these).
    pub pending: i64,
    /// Being decoded now (they finish even when the bulk is paused).
    pub running: i64,
}

impl Progress {
    pub fn done(&self) -> i64 {
        self.completed + self.failed
    }

    pub fn finished(&self) -> bool {
        self.total > 0 && self.done() == self.total
    }

    /// Where the bulk stands, as the page names it.
    pub fn state(&self) -> BulkState {
        if self.finished() {
            BulkState::Done
        } else if self.paused > 0 {
            BulkState::Paused
        } else {
            BulkState::Running
        }
    }
}

/// A bulk's state: running (tasks waiting or being decoded), paused (some tasks held back;
/// those already being decoded still finish), or done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkState {
    Running,
    Paused,
    Done,
}

impl BulkState {
    pub fn as_str(self) -> &'static str {
        match self {
            BulkState::Running => "running",
            BulkState::Paused => "paused",
            BulkState::Done => "done",
        }
    }
}

/// A bulk in the recent list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkSummary {
    pub id: String,
    pub file_name: Option<String>,
    pub created_at: i64,
    pub progress: Progress,
}

/// One VIN of a bulk and its result so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRow {
    pub vin: String,
    pub state: String,
    pub report: Option<Report>,
}

async fn owned(
    db: &Db,
    user_id: &str,
    bulk_id: &str,
) -> Result<Option<(Option<String>, i64)>, StoreError> {
    let row =
        sqlx::query("SELECT file_name, created_at FROM vin_bulks WHERE id = $1 AND user_id = $2")
            .bind(bulk_id)
            .bind(user_id)
            .fetch_optional(&db.pool)
            .await?;
    Ok(row
        .map(|r| Ok::<_, sqlx::Error>((r.try_get("file_name")?, r.try_get("created_at")?)))
        .transpose()?)
}

async fn counts(db: &Db, bulk_id: &str) -> Result<Progress, StoreError> {
    let rows =
        sqlx::query("SELECT state, COUNT(*) AS n FROM vin_tasks WHERE bulk_id = $1 GROUP BY state")
            .bind(bulk_id)
            .fetch_all(&db.pool)
            .await?;
    let mut p = Progress::default();
    for row in rows {
        let state: String = row.try_get("state")?;
        let n: i64 = row.try_get("n")?;
        p.total += n;
        match state.as_str() {
            "completed" => p.completed += n,
            "failed" => p.failed += n,
            "paused" => p.paused += n,
            "pending" => p.pending += n,
            "running" => p.running += n,
            _ => {}
        }
    }
    Ok(p)
}

/// A user's bulk: its file name, creation time and progress.
pub async fn bulk(db: &Db, user_id: &str, bulk_id: &str) -> Result<BulkSummary, StoreError> {
    let (file_name, created_at) = owned(db, user_id, bulk_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(BulkSummary {
        id: bulk_id.to_owned(),
        file_name,
        created_at,
        progress: counts(db, bulk_id).await?,
    })
}

/// The user's most recent bulks, newest first.
pub async fn recent(db: &Db, user_id: &str, limit: i64) -> Result<Vec<BulkSummary>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, file_name, created_at FROM vin_bulks WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT $2",
    )
    .bind(user_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let id: String = row.try_get("id")?;
        out.push(BulkSummary {
            progress: counts(db, &id).await?,
            file_name: row.try_get("file_name")?,
            created_at: row.try_get("created_at")?,
            id,
        });
    }
    Ok(out)
}

/// A user's bulk's tasks in their original order.
pub async fn tasks(db: &Db, user_id: &str, bulk_id: &str) -> Result<Vec<TaskRow>, StoreError> {
    owned(db, user_id, bulk_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    let rows = sqlx::query(
        "SELECT vin, state, result FROM vin_tasks WHERE bulk_id = $1 AND user_id = $2 ORDER BY seq, id",
    )
    .bind(bulk_id)
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            let state: String = row.try_get("state")?;
            let result: Option<String> = row.try_get("result")?;
            // A failed task's result is an error text, not a report.
            let report = match (state.as_str(), result) {
                ("completed", Some(json)) => Some(serde_json::from_str(&json)?),
                _ => None,
            };
            Ok(TaskRow {
                vin: row.try_get("vin")?,
                state,
                report,
            })
        })
        .collect()
}

/// Spreadsheet programs run cells starting with these as formulas: such cells get a
/// leading apostrophe (OWASP's advice on CSV injection).
fn cell(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// The results as CSV: `vin,state,valid,make,model,year,body_type,errors`.
pub fn to_csv(rows: &[TaskRow], decoder: &crate::vin::Decoder) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "vin",
        "state",
        "valid",
        "make",
        "model",
        "year",
        "body_type",
        "errors",
    ])?;
    for row in rows {
        let decoded = decoder.decode(&row.vin);
        let errors: Vec<String> = decoded.errors().map(ToString::to_string).collect();
        let r = row.report.as_ref();
        let text = |f: fn(&Report) -> &Option<String>| {
            r.and_then(|r| f(r).as_deref())
                .map(cell)
                .unwrap_or_default()
        };
        w.write_record([
            cell(&row.vin),
            row.state.clone(),
            decoded.valid.to_string(),
            text(|r| &r.make),
            text(|r| &r.model),
            text(|r| &r.year),
            text(|r| &r.body_type),
            cell(&errors.join("; ")),
        ])?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bulk_is_running_paused_or_done() {
        let p = |completed, paused, pending, running| Progress {
            total: completed + paused + pending + running,
            completed,
            failed: 0,
            paused,
            pending,
            running,
        };
        for (progress, state) in [
            (p(0, 0, 3, 0), BulkState::Running),
            (p(1, 0, 1, 1), BulkState::Running),
            (p(1, 2, 0, 0), BulkState::Paused),
            (p(0, 2, 0, 1), BulkState::Paused),
            (p(3, 0, 0, 0), BulkState::Done),
        ] {
            assert_eq!(progress.state(), state, "{progress:?}");
        }
    }

    #[test]
    fn formula_cells_are_defused() {
        for (input, expected) in [
            ("1HGCM82633A004352", "1HGCM82633A004352"),
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("+1", "'+1"),
            ("-1", "'-1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("", ""),
        ] {
            assert_eq!(cell(input), expected, "{input}");
        }
    }

    #[test]
    fn csv_has_a_header_and_one_line_per_vin() {
        let decoder = crate::vin::Decoder::new().expect("decoder data");
        let rows = vec![
            TaskRow {
                vin: "1HGCM82633A004352".into(),
                state: "completed".into(),
                report: None,
            },
            TaskRow {
                vin: "=BAD".into(),
                state: "pending".into(),
                report: None,
            },
        ];
        let text = String::from_utf8(to_csv(&rows, &decoder).expect("csv")).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "vin,state,valid,make,model,year,body_type,errors");
        assert!(
            lines[1].starts_with("1HGCM82633A004352,completed,true,"),
            "{}",
            lines[1]
        );
        assert!(lines[2].starts_with("'=BAD,pending,false,"), "{}", lines[2]);
        assert_eq!(lines.len(), 3);
    }
}
