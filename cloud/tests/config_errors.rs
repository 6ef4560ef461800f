//! `pitlane-cloud serve` with bad configuration: one line naming the setting, exit code 1,
//! and never a secret in the message.

use std::process::Command;

fn serve(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pitlane-cloud"));
    for (var, _) in std::env::vars() {
        if var.starts_with("PITLANE_") || var == "DATABASE_URL" {
            cmd.env_remove(var);
        }
    }
    cmd.arg("serve")
        .args(args)
        .env("PITLANE_HTTP_ADDR", "127.0.0.1:0")
        .env("PITLANE_MQTT_ADDR", "127.0.0.1:0")
        .env("PITLANE_DATA_DIR", dir.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run pitlane-cloud");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Exit code 1 and a single `error:` line containing every needle.
fn check(args: &[&str], env: &[(&str, &str)], needles: &[&str]) -> String {
    let (code, stderr) = serve(args, env);
    assert_eq!(code, Some(1), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    for needle in needles {
        assert!(errors[0].contains(needle), "{needle:?} in {stderr}");
    }
    errors[0].to_owned()
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[test]
fn missing_file_unknown_key_and_bad_values_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("absent.toml");
    let missing = missing.to_str().expect("utf-8");
    check(
        &["--config", missing],
        &[],
        &["absent.toml", "No such file"],
    );

    let file = dir.path().join("cloud.toml");
    std::fs::write(&file, "htp_addr = \"127.0.0.1:8080\"\n").expect("write");
    check(
        &["--config", file.to_str().expect("utf-8")],
        &[],
        &["unknown field `htp_addr`"],
    );
    check(
        &[],
        &[("PITLANE_SMTP_PORT", "lots")],
        &["PITLANE_SMTP_PORT"],
    );
    check(&[], &[("DATABASE_URL", "mysql://x/y")], &["database_url"]);
}

#[test]
fn unreachable_database_is_named_without_its_password() {
    let url = format!(
        "postgres://pitlane:hunter2-secret@127.0.0.1:{}/pitlane",
        closed_port()
    );
    let line = check(
        &[],
        &[("DATABASE_URL", &url)],
        &["setting `database_url`", "127.0.0.1"],
    );
    assert!(!line.contains("hunter2-secret"), "{line}");

    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/no/such/dir/db.sqlite", dir.path().display());
    check(&[], &[("DATABASE_URL", &url)], &["setting `database_url`"]);
}
