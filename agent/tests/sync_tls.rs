//! `mqtts://` against a real Mosquitto with a TLS listener and a throwaway PKI: the agent's
//! reports reach a subscriber (on the broker's plain listener) over TLS; a broker whose
//! certificate another CA signed is refused with a plain-words log line, retried, and nothing
//! is published; with `require_certificate`, the agent gets in with its client certificate and
//! is refused without one. Skipped, with a message, where Mosquitto is not installed.

mod sync_support;

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use pitlane_agent::store::Store;
use pitlane_shared::identity::{Address, DeviceKey};
use pitlane_shared::topics::{Presence, StatusReport, VinReport};
use pitlane_sim::Scenario;
use pitlane_testkit::{Mosquitto, MosquittoConfig, TestPki, TlsListener};
use sync_support::{Subscriber, WAIT, config_text, run_agent, verified};

/// A broker with a plain listener (for the test's subscriber) and a TLS listener serving
/// `cert`/`key`, requiring client certificates signed by the PKI's CA when `mutual`.
async fn broker(pki: &TestPki, cert: &Path, key: &Path, mutual: bool) -> Option<Mosquitto> {
    let config = MosquittoConfig::new().tls(TlsListener {
        ca_file: pki.ca.clone(),
        cert_file: cert.to_path_buf(),
        key_file: key.to_path_buf(),
        require_certificate: mutual,
    });
    let broker = Mosquitto::start(config).await;
    if broker.is_none() {
        eprintln!("skipped: mosquitto not installed");
    }
    broker
}

/// An agent config for `url` with extra `[mqtt]` lines (the TLS settings).
fn agent_config(dir: &Path, name: &str, url: &str, tls_lines: &str) -> String {
    config_text(
        &dir.join(format!("{name}.db")),
        url,
        DeviceKey::generate().address(),
        600.0,
    )
    .replace(
        "backoff_max_secs = 1\n",
        &format!("backoff_max_secs = 1\n{tls_lines}"),
    )
}

fn tls_lines(ca: &Path, client: Option<(&Path, &Path)>) -> String {
    let mut lines = format!("ca_file = {:?}\n", ca.display().to_string());
    if let Some((cert, key)) = client {
        lines.push_str(&format!(
            "client_cert_file = {:?}\nclient_key_file = {:?}\n",
            cert.display().to_string(),
            key.display().to_string()
        ));
    }
    lines
}

/// Waits for the device's `online` status and its VIN report.
async fn reports_arrive(sub: &mut Subscriber, device: Address) {
    let status = sub
        .next_where("status", |p| {
            verified::<StatusReport>(p, device).state == Presence::Online
        })
        .await;
    assert_eq!(verified::<StatusReport>(&status, device).bus, "sim://");
    let vin = sub.next_where("vin", |_| true).await;
    assert_eq!(
        verified::<VinReport>(&vin, device).vin.as_str(),
        Scenario::default_car().vin
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_travel_over_tls() {
    let pki = TestPki::generate();
    let Some(broker) = broker(&pki, &pki.server_cert, &pki.server_key, false).await else {
        return;
    };
    let key = DeviceKey::generate();
    let device = key.address();
    let mut sub = Subscriber::start(broker.port(), device).await;
    let dir = tempfile::tempdir().unwrap();
    // A host name, so the certificate is checked against a DNS name (127.0.0.1 is an IP SAN).
    let url = format!("mqtts://localhost:{}", broker.tls_port());
    let text = agent_config(dir.path(), "agent", &url, &tls_lines(&pki.ca, None));
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let agent = run_agent(&text, key, shutdown);
    reports_arrive(&mut sub, device).await;
    stop.send_replace(true);
    tokio::time::timeout(WAIT, agent).await.unwrap().unwrap();
}

/// The real binary, its stderr collected line by line.
struct AgentProcess {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

/// Makes a device key in `dir` and writes `text` (from [`agent_config`]) with an `[identity]`
/// section naming it; returns the config file.
fn write_config(dir: &Path, text: &str) -> std::path::PathBuf {
    let key = dir.join("device.key");
    let made = Command::new(env!("CARGO_BIN_EXE_pitlane-agent"))
        .args(["identity", "init", "--key"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let identity = format!(
        "bus = \"sim://\"\n[identity]\nkey = {:?}\n",
        key.display().to_string()
    );
    let path = dir.join("agent.toml");
    std::fs::write(&path, text.replacen("bus = \"sim://\"\n", &identity, 1)).unwrap();
    path
}

impl AgentProcess {
    fn start(dir: &Path, text: &str) -> AgentProcess {
        let bin = env!("CARGO_BIN_EXE_pitlane-agent");
        let path = write_config(dir, text);
        let mut child = Command::new(bin)
            .args(["run", "--config"])
            .arg(&path)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        AgentProcess {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits until `times` lines contain `needle`; panics with everything seen otherwise.
    fn wait_for(&mut self, needle: &str, times: usize) -> String {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let matching: Vec<&String> = self.seen.iter().filter(|l| l.contains(needle)).collect();
            if matching.len() >= times {
                eprintln!("the agent logged: {}", matching[0]);
                return matching[0].clone();
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left.min(Duration::from_secs(1))) {
                Ok(line) => self.seen.push(line),
                Err(mpsc::RecvTimeoutError::Timeout) if !left.is_zero() => {}
                Err(_) => panic!(
                    "{needle:?} not logged {times} times; the agent logged:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The agent's address, from the key file `AgentProcess::start` made.
fn address_of(dir: &Path) -> Address {
    DeviceKey::load(&dir.join("device.key")).unwrap().address()
}

/// Nothing reached the subscriber, and the agent's outbox still holds its reports.
fn nothing_published(sub: &mut Subscriber, store: &Path) {
    assert!(
        sub.rx.try_recv().is_err(),
        "a message got through a refused connection"
    );
    let depth = Store::open(store, 16 << 20)
        .unwrap()
        .outbox_depth()
        .unwrap()
        .0;
    assert!(depth > 0, "the outbox should still hold the reports");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_certificate_from_another_ca_is_refused() {
    let pki = TestPki::generate();
    let Some(broker) = broker(&pki, &pki.other_server_cert, &pki.other_server_key, false).await
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let text = agent_config(
        dir.path(),
        "agent",
        &broker.tls_url(),
        &tls_lines(&pki.ca, None),
    );
    let mut agent = AgentProcess::start(dir.path(), &text);
    let mut sub = Subscriber::start(broker.port(), address_of(dir.path())).await;
    // Logged on every attempt: the agent keeps retrying with its backoff.
    let line = agent.wait_for("certificate not trusted", 2);
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains(&pki.ca.display().to_string()), "{line}");
    drop(agent);
    nothing_published(&mut sub, &dir.path().join("agent.db"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_takes_the_client_certificate() {
    let pki = TestPki::generate();
    let Some(broker) = broker(&pki, &pki.server_cert, &pki.server_key, true).await else {
        return;
    };
    let url = broker.tls_url();

    // With its client certificate, the agent's reports get through.
    let key = DeviceKey::generate();
    let device = key.address();
    let mut sub = Subscriber::start(broker.port(), device).await;
    let dir = tempfile::tempdir().unwrap();
    let client = Some((pki.client_cert.as_path(), pki.client_key.as_path()));
    let text = agent_config(dir.path(), "agent", &url, &tls_lines(&pki.ca, client));
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let agent = run_agent(&text, key, shutdown);
    reports_arrive(&mut sub, device).await;
    stop.send_replace(true);
    tokio::time::timeout(WAIT, agent).await.unwrap().unwrap();

    // Without one, the broker refuses it, and it says so.
    let dir = tempfile::tempdir().unwrap();
    let text = agent_config(dir.path(), "agent", &url, &tls_lines(&pki.ca, None));
    let mut agent = AgentProcess::start(dir.path(), &text);
    let mut sub = Subscriber::start(broker.port(), address_of(dir.path())).await;
    agent.wait_for("requires a client certificate", 2);
    drop(agent);
    nothing_published(&mut sub, &dir.path().join("agent.db"));
}

#[test]
fn bad_tls_settings_stop_the_start_naming_the_setting() {
    let pki = TestPki::generate();
    let garbage = pki.dir().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let check = |tls: String, needles: &[&str]| {
        let dir = tempfile::tempdir().unwrap();
        let text = agent_config(dir.path(), "agent", "mqtts://localhost:1", &tls);
        let out = Command::new(env!("CARGO_BIN_EXE_pitlane-agent"))
            .args(["run", "--config"])
            .arg(write_config(dir.path(), &text))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{tls}\n{stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line: {stderr}");
        assert!(lines[0].starts_with("error: "), "{stderr}");
        for needle in needles {
            assert!(lines[0].contains(needle), "{needle:?} in {stderr}");
        }
    };
    let missing = pki.dir().join("missing-ca.pem");
    check(
        tls_lines(&missing, None),
        &["setting `mqtt.ca_file`", "missing-ca.pem"],
    );
    check(
        tls_lines(&garbage, None),
        &["setting `mqtt.ca_file`", "no PEM certificate"],
    );
    check(
        format!(
            "ca_file = {:?}\nclient_cert_file = {:?}\n",
            pki.ca.display().to_string(),
            pki.client_cert.display().to_string()
        ),
        &["mqtt.client_cert_file", "mqtt.client_key_file", "set both"],
    );
}
