//! `pitlane-cloud serve`: starts from configuration, serves, and shuts down gracefully on
//! SIGTERM; bad configuration fails with a message naming the setting.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

fn serve(dir: &std::path::Path, extra_env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pitlane-cloud"));
    cmd.arg("serve")
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("PITLANE_DATABASE_URL")
        .env("PITLANE_HTTP_ADDR", "127.0.0.1:0")
        .env("PITLANE_MQTT_ADDR", "127.0.0.1:0")
        .env("PITLANE_DATA_DIR", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd
}

#[test]
fn serves_then_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = serve(dir.path(), &[], &[]).spawn().expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let addr = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the service announces its address");
        if let Some(rest) = line.split("http://").nth(1) {
            break rest.split_whitespace().next().expect("addr").to_owned();
        }
    };
    let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    use std::io::{Read, Write};
    stream
        .write_all(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    assert!(response.starts_with("HTTP/1.1 200"), "{response:.200}");
    assert!(
        dir.path().join("pitlane.db").exists(),
        "SQLite in the data dir by default"
    );
    assert!(
        dir.path().join("token-secret").exists(),
        "generated token secret"
    );

    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no graceful exit within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    let rest: Vec<String> = rx.try_iter().collect();
    assert!(rest.iter().any(|l| l.contains("stopped")), "{rest:?}");
}

fn check_config_error(env: &[(&str, &str)], file: Option<&str>, needle: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cloud.toml");
    let mut args = Vec::new();
    if let Some(text) = file {
        std::fs::write(&path, text).expect("write");
        args.push("--config");
        args.push(path.to_str().expect("utf-8"));
    }
    let output = serve(dir.path(), env, &args).output().expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(needle),
        "{stderr:?} should mention {needle:?}"
    );
}

#[test]
fn bad_configuration_names_the_setting() {
    check_config_error(
        &[("PITLANE_ACCESS_TOKEN_TTL_SECS", "soon")],
        None,
        "PITLANE_ACCESS_TOKEN_TTL_SECS",
    );
    check_config_error(&[], Some("http_adr = \"127.0.0.1:1\"\n"), "http_adr");
    check_config_error(&[], Some("smtp_security = \"ssl\"\n"), "smtp_security");
}

#[test]
fn user_add_creates_an_admin_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let add = |password: &str| {
        Command::new(env!("CARGO_BIN_EXE_pitlane-cloud"))
            .args([
                "user",
                "add",
                "--email",
                "root@example.com",
                "--name",
                "Root",
                "--admin",
            ])
            .env_remove("DATABASE_URL")
            .env_remove("PITLANE_DATABASE_URL")
            .env("PITLANE_DATA_DIR", dir.path())
            .env("PITLANE_NEW_USER_PASSWORD", password)
            .output()
            .expect("run")
    };
    let weak = add("password");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("too common"));
    let ok = add("quiet-lantern-808");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&ok.stdout).expect("json");
    assert_eq!(created["role"], "admin");
    assert!(created["user_id"].as_str().expect("id").starts_with("usr_"));
    assert!(
        !add("quiet-lantern-808").status.success(),
        "the email is taken"
    );
}
