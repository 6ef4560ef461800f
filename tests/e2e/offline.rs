//! Out of coverage: the broker (a real Mosquitto the cloud uses as its external broker) goes
//! away, the agent (a real `pitlane agent run` child process) keeps producing, is killed with
//! SIGKILL in the middle of replaying its outbox, and starts again: the cloud ends up holding
//! every one of those messages, each applied exactly once.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use pitlane::fleet::{CarFiles, Intervals};
use pitlane_agent::store::Store;
use pitlane_testkit::{Mosquitto, MosquittoConfig};
use sqlx::Row;

use crate::support::{WAIT, options, start};

/// Messages the agent queues while the broker is away.
const N: usize = 150;

fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill -{name}");
}

fn agent(config: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_pitlane"))
        .args(["agent", "run", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the agent")
}

/// Envelope ids of the telemetry waiting in the agent's outbox.
fn queued_telemetry(store: &Store) -> HashSet<String> {
    let rows = store.pending(0, 100_000).expect("read outbox");
    rows.iter()
        .filter(|r| r.topic.ends_with("/up/telemetry"))
        .filter_map(|r| {
            let v: serde_json::Value = serde_json::from_slice(&r.payload).ok()?;
            v["id"].as_str().map(str::to_owned)
        })
        .collect()
}

async fn stored(db: &pitlane_cloud::db::Db, device: &str) -> HashSet<String> {
    sqlx::query(
        "SELECT envelope_id FROM mqtt_envelopes WHERE device_address = $1 AND kind = 'telemetry'",
    )
    .bind(device)
    .fetch_all(&db.pool)
    .await
    .expect("envelopes")
    .iter()
    .map(|r| r.get::<String, _>(0))
    .collect()
}

/// Telemetry rows applied and telemetry envelopes recorded, read in one statement so that
/// both come from the same snapshot while ingest keeps writing.
async fn applied(db: &pitlane_cloud::db::Db, device: &str) -> (i64, i64) {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM device_telemetry WHERE device_address = $1 AND kind = 'telemetry'), \
                (SELECT COUNT(*) FROM mqtt_envelopes WHERE device_address = $1 AND kind = 'telemetry')",
    )
    .bind(device)
    .fetch_one(&db.pool)
    .await
    .expect("telemetry counts");
    (row.get(0), row.get(1))
}

async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_survives_broker_outage_and_kill_9_mid_replay() {
    let config = MosquittoConfig::new()
        .max_queued_messages(100_000)
        .max_inflight_messages(100);
    let Some(mut broker) = Mosquitto::start(config).await else {
        eprintln!("skipped: mosquitto not installed");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().to_owned();
    let mut opts = options(&dir, 1);
    opts.mqtt_url = Some(broker.url());
    opts.agents = false;
    opts.intervals = Intervals {
        dtc_secs: 600.0,
        telemetry_secs: 0.05,
        vin_secs: 600.0,
    };
    let stack = start(opts, dir).await;
    let mqtt = stack.running.state.mqtt.clone().expect("MQTT layer");
    let files = CarFiles::new(&data_dir, 0);
    let device = files
        .load_or_create_key()
        .expect("key")
        .address()
        .to_lowercase_hex();
    let db = stack.running.state.db.clone();

    let mut child = agent(&files.agent_config());
    until("the cloud stores the agent's telemetry", async || {
        !stored(&db, &device).await.is_empty()
    })
    .await;

    // Out of coverage: the agent keeps reading the car into its outbox.
    broker.stop();
    until("the cloud notices the broker is gone", async || {
        !mqtt.is_ready()
    })
    .await;
    let store = Store::open(&files.store(), 16 << 20).expect("open the agent's store");
    // A message the broker passed on just before it died can still wait in the outbox for the
    // PUBACK that never came (at least once): only queued messages the cloud has not stored
    // count as queued offline, and with the broker gone nothing else reaches the cloud.
    let queued_offline = async || -> HashSet<String> {
        let stored = stored(&db, &device).await;
        queued_telemetry(&store)
            .into_iter()
            .filter(|id| !stored.contains(id))
            .collect()
    };
    until("the agent queues N messages", async || {
        queued_offline().await.len() >= N
    })
    .await;
    signal(&child, "STOP");
    let offline = queued_offline().await;
    assert!(offline.len() >= N, "{} queued offline", offline.len());

    // Coverage again; the agent is killed while it replays.
    broker.restart().await;
    assert!(mqtt.wait_ready(WAIT).await, "the cloud reconnects");
    signal(&child, "CONT");
    let total = store.outbox_depth().expect("depth").0;
    let mut at_kill = total;
    let deadline = tokio::time::Instant::now() + WAIT;
    // The first acknowledged message leaves the outbox (new readings may add to it meanwhile).
    while at_kill >= total {
        assert!(tokio::time::Instant::now() < deadline, "the replay starts");
        std::thread::sleep(Duration::from_millis(1));
        at_kill = store.outbox_depth().expect("depth").0;
    }
    signal(&child, "KILL");
    let _ = child.wait();
    if at_kill == 0 {
        eprintln!("note: the replay finished before SIGKILL landed");
    } else {
        eprintln!("killed mid-replay: {at_kill} of {total} messages still queued");
    }

    let mut child = agent(&files.agent_config());
    until("the cloud holds every queued message", async || {
        stored(&db, &device).await.is_superset(&offline)
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
    let (rows, envelopes) = applied(&db, &device).await;
    assert_eq!(
        rows, envelopes,
        "each telemetry envelope applied exactly once"
    );
    broker.stop();
    stack.running.stop().await;
}
