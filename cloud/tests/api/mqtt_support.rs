//! Shared parts of the MQTT tests: the brokers a test runs against (the embedded one always;
//! Mosquitto from `PITLANE_TEST_MOSQUITTO_URL`, else a private one when installed), a test
//! device (registered, logged in with its MQTT password through the testkit's
//! [`DeviceLink`], publishing signed envelopes, reading its commands), a vehicle paired with
//! it, and polling with a generous deadline.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use pitlane_cloud::config::Config;
use pitlane_cloud::registry::{self, NewDevice};
use pitlane_shared::envelope::Envelope;
use pitlane_shared::identity::{Address, DeviceKey};
use pitlane_shared::topics::{self, UpKind};
use pitlane_testkit::{DeviceLink, Mosquitto, MosquittoConfig, device_options};
use reqwest::Method;
use rumqttc::{LastWill, QoS};
use serde_json::{Value, json};

use crate::devices_support::{FORD_VIN, call, vehicle_from_vin};
use crate::helpers::{Backend, TestApp, spawn_app};

/// Generous: the machine is small and shared.
pub const WAIT: Duration = Duration::from_secs(60);

/// Which broker the app and devices use.
pub enum Broker {
    Embedded,
    /// Mosquitto at this URL; the broker when this test started it (killed on drop).
    Mosquitto(String, Option<Box<Mosquitto>>),
}

/// A private Mosquitto that never drops QoS 1 messages to a slow subscriber.
async fn start_mosquitto() -> Option<(String, Box<Mosquitto>)> {
    let config = MosquittoConfig::new()
        .max_queued_messages(0)
        .max_inflight_messages(0);
    let broker = Mosquitto::start(config).await?;
    Some((broker.url(), Box::new(broker)))
}

/// The embedded broker, then Mosquitto when there is one.
pub async fn brokers() -> Vec<Broker> {
    let mut v = vec![Broker::Embedded];
    if let Ok(url) = std::env::var("PITLANE_TEST_MOSQUITTO_URL") {
        v.push(Broker::Mosquitto(url, None));
    } else if let Some((url, child)) = start_mosquitto().await {
        v.push(Broker::Mosquitto(url, Some(child)));
    } else {
        eprintln!(
            "mosquitto not installed and PITLANE_TEST_MOSQUITTO_URL unset: Mosquitto runs skipped"
        );
    }
    v
}

impl Broker {
    /// Points the app at this broker; a unique client id and share group keep concurrent
    /// tests on one shared Mosquitto apart.
    pub fn configure(&self, config: &mut Config) {
        if let Broker::Mosquitto(url, _) = self {
            let id = pitlane_cloud::devices::new_id();
            config.mqtt_url = Some(url.clone());
            config.mqtt_client_id = format!("cloud-{id}");
            config.mqtt_share_group = format!("g{id}");
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Broker::Embedded => "embedded",
            Broker::Mosquitto(..) => "mosquitto",
        }
    }
}

/// Where devices connect.
pub fn broker_addr(app: &TestApp) -> SocketAddr {
    let mqtt = app.state.mqtt.as_ref().expect("MQTT layer");
    match (&app.state.config.mqtt_url, mqtt.broker_addr()) {
        (Some(url), _) => url
            .trim_start_matches("mqtt://")
            .parse()
            .expect("mosquitto URL host:port"),
        (None, Some(addr)) => addr,
        (None, None) => panic!("no broker"),
    }
}

/// Runs `$body(&mut app, &broker)` on every backend × broker, each on a fresh app.
#[macro_export]
macro_rules! mqtt_test {
    ($name:ident, $body:path) => {
        $crate::mqtt_test!($name, $body, |_c: &mut pitlane_cloud::config::Config| {});
    };
    ($name:ident, $body:path, $tweak:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for broker in $crate::mqtt_support::brokers().await {
                for backend in $crate::helpers::backends() {
                    let mut app = $crate::mqtt_support::spawn(backend, &broker, $tweak).await;
                    eprintln!(
                        "{} on {backend:?} with the {} broker",
                        stringify!($name),
                        broker.name()
                    );
                    $body(&mut app).await;
                    app.stop().await;
                }
            }
        }
    };
}

/// A fresh app on `broker`, with its MQTT link subscribed.
pub async fn spawn(backend: Backend, broker: &Broker, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let app = spawn_app(backend, |c| {
        broker.configure(c);
        tweak(c);
    })
    .await;
    let mqtt = app.state.mqtt.as_ref().expect("MQTT layer");
    assert!(mqtt.wait_ready(WAIT).await, "the MQTT link never got ready");
    app
}

/// Polls `f` until it answers `Some`, at most [`WAIT`].
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One integer from a query with `$1` bound to `arg`.
pub async fn scalar(app: &TestApp, sql: &str, arg: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql)
        .bind(arg.to_owned())
        .fetch_one(&app.state.db.pool)
        .await
        .expect("query")
        .try_get::<i64, _>(0)
        .expect("integer")
}

/// A registered device with its key and MQTT password.
pub struct TestDevice {
    pub key: DeviceKey,
    pub address: Address,
    pub serial: String,
    pub password: String,
    pub token_id: u64,
}

impl TestDevice {
    pub async fn register(app: &TestApp) -> TestDevice {
        let key = DeviceKey::generate();
        let address = key.address();
        let serial = format!("SN-{}", &pitlane_cloud::devices::new_id()[..10]);
        let registered = registry::register_device(
            &app.state.db,
            NewDevice {
                serial: serial.clone(),
                address,
                manufacturer: "Pitlane Test".into(),
            },
        )
        .await
        .expect("register device");
        TestDevice {
            key,
            address,
            serial,
            password: registered.mqtt_password,
            token_id: registered.device.token_id,
        }
    }

    pub fn lower(&self) -> String {
        self.address.to_lowercase_hex()
    }

    /// A signed envelope of `kind` about this device.
    pub fn envelope(&self, kind: UpKind, data: Value) -> Vec<u8> {
        signed_as(&self.key, &self.lower(), kind, data)
    }

    pub fn status(&self, state: &str) -> Vec<u8> {
        self.envelope(
            UpKind::Status,
            json!({"state": state, "firmware": "9.9.9", "bus": "sim://", "ignition": "on"}),
        )
    }

    /// Connects as the device (last will: a signed `offline` status) and subscribes to its
    /// command topic.
    pub async fn connect(&self, app: &TestApp) -> DeviceConn {
        self.connect_with(app, &self.password)
            .await
            .expect("device connects")
    }

    /// Connects with `password`; None when the broker refuses.
    pub async fn connect_with(&self, app: &TestApp, password: &str) -> Option<DeviceConn> {
        self.connect_at(broker_addr(app), password).await
    }

    /// Connects to the broker at `addr` (plain MQTT) with `password`; None when it refuses.
    pub async fn connect_at(&self, addr: SocketAddr, password: &str) -> Option<DeviceConn> {
        let mut options = device_options(addr, &self.lower(), password);
        options
            .set_clean_session(false)
            .set_last_will(LastWill::new(
                topics::up(self.address, UpKind::Status),
                self.status("offline"),
                QoS::AtLeastOnce,
                true,
            ));
        let link = DeviceLink::connect(options, &topics::command(self.address), WAIT).await?;
        Some(DeviceConn {
            link,
            topic_device: self.address,
        })
    }
}

/// An envelope signed by `key` about `subject`.
pub fn signed_as(key: &DeviceKey, subject: &str, kind: UpKind, data: Value) -> Vec<u8> {
    Envelope::new(
        kind.event_type(),
        uuid::Uuid::new_v4().to_string(),
        topics::device_source(key.address()),
        subject,
        SystemTime::now(),
        data,
    )
    .sign(key)
    .expect("sign")
    .to_vec()
    .expect("bytes")
}

/// A connected device: its link (receiving on `down/command`) and the address its
/// `up/{kind}` topics are named after.
pub struct DeviceConn {
    link: DeviceLink,
    topic_device: Address,
}

impl DeviceConn {
    /// Publishes `payload` on this device's `up/{kind}` topic.
    pub async fn publish(&self, kind: UpKind, payload: Vec<u8>) {
        self.publish_on(&topics::up(self.topic_device, kind), kind, payload)
            .await;
    }

    /// Publishes on any topic (the embedded broker has no ACLs; Mosquitto here neither).
    pub async fn publish_on(&self, topic: &str, kind: UpKind, payload: Vec<u8>) {
        self.link.publish(topic, kind.retained(), payload).await;
    }

    /// The next command received.
    pub async fn next_command(&mut self) -> Vec<u8> {
        self.link.next(WAIT).await
    }

    /// Drops the connection without DISCONNECT (a lost link: the broker sends the will).
    pub fn kill(self) {
        drop(self);
    }
}

/// A vehicle of the token's user, minted and paired with `device` (registry rows written
/// directly: claim, mint and pair have their own tests), and the device claimed by the user.
pub struct PairedVehicle {
    pub user_device_id: String,
    pub vehicle_token_id: u64,
    pub user_id: String,
}

pub async fn pair(app: &TestApp, token: &str, device: &TestDevice) -> PairedVehicle {
    use sqlx::Row;
    let user_device_id = vehicle_from_vin(app, token, FORD_VIN).await;
    let db = &app.state.db.pool;
    let user_id: String = sqlx::query("SELECT user_id FROM user_devices WHERE id = $1")
        .bind(&user_device_id)
        .fetch_one(db)
        .await
        .expect("vehicle")
        .try_get("user_id")
        .expect("user id");
    let now = 1_700_000_000_i64;
    sqlx::query(
        "UPDATE aftermarket_devices SET owner_user_id = $1, claimed_at = $2 WHERE token_id = $3",
    )
    .bind(&user_id)
    .bind(now)
    .bind(device.token_id as i64)
    .execute(db)
    .await
    .expect("claim");
    let vehicle_token_id: i64 = sqlx::query(
        "INSERT INTO vehicle_tokens (user_device_id, owner_user_id, manufacturer_node, minted_at) \
         VALUES ($1, $2, 1, $3) RETURNING token_id",
    )
    .bind(&user_device_id)
    .bind(&user_id)
    .bind(now)
    .fetch_one(db)
    .await
    .expect("mint")
    .try_get("token_id")
    .expect("token id");
    sqlx::query("INSERT INTO pairings (vehicle_token_id, aftermarket_token_id, paired_at) VALUES ($1, $2, $3)")
        .bind(vehicle_token_id)
        .bind(device.token_id as i64)
        .bind(now)
        .execute(db)
        .await
        .expect("pair");
    PairedVehicle {
        user_device_id,
        vehicle_token_id: vehicle_token_id as u64,
        user_id,
    }
}

/// A privilege token for `vehicle` with privilege 2 (commands), through token exchange.
pub async fn commands_token(app: &TestApp, token: &str, vehicle_token_id: u64) -> String {
    let (status, body) = call(
        app,
        Method::POST,
        "/v1/tokens/exchange",
        token,
        Some(json!({
            "nftContractAddress": app.state.config.vehicle_nft_address,
            "privileges": [2],
            "tokenId": vehicle_token_id,
        })),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    body["token"].as_str().expect("token").to_owned()
}
