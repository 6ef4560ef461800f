//! `pitlane-cloud decode` end to end: arguments, `--file`, and the JSON, CSV and table outputs.

use std::process::Command;

fn decode(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pitlane-cloud"))
        .arg("decode")
        .args(args)
        .output()
        .expect("runs pitlane-cloud");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn json_is_one_object_per_vin_with_the_documented_fields() {
    let (ok, stdout, stderr) = decode(&["--json", "1HGCM82633A004352", "1HGCM8O633A004352"]);
    assert!(ok, "{stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 2);
    let good = &lines[0];
    assert_eq!(good["vin"], "1HGCM82633A004352");
    assert_eq!(good["valid"], true);
    assert_eq!(good["make"], "Honda");
    assert_eq!(good["model"], "Accord");
    assert_eq!(good["year"], 2003);
    assert!(good.get("body_type").is_some());
    assert_eq!(good["errors"], serde_json::json!([]));
    let bad = &lines[1];
    assert_eq!(bad["valid"], false);
    assert!(
        bad["errors"][0]
            .as_str()
            .is_some_and(|e| e.starts_with("position 7:")),
        "{bad}"
    );
}

#[test]
fn file_input_and_csv_output() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("fleet.csv");
    std::fs::write(
        &path,
        "unit,vin\n7,5YJ3A1E12HF000001\n8,WVWZZZAUZFW000002\n",
    )
    .expect("write");
    let (ok, stdout, stderr) = decode(&[
        "--format",
        "csv",
        "--file",
        path.to_str().expect("utf-8 path"),
    ]);
    assert!(ok, "{stderr}");
    let mut rows = csv::Reader::from_reader(stdout.as_bytes());
    let rows: Vec<csv::StringRecord> = rows.records().collect::<Result<_, _>>().expect("CSV out");
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (&rows[0][0], &rows[0][2], &rows[0][3], &rows[0][4]),
        ("5YJ3A1E12HF000001", "Tesla", "Model 3", "2017")
    );
    assert_eq!((&rows[1][2], &rows[1][3]), ("Volkswagen", "Golf (Mk7)"));
}

#[test]
fn table_by_default_and_errors_without_input() {
    let (ok, stdout, _) = decode(&["1HGCM82633A004352"]);
    assert!(ok);
    let mut lines = stdout.lines();
    assert!(lines.next().is_some_and(|h| h.starts_with("VIN")));
    assert!(
        lines
            .next()
            .is_some_and(|l| l.contains("Honda") && l.contains("Accord") && l.contains("2003"))
    );
    let (ok, _, stderr) = decode(&[]);
    assert!(!ok);
    assert!(stderr.contains("no VINs given"), "{stderr}");
}
