//! `pitlane-cloud decode [--json] [--format table|json|csv] [--file F] [VIN…]`: offline VIN
//! decoding. JSON output is one object per VIN with `vin`, `valid`, `make`, `model`, `year`,
//! `body_type`, `errors` (and `warnings`).

use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::vin::{Decoder, Summary};
use anyhow::Context;

/// Files with more VINs than this get a progress bar (when stderr is a terminal).
const PROGRESS_FROM: usize = 1_000;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A readable table.
    Table,
    /// One JSON object per line.
    Json,
    /// CSV with a header row.
    Csv,
}

#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// Print one JSON object per VIN (same as `--format json`).
    #[arg(long)]
    pub json: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table", conflicts_with = "json")]
    pub format: Format,
    /// Read VINs from a file: CSV (the `vin` column, or the first column) or one per line.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// VINs to decode.
    pub vins: Vec<String>,
}

pub fn run(args: DecodeArgs) -> anyhow::Result<()> {
    let mut vins = args.vins;
    if let Some(path) = &args.file {
        vins.extend(read_vins(path)?);
    }
    anyhow::ensure!(
        !vins.is_empty(),
        "no VINs given: pass them as arguments or with --file"
    );
    let format = if args.json { Format::Json } else { args.format };
    let decoder = Decoder::new().context("loading the VIN decoder's data")?;

    let progress = (vins.len() > PROGRESS_FROM && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(vins.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} VINs ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let summaries = vins.iter().map(|v| {
        let s = Summary::new(&decoder.decode(v));
        if let Some(bar) = &progress {
            bar.inc(1);
        }
        s
    });
    let mut out = BufWriter::new(std::io::stdout().lock());
    match format {
        Format::Json => write_json(&mut out, summaries)?,
        Format::Csv => write_csv(&mut out, summaries)?,
        Format::Table => write_table(&mut out, summaries.collect())?,
    }
    out.flush().context("writing the output")?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    Ok(())
}

/// VINs from a file: a CSV with a `vin` column (any case), else the first column of each row;
/// blank lines are skipped.
pub fn read_vins(path: &Path) -> anyhow::Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_vin_list(&text).with_context(|| format!("reading {}", path.display()))
}

/// Parses a VIN list (CSV or one per line).
pub fn parse_vin_list(text: &str) -> anyhow::Result<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let mut column = 0;
    let mut vins = Vec::new();
    if let Some(first) = records.next() {
        let first = first?;
        match first
            .iter()
            .position(|f| f.trim().eq_ignore_ascii_case("vin"))
        {
            Some(i) => column = i,
            None => vins.extend(first.get(0).map(str::to_owned)),
        }
    }
    for record in records {
        vins.extend(record?.get(column).map(str::to_owned));
    }
    vins.retain(|v| !v.trim().is_empty());
    Ok(vins)
}

fn write_json(out: &mut impl Write, rows: impl Iterator<Item = Summary>) -> anyhow::Result<()> {
    for s in rows {
        serde_json::to_writer(&mut *out, &s)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn write_csv(out: &mut impl Write, rows: impl Iterator<Item = Summary>) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "vin",
        "valid",
        "make",
        "model",
        "year",
        "body_type",
        "errors",
        "warnings",
    ])?;
    for s in rows {
        w.write_record([
            s.vin,
            s.valid.to_string(),
            s.make.unwrap_or_default(),
            s.model.unwrap_or_default(),
            s.year.map(|y| y.to_string()).unwrap_or_default(),
            s.body_type.unwrap_or_default(),
            s.errors.join("; "),
            s.warnings.join("; "),
        ])?;
    }
    w.flush()?;
    Ok(())
}

fn write_table(out: &mut impl Write, rows: Vec<Summary>) -> anyhow::Result<()> {
    let header = ["VIN", "VALID", "YEAR", "MAKE", "MODEL", "BODY", "NOTES"].map(str::to_owned);
    let cells: Vec<[String; 7]> = rows
        .into_iter()
        .map(|s| {
            let notes: Vec<String> = s.errors.into_iter().chain(s.warnings).collect();
            [
                s.vin,
                if s.valid { "yes" } else { "no" }.to_owned(),
                s.year.map(|y| y.to_string()).unwrap_or_else(|| "-".into()),
                s.make.unwrap_or_else(|| "-".into()),
                s.model.unwrap_or_else(|| "-".into()),
                s.body_type.unwrap_or_else(|| "-".into()),
                notes.join("; "),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&cells) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        writeln!(out, "{}", line.join("  ").trim_end())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: &[&str]) {
        assert_eq!(parse_vin_list(text).expect("parses"), expected, "{text:?}");
    }

    #[test]
    fn vin_lists() {
        check(
            "1HGCM82633A004352\n\nWVWZZZAUZFW000002\n",
            &["1HGCM82633A004352", "WVWZZZAUZFW000002"],
        );
        check("vin,year\n1HGCM82633A004352,2003\n", &["1HGCM82633A004352"]);
        check(
            "id,VIN\n1,1HGCM82633A004352\n2,5YJ3A1E12HF000001\n",
            &["1HGCM82633A004352", "5YJ3A1E12HF000001"],
        );
        check(
            "1HGCM82633A004352,x\n5YJ3A1E12HF000001,y\n",
            &["1HGCM82633A004352", "5YJ3A1E12HF000001"],
        );
        check("", &[]);
    }
}
