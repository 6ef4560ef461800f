//! `pitlane-cloud serve` stopped by SIGTERM while a bulk decode is running: the decode
//! workers end before the database closes, so none of them logs a query on a closed pool,
//! and the service exits cleanly.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(60);
const EMAIL: &str = "bulk@example.com";
const PASSWORD: &str = "quiet-lantern-808";

fn cloud(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pitlane-cloud"));
    cmd.env_remove("DATABASE_URL")
        .env_remove("PITLANE_DATABASE_URL")
        .env("PITLANE_DATA_DIR", dir)
        .env("RUST_LOG", "warn")
        .env("PITLANE_LOG_FORMAT", "text")
        .kill_on_drop(true);
    cmd
}

/// The next stderr line, failing the test after [`WAIT`].
async fn next_line(lines: &mut mpsc::UnboundedReceiver<String>) -> Option<String> {
    tokio::time::timeout(WAIT, lines.recv())
        .await
        .expect("stderr line within the wait")
}

#[tokio::test]
async fn sigterm_during_a_bulk_decode_stops_the_workers_before_the_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let added = cloud(dir.path())
        .args(["user", "add", "--email", EMAIL, "--name", "Bulk"])
        .env("PITLANE_NEW_USER_PASSWORD", PASSWORD)
        .output()
        .await
        .expect("user add");
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );

    // One task per claim keeps the bulk busy for many round trips.
    let mut child = cloud(dir.path())
        .arg("serve")
        .env("PITLANE_HTTP_ADDR", "127.0.0.1:0")
        .env("PITLANE_MQTT_ADDR", "127.0.0.1:0")
        .env("PITLANE_VIN_WORKER_BATCH", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, mut lines) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut reader = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let base = loop {
        let line = next_line(&mut lines)
            .await
            .unwrap_or_else(|| panic!("serve exited early: {seen:#?}"));
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .map(|addr| format!("http://{addr}"));
        seen.push(line);
        if let Some(addr) = addr {
            break addr;
        }
    };

    let client = reqwest::Client::builder()
        .timeout(WAIT)
        .build()
        .expect("client");
    let signin: Value = client
        .post(format!("{base}/api/v1/users/signin"))
        .json(&json!({ "email": EMAIL, "password": PASSWORD }))
        .send()
        .await
        .expect("signin")
        .json()
        .await
        .expect("signin body");
    let (user, token) = (
        signin["user_id"].as_str().expect("user_id"),
        signin["token"].as_str().expect("token"),
    );
    let vins: Vec<String> = (0..3000).map(|i| format!("WVWZZZ1KZ6W{i:06}")).collect();
    let started = client
        .post(format!("{base}/api/v1/decode/{user}"))
        .bearer_auth(token)
        .json(&json!({ "vins": vins }))
        .send()
        .await
        .expect("bulk");
    assert_eq!(started.status(), 200);
    let started: Value = started.json().await.expect("bulk body");
    let last = started["task_ids"]
        .as_array()
        .and_then(|ids| ids.last())
        .and_then(Value::as_str)
        .expect("task ids");

    // Wait until the workers are visibly in the middle of the bulk, then stop the service.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let task: Value = client
            .get(format!("{base}/api/v1/decode/{user}/tasks/{last}"))
            .bearer_auth(token)
            .send()
            .await
            .expect("task")
            .json()
            .await
            .expect("task body");
        let (done, total) = (
            task["progress"]["completed"].as_i64().expect("completed"),
            task["progress"]["total"].as_i64().expect("total"),
        );
        assert!(done < total, "the bulk finished before the stop: {task}");
        if done > 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no task decoded in {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = child.id().expect("pid").to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill");
    assert!(killed.success());
    let exit = tokio::time::timeout(WAIT, child.wait())
        .await
        .expect("exit within the wait")
        .expect("wait");
    while let Some(line) = next_line(&mut lines).await {
        seen.push(line);
    }
    assert!(exit.success(), "{exit:?}: {seen:#?}");
    assert!(
        seen.iter().any(|l| l.contains("stopped")),
        "no clean stop: {seen:#?}"
    );
    let complaints: Vec<&String> = seen
        .iter()
        .filter(|l| l.contains("bulk decode worker") || l.contains("closed pool"))
        .collect();
    assert!(
        complaints.is_empty(),
        "workers ran into the closed database: {complaints:#?}"
    );
}
