//! `pitlane-agent run` with bad configuration: one clear line naming the setting, exit 1.

use std::path::Path;
use std::process::Command;

const CLOUD: &str = "0x5eAA326fB2fc97fAcCe6A79A304876daD0F2e96c";

fn agent() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pitlane-agent"));
    for (var, _) in std::env::vars() {
        if var.starts_with("PITLANE_") {
            cmd.env_remove(var);
        }
    }
    cmd
}

/// A valid config with `bus`, `mqtt_url` and `extra` (appended at the top level) swapped in.
fn config(dir: &Path, bus: &str, mqtt_url: &str, store: &str, extra: &str) -> String {
    format!(
        "bus = {bus:?}\n{extra}\n[identity]\nkey = {key:?}\n\n[mqtt]\nurl = {mqtt_url:?}\n\
         cloud_command_address = \"{CLOUD}\"\n\n[store]\npath = {store:?}\n",
        key = dir.join("device.key").display().to_string(),
    )
}

/// Runs `run --config` on `text` and checks the failure: exit code 1, a single `error:` line
/// that contains every `needle`.
fn check(dir: &Path, text: &str, needles: &[&str]) {
    let path = dir.join("agent.toml");
    std::fs::write(&path, text).expect("write config");
    let out = agent()
        .args(["run", "--config"])
        .arg(&path)
        .output()
        .expect("run the agent");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}\n{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    for needle in needles {
        assert!(lines[0].contains(needle), "{needle:?} in {stderr}");
    }
}

#[test]
fn bad_settings_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("device.key");
    let made = agent()
        .args(["identity", "init", "--key"])
        .arg(&key)
        .output()
        .expect("identity init");
    assert!(made.status.success(), "{made:?}");
    let store = dir.path().join("agent.db").display().to_string();
    let mqtt = "mqtt://127.0.0.1:1";
    let d = dir.path();

    check(
        d,
        &config(d, "sim://", mqtt, &store, "colour = \"red\""),
        &["unknown field `colour`"],
    );
    check(
        d,
        &config(d, "can0", mqtt, &store, ""),
        &["setting `bus`", "can0"],
    );
    check(
        d,
        &config(d, "slcan:///dev/ttyACM0?baud=fast", mqtt, &store, ""),
        &["setting `bus`", "baud"],
    );
    check(
        d,
        &config(d, "slcan:///nonexistent/ttyACM9", mqtt, &store, ""),
        &["setting `bus`", "/nonexistent/ttyACM9"],
    );
    check(
        d,
        &config(d, "sim://", "http://127.0.0.1:1", &store, ""),
        &["setting `mqtt.url`", "http://127.0.0.1:1"],
    );
    check(
        d,
        &config(d, "sim://", mqtt, "/nonexistent/dir/agent.db", ""),
        &["setting `store.path`", "/nonexistent/dir/agent.db"],
    );
    check(
        d,
        &config(d, "sim://", mqtt, &store, "").replace(CLOUD, "0x5eAA"),
        &["mqtt.cloud_command_address"],
    );
    check(
        d,
        &format!(
            "bus = \"sim://\"\n[identity]\nkey = {:?}\n",
            key.display().to_string()
        ),
        &["setting `mqtt`"],
    );
}

#[test]
fn missing_config_file_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("absent.toml");
    let out = agent()
        .args(["run", "--config"])
        .arg(&path)
        .output()
        .expect("run the agent");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("absent.toml"), "{stderr}");
    assert!(stderr.contains("No such file"), "{stderr}");
}
