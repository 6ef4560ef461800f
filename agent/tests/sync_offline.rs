//! Offline operation of the `pitlane-agent run` binary: with the broker down, readings pile up
//! in the outbox; once a broker is up they all arrive, in order, and a `kill -9` of the agent
//! in the middle of the replay loses none of them (delivery is at least once).

mod sync_support;

use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt as _;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use pitlane_agent::store::Store;
use pitlane_shared::envelope::{Expected, SignedEnvelope};
use pitlane_shared::identity::DeviceKey;
use serde_json::Value;
use sync_support::{Broker, Subscriber, WAIT, config_text, free_port, mosquitto_binary};

/// Messages the agent must queue while offline.
const N: u64 = 60;

fn start_agent(config: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_pitlane-agent"))
        .args(["run", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn kill9(child: &mut Child) {
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_survives_an_outage_and_a_kill_mid_replay() {
    if mosquitto_binary().is_none() {
        eprintln!("skipped: mosquitto not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = DeviceKey::generate();
    let device = key.address();
    let key_path = dir.path().join("device.key");
    std::fs::write(&key_path, format!("{}\n", key.to_hex().as_str())).unwrap();
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let db = dir.path().join("agent.db");
    let port = free_port();
    let url = format!("mqtt://127.0.0.1:{port}");
    let cloud = DeviceKey::generate().address();
    let write_config = |telemetry: f64| {
        let path = dir.path().join("agent.toml");
        let text = format!(
            "{}[identity]\nkey = \"{}\"\n",
            config_text(&db, &url, cloud, telemetry),
            key_path.display()
        );
        std::fs::write(&path, text).unwrap();
        path
    };

    // Broker down: the agent queues readings.
    let mut agent = start_agent(&write_config(0.05));
    let deadline = tokio::time::Instant::now() + WAIT * 2;
    loop {
        let depth = Store::open(&db, u64::MAX)
            .map(|s| s.outbox_depth().unwrap().0)
            .unwrap_or(0);
        if depth >= N {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "outbox reached only {depth}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    kill9(&mut agent);
    let expected: Vec<String> = Store::open(&db, u64::MAX)
        .unwrap()
        .pending(0, usize::MAX >> 1)
        .unwrap()
        .iter()
        .map(|row| {
            let v: Value = serde_json::from_slice(&row.payload).unwrap();
            v["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert!(expected.len() as u64 >= N);
    // `status` reads the same store.
    let out = Command::new(env!("CARGO_BIN_EXE_pitlane-agent"))
        .args(["status", "--json", "--config"])
        .arg(write_config(0.05))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["address"], device.to_lowercase_hex());
    assert_eq!(status["outbox"]["messages"], expected.len() as u64);

    // Broker up; the agent replays, is killed after the first delivery, and restarts.
    let broker = Broker::start(port).await.unwrap();
    let mut sub = Subscriber::start(broker.port, device).await;
    let config = write_config(600.0);
    let mut agent = start_agent(&config);
    let mut arrived: Vec<String> = Vec::new();
    let wanted: HashSet<&String> = expected.iter().collect();
    let mut restarted = false;
    tokio::time::timeout(WAIT * 2, async {
        loop {
            let (_, payload) = sub.rx.recv().await.expect("subscriber ended");
            let envelope = SignedEnvelope::<Value>::from_slice(&payload)
                .unwrap()
                .verify(&Expected::from_device(device))
                .expect("every delivered message is signed by the device");
            if wanted.contains(&envelope.id) && !arrived.contains(&envelope.id) {
                arrived.push(envelope.id);
            }
            if !restarted {
                restarted = true;
                kill9(&mut agent);
                agent = start_agent(&config);
            }
            if arrived.len() == expected.len() {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("only {} of {} arrived", arrived.len(), expected.len()));
    assert_eq!(arrived, expected, "first deliveries are in outbox order");
    kill9(&mut agent);
}
