//! Multi-row statements that the database prepares once: `VALUES (…), (…)` lists of a few
//! fixed lengths, and the split of any number of rows into chunks of those lengths.
//!
//! sqlx keeps a connection's prepared statements keyed by their text, so a statement whose
//! row count changes from batch to batch is parsed and planned again every time. For a
//! multi-row insert SQLite generates code per row: measured on the ingest store, that
//! re-preparation cost more than the inserts themselves (≈16 µs per message for the envelope
//! claim alone). With lengths from [`chunks`], every statement is one of a handful, prepared
//! on first use and reused from then on.

use crate::db::Backend;

/// The longest chunk: 64 rows of up to 8 columns stay far inside every engine's bound on
/// bound parameters, and a batch of 1,024 rows is 16 statements.
pub const MAX_ROWS: usize = 64;

/// Splits `rows` into chunks of [`MAX_ROWS`] and then powers of two, largest first: every
/// chunk length is one of 64, 32, 16, 8, 4, 2 or 1.
pub fn chunks<T>(mut rows: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        if rows.is_empty() {
            return None;
        }
        let len = rows.len().min(MAX_ROWS);
        // The largest power of two not above `len`.
        let take = 1 << len.ilog2();
        let (chunk, rest) = rows.split_at(take);
        rows = rest;
        Some(chunk)
    })
}

/// `(…), (…)` for `rows` rows of `cols` placeholders: `$1, $2, …` on PostgreSQL, anonymous
/// `?` on SQLite. sqlx binds SQLite's numbered parameters by looking up each one's name,
/// and SQLite finds a name by scanning the statement's list of names: quadratic in the
/// number of parameters.
pub fn placeholders(backend: Backend, rows: usize, cols: usize) -> String {
    use std::fmt::Write as _;
    // Written into one buffer: the statement text is rebuilt for every chunk of every batch
    // (sqlx finds the prepared statement by it), and a string per cell was ≈450 small
    // allocations per 64-row statement.
    let mut sql = String::with_capacity(rows * cols * 6);
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 1..=cols {
            if c > 1 {
                sql.push_str(", ");
            }
            match backend {
                Backend::Sqlite => sql.push('?'),
                // Writing to a String cannot fail.
                Backend::Postgres => {
                    let _ = write!(sql, "${}", r * cols + c);
                }
            }
        }
        sql.push(')');
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(n: usize, expected: &[usize]) {
        let rows: Vec<usize> = (0..n).collect();
        let lengths: Vec<usize> = chunks(&rows).map(<[usize]>::len).collect();
        assert_eq!(lengths, expected, "{n} rows");
        // In order, every row once.
        let again: Vec<usize> = chunks(&rows).flatten().copied().collect();
        assert_eq!(again, rows);
    }

    #[test]
    fn chunk_lengths_are_few_and_cover_every_row_in_order() {
        check(0, &[]);
        check(1, &[1]);
        check(3, &[2, 1]);
        check(64, &[64]);
        check(65, &[64, 1]);
        check(127, &[64, 32, 16, 8, 4, 2, 1]);
        check(283, &[64, 64, 64, 64, 16, 8, 2, 1]);
        for n in 0..=1_100 {
            let rows: Vec<usize> = (0..n).collect();
            assert!(chunks(&rows).all(|c| c.len().is_power_of_two() && c.len() <= MAX_ROWS));
        }
    }

    #[test]
    fn placeholders_number_rows_and_columns() {
        let pg = Backend::Postgres;
        assert_eq!(placeholders(pg, 2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(placeholders(pg, 1, 1), "($1)");
        assert_eq!(placeholders(Backend::Sqlite, 2, 2), "(?, ?), (?, ?)");
        assert_eq!(placeholders(Backend::Sqlite, 1, 3), "(?, ?, ?)");
        assert_eq!(placeholders(pg, 0, 3), "");
        let long = placeholders(pg, 64, 4);
        assert!(long.starts_with("($1, $2, $3, $4), ($5, "), "{long}");
        assert!(long.ends_with("($253, $254, $255, $256)"), "{long}");
    }
}
