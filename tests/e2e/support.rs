//! Shared parts of the end-to-end tests: the whole system in-process (`pitlane::up`) on
//! loopback ports chosen by the OS, a user who owns a car through the real journey, and an
//! MQTT spy logged in as a second registered device.

#![allow(dead_code)]

use std::time::Duration;

use pitlane::client::Api;
use pitlane::fleet::Intervals;
use pitlane::up::{self, Running, UpOptions};
use pitlane_cloud::config::Config;
use pitlane_cloud::registry::{self, Chain, NewDevice};
use pitlane_shared::identity::DeviceKey;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;

/// Generous: the machine is small and shared.
pub const WAIT: Duration = Duration::from_secs(60);

/// The system under test and a client for its API.
pub struct Stack {
    pub running: Running,
    pub api: Api,
    pub dir: tempfile::TempDir,
}

/// Options for `cars` in-process cars on OS-chosen ports in a fresh data directory.
pub fn options(dir: &tempfile::TempDir, cars: usize) -> UpOptions {
    UpOptions {
        data_dir: Some(dir.path().to_owned()),
        http_addr: Some("127.0.0.1:0".parse().expect("addr")),
        mqtt_addr: Some("127.0.0.1:0".parse().expect("addr")),
        intervals: Intervals {
            dtc_secs: 600.0,
            telemetry_secs: 600.0,
            vin_secs: 600.0,
        },
        demo: false,
        ..UpOptions::new(cars)
    }
}

pub async fn start(opts: UpOptions, dir: tempfile::TempDir) -> Stack {
    let running = up::start(opts, &|line| eprintln!("up: {line}"))
        .await
        .expect("pitlane up starts");
    let api = Api::new(format!("http://{}", running.http_addr)).expect("client");
    Stack { running, api, dir }
}

pub use pitlane::journey::Owner;

impl Stack {
    pub fn base(&self) -> String {
        format!("http://{}", self.running.http_addr)
    }

    pub fn chain(&self) -> Chain {
        Chain::from_config(&self.running.state.config).expect("chain settings")
    }

    /// Registers with a new wallet and claims, creates from the reported VIN, mints and pairs
    /// car `index`, then exchanges a privilege token for commands.
    pub async fn own(&self, index: usize) -> Owner {
        let serial = &self.running.devices[index].serial;
        let nft = self.chain().vehicle_nft.to_checksum();
        pitlane::journey::own(&self.api, serial, &nft, WAIT)
            .await
            .expect("the journey")
    }

    /// The value of a counter or gauge sample on `/metrics` (0 when absent).
    pub async fn metric(&self, sample: &str) -> f64 {
        let text = reqwest::get(format!("{}/metrics", self.base()))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("body");
        text.lines()
            .find_map(|l| l.strip_prefix(sample)?.trim().parse().ok())
            .unwrap_or(0.0)
    }
}

/// An MQTT client logged in as a freshly registered device of its own: the embedded broker
/// has no per-topic ACLs, so it can watch and publish on any device's topics, which is what
/// an attacker with one device's credentials can do, and what these tests need.
pub struct Spy {
    pub client: AsyncClient,
    pub messages: mpsc::UnboundedReceiver<(String, Vec<u8>)>,
}

impl Spy {
    pub async fn start(stack: &Stack, topics: &[String]) -> Spy {
        let key = DeviceKey::generate();
        let state = &stack.running.state;
        let registered = registry::register_device(
            &state.db,
            NewDevice {
                serial: format!("SPY-{}", &key.address().to_lowercase_hex()[2..10]),
                address: key.address(),
                manufacturer: "Test".into(),
            },
        )
        .await
        .expect("register the spy");
        let url = stack
            .running
            .mqtt_url
            .trim_start_matches("mqtt://")
            .to_owned();
        let (host, port) = url.rsplit_once(':').expect("host:port");
        let user = key.address().to_lowercase_hex();
        let mut options = MqttOptions::new(user.clone(), host, port.parse().expect("port"));
        options.set_credentials(user, registered.mqtt_password);
        options.set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut eventloop) = AsyncClient::new(options, 100);
        let (tx, messages) = mpsc::unbounded_channel();
        let (subscribed_tx, subscribed_rx) = tokio::sync::oneshot::channel();
        let wanted = topics.len();
        for topic in topics {
            client
                .subscribe(topic.clone(), QoS::AtLeastOnce)
                .await
                .expect("subscribe");
        }
        tokio::spawn(async move {
            let mut acks = 0;
            let mut subscribed_tx = Some(subscribed_tx);
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        acks += 1;
                        if acks == wanted
                            && let Some(tx) = subscribed_tx.take()
                        {
                            let _ = tx.send(());
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        if tx.send((p.topic.clone(), p.payload.to_vec())).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        eprintln!("spy: {e}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        });
        tokio::time::timeout(WAIT, subscribed_rx)
            .await
            .expect("the spy subscribes in time")
            .expect("spy task alive");
        Spy { client, messages }
    }

    /// The next message on a topic ending in `suffix` that `accept` takes.
    pub async fn next(&mut self, suffix: &str, accept: impl Fn(&[u8]) -> bool) -> Vec<u8> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let (topic, payload) = tokio::time::timeout_at(deadline, self.messages.recv())
                .await
                .unwrap_or_else(|_| panic!("no message on …{suffix} in time"))
                .expect("spy alive");
            if topic.ends_with(suffix) && accept(&payload) {
                return payload;
            }
        }
    }

    pub async fn publish(&self, topic: String, payload: Vec<u8>) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .await
            .expect("publish");
    }
}

/// Applies `tweak` to the cloud's configuration before it starts.
pub fn with_config(mut opts: UpOptions, tweak: fn(&mut Config)) -> UpOptions {
    opts.tweak = Some(tweak);
    opts
}
