//! Shared parts of the sync tests: a private Mosquitto on a chosen port (pitlane-testkit's
//! launcher), an MQTT subscriber, a test "cloud" that signs commands.

#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, SystemTime};

use pitlane_shared::command::COMMAND_EVENT_TYPE;
use pitlane_shared::envelope::Envelope;
use pitlane_shared::identity::{Address, DeviceKey};
use pitlane_shared::topics;
use pitlane_testkit::{Mosquitto, MosquittoConfig};
// Each test file uses a part of this module.
#[allow(unused_imports)]
pub use pitlane_testkit::{free_port, mosquitto_binary};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::json;
use tokio::sync::mpsc;

/// Generous: the machine is small and shared.
pub const WAIT: Duration = Duration::from_secs(60);

/// A Mosquitto broker this test owns (pitlane-testkit's), with its plain listener on a port
/// the test chose: no persistence, unlimited queues; killed on drop.
pub struct Broker {
    _inner: Mosquitto,
    pub port: u16,
}

impl Broker {
    /// Starts Mosquitto on `port`, or says why the test is skipped.
    pub async fn start(port: u16) -> Option<Broker> {
        Self::start_with_logins(port, &[]).await
    }

    /// Starts Mosquitto on `port`; with `logins`, only those user names and passwords may
    /// connect (a password file made by `mosquitto_passwd`).
    pub async fn start_with_logins(port: u16, logins: &[(&str, &str)]) -> Option<Broker> {
        let config = MosquittoConfig::new()
            .plain_port(port)
            .max_queued_messages(100_000)
            .max_inflight_messages(0)
            .logins(logins);
        let Some(inner) = Mosquitto::start(config).await else {
            eprintln!("skipped: mosquitto not installed");
            return None;
        };
        Some(Broker {
            _inner: inner,
            port,
        })
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

/// A subscriber to one device's upstream topics: (topic, payload) in arrival order.
pub struct Subscriber {
    pub client: AsyncClient,
    pub rx: mpsc::UnboundedReceiver<(String, Vec<u8>)>,
    /// Messages received while waiting for another one, oldest first: the agent reads VIN and
    /// trouble codes in either order, so a wait for one must not lose the other.
    backlog: Vec<(String, Vec<u8>)>,
}

impl Subscriber {
    /// Connects and waits for the SUBACK.
    pub async fn start(port: u16, device: Address) -> Subscriber {
        Self::start_as(port, device, None).await
    }

    /// Connects with a login (user name, password) and waits for the SUBACK.
    pub async fn start_as(port: u16, device: Address, login: Option<(&str, &str)>) -> Subscriber {
        let mut options = MqttOptions::new(format!("test-{}", free_port()), "127.0.0.1", port);
        options.set_max_packet_size(1 << 20, 1 << 20);
        if let Some((user, password)) = login {
            options.set_credentials(user, password);
        }
        let (client, mut events) = AsyncClient::new(options, 64);
        client
            .subscribe(
                format!("pitlane/v1/dev/{}/up/#", device.to_lowercase_hex()),
                QoS::AtLeastOnce,
            )
            .await
            .unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let (subscribed_tx, subscribed_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let mut subscribed = Some(subscribed_tx);
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        if let Some(s) = subscribed.take() {
                            let _ = s.send(());
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        if tx.send((p.topic.clone(), p.payload.to_vec())).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        tokio::time::timeout(WAIT, subscribed_rx)
            .await
            .unwrap()
            .unwrap();
        Subscriber {
            client,
            rx,
            backlog: Vec::new(),
        }
    }

    /// The oldest message not yet taken whose topic ends with `/{suffix}` and that `pick`
    /// accepts (messages skipped on the way are kept for later waits).
    pub async fn next_where(
        &mut self,
        suffix: &str,
        mut pick: impl FnMut(&[u8]) -> bool,
    ) -> Vec<u8> {
        let wanted = format!("/{suffix}");
        if let Some(i) = self
            .backlog
            .iter()
            .position(|(topic, payload)| topic.ends_with(&wanted) && pick(payload))
        {
            return self.backlog.remove(i).1;
        }
        let backlog = &mut self.backlog;
        let rx = &mut self.rx;
        tokio::time::timeout(WAIT, async {
            loop {
                let (topic, payload) = rx.recv().await.expect("subscriber ended");
                if topic.ends_with(&wanted) && pick(&payload) {
                    return payload;
                }
                backlog.push((topic, payload));
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no {suffix} message within {WAIT:?}"))
    }
}

/// The cloud's command key, as a test holds it.
pub struct Cloud {
    pub key: DeviceKey,
}

impl Cloud {
    /// A signed command envelope (`expires_in` may be negative: already expired).
    pub fn command(
        &self,
        signer: &DeviceKey,
        subject: Address,
        request_id: &str,
        action: &str,
        seq: u64,
        expires_in: i64,
    ) -> Vec<u8> {
        let now = SystemTime::now();
        let issued = now - Duration::from_secs(120);
        let expires = if expires_in >= 0 {
            now + Duration::from_secs(expires_in as u64)
        } else {
            now - Duration::from_secs(expires_in.unsigned_abs())
        };
        let rfc = |t| humantime::format_rfc3339_millis(t).to_string();
        let data = json!({
            "request_id": request_id, "action": action, "params": {},
            "issued_at": rfc(issued), "expires_at": rfc(expires), "seq": seq,
        });
        Envelope::new(
            COMMAND_EVENT_TYPE,
            format!("cmd-{request_id}"),
            topics::CLOUD_SOURCE,
            subject.to_lowercase_hex(),
            now,
            data,
        )
        .sign(signer)
        .unwrap()
        .to_vec()
        .unwrap()
    }
}

/// An agent config for a test.
pub fn config_text(store: &Path, url: &str, cloud: Address, telemetry_secs: f64) -> String {
    let profile = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/pitlane-sim.toml");
    format!(
        "bus = \"sim://\"\n\
         [mqtt]\nurl = \"{url}\"\ncloud_command_address = \"{cloud}\"\nbackoff_max_secs = 1\n\
         [store]\npath = \"{}\"\n\
         [intervals]\ndtc_secs = 600\ntelemetry_secs = {telemetry_secs}\nvin_secs = 600\n\
         [commands]\nprofile = \"{}\"\n",
        store.display(),
        profile.display()
    )
}

/// The data of an envelope the agent published, checked to be signed by `device`.
pub fn verified<T: serde::de::DeserializeOwned>(bytes: &[u8], device: Address) -> T {
    pitlane_shared::envelope::SignedEnvelope::<T>::from_slice(bytes)
        .unwrap()
        .verify(&pitlane_shared::envelope::Expected::from_device(device))
        .unwrap()
        .data
}

/// Runs the agent service from configuration `text` in this process, on a default simulated
/// car, until `shutdown`.
pub fn run_agent(
    text: &str,
    key: DeviceKey,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    use pitlane_agent::bus::{AnyBus, SimBus};
    use pitlane_agent::obd::{CanObd, Transport};
    use pitlane_sim::{Car, Scenario};
    let config = pitlane_agent::config::Config::parse(text, "test", |_| None).unwrap();
    let car = Car::start(Scenario::default_car());
    let transport = Transport::Can(Box::new(CanObd::new(AnyBus::Sim(SimBus::attach(&car)))));
    tokio::spawn(async move {
        let _car = car;
        pitlane_agent::service::run(&config, key, transport, "sim://".into(), shutdown)
            .await
            .unwrap();
    })
}
