//! `pitlane up` as a user runs it (a real child process): it starts, prints the panel URL,
//! the demo credentials and a privilege token, serves a decode and an unlock with them, and
//! stops cleanly on SIGINT.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pitlane::client::Api;
use serde_json::json;

use crate::support::WAIT;

/// The value after `label` on the first line that has it.
fn field(text: &str, label: &str) -> String {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .map(|v| v.split_whitespace().next().unwrap_or_default().to_owned())
        .unwrap_or_else(|| panic!("no {label:?} in:\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_serves_a_decode_and_an_unlock_then_stops_on_sigint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pitlane"))
        .args(["up", "--cars", "1", "--http-addr", "127.0.0.1:0"])
        .args(["--mqtt-addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("PITLANE_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pitlane up");
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    for stream in [
        Box::new(stdout) as Box<dyn std::io::Read + Send>,
        Box::new(stderr),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let mut text = String::new();
    let deadline = Instant::now() + 3 * WAIT;
    while !text.contains("Ctrl-C stops everything") {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("pitlane up did not finish starting:\n{text}"));
        text.push_str(&line);
        text.push('\n');
    }
    let panel = field(&text, "web panel");
    assert!(panel.ends_with("/panel/"), "{panel}");
    let base = panel.trim_end_matches("/panel/").to_owned();
    let email = field(&text, "email");
    let password = field(&text, "password");
    let privilege = field(&text, "PRIV=");
    let vehicle: u64 = field(&text, "vehicle     token")
        .trim_end_matches(',')
        .parse()
        .expect("vehicle token id");
    let vin = text
        .lines()
        .find_map(|l| l.split("VIN ").nth(1))
        .map(|v| v.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())[..17].to_owned())
        .expect("VIN");

    let http = reqwest::Client::new();
    let signin: serde_json::Value = http
        .post(format!("{base}/api/v1/users/signin"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("signin")
        .json()
        .await
        .expect("json");
    let token = signin["token"].as_str().expect("token");
    let user = signin["user_id"].as_str().expect("user_id");
    let decoded: serde_json::Value = http
        .get(format!("{base}/api/v1/decode/{user}?vin={vin}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("decode")
        .json()
        .await
        .expect("json");
    assert_eq!(decoded["task_result"]["make"], "Hyundai", "{decoded}");

    let api = Api::new(&base).expect("client");
    let request = api
        .command(&privilege, vehicle, "doors/unlock")
        .await
        .expect("unlock accepted");
    let outcome = api
        .wait_command(
            &privilege,
            vehicle,
            &request,
            Duration::from_millis(100),
            WAIT,
        )
        .await
        .expect("final status");
    assert_eq!(outcome.status, "executed", "{}", outcome.body);
    assert_eq!(outcome.body["state"]["doors_locked"], false);

    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let deadline = Instant::now() + WAIT;
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        assert!(Instant::now() < deadline, "no clean exit after SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    let rest: Vec<String> = rx.try_iter().collect();
    assert!(exit.success(), "{exit:?}\n{rest:#?}");
    assert!(
        rest.iter().any(|l| l.contains("pitlane up: stopped")),
        "{rest:#?}"
    );
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "nothing listens after the stop"
    );
}
